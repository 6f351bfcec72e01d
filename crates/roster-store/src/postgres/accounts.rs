//! PostgreSQL writes for the Zabbix face, as on SQLite: accounts (user + groups + media)
//! created, changed and deleted atomically, group and token changes, logins and sessions,
//! settings. Each function runs inside one transaction; an error rolls all of it back.
//! Constraint violations map to the same domain errors as there (see `constraint_error`).

use deadpool_postgres::GenericClient;
use roster_core::{
    AccountWrite, ApiTokenPatch, GroupId, MediaWrite, NewAccount, NewApiToken, NewUserGroup, Session, StoreError,
    StoreResult, TokenId, UserGroupPatch, UserId,
};

use super::access::in_list;
use super::ops::{apply_patch, insert_user};
use super::sql::{refs, Binds, Param};
use super::{execute, new_id, now, number, query};

const ADD_MEMBER: &str = "INSERT INTO users_groups (usrgrpid, userid) VALUES ($1, $2) \
                          ON CONFLICT (usrgrpid, userid) DO NOTHING";

pub(crate) async fn create_accounts<C: GenericClient>(c: &C, accounts: Vec<NewAccount>) -> StoreResult<Vec<UserId>> {
    let mut ids = Vec::with_capacity(accounts.len());
    for account in accounts {
        let id = insert_user(c, account.user).await?;
        set_groups(c, id, &account.groups).await?;
        set_medias(c, id, account.medias).await?;
        ids.push(id);
    }
    Ok(ids)
}

pub(crate) async fn update_accounts<C: GenericClient>(c: &C, writes: Vec<AccountWrite>) -> StoreResult<()> {
    for w in writes {
        let id = w.id;
        apply_patch(c, id, w.patch, true).await?;
        if let Some(hash) = w.password_hash {
            let sql = "UPDATE users SET password_hash = $1 WHERE id = $2";
            execute(c, sql, &[&hash, &id.get()]).await?;
        }
        if let Some(admin) = w.is_admin {
            let sql = "UPDATE users SET is_admin = $1 WHERE id = $2";
            execute(c, sql, &[&admin, &id.get()]).await?;
        }
        if let Some(groups) = w.groups {
            set_groups(c, id, &groups).await?;
        }
        if let Some(medias) = w.medias {
            set_medias(c, id, medias).await?;
        }
        if w.end_sessions {
            let keep = w.keep_session.unwrap_or_default();
            let sql = "UPDATE sessions SET status = 1 WHERE userid = $1 AND hash <> $2";
            execute(c, sql, &[&id.get(), &keep]).await?;
        }
    }
    Ok(())
}

/// Replaces a user's memberships: kept rows stay, missing ones are added, the rest removed.
async fn set_groups<C: GenericClient>(c: &C, user: UserId, groups: &[GroupId]) -> StoreResult<()> {
    let mut b = Binds::default();
    let who = b.bind(Param::Int(user.get()));
    let ids: Vec<i64> = groups.iter().map(|g| g.get()).collect();
    let keep = in_list(&mut b, "usrgrpid", Some(&ids));
    let sql = format!("DELETE FROM users_groups WHERE userid = {who} AND NOT ({keep})");
    execute(c, &sql, &refs(&b.0)).await?;
    for g in groups {
        execute(c, ADD_MEMBER, &[&g.get(), &user.get()]).await?;
    }
    Ok(())
}

/// Replaces a user's media: rows named by id are updated in place, the others inserted,
/// and the user's rows not in the list deleted.
async fn set_medias<C: GenericClient>(c: &C, user: UserId, medias: Vec<MediaWrite>) -> StoreResult<()> {
    let mut b = Binds::default();
    let who = b.bind(Param::Int(user.get()));
    let kept: Vec<i64> = medias.iter().filter_map(|m| m.id.map(|i| i.get())).collect();
    let keep = in_list(&mut b, "id", Some(&kept));
    let sql = format!("DELETE FROM medias WHERE userid = {who} AND NOT ({keep})");
    execute(c, &sql, &refs(&b.0)).await?;
    for m in medias {
        let sendto = m.sendto.join("\n");
        let (kind, uid) = (m.mediatype.get(), user.get());
        match m.id {
            Some(id) => {
                let sql = "UPDATE medias SET mediatypeid = $1, sendto = $2, active = $3, \
                           severity = $4, period = $5 WHERE id = $6 AND userid = $7";
                let params: [&(dyn tokio_postgres::types::ToSql + Sync); 7] =
                    [&kind, &sendto, &m.active, &m.severity, &m.period, &id.get(), &uid];
                execute(c, sql, &params).await?
            }
            None => {
                let sql = "INSERT INTO medias (userid, mediatypeid, sendto, active, severity, \
                           period) VALUES ($1, $2, $3, $4, $5, $6)";
                let params: [&(dyn tokio_postgres::types::ToSql + Sync); 6] =
                    [&uid, &kind, &sendto, &m.active, &m.severity, &m.period];
                execute(c, sql, &params).await?
            }
        };
    }
    Ok(())
}

pub(crate) async fn delete_users<C: GenericClient>(c: &C, ids: Vec<UserId>) -> StoreResult<()> {
    for id in ids {
        // Stored photos go with the user; everything else follows by ON DELETE CASCADE.
        let files = "DELETE FROM files WHERE id IN (SELECT personal_photo FROM users WHERE id = $1 \
                     UNION SELECT work_logo FROM users WHERE id = $1)";
        execute(c, files, &[&id.get()]).await?;
        let heads = "UPDATE departments SET head = NULL WHERE head = $1";
        execute(c, heads, &[&id.get()]).await?;
        super::audit::keep_heads(c, id.get()).await?;
        if execute(c, "DELETE FROM users WHERE id = $1", &[&id.get()]).await? == 0 {
            return Err(StoreError::Missing("user"));
        }
    }
    Ok(())
}

pub(crate) async fn create_user_groups<C: GenericClient>(
    c: &C,
    groups: Vec<NewUserGroup>,
) -> StoreResult<Vec<GroupId>> {
    let mut ids = Vec::new();
    let sql = "INSERT INTO usergroups (name, gui_access, users_status, debug_mode) \
               VALUES ($1, $2, $3, $4) RETURNING id";
    for g in groups {
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
            [&g.name, &g.gui_access, &g.users_status, &g.debug_mode];
        let id = new_id(GroupId::new, number(c, sql, &params).await?)?;
        set_members(c, id, &g.users).await?;
        ids.push(id);
    }
    Ok(ids)
}

pub(crate) async fn update_user_groups<C: GenericClient>(
    c: &C,
    patches: Vec<(GroupId, UserGroupPatch)>,
) -> StoreResult<()> {
    for (id, p) in patches {
        let found = query(c, "SELECT 1 FROM usergroups WHERE id = $1", &[&id.get()]).await?;
        if found.is_empty() {
            return Err(StoreError::Missing("user group"));
        }
        let mut b = Binds::default();
        let mut sets = Vec::new();
        if let Some(name) = p.name {
            sets.push(format!("name = {}", b.bind(Param::Text(name))));
        }
        for (col, v) in [("gui_access", p.gui_access), ("users_status", p.users_status), ("debug_mode", p.debug_mode)] {
            if let Some(v) = v {
                sets.push(format!("{col} = {}", b.bind(Param::Int(v))));
            }
        }
        if !sets.is_empty() {
            let target = b.bind(Param::Int(id.get()));
            let sql = format!("UPDATE usergroups SET {} WHERE id = {target}", sets.join(", "));
            execute(c, &sql, &refs(&b.0)).await?;
        }
        if let Some(users) = p.users {
            set_members(c, id, &users).await?;
        }
    }
    Ok(())
}

/// Replaces a group's members.
async fn set_members<C: GenericClient>(c: &C, group: GroupId, users: &[UserId]) -> StoreResult<()> {
    let mut b = Binds::default();
    let which = b.bind(Param::Int(group.get()));
    let ids: Vec<i64> = users.iter().map(|u| u.get()).collect();
    let keep = in_list(&mut b, "userid", Some(&ids));
    let sql = format!("DELETE FROM users_groups WHERE usrgrpid = {which} AND NOT ({keep})");
    execute(c, &sql, &refs(&b.0)).await?;
    for u in users {
        execute(c, ADD_MEMBER, &[&group.get(), &u.get()]).await?;
    }
    Ok(())
}

pub(crate) async fn delete_user_groups<C: GenericClient>(c: &C, ids: Vec<GroupId>) -> StoreResult<()> {
    for id in ids {
        if execute(c, "DELETE FROM usergroups WHERE id = $1", &[&id.get()]).await? == 0 {
            return Err(StoreError::Missing("user group"));
        }
    }
    Ok(())
}

pub(crate) async fn login_failed<C: GenericClient>(c: &C, user: UserId, ip: &str, clock: i64) -> StoreResult<()> {
    let sql = "UPDATE users SET attempt_failed = coalesce(attempt_failed, 0) + 1, \
               attempt_ip = $1, attempt_clock = $2 WHERE id = $3";
    execute(c, sql, &[&ip, &clock, &user.get()]).await?;
    Ok(())
}

pub(crate) async fn login_succeeded<C: GenericClient>(c: &C, s: &Session) -> StoreResult<()> {
    let sql = "UPDATE users SET attempt_failed = 0, last_login = $1 WHERE id = $2";
    execute(c, sql, &[&s.lastaccess, &s.user.get()]).await?;
    let sql = "INSERT INTO sessions (hash, userid, lastaccess, status) VALUES ($1, $2, $3, $4)";
    let status = i64::from(!s.active);
    execute(c, sql, &[&s.hash, &s.user.get(), &s.lastaccess, &status]).await?;
    Ok(())
}

pub(crate) async fn end_session<C: GenericClient>(c: &C, hash: &str) -> StoreResult<bool> {
    let sql = "UPDATE sessions SET status = 1 WHERE hash = $1 AND status = 0";
    Ok(execute(c, sql, &[&hash]).await? > 0)
}

pub(crate) async fn create_api_tokens<C: GenericClient>(c: &C, tokens: Vec<NewApiToken>) -> StoreResult<Vec<TokenId>> {
    let sql = "INSERT INTO api_tokens (name, description, userid, status, expires_at, \
               created_at, creator_userid) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
    let mut ids = Vec::new();
    for t in tokens {
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 7] =
            [&t.name, &t.description, &t.user.get(), &t.status, &t.expires_at, &now(), &t.creator.get()];
        ids.push(new_id(TokenId::new, number(c, sql, &params).await?)?);
    }
    Ok(ids)
}

pub(crate) async fn update_api_tokens<C: GenericClient>(
    c: &C,
    patches: Vec<(TokenId, ApiTokenPatch)>,
) -> StoreResult<()> {
    for (id, p) in patches {
        let mut b = Binds::default();
        let mut sets = Vec::new();
        for (col, v) in [("name", p.name), ("description", p.description)] {
            if let Some(v) = v {
                sets.push(format!("{col} = {}", b.bind(Param::Text(v))));
            }
        }
        for (col, v) in [("status", p.status), ("expires_at", p.expires_at)] {
            if let Some(v) = v {
                sets.push(format!("{col} = {}", b.bind(Param::Int(v))));
            }
        }
        if sets.is_empty() {
            continue;
        }
        let target = b.bind(Param::Int(id.get()));
        let sql = format!("UPDATE api_tokens SET {} WHERE id = {target}", sets.join(", "));
        if execute(c, &sql, &refs(&b.0)).await? == 0 {
            return Err(StoreError::Missing("token"));
        }
    }
    Ok(())
}

pub(crate) async fn set_api_token_secrets<C: GenericClient>(c: &C, secrets: Vec<(TokenId, String)>) -> StoreResult<()> {
    let sql = "UPDATE api_tokens SET token_hash = $1 WHERE id = $2";
    for (id, hash) in secrets {
        if execute(c, sql, &[&hash, &id.get()]).await? == 0 {
            return Err(StoreError::Missing("token"));
        }
    }
    Ok(())
}

pub(crate) async fn delete_api_tokens<C: GenericClient>(c: &C, ids: Vec<TokenId>) -> StoreResult<()> {
    for id in ids {
        if execute(c, "DELETE FROM api_tokens WHERE id = $1", &[&id.get()]).await? == 0 {
            return Err(StoreError::Missing("token"));
        }
    }
    Ok(())
}

pub(crate) async fn set_settings<C: GenericClient>(c: &C, values: Vec<(String, String)>) -> StoreResult<()> {
    let sql = "INSERT INTO settings (key, value) VALUES ($1, $2) \
               ON CONFLICT (key) DO UPDATE SET value = excluded.value";
    for (k, v) in values {
        execute(c, sql, &[&k, &v]).await?;
    }
    Ok(())
}

pub(crate) async fn touch_api_token<C: GenericClient>(c: &C, id: TokenId, clock: i64) -> StoreResult<()> {
    let sql = "UPDATE api_tokens SET lastaccess = $1 WHERE id = $2";
    execute(c, sql, &[&clock, &id.get()]).await?;
    Ok(())
}
