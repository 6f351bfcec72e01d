//! `user.create` (spec 5.2): super admins only. The same object rules as `user.update`
//! without `userid`; per user the login options and the password policy (context from
//! the request only), then usernames, languages, roles, groups, media, and one atomic
//! write. A created user is also a Bitrix24 employee: department 1, active.

use roster_core::{AttrId, DepartmentId, GroupId, NewAccount, NewUser, UserPatch, Value};
use serde_json::{json, Value as Json};

use super::user_checks::{self as checks, policy_error};
use super::user_object::{self, Mode, UserInput};
use super::user_update::media_writes;
use super::Call;
use crate::error::{ZbxError, ZbxResult};
use crate::policy;

pub async fn run(call: &Call<'_>, params: &Json) -> ZbxResult<Json> {
    let caller = call.caller()?;
    if !caller.is_super_admin() {
        return Err(ZbxError::app("No permissions to call \"user.create\"."));
    }
    let version = call.version();
    let store = call.store();
    let mut inputs = user_object::parse(params, Mode::Create, version)?;
    let policy = store.settings().await?.password_policy();
    for u in &mut inputs {
        checks::login_options(u)?;
        if let Some(passwd) = &u.passwd {
            let context = [
                u.username.as_deref().unwrap_or(""),
                u.name.as_deref().unwrap_or(""),
                u.surname.as_deref().unwrap_or(""),
            ];
            policy::check(&policy, passwd, &context).map_err(|r| policy_error(u.index, &r))?;
        }
    }
    for u in &inputs {
        let name = u.username.as_deref().unwrap_or_default();
        if store.password_of(name).await?.is_some() {
            return Err(ZbxError::params(format!("User with username \"{name}\" already exists.")));
        }
    }
    checks::check_languages(&inputs)?;
    let roles = store.roles(None).await?;
    checks::check_roles(&inputs, &|_| true, &roles, version)?;
    let groups = store.user_groups(None).await?;
    checks::check_groups(&inputs, &groups, version)?;
    for u in &inputs {
        checks::check_empty_password(
            u,
            u.username.as_deref().unwrap_or_default(),
            u.passwd.is_some(),
            &groups,
            version,
        )?;
    }
    let types = if inputs.iter().any(|u| u.medias.is_some()) { store.media_types(None).await? } else { Vec::new() };
    checks::check_medias(&inputs, &types)?;

    let mut accounts = Vec::with_capacity(inputs.len());
    for u in &inputs {
        let hash = match &u.passwd {
            Some(p) => Some(checks::hash(p.clone()).await?),
            None => None,
        };
        let mut acc = account(u, hash);
        let mut audit = call.audit();
        if u.passwd.is_some() {
            audit.notes.push(("passwd".into(), roster_core::audit::HIDDEN.into()));
        }
        acc.user.patch.audit = Some(audit);
        accounts.push(acc);
    }
    let ids = match call.zbx.dir.create_accounts(accounts).await {
        Err(roster_core::CoreError::Taken(_)) => {
            let name = inputs.first().and_then(|u| u.username.clone()).unwrap_or_default();
            Err(ZbxError::params(format!("User with username \"{name}\" already exists.")))
        }
        other => other.map_err(ZbxError::from),
    }?;
    let ids: Vec<Json> = ids.iter().map(|id| json!(id.to_string())).collect();
    Ok(json!({ "userids": ids }))
}

/// The new user: the login is the username, name and surname are NAME and LAST_NAME.
fn account(u: &UserInput, password_hash: Option<String>) -> NewAccount {
    let mut patch = UserPatch::default();
    patch.set(AttrId::named("active"), Value::Bool(true));
    patch.departments = Some(vec![DepartmentId::ROOT]);
    // The other face hears of the new user as of one it added itself.
    patch.emit.push("ONUSERADD");
    patch.set(AttrId::named("name"), Value::Text(u.name.clone().unwrap_or_default()));
    patch.set(AttrId::named("last_name"), Value::Text(u.surname.clone().unwrap_or_default()));
    for (attr, value) in [
        ("url", &u.url),
        ("autologout", &u.autologout),
        ("lang", &u.lang),
        ("refresh", &u.refresh),
        ("theme", &u.theme),
        ("timezone", &u.timezone),
    ] {
        if let Some(v) = value {
            patch.set(AttrId::named(attr), Value::Text(v.clone()));
        }
    }
    for (attr, value) in [("autologin", u.autologin), ("rows_per_page", u.rows_per_page)] {
        if let Some(v) = value {
            patch.set(AttrId::named(attr), Value::Int(v));
        }
    }
    let role = u.roleid.as_ref().and_then(|r| r.parse::<i64>().ok());
    patch.set(AttrId::named("roleid"), role.map_or(Value::Null, Value::Int));
    let groups: Vec<GroupId> =
        u.usrgrps.iter().flatten().filter_map(|g| g.parse().ok().and_then(GroupId::new)).collect();
    let medias = u.medias.as_ref().map(|m| media_writes(m, roster_core::UserId::ADMIN, &[])).unwrap_or_default();
    NewAccount {
        user: NewUser { login: u.username.clone().unwrap_or_default(), password_hash, is_admin: false, patch },
        groups,
        medias,
    }
}
