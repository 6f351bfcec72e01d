//! SQLite reads for the Zabbix face: roles, groups and memberships, media types and
//! media, a user's access (user + role + groups) behind a session or API token, tokens
//! and settings. Every function is a short read on the caller's reader connection.

use roster_core::{
    Access, ApiToken, AttrId, GroupId, Media, MediaId, MediaType, MediaTypeId, Role, RoleId, RoleType, Session,
    Settings, StoreResult, TokenId, TokenQuery, UserGroup, UserId, Value,
};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params_from_iter, Connection, OptionalExtension};

use super::backend;
use super::ops::load_user;

/// `col IN (?, ?, ...)` with the values bound, or `1` when `ids` is None.
pub(crate) fn in_list(col: &str, ids: Option<&[i64]>, vals: &mut Vec<SqlValue>) -> String {
    match ids {
        None => "1".into(),
        Some([]) => "0".into(),
        Some(ids) => {
            vals.extend(ids.iter().map(|i| SqlValue::Integer(*i)));
            format!("{col} IN ({})", vec!["?"; ids.len()].join(", "))
        }
    }
}

fn raw<T: Copy>(ids: &Option<Vec<T>>, get: fn(T) -> i64) -> Option<Vec<i64>> {
    ids.as_ref().map(|v| v.iter().map(|i| get(*i)).collect())
}

pub(crate) fn roles(c: &Connection, ids: Option<Vec<RoleId>>) -> StoreResult<Vec<Role>> {
    let mut vals = Vec::new();
    let ids = raw(&ids, RoleId::get);
    let sql = format!(
        "SELECT id, name, type, readonly FROM roles WHERE {} ORDER BY id",
        in_list("id", ids.as_deref(), &mut vals)
    );
    let mut stmt = c.prepare_cached(&sql).map_err(backend)?;
    let rows = stmt
        .query_map(params_from_iter(vals), |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?))
        })
        .map_err(backend)?;
    let mut out = Vec::new();
    for row in rows {
        let (id, name, kind, readonly) = row.map_err(backend)?;
        if let (Some(id), Some(kind)) = (RoleId::new(id), RoleType::from_i64(kind)) {
            out.push(Role { id, name, kind, readonly: readonly != 0 });
        }
    }
    Ok(out)
}

pub(crate) fn user_groups(c: &Connection, ids: Option<Vec<GroupId>>) -> StoreResult<Vec<UserGroup>> {
    let mut vals = Vec::new();
    let ids = raw(&ids, GroupId::get);
    let sql = format!(
        "SELECT id, name, gui_access, users_status, debug_mode FROM usergroups WHERE {} ORDER BY id",
        in_list("id", ids.as_deref(), &mut vals)
    );
    query_groups(c, &sql, vals)
}

fn query_groups(c: &Connection, sql: &str, vals: Vec<SqlValue>) -> StoreResult<Vec<UserGroup>> {
    let mut stmt = c.prepare_cached(sql).map_err(backend)?;
    let rows = stmt
        .query_map(params_from_iter(vals), |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .map_err(backend)?;
    let mut out = Vec::new();
    for row in rows {
        let (id, name, gui_access, users_status, debug_mode) = row.map_err(backend)?;
        if let Some(id) = GroupId::new(id) {
            out.push(UserGroup { id, name, gui_access, users_status, debug_mode });
        }
    }
    Ok(out)
}

pub(crate) fn memberships(
    c: &Connection,
    users: Option<Vec<UserId>>,
    groups: Option<Vec<GroupId>>,
) -> StoreResult<Vec<(UserId, GroupId)>> {
    let mut vals = Vec::new();
    let users = raw(&users, UserId::get);
    let groups = raw(&groups, GroupId::get);
    let sql = format!(
        "SELECT userid, usrgrpid FROM users_groups WHERE {} AND {} ORDER BY userid, usrgrpid",
        in_list("userid", users.as_deref(), &mut vals),
        in_list("usrgrpid", groups.as_deref(), &mut vals)
    );
    let mut stmt = c.prepare_cached(&sql).map_err(backend)?;
    let rows =
        stmt.query_map(params_from_iter(vals), |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))).map_err(backend)?;
    let mut out = Vec::new();
    for row in rows {
        let (u, g) = row.map_err(backend)?;
        if let (Some(u), Some(g)) = (UserId::new(u), GroupId::new(g)) {
            out.push((u, g));
        }
    }
    Ok(out)
}

pub(crate) fn media_types(c: &Connection, ids: Option<Vec<MediaTypeId>>) -> StoreResult<Vec<MediaType>> {
    let mut vals = Vec::new();
    let ids = raw(&ids, MediaTypeId::get);
    let sql = format!(
        "SELECT id, name, type, status, description FROM media_types WHERE {} ORDER BY id",
        in_list("id", ids.as_deref(), &mut vals)
    );
    let mut stmt = c.prepare_cached(&sql).map_err(backend)?;
    let rows = stmt
        .query_map(params_from_iter(vals), |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .map_err(backend)?;
    let mut out = Vec::new();
    for row in rows {
        let (id, name, kind, status, description) = row.map_err(backend)?;
        if let Some(id) = MediaTypeId::new(id) {
            out.push(MediaType { id, name, kind, status, description });
        }
    }
    Ok(out)
}

pub(crate) fn medias_of(c: &Connection, users: Vec<UserId>) -> StoreResult<Vec<Media>> {
    let mut vals = Vec::new();
    let ids: Vec<i64> = users.iter().map(|u| u.get()).collect();
    let sql = format!(
        "SELECT id, userid, mediatypeid, sendto, active, severity, period FROM medias WHERE {} ORDER BY userid, id",
        in_list("userid", Some(&ids), &mut vals)
    );
    let mut stmt = c.prepare_cached(&sql).map_err(backend)?;
    let rows = stmt
        .query_map(params_from_iter(vals), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .map_err(backend)?;
    let mut out = Vec::new();
    for row in rows {
        let (id, user, mediatype, sendto, active, severity, period) = row.map_err(backend)?;
        if let (Some(id), Some(user), Some(mediatype)) =
            (MediaId::new(id), UserId::new(user), MediaTypeId::new(mediatype))
        {
            let sendto = sendto.split('\n').map(str::to_owned).collect();
            out.push(Media { id, user, mediatype, sendto, active, severity, period });
        }
    }
    Ok(out)
}

/// The user with role and groups.
pub(crate) fn access(c: &Connection, id: UserId) -> StoreResult<Option<Access>> {
    let Some(user) = load_user(c, id)? else {
        return Ok(None);
    };
    let role = match user.get(AttrId::named("roleid")) {
        Value::Int(r) => {
            RoleId::new(*r).map(|r| roles(c, Some(vec![r]))).transpose()?.and_then(|v| v.into_iter().next())
        }
        _ => None,
    };
    let groups = query_groups(
        c,
        "SELECT g.id, g.name, g.gui_access, g.users_status, g.debug_mode FROM usergroups g \
         JOIN users_groups ug ON ug.usrgrpid = g.id WHERE ug.userid = ? ORDER BY g.id",
        vec![SqlValue::Integer(id.get())],
    )?;
    Ok(Some(Access { user, role, groups }))
}

pub(crate) fn session_access(c: &Connection, hash: &str) -> StoreResult<Option<(Session, Access)>> {
    let row = c
        .prepare_cached("SELECT userid, lastaccess, status FROM sessions WHERE hash = ?1")
        .and_then(|mut s| {
            s.query_row([hash], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))).optional()
        })
        .map_err(backend)?;
    let Some((user, lastaccess, status)) = row else {
        return Ok(None);
    };
    let Some(user) = UserId::new(user) else {
        return Ok(None);
    };
    let session = Session { hash: hash.to_owned(), user, lastaccess, active: status == 0 };
    Ok(access(c, user)?.map(|a| (session, a)))
}

const TOKEN_COLUMNS: &str =
    "id, name, description, userid, lastaccess, status, expires_at, created_at, creator_userid, token_hash IS NOT NULL";

fn token_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<ApiToken>> {
    let id: i64 = r.get(0)?;
    let user: i64 = r.get(3)?;
    let creator: Option<i64> = r.get(8)?;
    Ok(match (TokenId::new(id), UserId::new(user)) {
        (Some(id), Some(user)) => Some(ApiToken {
            id,
            name: r.get(1)?,
            description: r.get(2)?,
            user,
            lastaccess: r.get(4)?,
            status: r.get(5)?,
            expires_at: r.get(6)?,
            created_at: r.get(7)?,
            creator: creator.and_then(UserId::new),
            generated: r.get(9)?,
        }),
        _ => None,
    })
}

pub(crate) fn api_token_access(c: &Connection, hash: &str) -> StoreResult<Option<(ApiToken, Access)>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ?1");
    let token = c
        .prepare_cached(&sql)
        .and_then(|mut s| s.query_row([hash], token_from_row).optional())
        .map_err(backend)?
        .flatten();
    let Some(token) = token else { return Ok(None) };
    Ok(access(c, token.user)?.map(|a| (token, a)))
}

pub(crate) fn api_tokens(c: &Connection, q: &TokenQuery) -> StoreResult<Vec<ApiToken>> {
    let mut vals = Vec::new();
    let ids = raw(&q.ids, TokenId::get);
    let users = raw(&q.users, UserId::get);
    let sql = format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE {} AND {} ORDER BY id",
        in_list("id", ids.as_deref(), &mut vals),
        in_list("userid", users.as_deref(), &mut vals)
    );
    let mut stmt = c.prepare_cached(&sql).map_err(backend)?;
    let rows = stmt.query_map(params_from_iter(vals), token_from_row).map_err(backend)?;
    let mut out = Vec::new();
    for row in rows {
        if let Some(t) = row.map_err(backend)? {
            out.push(t);
        }
    }
    Ok(out)
}

pub(crate) fn settings(c: &Connection) -> StoreResult<Settings> {
    let mut stmt = c.prepare_cached("SELECT key, value FROM settings ORDER BY key").map_err(backend)?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(backend)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row.map_err(backend)?);
    }
    Ok(Settings(out))
}
