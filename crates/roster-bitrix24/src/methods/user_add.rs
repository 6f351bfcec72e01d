//! `user.add` (spec 2.5): invites a user; the e-mail is the login. An intranet user needs
//! `UF_DEPARTMENT`; `EXTRANET=Y` needs `SONET_GROUP_ID`. Result: the new id.

use roster_core::{AttrId, Change, CoreError, CustomChange, NewUser, Value};
use serde_json::Value as Json;

use super::user_update::{flat_fields, lang_of, valid_email};
use super::Call;
use crate::envelope::Reply;
use crate::error::BxError;
use crate::input::{int_list, text_of, truthy, user_patch, Params, Purpose};
use crate::uf;

pub async fn run(call: &Call<'_>, params: Params) -> Result<Reply, BxError> {
    if !call.bx.dir.may_invite(call.actor) {
        return Err(BxError::access_denied());
    }
    let mut fields = flat_fields(&params);
    for read_only in ["LAST_LOGIN", "DATE_REGISTER", "IS_ONLINE", "ID"] {
        fields.remove(read_only);
    }
    let email = fields.get("EMAIL").and_then(text_of).unwrap_or_default().trim().to_owned();
    if !valid_email(&email) {
        return Err(BxError::argument("wrong_email", ""));
    }
    let extranet = fields.get("EXTRANET").is_some_and(truthy);
    if extranet {
        let groups = fields.get("SONET_GROUP_ID").and_then(int_list).unwrap_or_default();
        if groups.is_empty() {
            return Err(BxError::argument("no_sonet_group_for_extranet", ""));
        }
        fields.remove("UF_DEPARTMENT");
    } else {
        let depts = fields.get("UF_DEPARTMENT").and_then(int_list).unwrap_or_default();
        if depts.is_empty() {
            return Err(BxError::argument("no_extranet_field", ""));
        }
    }
    let mut patch = user_patch(&fields, Purpose::Add, &call.bx.config.files)?;
    patch.drop_attr(AttrId::named("email"));
    patch.set(AttrId::named("email"), Value::Text(email.clone()));
    let active = AttrId::named("active");
    if !patch.attrs.iter().any(|(a, _)| *a == active) {
        patch.attrs.push((active, Change::Set(Value::Bool(true))));
    }
    if extranet {
        patch.departments = Some(Vec::new());
    }
    let custom = call.bx.dir.user_fields().await?;
    let lang = lang_of(call, &params);
    patch.custom = uf::changes(&custom, &fields, &call.bx.config.files, &lang).map_err(|m| BxError::argument(m, ""))?;
    for f in &custom {
        if !patch.custom.iter().any(|(id, _)| *id == f.id) {
            let defaults = uf::defaults(f);
            if !defaults.is_empty() {
                patch.custom.push((f.id, CustomChange::Set(defaults)));
            }
        }
    }
    if let Some(f) = uf::missing_mandatory(&custom, &patch.custom, true) {
        return Err(BxError::argument(uf::mandatory_message(f, &lang), ""));
    }
    patch.emit.push("ONUSERADD");
    patch.actor = Some(call.actor.id());
    patch.audit = Some(call.audit());
    let user = NewUser { login: email, password_hash: None, is_admin: false, patch };
    match call.bx.dir.add_user(call.actor, user).await {
        Ok(id) => Ok(Reply::new(Json::from(id.get()))),
        Err(CoreError::Taken(_)) => Err(BxError::argument("A user with this email already exists", "")),
        Err(e) => Err(e.into()),
    }
}
