//! `user.update` (seed 004, spec section 4): every check in Zabbix's order, the first
//! failure wins and nothing is written; then one atomic write of every user's changed
//! columns, groups and media. Type 1/2 users may update only themselves.

use roster_core::{AccountWrite, AttrId, MediaWrite, User, UserId, Value};
use serde_json::{json, Value as Json};

use super::user_checks::{self as checks, group_of, policy_error};
use super::user_object::{self, MediaInput, Mode, UserInput};
use super::user_view::{attr_int, attr_text, role_id};
use super::Call;
use crate::auth::Credential;
use crate::error::{ZbxError, ZbxResult};
use crate::policy;

/// The guest account's login (Zabbix's `ZBX_GUEST_USER`).
pub const GUEST: &str = "guest";

pub async fn run(call: &Call<'_>, params: &Json) -> ZbxResult<Json> {
    let caller = call.caller()?;
    let version = call.version();
    let store = call.store();
    let mut inputs = user_object::parse(params, Mode::Update, version)?;

    // Step 5: the editable users, checked one by one in request order.
    // The policy is read only when a password is sent (keeps the plain update lean).
    let policy = match inputs.iter().any(|u| u.passwd.is_some()) {
        true => Some(store.settings().await?.password_policy()),
        false => None,
    };
    let mut found: Vec<User> = Vec::with_capacity(inputs.len());
    for u in &mut inputs {
        if u.both_medias {
            return Err(ZbxError::params("Parameter \"user_medias\" is deprecated."));
        }
        let id = u.userid.as_deref().and_then(|s| s.parse().ok()).and_then(UserId::new);
        let editable = id.filter(|id| caller.is_super_admin() || *id == caller.id());
        let Some(id) = editable else {
            return Err(ZbxError::no_permissions());
        };
        let Some(user) = store.user(id).await? else {
            return Err(ZbxError::no_permissions());
        };
        let db = &user;
        let guest = db.login == GUEST;
        if guest && u.username.as_ref().is_some_and(|n| *n != db.login) {
            return Err(ZbxError::params("Cannot rename guest user."));
        }
        checks::login_options(u)?;
        if let Some(passwd) = &u.passwd {
            if version.current_passwd() && id == caller.id() {
                let Some(current) = &u.current_passwd else {
                    return Err(ZbxError::params("Current password is mandatory."));
                };
                let stored = store.password_of(&db.login).await?.and_then(|(_, h)| h);
                if !checks::verify(current.clone(), stored).await {
                    return Err(ZbxError::params("Incorrect current password."));
                }
            }
            let username = u.username.clone().unwrap_or_else(|| db.login.clone());
            let name = u.name.clone().unwrap_or_else(|| attr_text(db, "name"));
            let surname = u.surname.clone().unwrap_or_else(|| attr_text(db, "last_name"));
            let policy = policy.unwrap_or(roster_core::PasswordPolicy { min_length: 8, check_rules: 8 });
            policy::check(&policy, passwd, &[&username, &name, &surname]).map_err(|r| policy_error(u.index, &r))?;
            if guest {
                return Err(ZbxError::params("Not allowed to set password for user \"guest\"."));
            }
        }
        if guest && u.lang.is_some() {
            return Err(ZbxError::params("Not allowed to set language for user \"guest\"."));
        }
        if guest && u.theme.is_some() {
            return Err(ZbxError::params("Not allowed to set theme for user \"guest\"."));
        }
        found.push(user);
    }
    let role_changed = |u: &UserInput, a: &User| u.roleid.as_ref().is_some_and(|r| *r != role_id(a));

    // Step 6: the super admin role must keep an active holder.
    let leaving: Vec<UserId> =
        inputs.iter().zip(&found).filter(|(u, a)| role_changed(u, a) && role_id(a) == "3").map(|(_, a)| a.id).collect();
    if !leaving.is_empty() {
        super_admin_remains(call, &leaving).await?;
    }

    // Step 7: new usernames must be free.
    for (u, a) in inputs.iter().zip(&found) {
        if let Some(name) = u.username.as_ref().filter(|n| **n != a.login) {
            if let Some((other, _)) = store.password_of(name).await? {
                if other != a.id {
                    return Err(ZbxError::params(format!("User with username \"{name}\" already exists.")));
                }
            }
        }
    }
    checks::check_languages(&inputs)?;

    // Steps 9-11: roles, groups and the empty-password rule, media types and recipients.
    let roles = if inputs.iter().any(|u| u.roleid.is_some()) { store.roles(None).await? } else { Vec::new() };
    let changed_role =
        |u: &UserInput| found.iter().find(|a| Some(a.id.to_string()) == u.userid).is_some_and(|a| role_changed(u, a));
    checks::check_roles(&inputs, &changed_role, &roles, version)?;
    let groups = if inputs.iter().any(|u| u.usrgrps.is_some()) { store.user_groups(None).await? } else { Vec::new() };
    checks::check_groups(&inputs, &groups, version)?;
    for (u, a) in inputs.iter().zip(&found) {
        if u.usrgrps.is_some() && u.passwd.is_none() {
            let stored = store.password_of(&a.login).await?.and_then(|(_, h)| h);
            let username = u.username.as_deref().unwrap_or(&a.login);
            checks::check_empty_password(u, username, stored.is_some_and(|h| !h.is_empty()), &groups, version)?;
        }
    }
    let types = if inputs.iter().any(|u| u.medias.is_some()) { store.media_types(None).await? } else { Vec::new() };
    checks::check_medias(&inputs, &types)?;

    // Step 12: what a user may not do to themselves.
    for (u, a) in inputs.iter().zip(&found) {
        if a.id != caller.id() {
            continue;
        }
        if role_changed(u, a) {
            return Err(ZbxError::params("User cannot change own role."));
        }
        let bad_group = u
            .usrgrps
            .iter()
            .flatten()
            .filter_map(|id| group_of(id, &groups))
            .any(|g| g.gui_access == 3 || g.users_status == 1);
        if bad_group {
            return Err(ZbxError::params(
                "User cannot add himself to a disabled group or a group with disabled GUI access.",
            ));
        }
    }

    // Step 13: one atomic write of what differs.
    let with_medias: Vec<UserId> =
        inputs.iter().zip(&found).filter(|(u, _)| u.medias.is_some()).map(|(_, a)| a.id).collect();
    let existing = if with_medias.is_empty() { Vec::new() } else { store.medias_of(with_medias).await? };
    let own_session = match &caller.credential {
        Credential::Session(hash) => Some(hash.clone()),
        Credential::Token(_) => None,
    };
    let mut writes = Vec::with_capacity(inputs.len());
    for (u, a) in inputs.iter().zip(&found) {
        let mut w = account_write(u, a, &existing);
        let mut audit = call.audit();
        if u.passwd.is_some() {
            audit.notes.push(("passwd".into(), roster_core::audit::HIDDEN.into()));
        }
        w.patch.audit = Some(audit);
        if let Some(passwd) = &u.passwd {
            w.password_hash = Some(Some(checks::hash(passwd.clone()).await?));
            if version.v7() {
                w.end_sessions = true;
                w.keep_session = own_session.clone().filter(|_| a.id == caller.id());
            }
        }
        writes.push(w);
    }
    match call.zbx.dir.update_accounts(writes).await {
        Err(roster_core::CoreError::Taken(_)) => {
            let name = inputs.iter().find_map(|u| u.username.clone()).unwrap_or_default();
            Err(ZbxError::params(format!("User with username \"{name}\" already exists.")))
        }
        Err(roster_core::CoreError::NotFound(_)) => Err(ZbxError::no_permissions()),
        other => other.map_err(ZbxError::from),
    }?;
    let ids: Vec<Json> = inputs.iter().map(|u| json!(u.userid.clone().unwrap_or_default())).collect();
    Ok(json!({ "userids": ids }))
}

/// Refuses when no other active user would keep the super admin role.
pub async fn super_admin_remains(call: &Call<'_>, leaving: &[UserId]) -> ZbxResult<()> {
    let store = call.store();
    let query = roster_core::UserQuery {
        filter: roster_core::Filter(vec![roster_core::Cond::Attr {
            attr: AttrId::named("roleid"),
            op: roster_core::Op::Eq,
            values: vec![Value::Int(3)],
        }]),
        limit: u64::MAX,
        count_total: false,
        ..roster_core::UserQuery::default()
    };
    for user in store.find_users(&query).await?.items {
        if leaving.contains(&user.id) {
            continue;
        }
        if let Some(access) = store.access(user.id).await? {
            let enabled = access.groups.iter().all(|g| g.users_status == 0);
            if access.user.is_active() && enabled && access.groups.iter().any(|g| g.gui_access < 3) {
                return Ok(());
            }
        }
    }
    let name = store
        .roles(None)
        .await?
        .into_iter()
        .find(|r| r.id.get() == 3)
        .map_or_else(|| "Super admin role".into(), |r| r.name);
    Err(ZbxError::params(format!("At least one active user must exist with role \"{name}\".")))
}

/// The columns of `u` that differ from `db`, with groups and media to replace.
fn account_write(u: &UserInput, db: &User, existing: &[roster_core::Media]) -> AccountWrite {
    let mut w = AccountWrite::new(db.id);
    if let Some(name) = u.username.as_ref().filter(|n| **n != db.login) {
        w.patch.login = Some(name.clone());
    }
    let texts = [
        ("name", &u.name),
        ("last_name", &u.surname),
        ("url", &u.url),
        ("autologout", &u.autologout),
        ("lang", &u.lang),
        ("refresh", &u.refresh),
        ("theme", &u.theme),
        ("timezone", &u.timezone),
    ];
    for (attr, value) in texts {
        if let Some(v) = value.as_ref().filter(|v| **v != attr_text(db, attr)) {
            w.patch.set(AttrId::named(attr), Value::Text(v.clone()));
        }
    }
    for (attr, value) in [("autologin", u.autologin), ("rows_per_page", u.rows_per_page)] {
        if let Some(v) = value.filter(|v| Some(*v) != attr_int(db, attr)) {
            w.patch.set(AttrId::named(attr), Value::Int(v));
        }
    }
    if let Some(role) = u.roleid.as_ref().filter(|r| **r != role_id(db)) {
        w.patch.set(AttrId::named("roleid"), Value::Int(role.parse().unwrap_or(0)));
    }
    w.groups = u
        .usrgrps
        .as_ref()
        .map(|ids| ids.iter().filter_map(|id| id.parse().ok().and_then(roster_core::GroupId::new)).collect());
    w.medias = u.medias.as_ref().map(|list| media_writes(list, db.id, existing));
    w
}

/// Media to store: an item matching an existing medium (type and recipients) keeps its id.
/// Media type ids were checked to exist before, so every item parses.
pub fn media_writes(list: &[MediaInput], user: UserId, existing: &[roster_core::Media]) -> Vec<MediaWrite> {
    let mut taken: Vec<roster_core::MediaId> = Vec::new();
    list.iter()
        .filter_map(|m| {
            let mut write = MediaWrite {
                id: None,
                mediatype: m.mediatypeid.parse().ok().and_then(roster_core::MediaTypeId::new)?,
                sendto: m.sendto.clone(),
                active: m.active.unwrap_or(0),
                severity: m.severity.unwrap_or(roster_core::media::DEFAULT_SEVERITY),
                period: m.period.clone().unwrap_or_else(|| roster_core::media::DEFAULT_PERIOD.into()),
            };
            if let Some(old) = existing.iter().find(|e| e.user == user && !taken.contains(&e.id) && write.matches(e)) {
                write.id = Some(old.id);
                taken.push(old.id);
            }
            Some(write)
        })
        .collect()
}
