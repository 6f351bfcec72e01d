//! The store contract: one set of cases, each an `async fn(Env)` over `Arc<dyn Store>`,
//! run once against `SqliteStore` and once against `PgStore` (a fresh database per case).
//! PostgreSQL runs are skipped with a `SKIPPED:` line when no server answers at
//! `ROSTER_TEST_PG_URL`, unless `ROSTER_REQUIRE_PG=1`. `pg_only` holds PostgreSQL matters.

#[path = "contract/directory.rs"]
mod directory;
#[path = "contract/filters.rs"]
mod filters;
#[path = "contract/fixtures.rs"]
mod fixtures;
#[path = "contract/harness.rs"]
mod harness;
#[path = "contract/pg_only.rs"]
mod pg_only;
#[path = "contract/users.rs"]
mod users;

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
    directory::departments,
    directory::webhooks,
    directory::bootstrap_runs_once,
    directory::bootstrap_from_two_stores_at_once,
    directory::reopened_store_sees_acknowledged_writes,
}
