//! `usergroup.get/create/update/delete`: the groups users belong to. Types 1/2 see only
//! their own groups; changes are for super admins. Host-group rights and tag filters are
//! accepted and ignored (Roster has no hosts). Members are given as `users: [{userid}]`.

use roster_core::{GroupId, NewUserGroup, StoreError, UserGroupPatch, UserId};
use serde_json::{json, Map, Value as Json};

use super::listing::{by_ids, finish, Row};
use super::user_get::texts;
use super::user_view::{self as view, Output};
use super::Call;
use crate::error::{ZbxError, ZbxResult};
use crate::validate::{self, as_object, check_unexpected, entries, invalid, missing, sub, VResult};

pub async fn get(call: &Call<'_>, params: &Json) -> ZbxResult<Json> {
    let caller = call.caller()?;
    let store = call.store();
    let opts = as_object(params).unwrap_or_default();
    let links = store.memberships(None, None).await?;
    let mut groups = store.user_groups(None).await?;
    if !caller.is_super_admin() {
        groups.retain(|g| caller.access.groups.iter().any(|own| own.id == g.id));
    }
    if let Some(users) = opts.get("userids").filter(|v| !v.is_null()) {
        let users = texts(users);
        groups.retain(|g| links.iter().any(|(u, x)| *x == g.id && users.contains(&u.to_string())));
    }
    let users_out = opts.get("selectUsers").filter(|v| !v.is_null()).map(|o| Output::parse(Some(o), Output::Extend));
    let all_users = match &users_out {
        Some(_) => {
            let q = roster_core::UserQuery { limit: u64::MAX, count_total: false, ..Default::default() };
            store.find_users(&q).await?.items
        }
        None => Vec::new(),
    };
    let fields = view::user_fields(call.version());
    let mut rows: Vec<Row> = groups
        .iter()
        .map(|g| {
            let mut extra = Map::new();
            if let Some(out) = &users_out {
                let members: Vec<Json> = all_users
                    .iter()
                    .filter(|u| links.iter().any(|(id, x)| *id == u.id && *x == g.id))
                    .map(|u| Json::Object(view::select(view::user_json(u, &out.fields(&fields)), &Output::Extend)))
                    .collect();
                extra.insert("users".into(), Json::Array(members));
            }
            Row { fields: view::group_json(g, call.version()), extra }
        })
        .collect();
    by_ids(&mut rows, &opts, "usrgrpids", "usrgrpid");
    finish(rows, &opts, "usrgrpid", &["usrgrpid", "name"])
}

const FIELDS: &[&str] = &[
    "usrgrpid",
    "name",
    "gui_access",
    "users_status",
    "debug_mode",
    "users",
    "rights",
    "hostgroup_rights",
    "templategroup_rights",
    "tag_filters",
    "userdirectoryid",
];

/// One group object of create (`usrgrpid` unexpected) or update (`usrgrpid` required).
struct GroupInput {
    id: Option<GroupId>,
    name: Option<String>,
    gui_access: Option<i64>,
    users_status: Option<i64>,
    debug_mode: Option<i64>,
    users: Option<Vec<UserId>>,
}

fn group_input(obj: &Map<String, Json>, path: &str, create: bool) -> VResult<GroupInput> {
    let allowed: Vec<&str> = FIELDS.iter().copied().filter(|f| !(create && *f == "usrgrpid")).collect();
    check_unexpected(obj, &allowed, path)?;
    let id = match obj.get("usrgrpid") {
        Some(v) => Some(validate::id(v, &sub(path, "usrgrpid"))?),
        None if !create => return Err(missing(path, "usrgrpid")),
        None => None,
    };
    let name = match obj.get("name") {
        Some(v) => Some(validate::string(v, &sub(path, "name"), true, Some(64), None)?),
        None if create => return Err(missing(path, "name")),
        None => None,
    };
    let int = |k: &str, rule: &str| obj.get(k).map(|v| validate::int32(v, &sub(path, k), Some(rule))).transpose();
    let gui_access = int("gui_access", "0,1,2,3")?;
    let users_status = int("users_status", "0,1")?;
    let debug_mode = int("debug_mode", "0,1")?;
    let users = match obj.get("users") {
        Some(v) => {
            let at = sub(path, "users");
            let items = entries(v).ok_or_else(|| invalid(&at, "an array is expected"))?;
            let mut ids = Vec::new();
            for (k, item) in items {
                let p = sub(&at, &k.position().to_string());
                let o = as_object(item)
                    .filter(|_| validate::is_array(item))
                    .ok_or_else(|| invalid(&p, "an array is expected"))?;
                check_unexpected(&o, &["userid"], &p)?;
                let uid = validate::id(o.get("userid").ok_or_else(|| missing(&p, "userid"))?, &sub(&p, "userid"))?;
                ids.extend(uid.parse().ok().and_then(UserId::new));
            }
            Some(ids)
        }
        None => None,
    };
    Ok(GroupInput {
        id: id.and_then(|i| i.parse().ok()).and_then(GroupId::new),
        name,
        gui_access,
        users_status,
        debug_mode,
        users,
    })
}

fn inputs(params: &Json, create: bool) -> ZbxResult<Vec<GroupInput>> {
    let list = validate::objects(params, "/").map_err(ZbxError::params)?;
    let mut out = Vec::with_capacity(list.len());
    for (index, obj) in &list {
        out.push(group_input(obj, &format!("/{index}"), create).map_err(ZbxError::params)?);
    }
    Ok(out)
}

fn map_store(e: StoreError, name: &str) -> ZbxError {
    match e {
        StoreError::Taken(_) => ZbxError::params(format!("User group \"{name}\" already exists.")),
        StoreError::Missing(_) => ZbxError::no_permissions(),
        other => ZbxError::from(other),
    }
}

async fn check_names(call: &Call<'_>, list: &[GroupInput]) -> ZbxResult<()> {
    let existing = call.store().user_groups(None).await?;
    for g in list {
        if let Some(name) = &g.name {
            if existing.iter().any(|e| e.name == *name && Some(e.id) != g.id) {
                return Err(ZbxError::params(format!("User group \"{name}\" already exists.")));
            }
        }
        for u in g.users.iter().flatten() {
            if call.store().user(*u).await?.is_none() {
                return Err(ZbxError::params(format!("User with ID \"{u}\" is not available.")));
            }
        }
    }
    Ok(())
}

pub async fn create(call: &Call<'_>, params: &Json) -> ZbxResult<Json> {
    let list = inputs(params, true)?;
    check_names(call, &list).await?;
    let first = list.first().and_then(|g| g.name.clone()).unwrap_or_default();
    let groups: Vec<NewUserGroup> = list
        .into_iter()
        .map(|g| NewUserGroup {
            name: g.name.unwrap_or_default(),
            gui_access: g.gui_access.unwrap_or(0),
            users_status: g.users_status.unwrap_or(0),
            debug_mode: g.debug_mode.unwrap_or(0),
            users: g.users.unwrap_or_default(),
        })
        .collect();
    let ids = call.store().create_user_groups(groups).await.map_err(|e| map_store(e, &first))?;
    let made = ids.iter().map(|i| (Some(i.get()), String::new())).collect();
    call.record(roster_core::audit::ACTION_ADD, roster_core::audit::RESOURCE_USER_GROUP, made).await;
    Ok(json!({ "usrgrpids": ids.iter().map(|i| i.to_string()).collect::<Vec<_>>() }))
}

pub async fn update(call: &Call<'_>, params: &Json) -> ZbxResult<Json> {
    let list = inputs(params, false)?;
    let existing = call.store().user_groups(None).await?;
    for g in &list {
        if !existing.iter().any(|e| Some(e.id) == g.id) {
            return Err(ZbxError::no_permissions());
        }
    }
    check_names(call, &list).await?;
    let first = list.first().and_then(|g| g.name.clone()).unwrap_or_default();
    let ids: Vec<String> = list.iter().filter_map(|g| g.id.map(|i| i.to_string())).collect();
    let patches = list
        .into_iter()
        .filter_map(|g| {
            let patch = UserGroupPatch {
                name: g.name,
                gui_access: g.gui_access,
                users_status: g.users_status,
                debug_mode: g.debug_mode,
                users: g.users,
            };
            g.id.map(|id| (id, patch))
        })
        .collect();
    call.store().update_user_groups(patches).await.map_err(|e| map_store(e, &first))?;
    let changed = ids.iter().map(|i| (i.parse().ok(), String::new())).collect();
    call.record(roster_core::audit::ACTION_UPDATE, roster_core::audit::RESOURCE_USER_GROUP, changed).await;
    Ok(json!({ "usrgrpids": ids }))
}

pub async fn delete(call: &Call<'_>, params: &Json) -> ZbxResult<Json> {
    let store = call.store();
    let ids = validate::ids(params, "/").map_err(ZbxError::params)?;
    let groups = store.user_groups(None).await?;
    let mut doomed = Vec::with_capacity(ids.len());
    for id in &ids {
        let g = groups.iter().find(|g| g.id.to_string() == *id).ok_or_else(ZbxError::no_permissions)?;
        doomed.push(g.clone());
    }
    let links = store.memberships(None, None).await?;
    for g in &doomed {
        for (user, _) in links.iter().filter(|(_, x)| *x == g.id) {
            let left = links.iter().filter(|(u, x)| u == user && !doomed.iter().any(|d| d.id == *x)).count();
            if left == 0 {
                let login = store.user(*user).await?.map(|u| u.login).unwrap_or_default();
                return Err(ZbxError::params(format!(
                    "User group \"{}\" cannot be deleted, because user \"{login}\" would be without user groups.",
                    g.name
                )));
            }
        }
    }
    store.delete_user_groups(doomed.iter().map(|g| g.id).collect()).await?;
    let gone = doomed.iter().map(|g| (Some(g.id.get()), g.name.clone())).collect();
    call.record(roster_core::audit::ACTION_DELETE, roster_core::audit::RESOURCE_USER_GROUP, gone).await;
    Ok(json!({ "usrgrpids": ids }))
}
