//! Sessions through the user API: `user.login` (the failed-attempt counter and the 30 s
//! block, `userData`), `user.logout`, `user.checkAuthentication` (a session id or, from
//! 6.4, an API token) and `user.unblock`. A user whose Bitrix24 `ACTIVE` is off, or who is
//! in a disabled group, may not log in and their sessions stop working.

use roster_core::credentials::hash_secret;
use roster_core::settings::{LOGIN_ATTEMPTS, LOGIN_BLOCK};
use roster_core::{Access, AccountWrite, AttrId, Session, UserId, Value};
use serde_json::{json, Map, Value as Json};

use super::user_checks;
use super::user_view::{self as view, attr_int};
use super::Call;
use crate::auth::{new_session_id, now};
use crate::error::{text, ZbxError, ZbxResult};
use crate::validate::{self, as_object, check_unexpected, invalid, missing};

pub async fn login(call: &Call<'_>, params: &Json) -> ZbxResult<Json> {
    let v = call.version();
    let store = call.store();
    let mut obj = as_object(params).unwrap_or_default();
    if v.legacy_names() {
        if obj.contains_key("user") && obj.contains_key("username") {
            return Err(ZbxError::params("Parameter \"user\" is deprecated."));
        }
        if let Some(user) = obj.remove("user") {
            obj.insert("username".into(), user);
        }
    }
    check_unexpected(&obj, &["username", "password", "userData"], "/").map_err(ZbxError::params)?;
    let field = |name: &str| -> ZbxResult<String> {
        let value = obj.get(name).ok_or_else(|| ZbxError::params(missing("/", name)))?;
        validate::string(value, &format!("/{name}"), false, Some(255), None).map_err(ZbxError::params)
    };
    let username = field("username")?;
    let password = field("password")?;
    let user_data = obj
        .get("userData")
        .map(|f| validate::flag(f, "/userData"))
        .transpose()
        .map_err(ZbxError::params)?
        .unwrap_or(false);

    let Some((id, stored)) = store.password_of(&username).await? else {
        return Err(ZbxError::params(text::LOGIN_FAILED));
    };
    let Some(access) = store.access(id).await? else {
        return Err(ZbxError::params(text::LOGIN_FAILED));
    };
    if !access.may_act() || access.role.is_none() {
        return Err(ZbxError::params(text::NO_SYSTEM_ACCESS));
    }
    let settings = store.settings().await?;
    let clock = now();
    let failed = attr_int(&access.user, "attempt_failed").unwrap_or(0);
    let last = attr_int(&access.user, "attempt_clock").unwrap_or(0);
    if failed >= settings.int(LOGIN_ATTEMPTS) && clock - last < settings.int(LOGIN_BLOCK) {
        return Err(ZbxError::app(text::LOGIN_FAILED));
    }
    if !user_checks::verify(password, stored).await {
        store.login_failed(id, call.ctx.ip.clone(), clock).await?;
        let ctx = roster_core::audit::AuditContext::new(Some(id), "zabbix", call.ctx.ip.clone());
        let rec = roster_core::audit::NewAuditRecord::new(
            &ctx,
            roster_core::audit::ACTION_FAILED_LOGIN,
            roster_core::audit::RESOURCE_USER,
            Some(id.get()),
            access.user.login.clone(),
        );
        call.zbx.dir.audit(vec![rec]).await;
        return Err(ZbxError::app(text::LOGIN_FAILED));
    }
    let sessionid = new_session_id();
    let session = Session { hash: hash_secret(&sessionid), user: id, lastaccess: clock, active: true };
    store.login_succeeded(session).await?;
    let ctx = roster_core::audit::AuditContext::new(Some(id), "zabbix", call.ctx.ip.clone());
    let rec = roster_core::audit::NewAuditRecord::new(
        &ctx,
        roster_core::audit::ACTION_LOGIN,
        roster_core::audit::RESOURCE_USER,
        Some(id.get()),
        access.user.login.clone(),
    );
    call.zbx.dir.audit(vec![rec]).await;
    if !user_data {
        return Ok(Json::String(sessionid));
    }
    let mut data = user_data_json(call, &access);
    data.insert("attempt_failed".into(), json!("0"));
    data.insert("sessionid".into(), json!(sessionid));
    Ok(Json::Object(data))
}

/// The user row plus `type`, `userip`, `debug_mode` and `gui_access`, as login reports it.
fn user_data_json(call: &Call<'_>, access: &Access) -> Map<String, Json> {
    let mut data = view::user_json(&access.user, &view::user_fields(call.version()));
    if data.get("lang").and_then(Json::as_str) == Some("default") {
        data.insert("lang".into(), json!("en_US"));
    }
    if data.get("timezone").and_then(Json::as_str) == Some("default") {
        data.insert("timezone".into(), json!("system"));
    }
    data.insert("type".into(), json!(access.user_type()));
    data.insert("userip".into(), json!(call.ctx.ip));
    data.insert("debug_mode".into(), json!(access.debug_mode()));
    data.insert("gui_access".into(), json!(access.gui_access()));
    data
}

pub async fn logout(call: &Call<'_>, params: &Json) -> ZbxResult<Json> {
    let caller = call.caller()?;
    if validate::entries(params).is_some_and(|e| !e.is_empty()) {
        return Err(ZbxError::params(invalid("/", "should be empty")));
    }
    if let crate::auth::Credential::Session(hash) = &caller.credential {
        call.store().end_session(hash).await?;
    }
    Ok(Json::Bool(true))
}

pub async fn check_authentication(call: &Call<'_>, params: &Json) -> ZbxResult<Json> {
    let v = call.version();
    let store = call.store();
    let obj = as_object(params).unwrap_or_default();
    let allowed: &[&str] = if v.bearer() { &["sessionid", "token", "extend"] } else { &["sessionid", "extend"] };
    check_unexpected(&obj, allowed, "/").map_err(ZbxError::params)?;
    let text_of = |name: &str| {
        obj.get(name)
            .map(|s| validate::string(s, &format!("/{name}"), false, None, None))
            .transpose()
            .map_err(ZbxError::params)
    };
    let sessionid = text_of("sessionid")?;
    let token = text_of("token")?;
    if let Some(extend) = obj.get("extend") {
        validate::flag(extend, "/extend").map_err(ZbxError::params)?;
    }
    match (sessionid, token) {
        (Some(sid), None) => match store.session_access(&hash_secret(&sid)).await? {
            Some((session, access)) if session.active && access.may_act() => {
                let mut data = user_data_json(call, &access);
                data.insert("sessionid".into(), json!(sid));
                Ok(Json::Object(data))
            }
            _ => Err(ZbxError::params(text::SESSION_TERMINATED)),
        },
        (None, Some(tok)) if v.bearer() => match store.api_token_access(&hash_secret(&tok)).await? {
            Some((token, access)) if token.status == 0 && access.may_act() => {
                if token.expired(now()) {
                    return Err(ZbxError::app("API token expired."));
                }
                Ok(Json::Object(user_data_json(call, &access)))
            }
            _ => Err(ZbxError::params(text::NOT_AUTHORIZED)),
        },
        (None, None) if !v.bearer() => Err(ZbxError::params(missing("/", "sessionid"))),
        _ => Err(ZbxError::params("Session ID or token is expected.")),
    }
}

pub async fn unblock(call: &Call<'_>, params: &Json) -> ZbxResult<Json> {
    let store = call.store();
    let ids = validate::ids(params, "/").map_err(ZbxError::params)?;
    let mut writes = Vec::with_capacity(ids.len());
    for id in &ids {
        let uid = id.parse().ok().and_then(UserId::new).ok_or_else(ZbxError::no_permissions)?;
        if store.user(uid).await?.is_none() {
            return Err(ZbxError::no_permissions());
        }
        let mut w = AccountWrite::new(uid);
        w.patch.set(AttrId::named("attempt_failed"), Value::Int(0));
        writes.push(w);
    }
    call.zbx.dir.update_accounts(writes).await?;
    Ok(json!({ "userids": ids }))
}
