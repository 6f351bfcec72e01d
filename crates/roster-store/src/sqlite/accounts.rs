//! SQLite writes for the Zabbix face: accounts (user + groups + media) created, changed
//! and deleted atomically, group and token changes, logins and sessions, settings. Each
//! function runs inside one group-commit job; an error rolls the whole job back.

use roster_core::{
    AccountWrite, ApiTokenPatch, GroupId, MediaWrite, NewAccount, NewApiToken, NewUserGroup, Session, StoreError,
    StoreResult, TokenId, UserGroupPatch, UserId,
};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use super::access::in_list;
use super::backend;
use super::ops::{insert_user, now, update_user};

/// Maps a unique-constraint failure to `Taken(what)`.
fn taken(what: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            StoreError::Taken(what)
        }
        other => backend(other),
    }
}

/// Maps a foreign-key failure to `Missing(what)`.
fn missing(what: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            StoreError::Missing(what)
        }
        other => backend(other),
    }
}

pub(crate) fn create_accounts(c: &Connection, accounts: Vec<NewAccount>) -> StoreResult<Vec<UserId>> {
    let mut ids = Vec::with_capacity(accounts.len());
    for account in accounts {
        let id = insert_user(c, account.user)?;
        set_groups(c, id, &account.groups)?;
        set_medias(c, id, account.medias)?;
        ids.push(id);
    }
    Ok(ids)
}

pub(crate) fn update_accounts(c: &Connection, writes: Vec<AccountWrite>) -> StoreResult<()> {
    for w in writes {
        let id = w.id;
        update_user(c, id, w.patch)?;
        if let Some(hash) = w.password_hash {
            c.prepare_cached("UPDATE users SET password_hash = ?1 WHERE id = ?2")
                .and_then(|mut s| s.execute(params![hash, id.get()]))
                .map_err(backend)?;
        }
        if let Some(admin) = w.is_admin {
            c.prepare_cached("UPDATE users SET is_admin = ?1 WHERE id = ?2")
                .and_then(|mut s| s.execute(params![admin, id.get()]))
                .map_err(backend)?;
        }
        if let Some(groups) = w.groups {
            set_groups(c, id, &groups)?;
        }
        if let Some(medias) = w.medias {
            set_medias(c, id, medias)?;
        }
        if w.end_sessions {
            let keep = w.keep_session.unwrap_or_default();
            c.prepare_cached("UPDATE sessions SET status = 1 WHERE userid = ?1 AND hash != ?2")
                .and_then(|mut s| s.execute(params![id.get(), keep]))
                .map_err(backend)?;
        }
    }
    Ok(())
}

/// Replaces a user's memberships: kept rows stay, missing ones are added, the rest removed.
fn set_groups(c: &Connection, user: UserId, groups: &[GroupId]) -> StoreResult<()> {
    let mut vals = vec![SqlValue::Integer(user.get())];
    let ids: Vec<i64> = groups.iter().map(|g| g.get()).collect();
    let keep = in_list("usrgrpid", Some(&ids), &mut vals);
    let sql = format!("DELETE FROM users_groups WHERE userid = ? AND NOT ({keep})");
    c.execute(&sql, params_from_iter(vals)).map_err(backend)?;
    let mut ins =
        c.prepare_cached("INSERT OR IGNORE INTO users_groups (usrgrpid, userid) VALUES (?1, ?2)").map_err(backend)?;
    for g in groups {
        ins.execute([g.get(), user.get()]).map_err(missing("user group"))?;
    }
    Ok(())
}

/// Replaces a user's media: rows named by id are updated in place, the others inserted,
/// and the user's rows not in the list deleted.
fn set_medias(c: &Connection, user: UserId, medias: Vec<MediaWrite>) -> StoreResult<()> {
    let mut vals = vec![SqlValue::Integer(user.get())];
    let kept: Vec<i64> = medias.iter().filter_map(|m| m.id.map(|i| i.get())).collect();
    let keep = in_list("id", Some(&kept), &mut vals);
    c.execute(&format!("DELETE FROM medias WHERE userid = ? AND NOT ({keep})"), params_from_iter(vals))
        .map_err(backend)?;
    for m in medias {
        let sendto = m.sendto.join("\n");
        match m.id {
            Some(id) => c
                .prepare_cached(
                    "UPDATE medias SET mediatypeid = ?1, sendto = ?2, active = ?3, severity = ?4, period = ?5 \
                     WHERE id = ?6 AND userid = ?7",
                )
                .and_then(|mut s| {
                    s.execute(params![m.mediatype.get(), sendto, m.active, m.severity, m.period, id.get(), user.get()])
                })
                .map_err(missing("media type"))?,
            None => c
                .prepare_cached(
                    "INSERT INTO medias (userid, mediatypeid, sendto, active, severity, period) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .and_then(|mut s| {
                    s.execute(params![user.get(), m.mediatype.get(), sendto, m.active, m.severity, m.period])
                })
                .map_err(missing("media type"))?,
        };
    }
    Ok(())
}

pub(crate) fn delete_users(c: &Connection, ids: Vec<UserId>) -> StoreResult<()> {
    for id in ids {
        // Stored photos go with the user; everything else follows by ON DELETE CASCADE.
        c.execute(
            "DELETE FROM files WHERE id IN (SELECT personal_photo FROM users WHERE id = ?1 \
             UNION SELECT work_logo FROM users WHERE id = ?1)",
            [id.get()],
        )
        .map_err(backend)?;
        c.execute("UPDATE departments SET head = NULL WHERE head = ?1", [id.get()]).map_err(backend)?;
        super::audit::keep_heads(c, id.get())?;
        if c.execute("DELETE FROM users WHERE id = ?1", [id.get()]).map_err(backend)? == 0 {
            return Err(StoreError::Missing("user"));
        }
    }
    Ok(())
}

pub(crate) fn create_user_groups(c: &Connection, groups: Vec<NewUserGroup>) -> StoreResult<Vec<GroupId>> {
    let mut ids = Vec::new();
    for g in groups {
        c.execute(
            "INSERT INTO usergroups (name, gui_access, users_status, debug_mode) VALUES (?1, ?2, ?3, ?4)",
            params![g.name, g.gui_access, g.users_status, g.debug_mode],
        )
        .map_err(taken("user group"))?;
        let id = GroupId::new(c.last_insert_rowid()).ok_or_else(|| StoreError::Backend("bad rowid".into()))?;
        set_members(c, id, &g.users)?;
        ids.push(id);
    }
    Ok(ids)
}

pub(crate) fn update_user_groups(c: &Connection, patches: Vec<(GroupId, UserGroupPatch)>) -> StoreResult<()> {
    for (id, p) in patches {
        let exists = c
            .query_row("SELECT 1 FROM usergroups WHERE id = ?1", [id.get()], |_| Ok(()))
            .optional()
            .map_err(backend)?;
        if exists.is_none() {
            return Err(StoreError::Missing("user group"));
        }
        let mut sets = Vec::new();
        let mut vals: Vec<SqlValue> = Vec::new();
        if let Some(name) = p.name {
            sets.push("name = ?");
            vals.push(SqlValue::Text(name));
        }
        for (col, v) in
            [("gui_access = ?", p.gui_access), ("users_status = ?", p.users_status), ("debug_mode = ?", p.debug_mode)]
        {
            if let Some(v) = v {
                sets.push(col);
                vals.push(SqlValue::Integer(v));
            }
        }
        if !sets.is_empty() {
            vals.push(SqlValue::Integer(id.get()));
            let sql = format!("UPDATE usergroups SET {} WHERE id = ?", sets.join(", "));
            c.execute(&sql, params_from_iter(vals)).map_err(taken("user group"))?;
        }
        if let Some(users) = p.users {
            set_members(c, id, &users)?;
        }
    }
    Ok(())
}

/// Replaces a group's members.
fn set_members(c: &Connection, group: GroupId, users: &[UserId]) -> StoreResult<()> {
    let mut vals = vec![SqlValue::Integer(group.get())];
    let ids: Vec<i64> = users.iter().map(|u| u.get()).collect();
    let keep = in_list("userid", Some(&ids), &mut vals);
    c.execute(&format!("DELETE FROM users_groups WHERE usrgrpid = ? AND NOT ({keep})"), params_from_iter(vals))
        .map_err(backend)?;
    for u in users {
        c.prepare_cached("INSERT OR IGNORE INTO users_groups (usrgrpid, userid) VALUES (?1, ?2)")
            .and_then(|mut s| s.execute([group.get(), u.get()]))
            .map_err(missing("user"))?;
    }
    Ok(())
}

pub(crate) fn delete_user_groups(c: &Connection, ids: Vec<GroupId>) -> StoreResult<()> {
    for id in ids {
        if c.execute("DELETE FROM usergroups WHERE id = ?1", [id.get()]).map_err(backend)? == 0 {
            return Err(StoreError::Missing("user group"));
        }
    }
    Ok(())
}

pub(crate) fn login_failed(c: &Connection, user: UserId, ip: &str, clock: i64) -> StoreResult<()> {
    c.prepare_cached(
        "UPDATE users SET attempt_failed = coalesce(attempt_failed, 0) + 1, attempt_ip = ?1, attempt_clock = ?2 \
         WHERE id = ?3",
    )
    .and_then(|mut s| s.execute(params![ip, clock, user.get()]))
    .map_err(backend)?;
    Ok(())
}

pub(crate) fn login_succeeded(c: &Connection, s: &Session) -> StoreResult<()> {
    c.prepare_cached("UPDATE users SET attempt_failed = 0, last_login = ?1 WHERE id = ?2")
        .and_then(|mut st| st.execute(params![s.lastaccess, s.user.get()]))
        .map_err(backend)?;
    c.prepare_cached("INSERT INTO sessions (hash, userid, lastaccess, status) VALUES (?1, ?2, ?3, ?4)")
        .and_then(|mut st| st.execute(params![s.hash, s.user.get(), s.lastaccess, i64::from(!s.active)]))
        .map_err(backend)?;
    Ok(())
}

pub(crate) fn end_session(c: &Connection, hash: &str) -> StoreResult<bool> {
    let n = c
        .prepare_cached("UPDATE sessions SET status = 1 WHERE hash = ?1 AND status = 0")
        .and_then(|mut s| s.execute([hash]))
        .map_err(backend)?;
    Ok(n > 0)
}

pub(crate) fn create_api_tokens(c: &Connection, tokens: Vec<NewApiToken>) -> StoreResult<Vec<TokenId>> {
    let mut ids = Vec::new();
    for t in tokens {
        c.execute(
            "INSERT INTO api_tokens (name, description, userid, status, expires_at, created_at, creator_userid) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![t.name, t.description, t.user.get(), t.status, t.expires_at, now(), t.creator.get()],
        )
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, Some(msg))
                if f.code == rusqlite::ErrorCode::ConstraintViolation && msg.contains("FOREIGN") =>
            {
                StoreError::Missing("user")
            }
            other => taken("token name")(other),
        })?;
        ids.push(TokenId::new(c.last_insert_rowid()).ok_or_else(|| StoreError::Backend("bad rowid".into()))?);
    }
    Ok(ids)
}

pub(crate) fn update_api_tokens(c: &Connection, patches: Vec<(TokenId, ApiTokenPatch)>) -> StoreResult<()> {
    for (id, p) in patches {
        let mut sets = Vec::new();
        let mut vals: Vec<SqlValue> = Vec::new();
        for (col, v) in [("name = ?", p.name), ("description = ?", p.description)] {
            if let Some(v) = v {
                sets.push(col);
                vals.push(SqlValue::Text(v));
            }
        }
        for (col, v) in [("status = ?", p.status), ("expires_at = ?", p.expires_at)] {
            if let Some(v) = v {
                sets.push(col);
                vals.push(SqlValue::Integer(v));
            }
        }
        if sets.is_empty() {
            continue;
        }
        vals.push(SqlValue::Integer(id.get()));
        let sql = format!("UPDATE api_tokens SET {} WHERE id = ?", sets.join(", "));
        if c.execute(&sql, params_from_iter(vals)).map_err(taken("token name"))? == 0 {
            return Err(StoreError::Missing("token"));
        }
    }
    Ok(())
}

pub(crate) fn set_api_token_secrets(c: &Connection, secrets: Vec<(TokenId, String)>) -> StoreResult<()> {
    for (id, hash) in secrets {
        let n = c
            .prepare_cached("UPDATE api_tokens SET token_hash = ?1 WHERE id = ?2")
            .and_then(|mut s| s.execute(params![hash, id.get()]))
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::Missing("token"));
        }
    }
    Ok(())
}

pub(crate) fn delete_api_tokens(c: &Connection, ids: Vec<TokenId>) -> StoreResult<()> {
    for id in ids {
        if c.execute("DELETE FROM api_tokens WHERE id = ?1", [id.get()]).map_err(backend)? == 0 {
            return Err(StoreError::Missing("token"));
        }
    }
    Ok(())
}

pub(crate) fn set_settings(c: &Connection, values: Vec<(String, String)>) -> StoreResult<()> {
    for (k, v) in values {
        c.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![k, v],
        )
        .map_err(backend)?;
    }
    Ok(())
}
