//! The user object of `user.create` and `user.update`: the structural validation Zabbix
//! runs first (wrap an object into a list, deprecated names, unexpected members, each
//! field in rule order, uniqueness across the list), giving typed `UserInput`s. Checks
//! against stored data come later, in the methods themselves.

use std::sync::OnceLock;

use chrono::{Offset, TimeZone, Utc};
use serde_json::{Map, Value as Json};

use crate::error::{ZbxError, ZbxResult};
use crate::validate::{
    self, as_object, check_unexpected, entries, first_key_is_int, invalid, missing, strings, sub, Key, VResult,
};
use crate::ApiVersion;

/// Which method the object is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Create,
    Update,
}

/// One medium as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaInput {
    pub mediatypeid: String,
    pub sendto: Vec<String>,
    pub active: Option<i64>,
    pub severity: Option<i64>,
    pub period: Option<String>,
}

/// One validated user object; `None` means "not sent".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInput {
    /// The 1-based position in the request, as paths show it.
    pub index: i64,
    pub userid: Option<String>,
    pub username: Option<String>,
    pub name: Option<String>,
    pub surname: Option<String>,
    pub passwd: Option<String>,
    pub current_passwd: Option<String>,
    pub url: Option<String>,
    pub autologin: Option<i64>,
    pub autologout: Option<String>,
    pub lang: Option<String>,
    pub refresh: Option<String>,
    pub theme: Option<String>,
    pub rows_per_page: Option<i64>,
    pub timezone: Option<String>,
    pub roleid: Option<String>,
    pub usrgrps: Option<Vec<String>>,
    pub medias: Option<Vec<MediaInput>>,
    /// Both `medias` and the deprecated `user_medias` were sent (refused later, per user).
    pub both_medias: bool,
}

/// The 34 interface languages of Zabbix 6.0, after `default`.
pub const LANGUAGES: &[&str] = &[
    "default", "en_GB", "en_US", "bg_BG", "ca_ES", "zh_CN", "zh_TW", "cs_CZ", "nl_NL", "fi_FI", "fr_FR", "ka_GE",
    "de_DE", "el_GR", "he_IL", "hu_HU", "id_ID", "it_IT", "ko_KR", "ja_JP", "lv_LV", "lt_LT", "nb_NO", "fa_IR",
    "pl_PL", "pt_BR", "pt_PT", "ro_RO", "ru_RU", "sk_SK", "es_ES", "sv_SE", "tr_TR", "uk_UA", "vi_VN",
];

/// Languages whose locale "is installed" here (the measured peer had only these two).
pub const INSTALLED_LANGUAGES: &[&str] = &["default", "en_US", "en_GB"];

pub const THEMES: &[&str] = &["default", "blue-theme", "dark-theme", "hc-light", "hc-dark"];

const AREAS: &[&str] = &[
    "Africa/",
    "America/",
    "Antarctica/",
    "Arctic/",
    "Asia/",
    "Atlantic/",
    "Australia/",
    "Europe/",
    "Indian/",
    "Pacific/",
];

/// `default` and every IANA time zone PHP lists, ordered by today's UTC offset, then name.
pub fn timezones() -> Vec<String> {
    static NAMES: OnceLock<Vec<(String, chrono_tz::Tz)>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        chrono_tz::TZ_VARIANTS
            .iter()
            .filter(|tz| tz.name() == "UTC" || AREAS.iter().any(|a| tz.name().starts_with(a)))
            .map(|tz| (tz.name().to_owned(), *tz))
            .collect()
    });
    let now = Utc::now().naive_utc();
    let mut list: Vec<(i32, &str)> = names
        .iter()
        .map(|(name, tz)| (tz.offset_from_utc_datetime(&now).fix().local_minus_utc(), name.as_str()))
        .collect();
    list.sort();
    std::iter::once("default".to_owned()).chain(list.into_iter().map(|(_, n)| n.to_owned())).collect()
}

fn timezone(v: &Json, path: &str) -> VResult<String> {
    let s = validate::string(v, path, false, Some(50), None)?;
    let known = s == "default"
        || chrono_tz::TZ_VARIANTS
            .iter()
            .any(|tz| tz.name() == s && (s == "UTC" || AREAS.iter().any(|a| s.starts_with(a))));
    if !known {
        let quoted: Vec<String> = timezones().iter().map(|t| format!("\"{t}\"")).collect();
        return Err(invalid(path, &validate::one_of(&quoted)));
    }
    Ok(s)
}

/// Steps 2-4 of `user.update` (and their `user.create` form): the objects, validated.
pub fn parse(params: &Json, mode: Mode, version: ApiVersion) -> ZbxResult<Vec<UserInput>> {
    let list: Vec<(Key, Json)> = if first_key_is_int(params) {
        entries(params).unwrap_or_default().into_iter().map(|(k, v)| (k, v.clone())).collect()
    } else {
        vec![(Key::Int(0), params.clone())]
    };
    let mut objects: Vec<(i64, Map<String, Json>)> = Vec::with_capacity(list.len());
    for (key, item) in &list {
        // A scalar where a user should be: PHP dies on it (HTTP 500, empty body).
        let Some(mut obj) = as_object(item) else {
            return Err(ZbxError::Fatal);
        };
        if version.legacy_names() {
            if obj.contains_key("alias") && obj.contains_key("username") {
                return Err(ZbxError::params("Parameter \"alias\" is deprecated."));
            }
            if let Some(alias) = obj.remove("alias") {
                obj.insert("username".into(), alias);
            }
        }
        objects.push((key.position(), obj));
    }
    let mut inputs = Vec::with_capacity(objects.len());
    for (index, obj) in &objects {
        inputs.push(object(obj, *index, mode, version).map_err(ZbxError::params)?);
    }
    unique(&inputs, mode).map_err(ZbxError::params)?;
    Ok(inputs)
}

/// Uniqueness across the list: `userid` (update), then `username`.
fn unique(inputs: &[UserInput], mode: Mode) -> VResult<()> {
    let check = |field: &str, get: &dyn Fn(&UserInput) -> Option<&String>| -> VResult<()> {
        for (i, u) in inputs.iter().enumerate() {
            let Some(v) = get(u) else { continue };
            if inputs[..i].iter().any(|p| get(p) == Some(v)) {
                return Err(invalid(&format!("/{}", u.index), &format!("value ({field})=({v}) already exists")));
            }
        }
        Ok(())
    };
    if mode == Mode::Update {
        check("userid", &|u| u.userid.as_ref())?;
    }
    check("username", &|u| u.username.as_ref())
}

/// The fields in Zabbix's rule order.
fn fields(mode: Mode, version: ApiVersion) -> Vec<&'static str> {
    let mut f = Vec::with_capacity(20);
    if mode == Mode::Update {
        f.push("userid");
    }
    f.extend(["username", "name", "surname", "passwd"]);
    if mode == Mode::Update && version.current_passwd() {
        f.push("current_passwd");
    }
    f.extend([
        "url",
        "autologin",
        "autologout",
        "lang",
        "refresh",
        "theme",
        "rows_per_page",
        "timezone",
        "roleid",
        "usrgrps",
        "medias",
    ]);
    if version.legacy_names() {
        f.push("user_medias");
    }
    f
}

fn object(obj: &Map<String, Json>, index: i64, mode: Mode, version: ApiVersion) -> VResult<UserInput> {
    let path = format!("/{index}");
    let allowed = fields(mode, version);
    check_unexpected(obj, &allowed, &path)?;
    let mut u = UserInput { index, ..UserInput::default() };
    let creating = mode == Mode::Create;
    let required = |name: &str| match name {
        "userid" => !creating,
        "username" => creating,
        "roleid" | "usrgrps" => creating && !version.optional_role_and_groups(),
        _ => false,
    };
    for name in allowed {
        let at = sub(&path, name);
        let Some(v) = obj.get(name) else {
            if required(name) {
                return Err(missing(&path, name));
            }
            continue;
        };
        match name {
            "userid" => u.userid = Some(validate::id(v, &at)?),
            "username" => u.username = Some(validate::string(v, &at, true, Some(100), None)?),
            "name" => u.name = Some(validate::string(v, &at, false, Some(100), None)?),
            "surname" => u.surname = Some(validate::string(v, &at, false, Some(100), None)?),
            "passwd" => u.passwd = Some(validate::string(v, &at, true, Some(255), None)?),
            "current_passwd" => u.current_passwd = Some(validate::string(v, &at, false, Some(255), None)?),
            "url" => u.url = Some(validate::url(v, &at, 2048)?),
            "autologin" => u.autologin = Some(validate::int32(v, &at, Some("0,1"))?),
            "autologout" => u.autologout = Some(validate::time_unit(v, &at, true, Some("0,90:86400"))?),
            "lang" => u.lang = Some(validate::string(v, &at, true, Some(7), Some(LANGUAGES))?),
            "refresh" => u.refresh = Some(validate::time_unit(v, &at, true, Some("0:3600"))?),
            "theme" => u.theme = Some(validate::string(v, &at, false, Some(128), Some(THEMES))?),
            "rows_per_page" => u.rows_per_page = Some(validate::int32(v, &at, Some("1:999999"))?),
            "timezone" => u.timezone = Some(timezone(v, &at)?),
            "roleid" => u.roleid = Some(validate::id(v, &at)?),
            "usrgrps" => u.usrgrps = Some(usrgrps(v, &at, !version.optional_role_and_groups())?),
            "medias" | "user_medias" => {
                if name == "user_medias" && obj.contains_key("medias") {
                    // Reported later, per user, as Zabbix does (step 5.1).
                    u.both_medias = true;
                    continue;
                }
                u.medias = Some(medias(v, &at)?);
            }
            _ => {}
        }
    }
    Ok(u)
}

fn usrgrps(v: &Json, path: &str, not_empty: bool) -> VResult<Vec<String>> {
    let Some(items) = entries(v) else {
        return Err(invalid(path, "an array is expected"));
    };
    if not_empty && items.is_empty() {
        return Err(invalid(path, "cannot be empty"));
    }
    let mut ids: Vec<String> = Vec::with_capacity(items.len());
    for (k, item) in &items {
        let at = sub(path, &k.position().to_string());
        let Some(obj) = as_object(item).filter(|_| validate::is_array(item)) else {
            return Err(invalid(&at, "an array is expected"));
        };
        check_unexpected(&obj, &["usrgrpid"], &at)?;
        let id = obj.get("usrgrpid").ok_or_else(|| missing(&at, "usrgrpid"))?;
        ids.push(validate::id(id, &sub(&at, "usrgrpid"))?);
    }
    for (i, (k, _)) in items.iter().enumerate() {
        if ids[..i].contains(&ids[i]) {
            let at = sub(path, &k.position().to_string());
            return Err(invalid(&at, &format!("value (usrgrpid)=({}) already exists", ids[i])));
        }
    }
    Ok(ids)
}

fn medias(v: &Json, path: &str) -> VResult<Vec<MediaInput>> {
    let Some(items) = entries(v) else {
        return Err(invalid(path, "an array is expected"));
    };
    let mut out = Vec::with_capacity(items.len());
    for (k, item) in &items {
        let at = sub(path, &k.position().to_string());
        let Some(obj) = as_object(item).filter(|_| validate::is_array(item)) else {
            return Err(invalid(&at, "an array is expected"));
        };
        check_unexpected(&obj, &["mediatypeid", "sendto", "active", "severity", "period"], &at)?;
        let mediatypeid = match obj.get("mediatypeid") {
            Some(v) => validate::id(v, &sub(&at, "mediatypeid"))?,
            None => return Err(missing(&at, "mediatypeid")),
        };
        let sendto = match obj.get("sendto") {
            Some(v) => strings(v, &sub(&at, "sendto"), true)?,
            None => return Err(missing(&at, "sendto")),
        };
        let active = obj.get("active").map(|v| validate::int32(v, &sub(&at, "active"), Some("0,1"))).transpose()?;
        let severity =
            obj.get("severity").map(|v| validate::int32(v, &sub(&at, "severity"), Some("0:63"))).transpose()?;
        let period = obj.get("period").map(|v| validate::time_period(v, &sub(&at, "period"), 1024)).transpose()?;
        out.push(MediaInput { mediatypeid, sendto, active, severity, period });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const V6: ApiVersion = ApiVersion { major: 6, minor: 0, patch: 14 };

    fn err(params: Json) -> String {
        match parse(&params, Mode::Update, V6) {
            Err(e) => e.data().to_owned(),
            Ok(v) => panic!("expected an error, got {v:?}"),
        }
    }

    #[test]
    fn shape_and_order() {
        assert_eq!(err(json!({})), "Invalid parameter \"/1\": the parameter \"userid\" is missing.");
        assert_eq!(err(json!([])), "Invalid parameter \"/1\": the parameter \"userid\" is missing.");
        assert_eq!(parse(&json!(["4"]), Mode::Update, V6), Err(ZbxError::Fatal));
        assert_eq!(err(json!({"userid": "x", "foo": 1})), "Invalid parameter \"/1\": unexpected parameter \"foo\".");
        assert_eq!(err(json!({"theme": "x", "userid": "x"})), "Invalid parameter \"/1/userid\": a number is expected.");
        assert_eq!(err(json!({"userid": 1, "alias": "a", "username": "b"})), "Parameter \"alias\" is deprecated.");
        assert_eq!(
            err(json!([{"userid": 4}, {"userid": "004"}])),
            "Invalid parameter \"/2\": value (userid)=(4) already exists."
        );
        assert_eq!(
            err(json!({"userid": 1, "usrgrps": {"usrgrpid": "7"}})),
            "Invalid parameter \"/1/usrgrps/1\": an array is expected."
        );
        assert_eq!(
            err(json!({"userid": 1, "usrgrps": [{"usrgrpid": 7}, {"usrgrpid": "7"}]})),
            "Invalid parameter \"/1/usrgrps/2\": value (usrgrpid)=(7) already exists."
        );
        assert_eq!(
            err(json!({"userid": 1, "medias": [{"mediatypeid": 1, "sendto": "a", "severity": 64}]})),
            "Invalid parameter \"/1/medias/1/severity\": value must be one of 0-63."
        );
        let ok = parse(
            &json!({"userid": "004", "alias": "ann", "medias": [{"mediatypeid": "1", "sendto": "a@b.c"}]}),
            Mode::Update,
            V6,
        )
        .expect("valid");
        assert_eq!(ok[0].userid.as_deref(), Some("4"));
        assert_eq!(ok[0].username.as_deref(), Some("ann"));
        assert_eq!(ok[0].medias.as_ref().map(|m| m[0].sendto.clone()), Some(vec!["a@b.c".to_owned()]));
    }

    #[test]
    fn timezones_start_with_default_and_know_utc() {
        let list = timezones();
        assert_eq!(list[0], "default");
        assert!(list.iter().any(|t| t == "Europe/Riga") && list.iter().any(|t| t == "UTC"));
        assert!(timezone(&json!("Europe/Riga"), "/1/timezone").is_ok());
        assert!(timezone(&json!("Mars/Base"), "/1/timezone")
            .unwrap_err()
            .starts_with("Invalid parameter \"/1/timezone\": value must be one of \"default\", "));
    }
}
