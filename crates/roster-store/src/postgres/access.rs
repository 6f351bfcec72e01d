//! PostgreSQL reads for the Zabbix face, as on SQLite: roles, groups and memberships,
//! media types and media, a user's access (user + role + groups) behind a session or API
//! token, tokens and settings. Each runs on a pooled connection outside a transaction.

use deadpool_postgres::GenericClient;
use roster_core::{
    Access, ApiToken, AttrId, GroupId, Media, MediaId, MediaType, MediaTypeId, Role, RoleId, RoleType, Session,
    Settings, StoreResult, TokenId, TokenQuery, UserGroup, UserId, Value,
};
use tokio_postgres::Row;

use super::ops::load_user;
use super::query;
use super::sql::{col, refs, Binds, Param};

/// `col IN ($n, ...)` with the values bound, `TRUE` when `ids` is None, `FALSE` when empty.
pub(crate) fn in_list(b: &mut Binds, col: &str, ids: Option<&[i64]>) -> String {
    match ids {
        None => "TRUE".into(),
        Some([]) => "FALSE".into(),
        Some(ids) => format!("{col} IN ({})", b.list(ids.iter().map(|i| Param::Int(*i)))),
    }
}

fn raw<T: Copy>(ids: &Option<Vec<T>>, get: fn(T) -> i64) -> Option<Vec<i64>> {
    ids.as_ref().map(|v| v.iter().map(|i| get(*i)).collect())
}

async fn rows<C: GenericClient>(c: &C, sql: &str, b: &Binds) -> StoreResult<Vec<Row>> {
    query(c, sql, &refs(&b.0)).await
}

pub(crate) async fn roles<C: GenericClient>(c: &C, ids: Option<Vec<RoleId>>) -> StoreResult<Vec<Role>> {
    let mut b = Binds::default();
    let ids = raw(&ids, RoleId::get);
    let sql = format!(
        "SELECT id, name, type, readonly FROM roles WHERE {} ORDER BY id",
        in_list(&mut b, "id", ids.as_deref())
    );
    let mut out = Vec::new();
    for r in rows(c, &sql, &b).await? {
        let (id, kind, readonly): (i64, i64, i64) = (col(&r, 0)?, col(&r, 2)?, col(&r, 3)?);
        if let (Some(id), Some(kind)) = (RoleId::new(id), RoleType::from_i64(kind)) {
            out.push(Role { id, name: col(&r, 1)?, kind, readonly: readonly != 0 });
        }
    }
    Ok(out)
}

pub(crate) async fn user_groups<C: GenericClient>(c: &C, ids: Option<Vec<GroupId>>) -> StoreResult<Vec<UserGroup>> {
    let mut b = Binds::default();
    let ids = raw(&ids, GroupId::get);
    let sql = format!(
        "SELECT id, name, gui_access, users_status, debug_mode FROM usergroups WHERE {} ORDER BY id",
        in_list(&mut b, "id", ids.as_deref())
    );
    groups_from(rows(c, &sql, &b).await?)
}

fn groups_from(rows: Vec<Row>) -> StoreResult<Vec<UserGroup>> {
    let mut out = Vec::new();
    for r in rows {
        if let Some(id) = GroupId::new(col(&r, 0)?) {
            out.push(UserGroup {
                id,
                name: col(&r, 1)?,
                gui_access: col(&r, 2)?,
                users_status: col(&r, 3)?,
                debug_mode: col(&r, 4)?,
            });
        }
    }
    Ok(out)
}

pub(crate) async fn memberships<C: GenericClient>(
    c: &C,
    users: Option<Vec<UserId>>,
    groups: Option<Vec<GroupId>>,
) -> StoreResult<Vec<(UserId, GroupId)>> {
    let mut b = Binds::default();
    let (users, groups) = (raw(&users, UserId::get), raw(&groups, GroupId::get));
    let who = in_list(&mut b, "userid", users.as_deref());
    let which = in_list(&mut b, "usrgrpid", groups.as_deref());
    let sql = format!("SELECT userid, usrgrpid FROM users_groups WHERE {who} AND {which} ORDER BY userid, usrgrpid");
    let mut out = Vec::new();
    for r in rows(c, &sql, &b).await? {
        if let (Some(u), Some(g)) = (UserId::new(col(&r, 0)?), GroupId::new(col(&r, 1)?)) {
            out.push((u, g));
        }
    }
    Ok(out)
}

pub(crate) async fn media_types<C: GenericClient>(c: &C, ids: Option<Vec<MediaTypeId>>) -> StoreResult<Vec<MediaType>> {
    let mut b = Binds::default();
    let ids = raw(&ids, MediaTypeId::get);
    let sql = format!(
        "SELECT id, name, type, status, description FROM media_types WHERE {} ORDER BY id",
        in_list(&mut b, "id", ids.as_deref())
    );
    let mut out = Vec::new();
    for r in rows(c, &sql, &b).await? {
        if let Some(id) = MediaTypeId::new(col(&r, 0)?) {
            out.push(MediaType {
                id,
                name: col(&r, 1)?,
                kind: col(&r, 2)?,
                status: col(&r, 3)?,
                description: col(&r, 4)?,
            });
        }
    }
    Ok(out)
}

pub(crate) async fn medias_of<C: GenericClient>(c: &C, users: Vec<UserId>) -> StoreResult<Vec<Media>> {
    let mut b = Binds::default();
    let ids: Vec<i64> = users.iter().map(|u| u.get()).collect();
    let sql = format!(
        "SELECT id, userid, mediatypeid, sendto, active, severity, period FROM medias \
         WHERE {} ORDER BY userid, id",
        in_list(&mut b, "userid", Some(&ids))
    );
    let mut out = Vec::new();
    for r in rows(c, &sql, &b).await? {
        let ids = (MediaId::new(col(&r, 0)?), UserId::new(col(&r, 1)?), MediaTypeId::new(col(&r, 2)?));
        if let (Some(id), Some(user), Some(mediatype)) = ids {
            let sendto: String = col(&r, 3)?;
            out.push(Media {
                id,
                user,
                mediatype,
                sendto: sendto.split('\n').map(str::to_owned).collect(),
                active: col(&r, 4)?,
                severity: col(&r, 5)?,
                period: col(&r, 6)?,
            });
        }
    }
    Ok(out)
}

/// The user with role and groups.
pub(crate) async fn access<C: GenericClient>(c: &C, id: UserId) -> StoreResult<Option<Access>> {
    let Some(user) = load_user(c, id).await? else {
        return Ok(None);
    };
    let role = match user.get(AttrId::named("roleid")) {
        Value::Int(r) => match RoleId::new(*r) {
            Some(r) => roles(c, Some(vec![r])).await?.into_iter().next(),
            None => None,
        },
        _ => None,
    };
    let sql = "SELECT g.id, g.name, g.gui_access, g.users_status, g.debug_mode FROM usergroups g \
               JOIN users_groups ug ON ug.usrgrpid = g.id WHERE ug.userid = $1 ORDER BY g.id";
    let groups = groups_from(query(c, sql, &[&id.get()]).await?)?;
    Ok(Some(Access { user, role, groups }))
}

pub(crate) async fn session_access<C: GenericClient>(c: &C, hash: &str) -> StoreResult<Option<(Session, Access)>> {
    let sql = "SELECT userid, lastaccess, status FROM sessions WHERE hash = $1";
    let found = query(c, sql, &[&hash]).await?;
    let Some(r) = found.first() else {
        return Ok(None);
    };
    let (user, lastaccess, status): (i64, i64, i64) = (col(r, 0)?, col(r, 1)?, col(r, 2)?);
    let Some(user) = UserId::new(user) else {
        return Ok(None);
    };
    let session = Session { hash: hash.to_owned(), user, lastaccess, active: status == 0 };
    Ok(access(c, user).await?.map(|a| (session, a)))
}

const TOKEN_COLUMNS: &str = "id, name, description, userid, lastaccess, status, expires_at, \
     created_at, creator_userid, token_hash IS NOT NULL";

fn token_from_row(r: &Row) -> StoreResult<Option<ApiToken>> {
    let (id, user, creator): (i64, i64, Option<i64>) = (col(r, 0)?, col(r, 3)?, col(r, 8)?);
    Ok(match (TokenId::new(id), UserId::new(user)) {
        (Some(id), Some(user)) => Some(ApiToken {
            id,
            name: col(r, 1)?,
            description: col(r, 2)?,
            user,
            lastaccess: col(r, 4)?,
            status: col(r, 5)?,
            expires_at: col(r, 6)?,
            created_at: col(r, 7)?,
            creator: creator.and_then(UserId::new),
            generated: col(r, 9)?,
        }),
        _ => None,
    })
}

pub(crate) async fn api_token_access<C: GenericClient>(c: &C, hash: &str) -> StoreResult<Option<(ApiToken, Access)>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1");
    let token = match query(c, &sql, &[&hash]).await?.first() {
        Some(r) => token_from_row(r)?,
        None => None,
    };
    let Some(token) = token else { return Ok(None) };
    Ok(access(c, token.user).await?.map(|a| (token, a)))
}

pub(crate) async fn api_tokens<C: GenericClient>(c: &C, q: &TokenQuery) -> StoreResult<Vec<ApiToken>> {
    let mut b = Binds::default();
    let (ids, users) = (raw(&q.ids, TokenId::get), raw(&q.users, UserId::get));
    let which = in_list(&mut b, "id", ids.as_deref());
    let whose = in_list(&mut b, "userid", users.as_deref());
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE {which} AND {whose} ORDER BY id");
    let mut out = Vec::new();
    for r in rows(c, &sql, &b).await? {
        out.extend(token_from_row(&r)?);
    }
    Ok(out)
}

pub(crate) async fn settings<C: GenericClient>(c: &C) -> StoreResult<Settings> {
    let sql = "SELECT key, value FROM settings ORDER BY key";
    let mut out = Vec::new();
    for r in query(c, sql, &[]).await? {
        out.push((col(&r, 0)?, col(&r, 1)?));
    }
    Ok(Settings(out))
}
