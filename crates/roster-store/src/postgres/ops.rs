//! Users, files, departments and webhooks on PostgreSQL, called by the `Store` impl in
//! `store.rs`. Reads run on a pooled connection outside any transaction; each write runs in
//! its own transaction, with the same checks, in the same order, as `SqliteStore` (so the
//! same errors win). Custom values and events of a user write join its transaction.

use deadpool_postgres::GenericClient;
use roster_core::credentials::{generate_secret, NewWebhook, Scopes, Webhook};
use roster_core::query::{UserPage, UserQuery};
use roster_core::store::{Bootstrap, FileRef, StoredFile};
use roster_core::{
    AttrKind, Change, Department, DepartmentId, DepartmentPatch, DepartmentQuery, FileId, FileUpload, NewDepartment,
    NewUser, StoreError, StoreResult, User, UserId, UserPatch, Value, WebhookId,
};
use tokio_postgres::Row;

use super::sql::{col, compile_resolved, escape_like, order_by, refs, user_columns, user_from_row, Binds, Param};
use super::{audit, backend, events, execute, exists, new_id, now, number, query, userfields, Ready, BOOTSTRAP_LOCK};

const USER_EXISTS: &str = "SELECT 1 FROM users WHERE id = $1";
const DEPARTMENT_EXISTS: &str = "SELECT 1 FROM departments WHERE id = $1";
pub(crate) const SELECT_WEBHOOKS: &str = "SELECT id, user_id, scopes, code_hash, created FROM webhooks";

fn int_or_null(v: Option<i64>) -> Param {
    v.map_or(Param::Null, Param::Int)
}

pub(crate) async fn find_users<C: GenericClient>(c: &C, ready: Ready, q: &UserQuery) -> StoreResult<UserPage> {
    let mut depts = std::collections::HashMap::new();
    for prefix in q.filter.department_prefixes() {
        let mut b = Binds::default();
        let test = b.ilike("name", &format!("{}%", escape_like(&prefix)), ready.fold);
        let rows = query(c, &format!("SELECT id FROM departments WHERE {test}"), &refs(&b.0)).await?;
        let ids = rows.iter().map(|r| col::<i64>(r, 0)).collect::<StoreResult<Vec<i64>>>()?;
        depts.insert(prefix, ids);
    }
    let mut w = compile_resolved(&q.filter, ready.fold, depts);
    let count_sql = format!("SELECT count(*) FROM users WHERE {}", w.sql);
    let count_params = w.binds.0.clone();
    let limit = w.binds.bind(Param::Int(q.limit.min(i64::MAX as u64) as i64));
    let offset = w.binds.bind(Param::Int(q.offset.min(i64::MAX as u64) as i64));
    let (cols, order) = (user_columns(), order_by(&q.order));
    let sql = format!("SELECT {cols} FROM users WHERE {} ORDER BY {order} LIMIT {limit} OFFSET {offset}", w.sql);
    let rows = query(c, &sql, &refs(&w.binds.0)).await?;
    let mut users = rows.iter().map(user_from_row).collect::<StoreResult<Vec<User>>>()?;
    let ids: Vec<i64> = users.iter().map(|u| u.id.get()).collect();
    for (uid, dept) in departments_of(c, &ids).await? {
        if let Some(u) = users.iter_mut().find(|u| u.id.get() == uid) {
            u.departments.push(dept);
        }
    }
    let mut custom = userfields::load_values(c, &ids).await?;
    for u in &mut users {
        u.custom = custom.remove(&u.id.get()).unwrap_or_default();
    }
    let total = match q.count_total {
        true => Some(number(c, &count_sql, &refs(&count_params)).await? as u64),
        false => None,
    };
    Ok(UserPage { items: users, total })
}

pub(crate) async fn file<C: GenericClient>(c: &C, id: FileId) -> StoreResult<Option<StoredFile>> {
    let sql = "SELECT name, content_type, key, data FROM files WHERE id = $1";
    let rows = query(c, sql, &[&id.get()]).await?;
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    let (name, content_type, key, data) = (col(r, 0)?, col(r, 1)?, col(r, 2)?, col(r, 3)?);
    Ok(Some(StoredFile { id, name, content_type, key, data }))
}

pub(crate) async fn file_refs<C: GenericClient>(c: &C, ids: Vec<FileId>) -> StoreResult<Vec<FileRef>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut b = Binds::default();
    let list = b.list(ids.iter().map(|i| Param::Int(i.get())));
    let sql = format!("SELECT id, name, key FROM files WHERE id IN ({list}) ORDER BY id");
    let mut out = Vec::new();
    for r in query(c, &sql, &refs(&b.0)).await? {
        if let Some(id) = FileId::new(col(&r, 0)?) {
            out.push(FileRef { id, name: col(&r, 1)?, key: col(&r, 2)? });
        }
    }
    Ok(out)
}

pub(crate) async fn departments<C: GenericClient>(
    c: &C,
    ready: Ready,
    q: &DepartmentQuery,
) -> StoreResult<Vec<Department>> {
    let mut b = Binds::default();
    let mut conds = Vec::new();
    if let Some(ids) = &q.id {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = b.list(ids.iter().map(|i| Param::Int(i.get())));
        conds.push(format!("id IN ({list})"));
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
    for r in query(c, &sql, &refs(&b.0)).await? {
        if let Some(id) = DepartmentId::new(col(&r, 0)?) {
            let parent = col::<Option<i64>>(&r, 3)?.and_then(DepartmentId::new);
            let head = col::<Option<i64>>(&r, 4)?.and_then(UserId::new);
            out.push(Department { id, name: col(&r, 1)?, sort: col(&r, 2)?, parent, head });
        }
    }
    Ok(out)
}

pub(crate) async fn bootstrap<C: GenericClient>(tx: &C, data: Bootstrap) -> StoreResult<bool> {
    // Two processes starting together on an empty database: the second waits for the first
    // to commit, then (a new statement, a new snapshot) finds its users and does nothing.
    execute(tx, "SELECT pg_advisory_xact_lock($1)", &[&BOOTSTRAP_LOCK]).await?;
    if number(tx, "SELECT count(*) FROM users", &[]).await? > 0 {
        return Ok(false);
    }
    // The bootstrap set refers to department 1 and user 1; a sequence advanced by an
    // earlier failed attempt would make other ids, so refuse rather than link wrongly.
    if insert_department(tx, &data.root_department).await? != DepartmentId::ROOT
        || insert_user(tx, data.admin).await? != UserId::ADMIN
    {
        return Err(StoreError::Backend(
            "bootstrap did not get department 1 and user 1: the id sequences of this \
             empty database were advanced (restart them)"
                .into(),
        ));
    }
    if let Some(guest) = data.guest {
        if insert_user(tx, guest).await? != UserId::GUEST {
            return Err(StoreError::Backend("bootstrap did not get user 2 for the guest".into()));
        }
    }
    insert_webhook(tx, &data.webhook).await?;
    let member = "INSERT INTO users_groups (usrgrpid, userid) VALUES ($1, $2) \
                  ON CONFLICT (usrgrpid, userid) DO NOTHING";
    for (user, group) in &data.memberships {
        execute(tx, member, &[&group.get(), &user.get()]).await?;
    }
    Ok(true)
}

pub(crate) async fn load_user<C: GenericClient>(c: &C, id: UserId) -> StoreResult<Option<User>> {
    let sql = format!("SELECT {} FROM users WHERE id = $1", user_columns());
    let rows = query(c, &sql, &[&id.get()]).await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let mut user = user_from_row(row)?;
    user.departments = departments_of(c, &[id.get()]).await?.into_iter().map(|(_, d)| d).collect();
    user.custom = userfields::load_values(c, &[id.get()]).await?.remove(&id.get()).unwrap_or_default();
    Ok(Some(user))
}

/// `(user, department)` pairs of these users, by user then department.
async fn departments_of<C: GenericClient>(c: &C, users: &[i64]) -> StoreResult<Vec<(i64, DepartmentId)>> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let mut b = Binds::default();
    let list = b.list(users.iter().map(|u| Param::Int(*u)));
    let sql = format!(
        "SELECT user_id, dept_id FROM user_departments WHERE user_id IN ({list}) \
         ORDER BY user_id, dept_id"
    );
    let mut out = Vec::new();
    for r in query(c, &sql, &refs(&b.0)).await? {
        if let Some(d) = DepartmentId::new(col(&r, 1)?) {
            out.push((col(&r, 0)?, d));
        }
    }
    Ok(out)
}

pub(crate) async fn insert_user<C: GenericClient>(tx: &C, user: NewUser) -> StoreResult<UserId> {
    let login_lc = user.login.to_lowercase();
    let taken = query(tx, "SELECT id FROM users WHERE login_lc = $1", &[&login_lc]).await?;
    if !taken.is_empty() {
        return Err(StoreError::Taken("login"));
    }
    let sql = "INSERT INTO users \
               (login, login_lc, password_hash, is_admin, version, date_register, timestamp_x) \
               VALUES ($1, $2, $3, $4, 1, $5, $5) RETURNING id";
    let (hash, admin) = (&user.password_hash, &user.is_admin);
    let id = number(tx, sql, &[&user.login, &login_lc, hash, admin, &now()]).await?;
    let id = new_id(UserId::new, id)?;
    apply_patch(tx, id, user.patch, false).await?;
    Ok(id)
}

pub(crate) async fn update_users<C: GenericClient>(
    tx: &C,
    patches: Vec<(UserId, UserPatch)>,
) -> StoreResult<Vec<StoreResult<()>>> {
    let mut out = Vec::with_capacity(patches.len());
    for (id, patch) in patches {
        // A failed statement aborts a PostgreSQL transaction; rolling back to the savepoint
        // undoes this patch alone and lets the next one run.
        tx.batch_execute("SAVEPOINT one").await.map_err(backend)?;
        let r = apply_patch(tx, id, patch, true).await;
        let end = match r {
            Ok(()) => "RELEASE SAVEPOINT one",
            Err(_) => "ROLLBACK TO SAVEPOINT one; RELEASE SAVEPOINT one",
        };
        tx.batch_execute(end).await.map_err(backend)?;
        out.push(r);
    }
    Ok(out)
}

/// Writes a patch to an existing row; with `bump`, also the version and `timestamp_x`.
/// With an audit context, the record (values before and after) joins the same transaction.
pub(crate) async fn apply_patch<C: GenericClient>(
    tx: &C,
    id: UserId,
    mut patch: UserPatch,
    bump: bool,
) -> StoreResult<()> {
    // The audit record needs the values before the change; read them first.
    let audit = match patch.audit.take() {
        Some(ctx) => {
            let items = audit::describe(&patch);
            let (old, login) = audit::before(tx, id, &items).await?;
            // A rename is logged under the new name.
            let name = patch.login.clone().unwrap_or(login);
            Some((ctx, items, old, name))
        }
        None => None,
    };
    write_patch(tx, id, patch, bump).await?;
    if let Some((ctx, items, old, name)) = audit {
        audit::record_user(tx, id, &ctx, !bump, &items, &old, name).await?;
    }
    Ok(())
}

/// Only the listed columns are set, so concurrent patches of other columns both survive.
async fn write_patch<C: GenericClient>(tx: &C, id: UserId, patch: UserPatch, bump: bool) -> StoreResult<()> {
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
            let old = format!("SELECT {} FROM users WHERE id = $1", def.name);
            execute(tx, &format!("DELETE FROM files WHERE id = ({old})"), &[&id.get()]).await?;
        }
        if let (true, Value::Text(email)) = (def.name == "email", &value) {
            ensure_email_free(tx, id, email).await?;
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
    if sets.is_empty() {
        if !exists(tx, USER_EXISTS, id.get()).await? {
            return Err(StoreError::Missing("user"));
        }
    } else {
        let mut where_ = format!("id = {}", b.bind(Param::Int(id.get())));
        if let Some(v) = patch.expected_version {
            where_.push_str(&format!(" AND version = {}", b.bind(Param::Int(v))));
        }
        let sql = format!("UPDATE users SET {} WHERE {where_}", sets.join(", "));
        if execute(tx, &sql, &refs(&b.0)).await? == 0 {
            return Err(match exists(tx, USER_EXISTS, id.get()).await? {
                true => StoreError::VersionConflict,
                false => StoreError::Missing("user"),
            });
        }
    }
    if !patch.custom.is_empty() {
        userfields::apply_values(tx, id, patch.custom).await?;
    }
    for event in patch.emit {
        events::emit(tx, event, id.get(), patch.actor).await?;
    }
    if let Some(depts) = patch.departments {
        set_departments(tx, id, depts).await?;
    }
    Ok(())
}

/// Replaces a user's departments; a missing one fails its foreign key (`Missing`).
async fn set_departments<C: GenericClient>(tx: &C, id: UserId, depts: Vec<DepartmentId>) -> StoreResult<()> {
    execute(tx, "DELETE FROM user_departments WHERE user_id = $1", &[&id.get()]).await?;
    let insert = "INSERT INTO user_departments (user_id, dept_id) VALUES ($1, $2)";
    let mut seen: Vec<DepartmentId> = Vec::with_capacity(depts.len());
    for d in depts {
        if !seen.contains(&d) {
            seen.push(d);
            execute(tx, insert, &[&id.get(), &d.get()]).await?;
        }
    }
    Ok(())
}

async fn ensure_email_free<C: GenericClient>(tx: &C, id: UserId, email: &str) -> StoreResult<()> {
    if email.is_empty() {
        return Ok(());
    }
    let sql = "SELECT id FROM users WHERE email_lc = $1 AND email_lc <> '' AND id <> $2 LIMIT 1";
    match query(tx, sql, &[&email.to_lowercase(), &id.get()]).await?.is_empty() {
        true => Ok(()),
        false => Err(StoreError::Taken("email")),
    }
}

pub(crate) async fn insert_file<C: GenericClient>(tx: &C, file: FileUpload) -> StoreResult<FileId> {
    let sql = "INSERT INTO files (name, content_type, key, data, created) \
               VALUES ($1, $2, $3, $4, $5) RETURNING id";
    let key = generate_secret(20);
    let id = number(tx, sql, &[&file.name, &file.content_type, &key, &file.data, &now()]).await?;
    new_id(FileId::new, id)
}

async fn check_department<C: GenericClient>(tx: &C, id: Option<DepartmentId>, what: &'static str) -> StoreResult<()> {
    match id {
        Some(id) if !exists(tx, DEPARTMENT_EXISTS, id.get()).await? => Err(StoreError::Missing(what)),
        _ => Ok(()),
    }
}

pub(crate) async fn insert_department<C: GenericClient>(tx: &C, d: &NewDepartment) -> StoreResult<DepartmentId> {
    check_department(tx, d.parent, "parent department").await?;
    let sql = "INSERT INTO departments (name, sort, parent, head) VALUES ($1, $2, $3, $4) \
               RETURNING id";
    let (parent, head) = (d.parent.map(DepartmentId::get), d.head.map(UserId::get));
    let id = number(tx, sql, &[&d.name, &d.sort, &parent, &head]).await?;
    new_id(DepartmentId::new, id)
}

pub(crate) async fn update_department<C: GenericClient>(
    tx: &C,
    id: DepartmentId,
    patch: DepartmentPatch,
) -> StoreResult<()> {
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
        sets.push(format!("parent = {}", b.bind(int_or_null(parent.map(DepartmentId::get)))));
    }
    if let Some(head) = patch.head {
        sets.push(format!("head = {}", b.bind(int_or_null(head.map(UserId::get)))));
    }
    if !exists(tx, DEPARTMENT_EXISTS, id.get()).await? {
        return Err(StoreError::Missing("department"));
    }
    if sets.is_empty() {
        return Ok(());
    }
    let target = b.bind(Param::Int(id.get()));
    let sql = format!("UPDATE departments SET {} WHERE id = {target}", sets.join(", "));
    execute(tx, &sql, &refs(&b.0)).await?;
    Ok(())
}

pub(crate) async fn insert_webhook<C: GenericClient>(tx: &C, hook: &NewWebhook) -> StoreResult<WebhookId> {
    let sql = "INSERT INTO webhooks (user_id, scopes, code_hash, created) \
               VALUES ($1, $2, $3, $4) RETURNING id";
    let (user, scopes) = (hook.user.get(), hook.scopes.to_list());
    let id = number(tx, sql, &[&user, &scopes, &hook.code_hash, &now()]).await?;
    new_id(WebhookId::new, id)
}

pub(crate) fn webhooks_from(rows: Vec<Row>) -> StoreResult<Vec<Webhook>> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        if let (Some(id), Some(user)) = (WebhookId::new(col(&r, 0)?), UserId::new(col(&r, 1)?)) {
            let scopes = Scopes::parse(&col::<String>(&r, 2)?).unwrap_or_default();
            out.push(Webhook { id, user, scopes, code_hash: col(&r, 3)?, created: col(&r, 4)? });
        }
    }
    Ok(out)
}
