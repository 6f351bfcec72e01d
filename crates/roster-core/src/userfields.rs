//! Custom user fields (`UF_USR_*`): their definitions, typed settings with defaults and
//! bounds, per-language labels, enumeration items, and the values users hold. Settings
//! and labels are kept as JSON documents (`serde_json::Value`) because their shape
//! depends on the type; every rule about them lives here, not in a face.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value as Json};

use crate::ids::{EnumItemId, FieldId, FileId};
use crate::user::FileUpload;

/// Languages every label is filled for.
pub const LANGUAGES: &[&str] = &["en", "ru", "de"];

/// Longest field name, prefix included.
pub const MAX_NAME: usize = 50;

/// The types a custom field can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    String,
    Integer,
    Double,
    Boolean,
    Date,
    Datetime,
    Enumeration,
    File,
    Url,
    Address,
    Money,
    Employee,
    Crm,
    CrmStatus,
    IblockSection,
    IblockElement,
}

const TYPES: &[(&str, FieldType)] = &[
    ("string", FieldType::String),
    ("integer", FieldType::Integer),
    ("double", FieldType::Double),
    ("boolean", FieldType::Boolean),
    ("date", FieldType::Date),
    ("datetime", FieldType::Datetime),
    ("enumeration", FieldType::Enumeration),
    ("file", FieldType::File),
    ("url", FieldType::Url),
    ("address", FieldType::Address),
    ("money", FieldType::Money),
    ("employee", FieldType::Employee),
    ("crm", FieldType::Crm),
    ("crm_status", FieldType::CrmStatus),
    ("iblock_section", FieldType::IblockSection),
    ("iblock_element", FieldType::IblockElement),
];

impl FieldType {
    pub fn parse(code: &str) -> Option<FieldType> {
        TYPES.iter().find(|(c, _)| *c == code).map(|(_, t)| *t)
    }

    pub fn code(self) -> &'static str {
        TYPES.iter().find(|(_, t)| *t == self).map_or("string", |(c, _)| c)
    }

    /// Whether values compare as numbers (kept in `CustomValue::num`).
    pub fn numeric(self) -> bool {
        matches!(
            self,
            FieldType::Integer
                | FieldType::Double
                | FieldType::Boolean
                | FieldType::Datetime
                | FieldType::Enumeration
                | FieldType::File
                | FieldType::Employee
                | FieldType::IblockSection
                | FieldType::IblockElement
        )
    }
}

/// The five per-language labels.
pub const LABEL_KEYS: &[&str] =
    &["EDIT_FORM_LABEL", "LIST_COLUMN_LABEL", "LIST_FILTER_LABEL", "ERROR_MESSAGE", "HELP_MESSAGE"];

/// Labels: key (one of [`LABEL_KEYS`]) -> language -> text.
pub type Labels = BTreeMap<String, BTreeMap<String, String>>;

/// An enumeration item.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumItem {
    pub id: EnumItemId,
    pub value: String,
    pub sort: i64,
    pub def: bool,
    pub xml_id: String,
}

/// A stored field definition.
#[derive(Debug, Clone, PartialEq)]
pub struct UserField {
    pub id: FieldId,
    pub name: String,
    pub type_id: FieldType,
    pub xml_id: Option<String>,
    pub sort: i64,
    pub multiple: bool,
    pub mandatory: bool,
    /// `N`, `E` (mask) or `I` (exact).
    pub show_filter: String,
    pub show_in_list: bool,
    pub edit_in_list: bool,
    pub is_searchable: bool,
    pub settings: Json,
    pub labels: Labels,
    pub items: Vec<EnumItem>,
}

impl UserField {
    /// The label `key` in `lang`, falling back to English, then to the field name.
    pub fn label(&self, key: &str, lang: &str) -> String {
        let texts = self.labels.get(key);
        texts
            .and_then(|t| t.get(lang).or_else(|| t.get("en")))
            .filter(|s| !s.is_empty())
            .cloned()
            .unwrap_or_else(|| self.name.clone())
    }
}

/// An enumeration item to add or change (`id` set) or delete (`delete`).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemChange {
    pub id: Option<EnumItemId>,
    /// None keeps a stored item's value (a new item without a value is skipped).
    pub value: Option<String>,
    /// None keeps the stored sort (500 for a new item).
    pub sort: Option<i64>,
    /// None keeps the stored flag (N for a new item).
    pub def: Option<bool>,
    pub xml_id: Option<String>,
    pub delete: bool,
}

/// A field to create; settings and labels already complete (see [`settings_for_add`], [`labels_for_add`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NewUserField {
    pub name: String,
    pub type_id: FieldType,
    pub xml_id: Option<String>,
    pub sort: i64,
    pub multiple: bool,
    pub mandatory: bool,
    pub show_filter: String,
    pub show_in_list: bool,
    pub edit_in_list: bool,
    pub is_searchable: bool,
    pub settings: Json,
    pub labels: Labels,
    pub items: Vec<ItemChange>,
}

/// A partial update of a field; name, type and multiplicity never change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserFieldPatch {
    pub xml_id: Option<Option<String>>,
    pub sort: Option<i64>,
    pub mandatory: Option<bool>,
    pub show_filter: Option<String>,
    pub show_in_list: Option<bool>,
    pub edit_in_list: Option<bool>,
    pub is_searchable: Option<bool>,
    /// The whole new settings document (already merged over the stored one).
    pub settings: Option<Json>,
    /// Labels to replace, per key (other keys keep their texts).
    pub labels: Labels,
    pub items: Vec<ItemChange>,
}

/// One stored value: its canonical text and, for numeric types, its number.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomValue {
    pub text: String,
    pub num: Option<f64>,
}

impl CustomValue {
    pub fn text(s: impl Into<String>) -> CustomValue {
        CustomValue { text: s.into(), num: None }
    }

    pub fn number(n: f64, text: impl Into<String>) -> CustomValue {
        CustomValue { text: text.into(), num: Some(n) }
    }

    pub fn file(id: FileId) -> CustomValue {
        CustomValue { text: id.to_string(), num: Some(id.get() as f64) }
    }
}

/// What a patch does to one custom field of a user.
#[derive(Debug, Clone, PartialEq)]
pub enum CustomChange {
    /// Replace every value (an empty list clears the field).
    Set(Vec<CustomValue>),
    /// File fields: add uploads and remove files; values not named are kept.
    Files { add: Vec<FileUpload>, remove: Vec<FileId>, replace: bool },
}

/// Normalises a requested name: trimmed, upper-cased, `UF_USR_` prefixed (spec 3.1).
pub fn normalise_name(raw: &str) -> String {
    let name = raw.trim().to_uppercase();
    if name.starts_with("UF_USR_") {
        name
    } else if let Some(rest) = name.strip_prefix("UF_") {
        format!("UF_USR_{rest}")
    } else {
        format!("UF_USR_{name}")
    }
}

/// Checks a normalised name; the error says which rule it broke.
pub fn check_name(name: &str) -> Result<(), String> {
    if !name.starts_with("UF_") {
        return Err(format!("Field name {name} must start with UF_"));
    }
    if name.len() < 4 || name.len() > MAX_NAME {
        return Err(format!("Field name {name} must be 4 to {MAX_NAME} characters long"));
    }
    if !name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_') {
        return Err(format!("Field name {name} may contain only A-Z, 0-9 and _"));
    }
    Ok(())
}

/// Fills the five labels for every language from a given value (string or per-language
/// map) and a default for the languages not named.
pub fn expand_label(given: Option<&Json>, default: &str) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = LANGUAGES.iter().map(|l| ((*l).to_owned(), default.to_owned())).collect();
    match given {
        Some(Json::String(s)) if !s.is_empty() => {
            for v in out.values_mut() {
                v.clone_from(s);
            }
        }
        Some(Json::Object(map)) => {
            for (lang, text) in map {
                let text = match text {
                    Json::String(s) => s.clone(),
                    Json::Null => String::new(),
                    other => other.to_string(),
                };
                out.insert(lang.to_ascii_lowercase(), text);
            }
        }
        _ => {}
    }
    out
}

/// All labels of a new field: `LABEL`, else the name, fills what is not given.
pub fn labels_for_add(given: &Map<String, Json>, name: &str) -> Labels {
    let label = given.get("LABEL").and_then(Json::as_str).filter(|s| !s.is_empty()).unwrap_or(name);
    LABEL_KEYS.iter().map(|k| ((*k).to_owned(), expand_label(given.get(*k), label))).collect()
}

/// Labels an update replaces: only those given; unnamed languages become empty.
pub fn labels_for_update(given: &Map<String, Json>) -> Labels {
    LABEL_KEYS.iter().filter_map(|k| given.get(*k).map(|v| ((*k).to_owned(), expand_label(Some(v), "")))).collect()
}

fn int_setting(v: Option<&Json>) -> Option<i64> {
    match v? {
        Json::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Json::String(s) => s.trim().parse::<f64>().ok().map(|f| f as i64),
        Json::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

fn yn(v: Option<&Json>) -> Option<&'static str> {
    v.map(|v| match v {
        Json::String(s) if s.eq_ignore_ascii_case("y") => "Y",
        Json::Bool(true) => "Y",
        Json::Number(n) if n.as_f64().is_some_and(|f| f != 0.0) => "Y",
        _ => "N",
    })
}

fn choice(v: Option<&Json>, allowed: &[&str], default: &str, key: &str) -> Result<String, String> {
    match v {
        None | Some(Json::Null) => Ok(default.to_owned()),
        Some(v) => {
            let s = v.as_str().map(str::to_uppercase).unwrap_or_default();
            if allowed.contains(&s.as_str()) {
                Ok(s)
            } else {
                Err(format!("SETTINGS.{key} must be one of {}", allowed.join(", ")))
            }
        }
    }
}

fn positive(v: Option<&Json>, default: i64, key: &str) -> Result<i64, String> {
    match v {
        None | Some(Json::Null) => Ok(default),
        Some(raw) => match int_setting(Some(raw)) {
            Some(n) if n > 0 => Ok(n),
            _ => Err(format!("SETTINGS.{key} must be an integer greater than 0")),
        },
    }
}

fn date_default(v: Option<&Json>) -> Result<Json, String> {
    let (value, kind) = match v {
        None | Some(Json::Null) => (Json::String(String::new()), "NONE".to_owned()),
        Some(Json::Object(m)) => (
            m.get("VALUE").cloned().unwrap_or(Json::String(String::new())),
            m.get("TYPE").and_then(Json::as_str).unwrap_or("NONE").to_uppercase(),
        ),
        Some(scalar) => (scalar.clone(), "NONE".to_owned()),
    };
    if !["NONE", "NOW", "FIXED"].contains(&kind.as_str()) {
        return Err("SETTINGS.DEFAULT_VALUE.TYPE must be one of NONE, NOW, FIXED".into());
    }
    Ok(json!({"VALUE": value, "TYPE": kind}))
}

/// The settings of a type built from what was given over the stored ones (`base`),
/// with the seed's defaults and bounds. A broken bound names the setting.
pub fn settings(type_id: FieldType, given: &Map<String, Json>, base: &Map<String, Json>) -> Result<Json, String> {
    let get = |k: &str| given.get(k).or_else(|| base.get(k));
    let text = |k: &str| get(k).map_or(String::new(), |v| v.as_str().map_or_else(|| v.to_string(), str::to_owned));
    Ok(match type_id {
        FieldType::String => json!({"DEFAULT_VALUE": text("DEFAULT_VALUE"), "ROWS": positive(get("ROWS"), 1, "ROWS")?}),
        FieldType::Integer => json!({"DEFAULT_VALUE": get("DEFAULT_VALUE").cloned().unwrap_or(json!(""))}),
        FieldType::Double => {
            let precision = match get("PRECISION") {
                None | Some(Json::Null) => 2,
                Some(v) => match int_setting(Some(v)) {
                    Some(n) if n >= 0 => n,
                    _ => return Err("SETTINGS.PRECISION must be an integer of 0 or more".into()),
                },
            };
            json!({"DEFAULT_VALUE": get("DEFAULT_VALUE").cloned().unwrap_or(json!("")), "PRECISION": precision})
        }
        FieldType::Boolean => {
            let def = i64::from(int_setting(get("DEFAULT_VALUE")).unwrap_or(0) > 0);
            let display = choice(get("DISPLAY"), &["CHECKBOX", "RADIO", "DROPDOWN"], "CHECKBOX", "DISPLAY")?;
            json!({"DEFAULT_VALUE": def, "DISPLAY": display})
        }
        FieldType::Date | FieldType::Datetime => json!({"DEFAULT_VALUE": date_default(get("DEFAULT_VALUE"))?}),
        FieldType::Enumeration => json!({
            "DISPLAY": choice(get("DISPLAY"), &["LIST", "UI", "CHECKBOX", "DIALOG"], "LIST", "DISPLAY")?,
            "LIST_HEIGHT": positive(get("LIST_HEIGHT"), 1, "LIST_HEIGHT")?,
            "CAPTION_NO_VALUE": text("CAPTION_NO_VALUE"),
            "SHOW_NO_VALUE": yn(get("SHOW_NO_VALUE")).unwrap_or("Y"),
        }),
        FieldType::IblockSection | FieldType::IblockElement => json!({
            "IBLOCK_TYPE_ID": text("IBLOCK_TYPE_ID"),
            "IBLOCK_ID": int_setting(get("IBLOCK_ID")).unwrap_or(0),
            "DEFAULT_VALUE": text("DEFAULT_VALUE"),
            "DISPLAY": choice(get("DISPLAY"), &["LIST", "DIALOG", "UI", "CHECKBOX"], "LIST", "DISPLAY")?,
            "LIST_HEIGHT": positive(get("LIST_HEIGHT"), 1, "LIST_HEIGHT")?,
            "ACTIVE_FILTER": yn(get("ACTIVE_FILTER")).unwrap_or("N"),
        }),
        FieldType::CrmStatus => json!({"ENTITY_TYPE": text("ENTITY_TYPE")}),
        FieldType::Crm => {
            let mut out = Map::new();
            let mut any = false;
            for k in ["LEAD", "CONTACT", "COMPANY", "DEAL"] {
                let v = yn(get(k)).unwrap_or("N");
                any |= v == "Y";
                out.insert(k.to_owned(), json!(v));
            }
            if !any {
                // The seed: leads are enabled when no entity is chosen.
                out.insert("LEAD".into(), json!("Y"));
            }
            Json::Object(out)
        }
        FieldType::Money => json!({"DEFAULT_VALUE": text("DEFAULT_VALUE")}),
        FieldType::File | FieldType::Url | FieldType::Address | FieldType::Employee => json!([]),
    })
}

/// Applies the single-default rule to enumeration items of a new field.
pub fn normalise_items(items: &mut [ItemChange], multiple: bool) {
    if multiple {
        return;
    }
    let mut seen = false;
    for item in items.iter_mut() {
        if item.def == Some(true) && !seen {
            seen = true;
        } else {
            item.def = Some(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise_and_check() {
        assert_eq!(normalise_name(" deals "), "UF_USR_DEALS");
        assert_eq!(normalise_name("UF_DEALS"), "UF_USR_DEALS");
        assert_eq!(normalise_name("uf_usr_x"), "UF_USR_X");
        assert!(check_name("UF_USR_ÄB").is_err());
        assert!(check_name(&format!("UF_USR_{}", "X".repeat(44))).is_err());
        assert!(check_name("UF_USR_OK_1").is_ok());
    }

    #[test]
    fn settings_defaults_and_bounds() {
        let empty = Map::new();
        assert_eq!(settings(FieldType::String, &empty, &empty).unwrap(), json!({"DEFAULT_VALUE": "", "ROWS": 1}));
        let bad: Map<String, Json> = [("ROWS".to_owned(), json!(0))].into_iter().collect();
        assert!(settings(FieldType::String, &bad, &empty).unwrap_err().contains("ROWS"));
        let b: Map<String, Json> = [("DEFAULT_VALUE".to_owned(), json!(7))].into_iter().collect();
        assert_eq!(settings(FieldType::Boolean, &b, &empty).unwrap()["DEFAULT_VALUE"], json!(1));
        let p: Map<String, Json> = [("PRECISION".to_owned(), json!(-1))].into_iter().collect();
        assert!(settings(FieldType::Double, &p, &empty).unwrap_err().contains("PRECISION"));
        assert_eq!(settings(FieldType::Crm, &empty, &empty).unwrap()["LEAD"], json!("Y"));
        let d: Map<String, Json> = [("DEFAULT_VALUE".to_owned(), json!("2024-01-02"))].into_iter().collect();
        assert_eq!(settings(FieldType::Date, &d, &empty).unwrap()["DEFAULT_VALUE"]["TYPE"], json!("NONE"));
    }

    #[test]
    fn labels_fill_every_language() {
        let given: Map<String, Json> =
            [("LABEL".to_owned(), json!("Skill")), ("HELP_MESSAGE".to_owned(), json!({"ru": "Навык"}))]
                .into_iter()
                .collect();
        let labels = labels_for_add(&given, "UF_USR_X");
        assert_eq!(labels["EDIT_FORM_LABEL"]["de"], "Skill");
        assert_eq!(labels["HELP_MESSAGE"]["ru"], "Навык");
        assert_eq!(labels["HELP_MESSAGE"]["en"], "Skill");
        let upd = labels_for_update(&given);
        assert_eq!(upd.len(), 1);
        assert_eq!(upd["HELP_MESSAGE"]["en"], "");
    }
}
