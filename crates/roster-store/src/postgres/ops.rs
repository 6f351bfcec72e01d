//! The `Store` operations of `PgStore`: users, files, departments, webhooks. Reads run on
//! a pooled connection outside any transaction; each write runs in its own transaction,
//! with the same checks, in the same order, as `SqliteStore` (so the same errors win).

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use roster_core::credentials::{generate_secret, NewWebhook, Scopes, Webhook};
use roster_core::query::{UserPage, UserQuery};
use roster_core::store::{Bootstrap, FileRef, StoredFile};
use roster_core::{
    AttrKind, Change, Department, DepartmentId, DepartmentPatch, DepartmentQuery, FileId, FileUpload, NewDepartment,
    NewUser, Store, StoreError, StoreResult, User, UserId, UserPatch, Value, WebhookId,
};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::sql::{compile, order_by, refs, user_columns, user_from_row, Binds, Param};
use super::{backend, exists, PgStore, BOOTSTRAP_LOCK};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Runs a statement through the connection's statement cache.
async fn query<C: GenericClient>(c: &C, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<Row>> {
    let stmt = c.prepare_cached(sql).await.map_err(backend)?;
    c.query(&stmt, params).await.map_err(backend)
}

async fn execute<C: GenericClient>(c: &C, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<u64> {
    let stmt = c.prepare_cached(sql).await.map_err(backend)?;
    c.execute(&stmt, params).await.map_err(backend)
}

/// The id a `... RETURNING id` statement made.
async fn insert_returning_id<C: GenericClient>(c: &C, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<i64> {
    let rows = query(c, sql, params).await?;
    let row = rows.first().ok_or_else(|| StoreError::Backend("INSERT returned no id".into()))?;
    row.try_get(0).map_err(backend)
}

fn new_id<T>(make: fn(i64) -> Option<T>, raw: i64) -> StoreResult<T> {
    make(raw).ok_or_else(|| StoreError::Backend(format!("bad id {raw}")))
}

#[async_trait]
impl Store for PgStore {
    async fn bootstrap(&self, data: Bootstrap) -> StoreResult<bool> {
        self.write(move |tx| Box::pin(bootstrap(tx, data))).await
    }

    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        let (c, _) = self.client().await?;
        load_user(&c, id).await
    }

    async fn password_of(&self, login: &str) -> StoreResult<Option<(UserId, Option<String>)>> {
        let (c, _) = self.client().await?;
        let rows = query(&c, "SELECT id, password_hash FROM users WHERE login_lc = $1", &[&login.to_lowercase()]).await?;
        match rows.first() {
            Some(r) => {
                let hash: Option<String> = r.try_get(1).map_err(backend)?;
                Ok(UserId::new(r.try_get(0).map_err(backend)?).map(|id| (id, hash)))
            }
            None => Ok(None),
        }
    }

    async fn find_users(&self, q: &UserQuery) -> StoreResult<UserPage> {
        let (c, ready) = self.client().await?;
        let mut w = compile(&q.filter, ready.fold);
        let count_sql = format!("SELECT count(*) FROM users WHERE {}", w.sql);
        let count_params = w.binds.0.clone();
        let limit = w.binds.bind(Param::Int(q.limit.min(i64::MAX as u64) as i64));
        let offset = w.binds.bind(Param::Int(q.offset.min(i64::MAX as u64) as i64));
        let sql = format!(
            "SELECT {} FROM users WHERE {} ORDER BY {} LIMIT {limit} OFFSET {offset}",
            user_columns(),
            w.sql,
            order_by(&q.order)
        );
        let rows = query(&c, &sql, &refs(&w.binds.0)).await?;
        let mut users = rows.iter().map(user_from_row).collect::<StoreResult<Vec<User>>>()?;
        let ids: Vec<i64> = users.iter().map(|u| u.id.get()).collect();
        for (uid, dept) in departments_of(&c, &ids).await? {
            if let Some(u) = users.iter_mut().find(|u| u.id.get() == uid) {
                u.departments.push(dept);
            }
        }
        let total = if q.count_total {
            let rows = query(&c, &count_sql, &refs(&count_params)).await?;
            let n: i64 = rows.first().map(|r| r.try_get(0)).transpose().map_err(backend)?.unwrap_or(0);
            Some(n as u64)
        } else {
            None
        };
        Ok(UserPage { items: users, total })
    }

    async fn create_user(&self, user: NewUser) -> StoreResult<UserId> {
        self.write(move |tx| Box::pin(insert_user(tx, user))).await
    }

    async fn update_user(&self, id: UserId, patch: UserPatch) -> StoreResult<()> {
        self.write(move |tx| Box::pin(apply_patch(tx, id, patch, true))).await
    }

    async fn update_users(&self, patches: Vec<(UserId, UserPatch)>) -> StoreResult<Vec<StoreResult<()>>> {
        self.write(move |tx| {
            Box::pin(async move {
                let mut out = Vec::with_capacity(patches.len());
                for (id, patch) in patches {
                    // A failed statement aborts a PostgreSQL transaction; rolling back to the
                    // savepoint undoes this patch alone and lets the next one run.
                    tx.batch_execute("SAVEPOINT one").await.map_err(backend)?;
                    let r = apply_patch(tx, id, patch, true).await;
                    let end = if r.is_ok() { "RELEASE SAVEPOINT one" } else { "ROLLBACK TO SAVEPOINT one; RELEASE SAVEPOINT one" };
                    tx.batch_execute(end).await.map_err(backend)?;
                    out.push(r);
                }
                Ok(out)
            })
        })
        .await
    }

    async fn file(&self, id: FileId) -> StoreResult<Option<StoredFile>> {
        let (c, _) = self.client().await?;
        let rows = query(&c, "SELECT name, content_type, key, data FROM files WHERE id = $1", &[&id.get()]).await?;
        let Some(r) = rows.first() else { return Ok(None) };
        Ok(Some(StoredFile {
            id,
            name: r.try_get(0).map_err(backend)?,
            content_type: r.try_get(1).map_err(backend)?,
            key: r.try_get(2).map_err(backend)?,
            data: r.try_get(3).map_err(backend)?,
        }))
    }

    async fn file_refs(&self, ids: Vec<FileId>) -> StoreResult<Vec<FileRef>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let (c, _) = self.client().await?;
        let mut b = Binds::default();
        let list = b.list(ids.iter().map(|i| Param::Int(i.get())));
        let sql = format!("SELECT id, name, key FROM files WHERE id IN ({list}) ORDER BY id");
        let mut out = Vec::new();
        for r in query(&c, &sql, &refs(&b.0)).await? {
            if let Some(id) = FileId::new(r.try_get(0).map_err(backend)?) {
                out.push(FileRef { id, name: r.try_get(1).map_err(backend)?, key: r.try_get(2).map_err(backend)? });
            }
        }
        Ok(out)
    }

    async fn departments(&self, q: &DepartmentQuery) -> StoreResult<Vec<Department>> {
        let (c, ready) = self.client().await?;
        let mut b = Binds::default();
        let mut conds = Vec::new();
        if let Some(ids) = &q.id {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            conds.push(format!("id IN ({})", b.list(ids.iter().map(|i| Param::Int(i.get())))));
        }
        if let Some(name) = &q.name {
            conds.push(b.ilike("name", name, ready.fold));
        }
        if let Some(p) = q.parent {
            conds.push(format!("parent = {}", b.bind(Param::Int(p.get()))));
        }
        if let Some(h) = q.head {
            conds.push(format!("head = {}", b.bind(Param::Int(h.get()))));
        }
        let where_ = if conds.is_empty() { "TRUE".to_string() } else { conds.join(" AND ") };
        let sql = format!("SELECT id, name, sort, parent, head FROM departments WHERE {where_} ORDER BY sort, id");
        let mut out = Vec::new();
        for r in query(&c, &sql, &refs(&b.0)).await? {
            if let Some(id) = DepartmentId::new(r.try_get(0).map_err(backend)?) {
                out.push(Department {
                    id,
                    name: r.try_get(1).map_err(backend)?,
                    sort: r.try_get(2).map_err(backend)?,
                    parent: r.try_get::<_, Option<i64>>(3).map_err(backend)?.and_then(DepartmentId::new),
                    head: r.try_get::<_, Option<i64>>(4).map_err(backend)?.and_then(UserId::new),
                });
            }
        }
        Ok(out)
    }

    async fn create_department(&self, dept: NewDepartment) -> StoreResult<DepartmentId> {
        self.write(move |tx| Box::pin(async move { insert_department(tx, &dept).await })).await
    }

    async fn update_department(&self, id: DepartmentId, patch: DepartmentPatch) -> StoreResult<()> {
        self.write(move |tx| Box::pin(update_department(tx, id, patch))).await
    }

    async fn delete_department(&self, id: DepartmentId) -> StoreResult<()> {
        self.write(move |tx| {
            Box::pin(async move {
                match execute(tx, "DELETE FROM departments WHERE id = $1", &[&id.get()]).await? {
                    0 => Err(StoreError::Missing("department")),
                    _ => Ok(()),
                }
            })
        })
        .await
    }

    async fn create_webhook(&self, hook: NewWebhook) -> StoreResult<WebhookId> {
        self.write(move |tx| Box::pin(async move { insert_webhook(tx, &hook).await })).await
    }

    async fn webhooks(&self) -> StoreResult<Vec<Webhook>> {
        let (c, _) = self.client().await?;
        webhooks_from(query(&c, "SELECT id, user_id, scopes, code_hash, created FROM webhooks ORDER BY id", &[]).await?)
    }

    async fn webhooks_of(&self, user: UserId) -> StoreResult<Vec<Webhook>> {
        let (c, _) = self.client().await?;
        let sql = "SELECT id, user_id, scopes, code_hash, created FROM webhooks WHERE user_id = $1 ORDER BY id";
        webhooks_from(query(&c, sql, &[&user.get()]).await?)
    }

    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<bool> {
        self.write(move |tx| {
            Box::pin(async move { Ok(execute(tx, "DELETE FROM webhooks WHERE id = $1", &[&id.get()]).await? > 0) })
        })
        .await
    }
}

async fn bootstrap<C: GenericClient>(tx: &C, data: Bootstrap) -> StoreResult<bool> {
    // Two processes starting together on an empty database: the second waits for the first
    // to commit, then (a new statement, a new snapshot) finds its users and does nothing.
    execute(tx, "SELECT pg_advisory_xact_lock($1)", &[&BOOTSTRAP_LOCK]).await?;
    let rows = query(tx, "SELECT count(*) FROM users", &[]).await?;
    let users: i64 = rows.first().map(|r| r.try_get(0)).transpose().map_err(backend)?.unwrap_or(0);
    if users > 0 {
        return Ok(false);
    }
    // The bootstrap set refers to department 1 and user 1; a sequence advanced by an
    // earlier failed attempt would make other ids, so refuse rather than link wrongly.
    if insert_department(tx, &data.root_department).await? != DepartmentId::ROOT
        || insert_user(tx, data.admin).await? != UserId::ADMIN
    {
        return Err(StoreError::Backend(
            "bootstrap did not get department 1 and user 1: the id sequences of this empty database \
             were advanced (restart them)"
                .into(),
        ));
    }
    insert_webhook(tx, &data.webhook).await?;
    Ok(true)
}

async fn load_user<C: GenericClient>(c: &C, id: UserId) -> StoreResult<Option<User>> {
    let sql = format!("SELECT {} FROM users WHERE id = $1", user_columns());
    let rows = query(c, &sql, &[&id.get()]).await?;
    let Some(row) = rows.first() else { return Ok(None) };
    let mut user = user_from_row(row)?;
    user.departments = departments_of(c, &[id.get()]).await?.into_iter().map(|(_, d)| d).collect();
    Ok(Some(user))
}

async fn departments_of<C: GenericClient>(c: &C, users: &[i64]) -> StoreResult<Vec<(i64, DepartmentId)>> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let mut b = Binds::default();
    let list = b.list(users.iter().map(|u| Param::Int(*u)));
    let sql = format!("SELECT user_id, dept_id FROM user_departments WHERE user_id IN ({list}) ORDER BY user_id, dept_id");
    let mut out = Vec::new();
    for r in query(c, &sql, &refs(&b.0)).await? {
        let (u, d): (i64, i64) = (r.try_get(0).map_err(backend)?, r.try_get(1).map_err(backend)?);
        if let Some(d) = DepartmentId::new(d) {
            out.push((u, d));
        }
    }
    Ok(out)
}

async fn insert_user<C: GenericClient>(tx: &C, user: NewUser) -> StoreResult<UserId> {
    let login_lc = user.login.to_lowercase();
    if !query(tx, "SELECT id FROM users WHERE login_lc = $1", &[&login_lc]).await?.is_empty() {
        return Err(StoreError::Taken("login"));
    }
    let t = now();
    let id = insert_returning_id(
        tx,
        "INSERT INTO users (login, login_lc, password_hash, is_admin, version, date_register, timestamp_x) \
         VALUES ($1, $2, $3, $4, 1, $5, $5) RETURNING id",
        &[&user.login, &login_lc, &user.password_hash, &user.is_admin, &t],
    )
    .await?;
    let id = new_id(UserId::new, id)?;
    apply_patch(tx, id, user.patch, false).await?;
    Ok(id)
}

/// Writes a patch to an existing row; with `bump`, also the version and `timestamp_x`.
/// Only the listed columns are set, so concurrent patches of other columns both survive.
async fn apply_patch<C: GenericClient>(tx: &C, id: UserId, patch: UserPatch, bump: bool) -> StoreResult<()> {
    if patch.attrs.iter().any(|(a, _)| a.attr().kind == AttrKind::File) {
        // Holds the row until commit, so two uploads cannot both delete the same old file
        // and leave one new file unreferenced.
        execute(tx, "SELECT 1 FROM users WHERE id = $1 FOR UPDATE", &[&id.get()]).await?;
    }
    let mut b = Binds::default();
    let mut sets: Vec<String> = Vec::new();
    for (attr, change) in patch.attrs {
        let def = attr.attr();
        let value = match change {
            Change::Set(v) => v,
            Change::Upload(file) => Value::File(insert_file(tx, file).await?),
        };
        if def.kind == AttrKind::File {
            // The replaced file goes with the change, in the same transaction.
            let sql = format!("DELETE FROM files WHERE id = (SELECT {} FROM users WHERE id = $1)", def.name);
            execute(tx, &sql, &[&id.get()]).await?;
        }
        if def.name == "email" {
            if let Value::Text(email) = &value {
                ensure_email_free(tx, id, email).await?;
            }
        }
        if def.searchable {
            let lower = value.as_text().map_or(Param::Null, |s| Param::Text(s.to_lowercase()));
            sets.push(format!("{}_lc = {}", def.name, b.bind(lower)));
        }
        sets.push(format!("{} = {}", def.name, b.bind(Param::of(&value))));
    }
    if let Some(login) = patch.login {
        sets.push(format!("login_lc = {}", b.bind(Param::Text(login.to_lowercase()))));
        sets.push(format!("login = {}", b.bind(Param::Text(login))));
    }
    if bump {
        sets.push("version = version + 1".into());
        sets.push(format!("timestamp_x = {}", b.bind(Param::Int(now()))));
    }
    let user_exists = "SELECT 1 FROM users WHERE id = $1";
    if sets.is_empty() {
        if !exists(tx, user_exists, id.get()).await? {
            return Err(StoreError::Missing("user"));
        }
    } else {
        let mut where_ = format!("id = {}", b.bind(Param::Int(id.get())));
        if let Some(v) = patch.expected_version {
            where_.push_str(&format!(" AND version = {}", b.bind(Param::Int(v))));
        }
        let sql = format!("UPDATE users SET {} WHERE {where_}", sets.join(", "));
        if execute(tx, &sql, &refs(&b.0)).await? == 0 {
            let found = exists(tx, user_exists, id.get()).await?;
            return Err(if found { StoreError::VersionConflict } else { StoreError::Missing("user") });
        }
    }
    if let Some(depts) = patch.departments {
        execute(tx, "DELETE FROM user_departments WHERE user_id = $1", &[&id.get()]).await?;
        let mut seen: Vec<DepartmentId> = Vec::with_capacity(depts.len());
        for d in depts {
            if seen.contains(&d) {
                continue;
            }
            seen.push(d);
            // A missing department fails its foreign key: `Missing("department")`.
            execute(tx, "INSERT INTO user_departments (user_id, dept_id) VALUES ($1, $2)", &[&id.get(), &d.get()])
                .await?;
        }
    }
    Ok(())
}

async fn ensure_email_free<C: GenericClient>(tx: &C, id: UserId, email: &str) -> StoreResult<()> {
    if email.is_empty() {
        return Ok(());
    }
    let sql = "SELECT id FROM users WHERE email_lc = $1 AND email_lc <> '' AND id <> $2 LIMIT 1";
    if query(tx, sql, &[&email.to_lowercase(), &id.get()]).await?.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Taken("email"))
    }
}

async fn insert_file<C: GenericClient>(tx: &C, file: FileUpload) -> StoreResult<FileId> {
    let id = insert_returning_id(
        tx,
        "INSERT INTO files (name, content_type, key, data, created) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        &[&file.name, &file.content_type, &generate_secret(20), &file.data, &now()],
    )
    .await?;
    new_id(FileId::new, id)
}

async fn check_department<C: GenericClient>(tx: &C, id: Option<DepartmentId>, what: &'static str) -> StoreResult<()> {
    match id {
        Some(id) if !exists(tx, "SELECT 1 FROM departments WHERE id = $1", id.get()).await? => Err(StoreError::Missing(what)),
        _ => Ok(()),
    }
}

async fn insert_department<C: GenericClient>(tx: &C, d: &NewDepartment) -> StoreResult<DepartmentId> {
    check_department(tx, d.parent, "parent department").await?;
    let id = insert_returning_id(
        tx,
        "INSERT INTO departments (name, sort, parent, head) VALUES ($1, $2, $3, $4) RETURNING id",
        &[&d.name, &d.sort, &d.parent.map(DepartmentId::get), &d.head.map(UserId::get)],
    )
    .await?;
    new_id(DepartmentId::new, id)
}

async fn update_department<C: GenericClient>(tx: &C, id: DepartmentId, patch: DepartmentPatch) -> StoreResult<()> {
    let mut b = Binds::default();
    let mut sets = Vec::new();
    if let Some(name) = patch.name {
        sets.push(format!("name = {}", b.bind(Param::Text(name))));
    }
    if let Some(sort) = patch.sort {
        sets.push(format!("sort = {}", b.bind(Param::Int(sort))));
    }
    if let Some(parent) = patch.parent {
        check_department(tx, parent, "parent department").await?;
        sets.push(format!("parent = {}", b.bind(parent.map_or(Param::Null, |p| Param::Int(p.get())))));
    }
    if let Some(head) = patch.head {
        sets.push(format!("head = {}", b.bind(head.map_or(Param::Null, |h| Param::Int(h.get())))));
    }
    if !exists(tx, "SELECT 1 FROM departments WHERE id = $1", id.get()).await? {
        return Err(StoreError::Missing("department"));
    }
    if sets.is_empty() {
        return Ok(());
    }
    let sql = format!("UPDATE departments SET {} WHERE id = {}", sets.join(", "), b.bind(Param::Int(id.get())));
    execute(tx, &sql, &refs(&b.0)).await?;
    Ok(())
}

async fn insert_webhook<C: GenericClient>(tx: &C, hook: &NewWebhook) -> StoreResult<WebhookId> {
    let id = insert_returning_id(
        tx,
        "INSERT INTO webhooks (user_id, scopes, code_hash, created) VALUES ($1, $2, $3, $4) RETURNING id",
        &[&hook.user.get(), &hook.scopes.to_list(), &hook.code_hash, &now()],
    )
    .await?;
    new_id(WebhookId::new, id)
}

fn webhooks_from(rows: Vec<Row>) -> StoreResult<Vec<Webhook>> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let (id, user): (i64, i64) = (r.try_get(0).map_err(backend)?, r.try_get(1).map_err(backend)?);
        if let (Some(id), Some(user)) = (WebhookId::new(id), UserId::new(user)) {
            let scopes: String = r.try_get(2).map_err(backend)?;
            out.push(Webhook {
                id,
                user,
                scopes: Scopes::parse(&scopes).unwrap_or_default(),
                code_hash: r.try_get(3).map_err(backend)?,
                created: r.try_get(4).map_err(backend)?,
            });
        }
    }
    Ok(out)
}
