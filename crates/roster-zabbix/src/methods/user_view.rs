//! How a directory user looks through the Zabbix face: the user object's fields (all
//! strings, in Zabbix's order), where each comes from in the core (`username` is the
//! login, `surname` the `last_name` attribute), and group, media and role objects.

use roster_core::{AttrId, Media, MediaType, Role, User, UserGroup, Value};
use serde_json::{json, Map, Value as Json};

use crate::ApiVersion;

/// The user fields of `output: "extend"` in 6.0, in order.
const FIELDS: &[&str] = &[
    "userid",
    "username",
    "name",
    "surname",
    "url",
    "autologin",
    "autologout",
    "lang",
    "refresh",
    "theme",
    "attempt_failed",
    "attempt_ip",
    "attempt_clock",
    "rows_per_page",
    "timezone",
    "roleid",
];

/// Every user field of this version, in output order.
pub fn user_fields(v: ApiVersion) -> Vec<&'static str> {
    let mut f = FIELDS.to_vec();
    if v.provisioning_fields() {
        f.extend(["userdirectoryid", "ts_provisioned"]);
    }
    f
}

/// A text attribute as Zabbix shows it (NULL as empty).
pub fn attr_text(u: &User, attr: &str) -> String {
    match AttrId::by_name(attr).map(|a| u.get(a)) {
        Some(Value::Text(s)) => s.clone(),
        Some(Value::Int(i) | Value::DateTime(i)) => i.to_string(),
        _ => String::new(),
    }
}

pub fn attr_int(u: &User, attr: &str) -> Option<i64> {
    match AttrId::by_name(attr).map(|a| u.get(a)) {
        Some(Value::Int(i)) => Some(*i),
        _ => None,
    }
}

/// The user's role id as a string, `"0"` without a role.
pub fn role_id(u: &User) -> String {
    attr_int(u, "roleid").unwrap_or(0).to_string()
}

/// One field of the user object; None for a name that is not a user field.
pub fn field(u: &User, name: &str) -> Option<String> {
    Some(match name {
        "userid" => u.id.to_string(),
        "username" => u.login.clone(),
        "surname" => attr_text(u, "last_name"),
        "roleid" => role_id(u),
        "autologin" | "rows_per_page" | "attempt_failed" | "attempt_clock" => {
            attr_int(u, name).unwrap_or(0).to_string()
        }
        "name" | "url" | "autologout" | "lang" | "refresh" | "theme" | "timezone" | "attempt_ip" => attr_text(u, name),
        "userdirectoryid" | "ts_provisioned" => "0".into(),
        _ => return None,
    })
}

/// The user object with these fields (unknown names are skipped).
pub fn user_json(u: &User, fields: &[&str]) -> Map<String, Json> {
    let mut out = Map::new();
    for name in fields {
        if let Some(v) = field(u, name) {
            out.insert((*name).to_owned(), Json::String(v));
        }
    }
    out
}

pub fn group_json(g: &UserGroup, v: ApiVersion) -> Map<String, Json> {
    let mut out = json!({
        "usrgrpid": g.id.to_string(),
        "name": g.name,
        "gui_access": g.gui_access.to_string(),
        "users_status": g.users_status.to_string(),
        "debug_mode": g.debug_mode.to_string(),
    });
    if v.provisioning_fields() {
        out["userdirectoryid"] = json!("0");
    }
    out.as_object().cloned().unwrap_or_default()
}

pub fn role_json(r: &Role) -> Map<String, Json> {
    let v = json!({
        "roleid": r.id.to_string(),
        "name": r.name,
        "type": r.kind.get().to_string(),
        "readonly": if r.readonly { "1" } else { "0" },
    });
    v.as_object().cloned().unwrap_or_default()
}

/// A medium; `sendto` is a list for e-mail media types and a string for the others.
pub fn media_json(m: &Media, email: bool) -> Map<String, Json> {
    let sendto = if email { json!(m.sendto) } else { json!(m.sendto.join("\n")) };
    let v = json!({
        "mediaid": m.id.to_string(),
        "userid": m.user.to_string(),
        "mediatypeid": m.mediatype.to_string(),
        "sendto": sendto,
        "active": m.active.to_string(),
        "severity": m.severity.to_string(),
        "period": m.period,
    });
    v.as_object().cloned().unwrap_or_default()
}

pub fn media_type_json(t: &MediaType) -> Map<String, Json> {
    let v = json!({
        "mediatypeid": t.id.to_string(),
        "type": t.kind.to_string(),
        "name": t.name,
        "status": t.status.to_string(),
        "description": t.description,
    });
    v.as_object().cloned().unwrap_or_default()
}

/// Keeps only the requested keys of an object (`output` as a list); `extend` keeps all.
pub fn select(obj: Map<String, Json>, output: &Output) -> Map<String, Json> {
    match output {
        Output::Extend => obj,
        Output::Fields(f) => obj.into_iter().filter(|(k, _)| f.iter().any(|x| x == k)).collect(),
        Output::Count => Map::new(),
    }
}

/// An `output` or `select*` option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Extend,
    Fields(Vec<String>),
    Count,
}

impl Output {
    /// Reads `extend`, `count` or a list of names; anything else is `default`.
    pub fn parse(v: Option<&Json>, default: Output) -> Output {
        match v {
            Some(Json::String(s)) if s == "extend" => Output::Extend,
            Some(Json::String(s)) if s == "count" => Output::Count,
            Some(Json::Array(a)) => Output::Fields(a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect()),
            Some(Json::String(s)) => Output::Fields(vec![s.clone()]),
            _ => default,
        }
    }

    /// The user fields it names, in the order of `all`.
    pub fn fields<'a>(&self, all: &[&'a str]) -> Vec<&'a str> {
        match self {
            Output::Extend => all.to_vec(),
            Output::Fields(f) => all.iter().filter(|a| f.iter().any(|x| x == *a)).copied().collect(),
            Output::Count => Vec::new(),
        }
    }
}
