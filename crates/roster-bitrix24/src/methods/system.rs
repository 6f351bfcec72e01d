//! Global informational methods: `scope`, `methods`, `method.get`, `server.time`.

use roster_core::credentials::ALL_SCOPES;
use serde_json::{json, Value as Json};

use super::{Call, Need, METHODS};
use crate::envelope::{iso, Reply};
use crate::input::{text_of, truthy, Params};

pub fn scope(call: &Call<'_>, params: &Params) -> Reply {
    let list: Vec<Json> = if params.get("FULL").is_some_and(|v| truthy(&v)) {
        ALL_SCOPES.iter().map(|s| json!(s)).collect()
    } else {
        call.actor.scopes.iter().map(|s| json!(s)).collect()
    };
    Reply::new(Json::Array(list))
}

fn granted(call: &Call<'_>, need: Need) -> bool {
    let s = &call.actor.scopes;
    match need {
        Need::None => true,
        Need::UserRead => s.has("user") || s.has("user_basic") || s.has("user_brief"),
        Need::UserWrite => s.has("user"),
        Need::Department => s.has("department"),
        Need::UserField => s.has("user.userfield"),
    }
}

pub fn methods(call: &Call<'_>, params: &Params) -> Reply {
    let full = params.get("FULL").is_some_and(|v| truthy(&v));
    let scope = params.get("SCOPE").map(|v| text_of(&v).unwrap_or_default());
    let list: Vec<Json> = METHODS
        .iter()
        // Event methods and batch are internal entries a portal leaves out of this list.
        .filter(|(m, _)| !m.starts_with("event") && *m != "batch")
        .filter(|(_, need)| match (&scope, full) {
            (_, true) => true,
            (Some(s), _) if s.is_empty() => *need == Need::None,
            (Some(s), _) => need.scope_name() == Some(s.as_str()),
            (None, _) => granted(call, *need),
        })
        .map(|(m, _)| json!(m))
        .collect();
    Reply::new(Json::Array(list))
}

pub fn method_get(call: &Call<'_>, params: &Params) -> Reply {
    let name = params.get("NAME").and_then(|v| text_of(&v)).unwrap_or_default().to_lowercase();
    let found = METHODS.iter().find(|(m, _)| *m == name);
    Reply::new(json!({
        "isExisting": found.is_some(),
        "isAvailable": found.is_some_and(|(_, need)| granted(call, *need)),
    }))
}

/// `app.info`: the application in OAuth context, scopes and licence for a webhook.
pub fn app_info(call: &Call<'_>) -> Reply {
    let scopes: Vec<Json> = call.actor.scopes.iter().map(|s| json!(s)).collect();
    Reply::new(match call.app {
        Some(app) => json!({
            "ID": app.id,
            "CODE": app.client_id,
            "VERSION": 1,
            "STATUS": "L",
            "INSTALLED": true,
            "PAYMENT_EXPIRED": "N",
            "DAYS": null,
            "LANGUAGE_ID": call.bx.config.default_language,
            "LICENSE": "en_selfhosted",
        }),
        None => json!({"SCOPE": scopes, "LICENSE": "en_selfhosted"}),
    })
}

pub fn server_time() -> Reply {
    Reply::new(Json::String(iso(chrono::Utc::now())))
}
