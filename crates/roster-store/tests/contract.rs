//! The store contract: one set of cases, each an `async fn(Env)` over `Arc<dyn Store>`,
//! run once against `SqliteStore` and once against `PgStore` (a fresh database per case).
//! PostgreSQL runs are skipped with a `SKIPPED:` line when no server answers at
//! `ROSTER_TEST_PG_URL`, unless `ROSTER_REQUIRE_PG=1`. `pg_only` holds PostgreSQL matters.
//! (`roster migrate` between the backends is tested with the binary, `roster/tests`.)

#[path = "contract/audit.rs"]
mod audit;
#[path = "contract/directory.rs"]
mod directory;
#[path = "contract/events.rs"]
mod events;
#[path = "contract/fields.rs"]
mod fields;
#[path = "contract/filters.rs"]
mod filters;
#[path = "contract/fixtures.rs"]
mod fixtures;
#[path = "contract/harness.rs"]
mod harness;
#[path = "contract/limits.rs"]
mod limits;
#[path = "contract/oauth.rs"]
mod oauth;
#[path = "contract/pg_only.rs"]
mod pg_only;
#[path = "contract/users.rs"]
mod users;
#[path = "contract/zabbix.rs"]
mod zabbix;

/// Instantiates every listed case once per backend: `sqlite::<case>` and `postgres::<case>`.
macro_rules! contract {
    ($($module:ident :: $case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    crate::harness::on_sqlite(crate::$module::$case).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    crate::harness::on_postgres(crate::$module::$case).await;
                }
            )*
        }
    };
}

contract! {
    users::create_and_read,
    users::update_changes_only_what_is_listed,
    users::missing_user_is_reported,
    users::stale_version_conflicts,
    users::logins_are_unique_ignoring_case,
    users::emails_are_unique_ignoring_case,
    users::department_membership,
    users::upload_replaces_and_deletes_the_old_file,
    users::batch_patches_succeed_or_fail_alone,
    users::concurrent_writers,
    filters::text_operators,
    filters::typed_operators,
    filters::department_and_search_conditions,
    filters::ordering_and_paging,
    filters::nul_characters_are_data,
    directory::departments,
    directory::webhooks,
    directory::bootstrap_runs_once,
    directory::bootstrap_from_two_stores_at_once,
    directory::reopened_store_sees_acknowledged_writes,
    fields::field_definitions,
    fields::custom_values_and_filters,
    fields::file_values,
    fields::fields_are_shared,
    oauth::apps,
    oauth::tokens_rotate,
    oauth::codes_work_once,
    oauth::tokens_are_shared,
    events::bindings,
    events::deliveries,
    events::offline_events,
    events::claims_from_two_stores,
    zabbix::seeds_and_bootstrap,
    zabbix::groups,
    zabbix::accounts,
    zabbix::sessions_and_logins,
    zabbix::api_tokens,
    zabbix::settings,
    zabbix::delete_users,
    limits::shared_limits,
    audit::user_changes_are_recorded,
    audit::appended_records_and_queries,
    audit::user_history_by_resource_id,
}
