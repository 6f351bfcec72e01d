//! The `Store` operations of `SqliteStore`: users, files, departments, webhooks.
//! Reads run on pooled reader connections; writes run as group-commit jobs.

use async_trait::async_trait;
use roster_core::credentials::{generate_secret, NewWebhook, Scopes, Webhook};
use roster_core::query::{UserPage, UserQuery};
use roster_core::store::{Bootstrap, FileRef, StoredFile};
use roster_core::{
    AttrKind, Change, Department, DepartmentId, DepartmentPatch, DepartmentQuery, FieldId, FileId, FileUpload,
    NewDepartment, NewUser, NewUserField, Store, StoreError, StoreResult, User, UserField, UserFieldPatch, UserId,
    UserPatch, Value, WebhookId,
};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use super::{audit, events, oauth, userfields};
use roster_core::{
    Access, AccountWrite, ApiToken, ApiTokenPatch, GroupId, Media, MediaType, MediaTypeId, NewAccount, NewApiToken,
    NewUserGroup, Role, RoleId, Session, Settings, TokenId, TokenQuery, UserGroup, UserGroupPatch,
};

use super::sql::{self, order_by, to_sql, user_columns, user_from_row};
use super::{access, accounts};
use super::{backend, SqliteStore};

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[async_trait]
impl Store for SqliteStore {
    async fn bootstrap(&self, data: Bootstrap) -> StoreResult<bool> {
        self.write(move |c| {
            let users: i64 = c.query_row("SELECT count(*) FROM users", [], |r| r.get(0)).map_err(backend)?;
            if users > 0 {
                return Ok(false);
            }
            insert_department(c, &data.root_department)?;
            insert_user(c, data.admin)?;
            if let Some(guest) = data.guest {
                insert_user(c, guest)?;
            }
            insert_webhook(c, &data.webhook)?;
            for (user, group) in &data.memberships {
                c.execute(
                    "INSERT OR IGNORE INTO users_groups (usrgrpid, userid) VALUES (?1, ?2)",
                    [group.get(), user.get()],
                )
                .map_err(backend)?;
            }
            Ok(true)
        })
        .await
    }

    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        self.read_now(|c| super::snapshot(c, |c| load_user(c, id)))
    }

    async fn user_with_webhooks(&self, id: UserId) -> StoreResult<Option<(User, Vec<Webhook>)>> {
        self.read_now(|c| {
            super::snapshot(c, |c| match load_user(c, id)? {
                Some(user) => Ok(Some((user, query_webhooks(c, WEBHOOKS_OF, [id.get()])?))),
                None => Ok(None),
            })
        })
    }

    async fn password_of(&self, login: &str) -> StoreResult<Option<(UserId, Option<String>)>> {
        let login = login.to_lowercase();
        self.read_now(|c| {
            c.prepare_cached("SELECT id, password_hash FROM users WHERE login_lc = ?1")
                .and_then(|mut s| {
                    s.query_row([login], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?))).optional()
                })
                .map_err(backend)
                .map(|found| found.and_then(|(id, hash)| UserId::new(id).map(|id| (id, hash))))
        })
    }

    async fn find_users(&self, query: &UserQuery) -> StoreResult<UserPage> {
        let query = query.clone();
        self.read(move |c| find_users(c, &query)).await
    }

    async fn create_user(&self, user: NewUser) -> StoreResult<UserId> {
        self.write(move |c| insert_user(c, user)).await
    }

    async fn update_user(&self, id: UserId, patch: UserPatch) -> StoreResult<()> {
        self.write(move |c| update_user(c, id, patch)).await
    }

    async fn update_users(&self, patches: Vec<(UserId, UserPatch)>) -> StoreResult<Vec<StoreResult<()>>> {
        self.write(move |c| {
            let mut out = Vec::with_capacity(patches.len());
            for (id, patch) in patches {
                c.execute_batch("SAVEPOINT one").map_err(backend)?;
                let r = update_user(c, id, patch);
                let end = if r.is_ok() { "RELEASE one" } else { "ROLLBACK TO one; RELEASE one" };
                c.execute_batch(end).map_err(backend)?;
                out.push(r);
            }
            Ok(out)
        })
        .await
    }

    async fn file(&self, id: FileId) -> StoreResult<Option<StoredFile>> {
        self.read(move |c| {
            c.query_row("SELECT name, content_type, key, data FROM files WHERE id = ?1", [id.get()], |r| {
                Ok(StoredFile { id, name: r.get(0)?, content_type: r.get(1)?, key: r.get(2)?, data: r.get(3)? })
            })
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn file_refs(&self, ids: Vec<FileId>) -> StoreResult<Vec<FileRef>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read_now(|c| {
            let marks = vec!["?"; ids.len()].join(", ");
            let sql = format!("SELECT id, name, key FROM files WHERE id IN ({marks})");
            let mut stmt = c.prepare_cached(&sql).map_err(backend)?;
            let rows = stmt
                .query_map(params_from_iter(ids.iter().map(|i| i.get())), |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
                })
                .map_err(backend)?;
            let mut out = Vec::new();
            for row in rows {
                let (id, name, key) = row.map_err(backend)?;
                if let Some(id) = FileId::new(id) {
                    out.push(FileRef { id, name, key });
                }
            }
            Ok(out)
        })
    }

    async fn departments(&self, query: &DepartmentQuery) -> StoreResult<Vec<Department>> {
        let query = query.clone();
        self.read(move |c| departments(c, &query)).await
    }

    async fn create_department(&self, dept: NewDepartment) -> StoreResult<DepartmentId> {
        self.write(move |c| insert_department(c, &dept)).await
    }

    async fn update_department(&self, id: DepartmentId, patch: DepartmentPatch) -> StoreResult<()> {
        self.write(move |c| {
            let mut sets = Vec::new();
            let mut vals: Vec<SqlValue> = Vec::new();
            if let Some(name) = patch.name {
                sets.push("name = ?");
                vals.push(SqlValue::Text(name));
            }
            if let Some(sort) = patch.sort {
                sets.push("sort = ?");
                vals.push(SqlValue::Integer(sort));
            }
            if let Some(parent) = patch.parent {
                check_department(c, parent, "parent department")?;
                sets.push("parent = ?");
                vals.push(parent.map_or(SqlValue::Null, |p| SqlValue::Integer(p.get())));
            }
            if let Some(head) = patch.head {
                sets.push("head = ?");
                vals.push(head.map_or(SqlValue::Null, |h| SqlValue::Integer(h.get())));
            }
            let exists = department_exists(c, id)?;
            if !exists {
                return Err(StoreError::Missing("department"));
            }
            if sets.is_empty() {
                return Ok(());
            }
            vals.push(SqlValue::Integer(id.get()));
            let stmt = format!("UPDATE departments SET {} WHERE id = ?", sets.join(", "));
            c.execute(&stmt, params_from_iter(vals)).map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn delete_department(&self, id: DepartmentId) -> StoreResult<()> {
        self.write(move |c| {
            let n = c.execute("DELETE FROM departments WHERE id = ?1", [id.get()]).map_err(backend)?;
            if n == 0 {
                Err(StoreError::Missing("department"))
            } else {
                Ok(())
            }
        })
        .await
    }

    async fn create_webhook(&self, hook: NewWebhook) -> StoreResult<WebhookId> {
        self.write(move |c| insert_webhook(c, &hook)).await
    }

    async fn webhooks(&self) -> StoreResult<Vec<Webhook>> {
        self.read(|c| query_webhooks(c, "SELECT id, user_id, scopes, code_hash, created FROM webhooks ORDER BY id", []))
            .await
    }

    async fn webhooks_of(&self, user: UserId) -> StoreResult<Vec<Webhook>> {
        self.read_now(|c| query_webhooks(c, WEBHOOKS_OF, [user.get()]))
    }

    async fn create_app(&self, app: roster_core::oauth::NewApp) -> StoreResult<i64> {
        self.write(move |c| oauth::insert_app(c, &app)).await
    }

    async fn apps(&self) -> StoreResult<Vec<roster_core::oauth::App>> {
        self.read_now(oauth::apps)
    }

    async fn app_by_client_id(&self, client_id: &str) -> StoreResult<Option<roster_core::oauth::App>> {
        self.read_now(|c| oauth::app_by(c, "client_id", SqlValue::Text(client_id.to_owned())))
    }

    async fn app_by_id(&self, id: i64) -> StoreResult<Option<roster_core::oauth::App>> {
        self.read_now(|c| oauth::app_by(c, "id", SqlValue::Integer(id)))
    }

    async fn save_token(&self, token: roster_core::oauth::TokenRecord, replaces: Option<String>) -> StoreResult<()> {
        self.write(move |c| oauth::save_token(c, &token, replaces.as_deref())).await
    }

    async fn token_by_access(&self, access_hash: &str) -> StoreResult<Option<roster_core::oauth::TokenRecord>> {
        self.read_now(|c| oauth::token_by(c, false, access_hash))
    }

    async fn token_by_refresh(&self, refresh_hash: &str) -> StoreResult<Option<roster_core::oauth::TokenRecord>> {
        self.read_now(|c| oauth::token_by(c, true, refresh_hash))
    }

    async fn save_auth_code(&self, code_hash: String, app: i64, user: UserId, expires: i64) -> StoreResult<()> {
        self.write(move |c| oauth::save_code(c, &code_hash, app, user, expires)).await
    }

    async fn take_auth_code(&self, code_hash: &str) -> StoreResult<Option<(i64, UserId, i64)>> {
        let hash = code_hash.to_owned();
        self.write(move |c| oauth::take_code(c, &hash)).await
    }

    async fn bind_event(&self, binding: roster_core::events::NewBinding) -> StoreResult<i64> {
        self.write(move |c| events::bind(c, &binding)).await
    }

    async fn unbind_event(&self, app: i64, event: &str, handler: Option<String>, offline: bool) -> StoreResult<u64> {
        let event = event.to_owned();
        self.write(move |c| events::unbind(c, app, &event, handler.as_deref(), offline)).await
    }

    async fn bindings(&self, app: i64) -> StoreResult<Vec<roster_core::events::Binding>> {
        self.read_now(|c| events::bindings(c, app))
    }

    async fn claim_deliveries(
        &self,
        now: i64,
        limit: u64,
        lease: i64,
    ) -> StoreResult<Vec<roster_core::events::Delivery>> {
        self.write(move |c| events::claim(c, now, limit, lease)).await
    }

    async fn finish_delivery(&self, id: i64, delivered: bool, retry_at: Option<i64>) -> StoreResult<()> {
        self.write(move |c| events::finish(c, id, delivered, retry_at)).await
    }

    async fn take_offline_events(
        &self,
        query: roster_core::events::OfflineQuery,
    ) -> StoreResult<Vec<roster_core::events::OfflineEvent>> {
        self.write(move |c| events::take_offline(c, &query)).await
    }

    async fn clear_offline_events(
        &self,
        app: i64,
        process_id: &str,
        message_ids: Option<Vec<String>>,
    ) -> StoreResult<u64> {
        let process = process_id.to_owned();
        self.write(move |c| events::clear_offline(c, app, &process, message_ids.as_deref())).await
    }

    async fn fail_offline_events(&self, app: i64, process_id: &str, message_ids: Vec<String>) -> StoreResult<u64> {
        let process = process_id.to_owned();
        self.write(move |c| events::fail_offline(c, app, &process, &message_ids)).await
    }

    async fn sync(&self) -> StoreResult<()> {
        self.flush().await
    }

    async fn append_audit(&self, records: Vec<roster_core::audit::NewAuditRecord>) -> StoreResult<()> {
        self.write(move |c| audit::append(c, &records)).await
    }

    async fn audit_log(
        &self,
        query: roster_core::audit::AuditQuery,
    ) -> StoreResult<Vec<roster_core::audit::AuditRecord>> {
        self.read(move |c| audit::query(c, &query)).await
    }

    async fn user_fields(&self) -> StoreResult<Vec<UserField>> {
        self.read_now(userfields::load_fields)
    }

    async fn create_user_field(&self, field: NewUserField) -> StoreResult<FieldId> {
        self.write(move |c| userfields::insert_field(c, field)).await
    }

    async fn update_user_field(&self, id: FieldId, patch: UserFieldPatch) -> StoreResult<()> {
        self.write(move |c| userfields::update_field(c, id, patch)).await
    }

    async fn delete_user_field(&self, id: FieldId) -> StoreResult<()> {
        self.write(move |c| userfields::delete_field(c, id)).await
    }

    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<bool> {
        self.write(move |c| Ok(c.execute("DELETE FROM webhooks WHERE id = ?1", [id.get()]).map_err(backend)? > 0)).await
    }

    async fn roles(&self, ids: Option<Vec<RoleId>>) -> StoreResult<Vec<Role>> {
        self.read_now(|c| access::roles(c, ids))
    }

    async fn user_groups(&self, ids: Option<Vec<GroupId>>) -> StoreResult<Vec<UserGroup>> {
        self.read_now(|c| access::user_groups(c, ids))
    }

    async fn memberships(
        &self,
        users: Option<Vec<UserId>>,
        groups: Option<Vec<GroupId>>,
    ) -> StoreResult<Vec<(UserId, GroupId)>> {
        self.read(move |c| access::memberships(c, users, groups)).await
    }

    async fn create_user_groups(&self, groups: Vec<NewUserGroup>) -> StoreResult<Vec<GroupId>> {
        self.write(move |c| accounts::create_user_groups(c, groups)).await
    }

    async fn update_user_groups(&self, patches: Vec<(GroupId, UserGroupPatch)>) -> StoreResult<()> {
        self.write(move |c| accounts::update_user_groups(c, patches)).await
    }

    async fn delete_user_groups(&self, ids: Vec<GroupId>) -> StoreResult<()> {
        self.write(move |c| accounts::delete_user_groups(c, ids)).await
    }

    async fn media_types(&self, ids: Option<Vec<MediaTypeId>>) -> StoreResult<Vec<MediaType>> {
        self.read_now(|c| access::media_types(c, ids))
    }

    async fn medias_of(&self, users: Vec<UserId>) -> StoreResult<Vec<Media>> {
        self.read(move |c| access::medias_of(c, users)).await
    }

    async fn create_accounts(&self, accounts: Vec<NewAccount>) -> StoreResult<Vec<UserId>> {
        self.write(move |c| accounts::create_accounts(c, accounts)).await
    }

    async fn update_accounts(&self, writes: Vec<AccountWrite>) -> StoreResult<()> {
        self.write(move |c| accounts::update_accounts(c, writes)).await
    }

    async fn delete_users(&self, ids: Vec<UserId>) -> StoreResult<()> {
        self.write(move |c| accounts::delete_users(c, ids)).await
    }

    async fn access(&self, user: UserId) -> StoreResult<Option<Access>> {
        self.read_now(|c| super::snapshot(c, |c| access::access(c, user)))
    }

    async fn session_access(&self, hash: &str) -> StoreResult<Option<(Session, Access)>> {
        self.read_now(|c| super::snapshot(c, |c| access::session_access(c, hash)))
    }

    async fn api_token_access(&self, hash: &str) -> StoreResult<Option<(ApiToken, Access)>> {
        self.read_now(|c| super::snapshot(c, |c| access::api_token_access(c, hash)))
    }

    async fn login_failed(&self, user: UserId, ip: String, clock: i64) -> StoreResult<()> {
        self.write(move |c| accounts::login_failed(c, user, &ip, clock)).await
    }

    async fn login_succeeded(&self, session: Session) -> StoreResult<()> {
        self.write(move |c| accounts::login_succeeded(c, &session)).await
    }

    async fn end_session(&self, hash: &str) -> StoreResult<bool> {
        let hash = hash.to_owned();
        self.write(move |c| accounts::end_session(c, &hash)).await
    }

    async fn create_api_tokens(&self, tokens: Vec<NewApiToken>) -> StoreResult<Vec<TokenId>> {
        self.write(move |c| accounts::create_api_tokens(c, tokens)).await
    }

    async fn api_tokens(&self, query: &TokenQuery) -> StoreResult<Vec<ApiToken>> {
        let query = query.clone();
        self.read(move |c| access::api_tokens(c, &query)).await
    }

    async fn update_api_tokens(&self, patches: Vec<(TokenId, ApiTokenPatch)>) -> StoreResult<()> {
        self.write(move |c| accounts::update_api_tokens(c, patches)).await
    }

    async fn set_api_token_secrets(&self, secrets: Vec<(TokenId, String)>) -> StoreResult<()> {
        self.write(move |c| accounts::set_api_token_secrets(c, secrets)).await
    }

    async fn touch_api_token(&self, id: TokenId, clock: i64) -> StoreResult<()> {
        self.write(move |c| {
            c.execute("UPDATE api_tokens SET lastaccess = ?1 WHERE id = ?2", [clock, id.get()]).map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn delete_api_tokens(&self, ids: Vec<TokenId>) -> StoreResult<()> {
        self.write(move |c| accounts::delete_api_tokens(c, ids)).await
    }

    async fn settings(&self) -> StoreResult<Settings> {
        self.read_now(access::settings)
    }

    async fn set_settings(&self, values: Vec<(String, String)>) -> StoreResult<()> {
        self.write(move |c| accounts::set_settings(c, values)).await
    }
}

const WEBHOOKS_OF: &str = "SELECT id, user_id, scopes, code_hash, created FROM webhooks WHERE user_id = ?1 ORDER BY id";

pub(crate) fn load_user(c: &Connection, id: UserId) -> StoreResult<Option<User>> {
    // Built once: every authenticated call loads its caller with it.
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let sql = SQL.get_or_init(|| format!("SELECT {} FROM users WHERE id = ?1", user_columns()));
    let user =
        c.prepare_cached(sql).and_then(|mut s| s.query_row([id.get()], user_from_row).optional()).map_err(backend)?;
    match user {
        Some(mut u) => {
            u.departments = departments_of(c, &[u.id.get()])?.into_iter().map(|(_, d)| d).collect();
            u.custom = userfields::load_values(c, &[u.id.get()])?.remove(&u.id.get()).unwrap_or_default();
            Ok(Some(u))
        }
        None => Ok(None),
    }
}

fn departments_of(c: &Connection, users: &[i64]) -> StoreResult<Vec<(i64, DepartmentId)>> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; users.len()].join(", ");
    let sql =
        format!("SELECT user_id, dept_id FROM user_departments WHERE user_id IN ({marks}) ORDER BY user_id, dept_id");
    let mut stmt = c.prepare_cached(&sql).map_err(backend)?;
    let rows = stmt
        .query_map(params_from_iter(users.iter()), |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
        .map_err(backend)?;
    let mut out = Vec::new();
    for row in rows {
        let (u, d) = row.map_err(backend)?;
        if let Some(d) = DepartmentId::new(d) {
            out.push((u, d));
        }
    }
    Ok(out)
}

fn find_users(c: &Connection, q: &UserQuery) -> StoreResult<UserPage> {
    let mut depts = std::collections::HashMap::new();
    for prefix in q.filter.department_prefixes() {
        let pattern = format!("{}%", sql::escape_like(&prefix));
        let mut stmt = c.prepare_cached("SELECT id FROM departments WHERE rs_ilike(?1, name)").map_err(backend)?;
        let ids = stmt.query_map([pattern], |r| r.get::<_, i64>(0)).map_err(backend)?;
        depts.insert(prefix, ids.collect::<rusqlite::Result<Vec<i64>>>().map_err(backend)?);
    }
    let w = sql::compile_resolved(&q.filter, depts);
    // The page's ids first, then their rows: asked for wide rows in one query, SQLite
    // prefers a scan in id order (no sort) to the filter's indexes, which at a million
    // users costs a whole-table read for a word that matches a handful.
    let order = order_by(&q.order);
    let sql = format!(
        "SELECT {} FROM users WHERE id IN (SELECT id FROM users WHERE {} ORDER BY {order} LIMIT {} OFFSET {}) \
         ORDER BY {order}",
        user_columns(),
        w.sql,
        q.limit.min(i64::MAX as u64),
        q.offset.min(i64::MAX as u64)
    );
    let mut users = {
        let mut stmt = c.prepare_cached(&sql).map_err(backend)?;
        let rows = stmt.query_map(params_from_iter(w.params.iter()), user_from_row).map_err(backend)?;
        rows.collect::<rusqlite::Result<Vec<User>>>().map_err(backend)?
    };
    let ids: Vec<i64> = users.iter().map(|u| u.id.get()).collect();
    for (uid, dept) in departments_of(c, &ids)? {
        if let Some(u) = users.iter_mut().find(|u| u.id.get() == uid) {
            u.departments.push(dept);
        }
    }
    let mut custom = userfields::load_values(c, &ids)?;
    for u in &mut users {
        u.custom = custom.remove(&u.id.get()).unwrap_or_default();
    }
    let total = if q.count_total {
        let sql = format!("SELECT count(*) FROM users WHERE {}", w.sql);
        let n: i64 = c
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row(params_from_iter(w.params.iter()), |r| r.get(0)))
            .map_err(backend)?;
        Some(n as u64)
    } else {
        None
    };
    Ok(UserPage { items: users, total })
}

pub(crate) fn insert_user(c: &Connection, user: NewUser) -> StoreResult<UserId> {
    let login_lc = user.login.to_lowercase();
    let taken: Option<i64> = c
        .query_row("SELECT id FROM users WHERE login_lc = ?1", [&login_lc], |r| r.get(0))
        .optional()
        .map_err(backend)?;
    if taken.is_some() {
        return Err(StoreError::Taken("login"));
    }
    let t = now();
    c.execute(
        "INSERT INTO users (login, login_lc, password_hash, is_admin, version, date_register, timestamp_x) \
         VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)",
        params![user.login, login_lc, user.password_hash, user.is_admin, t],
    )
    .map_err(backend)?;
    let id = UserId::new(c.last_insert_rowid()).ok_or_else(|| StoreError::Backend("bad rowid".into()))?;
    apply_patch(c, id, user.patch, false)?;
    Ok(id)
}

pub(crate) fn update_user(c: &Connection, id: UserId, patch: UserPatch) -> StoreResult<()> {
    apply_patch(c, id, patch, true)
}

/// Writes a patch to an existing row; with `bump`, also the version and `timestamp_x`.
fn apply_patch(c: &Connection, id: UserId, mut patch: UserPatch, bump: bool) -> StoreResult<()> {
    // The audit record needs the values before the change; read them first.
    let audit = match patch.audit.take() {
        Some(ctx) => {
            let items = audit::describe(&patch);
            let (old, login) = audit::before(c, id, &items)?;
            // A rename is logged under the new name.
            let name = patch.login.clone().unwrap_or(login);
            Some((ctx, items, old, name))
        }
        None => None,
    };
    // The record goes first so the row's UPDATE can name it as the newest of the user's
    // chain (one write of the row); if the UPDATE fails, the job's savepoint drops both.
    let head = match audit {
        Some((ctx, items, old, name)) => Some(audit::record_user(c, id, &ctx, !bump, &items, &old, name)?),
        None => None,
    };
    write_patch(c, id, patch, bump, head)
}

fn write_patch(c: &Connection, id: UserId, patch: UserPatch, bump: bool, audit_head: Option<i64>) -> StoreResult<()> {
    let mut sets: Vec<String> = Vec::new();
    let mut vals: Vec<SqlValue> = Vec::new();
    for (attr, change) in patch.attrs {
        let def = attr.attr();
        let value = match change {
            Change::Set(v) => v,
            Change::Upload(file) => Value::File(insert_file(c, file)?),
        };
        if def.kind == AttrKind::File {
            // The replaced file goes with the change, in the same transaction.
            let sql = format!("DELETE FROM files WHERE id = (SELECT {} FROM users WHERE id = ?1)", def.name);
            c.execute(&sql, [id.get()]).map_err(backend)?;
        }
        if def.name == "email" {
            if let Value::Text(email) = &value {
                ensure_email_free(c, id, email)?;
            }
        }
        if def.searchable {
            sets.push(format!("{}_lc = ?", def.name));
            vals.push(value.as_text().map_or(SqlValue::Null, |s| SqlValue::Text(s.to_lowercase())));
        }
        sets.push(format!("{} = ?", def.name));
        vals.push(to_sql(&value));
    }
    if let Some(login) = patch.login {
        sets.push("login = ?".into());
        vals.push(SqlValue::Text(login.clone()));
        sets.push("login_lc = ?".into());
        vals.push(SqlValue::Text(login.to_lowercase()));
    }
    if let Some(head) = audit_head {
        sets.push("audit_head = ?".into());
        vals.push(SqlValue::Integer(head));
    }
    if bump {
        sets.push("version = version + 1".into());
        sets.push("timestamp_x = ?".into());
        vals.push(SqlValue::Integer(now()));
    }
    let mut where_ = String::from("id = ?");
    vals.push(SqlValue::Integer(id.get()));
    if let Some(v) = patch.expected_version {
        where_.push_str(" AND version = ?");
        vals.push(SqlValue::Integer(v));
    }
    if !sets.is_empty() {
        let stmt = format!("UPDATE users SET {} WHERE {where_}", sets.join(", "));
        let n = c.prepare_cached(&stmt).and_then(|mut s| s.execute(params_from_iter(vals))).map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                StoreError::Taken("login")
            }
            other => backend(other),
        })?;
        if n == 0 {
            let exists =
                c.query_row("SELECT 1 FROM users WHERE id = ?1", [id.get()], |_| Ok(())).optional().map_err(backend)?;
            return Err(if exists.is_some() { StoreError::VersionConflict } else { StoreError::Missing("user") });
        }
    } else if c
        .query_row("SELECT 1 FROM users WHERE id = ?1", [id.get()], |_| Ok(()))
        .optional()
        .map_err(backend)?
        .is_none()
    {
        return Err(StoreError::Missing("user"));
    }
    if !patch.custom.is_empty() {
        userfields::apply_values(c, id, patch.custom)?;
    }
    for event in patch.emit {
        events::emit(c, event, id.get(), patch.actor)?;
    }
    if let Some(depts) = patch.departments {
        c.prepare_cached("DELETE FROM user_departments WHERE user_id = ?1")
            .and_then(|mut s| s.execute([id.get()]))
            .map_err(backend)?;
        let mut ins = c
            .prepare_cached("INSERT OR IGNORE INTO user_departments (user_id, dept_id) VALUES (?1, ?2)")
            .map_err(backend)?;
        for d in depts {
            ins.execute([id.get(), d.get()]).map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                    StoreError::Missing("department")
                }
                other => backend(other),
            })?;
        }
    }
    Ok(())
}

fn ensure_email_free(c: &Connection, id: UserId, email: &str) -> StoreResult<()> {
    if email.is_empty() {
        return Ok(());
    }
    let other: Option<i64> = c
        .prepare_cached("SELECT id FROM users WHERE email_lc = ?1 AND id != ?2 LIMIT 1")
        .and_then(|mut s| s.query_row(params![email.to_lowercase(), id.get()], |r| r.get(0)).optional())
        .map_err(backend)?;
    match other {
        Some(_) => Err(StoreError::Taken("email")),
        None => Ok(()),
    }
}

pub(crate) fn insert_file(c: &Connection, file: FileUpload) -> StoreResult<FileId> {
    c.execute(
        "INSERT INTO files (name, content_type, key, data, created) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![file.name, file.content_type, generate_secret(20), file.data, now()],
    )
    .map_err(backend)?;
    FileId::new(c.last_insert_rowid()).ok_or_else(|| StoreError::Backend("bad rowid".into()))
}

fn check_department(c: &Connection, id: Option<DepartmentId>, what: &'static str) -> StoreResult<()> {
    match id {
        Some(id) if !department_exists(c, id)? => Err(StoreError::Missing(what)),
        _ => Ok(()),
    }
}

fn department_exists(c: &Connection, id: DepartmentId) -> StoreResult<bool> {
    c.query_row("SELECT 1 FROM departments WHERE id = ?1", [id.get()], |_| Ok(()))
        .optional()
        .map(|r| r.is_some())
        .map_err(backend)
}

fn insert_department(c: &Connection, d: &NewDepartment) -> StoreResult<DepartmentId> {
    check_department(c, d.parent, "parent department")?;
    c.execute(
        "INSERT INTO departments (name, sort, parent, head) VALUES (?1, ?2, ?3, ?4)",
        params![d.name, d.sort, d.parent.map(DepartmentId::get), d.head.map(UserId::get)],
    )
    .map_err(backend)?;
    DepartmentId::new(c.last_insert_rowid()).ok_or_else(|| StoreError::Backend("bad rowid".into()))
}

fn departments(c: &Connection, q: &DepartmentQuery) -> StoreResult<Vec<Department>> {
    let mut conds = Vec::new();
    let mut vals: Vec<SqlValue> = Vec::new();
    if let Some(ids) = &q.id {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        conds.push(format!("id IN ({})", vec!["?"; ids.len()].join(", ")));
        vals.extend(ids.iter().map(|i| SqlValue::Integer(i.get())));
    }
    if let Some(name) = &q.name {
        conds.push("rs_ilike(?, name)".into());
        vals.push(SqlValue::Text(name.clone()));
    }
    if let Some(p) = q.parent {
        conds.push("parent = ?".into());
        vals.push(SqlValue::Integer(p.get()));
    }
    if let Some(h) = q.head {
        conds.push("head = ?".into());
        vals.push(SqlValue::Integer(h.get()));
    }
    let where_ = if conds.is_empty() { "1".to_string() } else { conds.join(" AND ") };
    let sql = format!("SELECT id, name, sort, parent, head FROM departments WHERE {where_} ORDER BY sort, id");
    let mut stmt = c.prepare_cached(&sql).map_err(backend)?;
    let rows = stmt
        .query_map(params_from_iter(vals), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, Option<i64>>(4)?,
            ))
        })
        .map_err(backend)?;
    let mut out = Vec::new();
    for row in rows {
        let (id, name, sort, parent, head) = row.map_err(backend)?;
        if let Some(id) = DepartmentId::new(id) {
            out.push(Department {
                id,
                name,
                sort,
                parent: parent.and_then(DepartmentId::new),
                head: head.and_then(UserId::new),
            });
        }
    }
    Ok(out)
}

fn insert_webhook(c: &Connection, hook: &NewWebhook) -> StoreResult<WebhookId> {
    c.execute(
        "INSERT INTO webhooks (user_id, scopes, code_hash, created) VALUES (?1, ?2, ?3, ?4)",
        params![hook.user.get(), hook.scopes.to_list(), hook.code_hash, now()],
    )
    .map_err(backend)?;
    WebhookId::new(c.last_insert_rowid()).ok_or_else(|| StoreError::Backend("bad rowid".into()))
}

fn query_webhooks<P: rusqlite::Params>(c: &Connection, sql: &str, p: P) -> StoreResult<Vec<Webhook>> {
    let mut stmt = c.prepare_cached(sql).map_err(backend)?;
    let rows = stmt
        .query_map(p, |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })
        .map_err(backend)?;
    let mut out = Vec::new();
    for row in rows {
        let (id, user, scopes, code_hash, created) = row.map_err(backend)?;
        if let (Some(id), Some(user)) = (WebhookId::new(id), UserId::new(user)) {
            out.push(Webhook { id, user, scopes: Scopes::parse(&scopes).unwrap_or_default(), code_hash, created });
        }
    }
    Ok(out)
}
