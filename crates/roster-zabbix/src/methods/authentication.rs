//! `authentication.get/update`: the directory-wide authentication settings, of which the
//! password policy (`passwd_min_length` 1-70, `passwd_check_rules` 0-15) is what Roster
//! acts on; the others are kept and reported as a fresh Zabbix has them. Super admins only.

use roster_core::settings::{DEFAULTS, LOGIN_ATTEMPTS, LOGIN_BLOCK};
use serde_json::{Map, Value as Json};

use super::user_view::{select, Output};
use super::Call;
use crate::error::{ZbxError, ZbxResult};
use crate::validate::{self, as_object, check_unexpected, sub};

/// The keys of the authentication object (the login block settings belong elsewhere).
fn keys() -> impl Iterator<Item = &'static str> {
    DEFAULTS.iter().map(|(k, _)| *k).filter(|k| *k != LOGIN_ATTEMPTS && *k != LOGIN_BLOCK)
}

pub async fn get(call: &Call<'_>, params: &Json) -> ZbxResult<Json> {
    let opts = as_object(params).unwrap_or_default();
    let settings = call.store().settings().await?;
    let obj: Map<String, Json> = keys().map(|k| (k.to_owned(), Json::String(settings.get(k).to_owned()))).collect();
    Ok(Json::Object(select(obj, &Output::parse(opts.get("output"), Output::Extend))))
}

pub async fn update(call: &Call<'_>, params: &Json) -> ZbxResult<Json> {
    let obj = as_object(params).unwrap_or_default();
    let allowed: Vec<&str> = keys().collect();
    check_unexpected(&obj, &allowed, "/").map_err(ZbxError::params)?;
    let mut values = Vec::with_capacity(obj.len());
    for key in &allowed {
        let Some(v) = obj.get(*key) else { continue };
        let at = sub("/", key);
        let text = match *key {
            "passwd_min_length" => validate::int32(v, &at, Some("1:70")).map(|i| i.to_string()),
            "passwd_check_rules" => validate::int32(v, &at, Some("0:15")).map(|i| i.to_string()),
            "http_strip_domains" => validate::string(v, &at, false, Some(2048), None),
            _ => validate::int32(v, &at, Some("0,1")).map(|i| i.to_string()),
        }
        .map_err(ZbxError::params)?;
        values.push(((*key).to_owned(), text));
    }
    let names: Vec<Json> = values.iter().map(|(k, _)| Json::String(k.clone())).collect();
    call.store().set_settings(values).await?;
    Ok(Json::Array(names))
}
