//! `user.delete` (spec 7): super admins only; a list of ids (an object counts as the list
//! of its values), non-empty and unique. Refused for oneself, for `guest` and for the last
//! active super admin. The user disappears from both faces, with sessions and tokens.

use roster_core::UserId;
use serde_json::{json, Value as Json};

use super::user_update::GUEST;
use super::Call;
use crate::error::{ZbxError, ZbxResult};
use crate::validate;

pub async fn run(call: &Call<'_>, params: &Json) -> ZbxResult<Json> {
    let caller = call.caller()?;
    if !caller.is_super_admin() {
        return Err(ZbxError::app("No permissions to call \"user.delete\"."));
    }
    let store = call.store();
    let ids = validate::ids(params, "/").map_err(ZbxError::params)?;
    let mut users = Vec::with_capacity(ids.len());
    for id in &ids {
        let Some(uid) = id.parse().ok().and_then(UserId::new) else {
            return Err(ZbxError::no_permissions());
        };
        let Some(access) = store.access(uid).await? else {
            return Err(ZbxError::no_permissions());
        };
        if uid == caller.id() {
            return Err(ZbxError::params("User is not allowed to delete himself."));
        }
        if access.user.login == GUEST {
            return Err(ZbxError::params(format!(
                "Cannot delete Zabbix internal user \"{GUEST}\", try disabling that user."
            )));
        }
        users.push(access);
    }
    if users.iter().any(|a| a.is_super_admin()) {
        let leaving: Vec<UserId> = users.iter().map(|a| a.user.id).collect();
        super::user_update::super_admin_remains(call, &leaving).await?;
    }
    let uids: Vec<UserId> = users.iter().map(|a| a.user.id).collect();
    store.delete_users(uids).await.map_err(|e| match e {
        roster_core::StoreError::Missing(_) => ZbxError::no_permissions(),
        other => ZbxError::from(other),
    })?;
    let gone = users.iter().map(|a| (Some(a.user.id.get()), a.user.login.clone())).collect();
    call.record(roster_core::audit::ACTION_DELETE, roster_core::audit::RESOURCE_USER, gone).await;
    Ok(json!({ "userids": ids }))
}
