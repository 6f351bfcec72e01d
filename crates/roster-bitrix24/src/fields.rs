//! The Bitrix24 user fields: their codes and order, which scope sees which, and how a
//! user is written out (spec 2.0: ID as string, ACTIVE boolean, IS_ONLINE "Y"/"N",
//! dates as ISO at midnight, NULL fields left out, `{}` for TIMESTAMP_X in lists).

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use roster_core::{AttrId, FileId, Scopes, User, UserType, Value};
use serde_json::{json, Map, Value as Json};

/// Every user field of the full `user` scope, in output order.
pub const FULL: &[&str] = &[
    "ID",
    "XML_ID",
    "ACTIVE",
    "NAME",
    "LAST_NAME",
    "SECOND_NAME",
    "TITLE",
    "EMAIL",
    "LAST_LOGIN",
    "DATE_REGISTER",
    "TIME_ZONE",
    "IS_ONLINE",
    "TIMESTAMP_X",
    "LAST_ACTIVITY_DATE",
    "PERSONAL_GENDER",
    "PERSONAL_PROFESSION",
    "PERSONAL_WWW",
    "PERSONAL_BIRTHDAY",
    "PERSONAL_PHOTO",
    "PERSONAL_ICQ",
    "PERSONAL_PHONE",
    "PERSONAL_FAX",
    "PERSONAL_MOBILE",
    "PERSONAL_PAGER",
    "PERSONAL_STREET",
    "PERSONAL_CITY",
    "PERSONAL_STATE",
    "PERSONAL_ZIP",
    "PERSONAL_COUNTRY",
    "PERSONAL_MAILBOX",
    "PERSONAL_NOTES",
    "WORK_PHONE",
    "WORK_COMPANY",
    "WORK_POSITION",
    "WORK_DEPARTMENT",
    "WORK_WWW",
    "WORK_FAX",
    "WORK_PAGER",
    "WORK_STREET",
    "WORK_MAILBOX",
    "WORK_CITY",
    "WORK_STATE",
    "WORK_ZIP",
    "WORK_COUNTRY",
    "WORK_PROFILE",
    "WORK_LOGO",
    "WORK_NOTES",
    "UF_SKYPE_LINK",
    "UF_ZOOM",
    "UF_EMPLOYMENT_DATE",
    "UF_DEPARTMENT",
    "UF_INTERESTS",
    "UF_SKILLS",
    "UF_WEB_SITES",
    "UF_XING",
    "UF_LINKEDIN",
    "UF_FACEBOOK",
    "UF_TWITTER",
    "UF_SKYPE",
    "UF_DISTRICT",
    "UF_PHONE_INNER",
    "USER_TYPE",
];

/// The fields a `user_basic` token sees, in its output order.
pub const BASIC: &[&str] = &[
    "ID",
    "XML_ID",
    "ACTIVE",
    "NAME",
    "LAST_NAME",
    "SECOND_NAME",
    "TITLE",
    "EMAIL",
    "PERSONAL_PHONE",
    "WORK_PHONE",
    "WORK_POSITION",
    "WORK_COMPANY",
    "IS_ONLINE",
    "TIME_ZONE",
    "TIMESTAMP_X",
    "DATE_REGISTER",
    "LAST_ACTIVITY_DATE",
    "PERSONAL_PROFESSION",
    "PERSONAL_GENDER",
    "PERSONAL_BIRTHDAY",
    "PERSONAL_PHOTO",
    "PERSONAL_FAX",
    "PERSONAL_MOBILE",
    "PERSONAL_PAGER",
    "PERSONAL_STREET",
    "PERSONAL_MAILBOX",
    "PERSONAL_CITY",
    "PERSONAL_STATE",
    "PERSONAL_ZIP",
    "PERSONAL_COUNTRY",
    "PERSONAL_NOTES",
    "WORK_DEPARTMENT",
    "WORK_WWW",
    "WORK_FAX",
    "WORK_PAGER",
    "WORK_STREET",
    "WORK_MAILBOX",
    "WORK_CITY",
    "WORK_STATE",
    "WORK_ZIP",
    "WORK_COUNTRY",
    "WORK_PROFILE",
    "WORK_LOGO",
    "WORK_NOTES",
    "UF_DEPARTMENT",
    "UF_DISTRICT",
    "UF_SKYPE",
    "UF_SKYPE_LINK",
    "UF_ZOOM",
    "UF_TWITTER",
    "UF_FACEBOOK",
    "UF_LINKEDIN",
    "UF_XING",
    "UF_WEB_SITES",
    "UF_PHONE_INNER",
    "UF_EMPLOYMENT_DATE",
    "UF_SKILLS",
    "UF_INTERESTS",
    "USER_TYPE",
];

/// The fields a `user_brief` token sees, in its output order (no e-mail, no phones).
pub const BRIEF: &[&str] = &[
    "ID",
    "XML_ID",
    "ACTIVE",
    "NAME",
    "LAST_NAME",
    "SECOND_NAME",
    "TITLE",
    "IS_ONLINE",
    "TIME_ZONE",
    "TIMESTAMP_X",
    "DATE_REGISTER",
    "PERSONAL_PROFESSION",
    "PERSONAL_GENDER",
    "PERSONAL_BIRTHDAY",
    "PERSONAL_PHOTO",
    "PERSONAL_CITY",
    "PERSONAL_STATE",
    "PERSONAL_COUNTRY",
    "WORK_POSITION",
    "WORK_CITY",
    "WORK_STATE",
    "WORK_COUNTRY",
    "LAST_ACTIVITY_DATE",
    "UF_EMPLOYMENT_DATE",
    "UF_SKILLS",
    "UF_INTERESTS",
    "UF_DEPARTMENT",
    "UF_PHONE_INNER",
    "USER_TYPE",
];

/// English labels of `user.fields`; a field without one is labelled with its own code.
const LABELS: &[(&str, &str)] = &[
    ("ID", "ID"),
    ("XML_ID", "External code"),
    ("ACTIVE", "Activity"),
    ("NAME", "First Name"),
    ("LAST_NAME", "Last Name"),
    ("SECOND_NAME", "Second Name"),
    ("TITLE", "User List"),
    ("EMAIL", "E-Mail"),
    ("LAST_LOGIN", "Last Authorization"),
    ("DATE_REGISTER", "Registration Date"),
    ("PERSONAL_GENDER", "Gender"),
    ("PERSONAL_PROFESSION", "Profession"),
    ("PERSONAL_WWW", "Personal Website"),
    ("PERSONAL_BIRTHDAY", "Date of Birth"),
    ("PERSONAL_PHOTO", "Photo"),
    ("PERSONAL_ICQ", "ICQ"),
    ("PERSONAL_PHONE", "Personal Phone"),
    ("PERSONAL_FAX", "Fax"),
    ("PERSONAL_MOBILE", "Personal Mobile"),
    ("PERSONAL_PAGER", "Pager"),
    ("PERSONAL_STREET", "Street Address"),
    ("PERSONAL_CITY", "City"),
    ("PERSONAL_STATE", "Region / State"),
    ("PERSONAL_ZIP", "Zip"),
    ("PERSONAL_COUNTRY", "Country"),
    ("PERSONAL_MAILBOX", "Mailbox"),
    ("PERSONAL_NOTES", "Additional Notes"),
    ("WORK_PHONE", "Company Phone"),
    ("WORK_COMPANY", "Company"),
    ("WORK_POSITION", "Job Title"),
    ("WORK_DEPARTMENT", "Department"),
    ("UF_SKYPE_LINK", "Skype chat link"),
    ("UF_ZOOM", "Zoom"),
    ("UF_EMPLOYMENT_DATE", "Hire Date"),
    ("UF_DEPARTMENT", "Units"),
    ("UF_INTERESTS", "Interests"),
    ("UF_SKILLS", "Skills"),
    ("UF_WEB_SITES", "Other websites"),
    ("UF_XING", "Xing"),
    ("UF_LINKEDIN", "LinkedIn"),
    ("UF_FACEBOOK", "Facebook"),
    ("UF_TWITTER", "Twitter"),
    ("UF_SKYPE", "Skype"),
    ("UF_DISTRICT", "District"),
    ("UF_PHONE_INNER", "Extension"),
];

pub fn label(code: &str) -> &str {
    LABELS.iter().find(|(c, _)| *c == code).map_or(code, |(_, l)| l)
}

/// Which of the three user scopes governs what a caller sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Full,
    Basic,
    Brief,
}

impl Visibility {
    pub fn of(scopes: &Scopes) -> Visibility {
        if scopes.has("user") {
            Visibility::Full
        } else if scopes.has("user_basic") {
            Visibility::Basic
        } else {
            Visibility::Brief
        }
    }

    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Visibility::Full => FULL,
            Visibility::Basic => BASIC,
            Visibility::Brief => BRIEF,
        }
    }

    pub fn sees(self, code: &str) -> bool {
        self.fields().contains(&code)
    }
}

/// The core attribute behind a Bitrix code, if it is a column attribute.
pub fn attr_of(code: &str) -> Option<AttrId> {
    if code.bytes().any(|b| b.is_ascii_lowercase()) {
        return None;
    }
    AttrId::by_name(&code.to_ascii_lowercase())
}

/// Which list a user is written for; dates of TIMESTAMP_X and LAST_ACTIVITY_DATE differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    List,
    Current,
}

/// Serialises `user` with the fields in `codes` (canonical order), as spec 2.0 says.
/// `file_url` turns a stored file into its absolute URL.
pub fn user_json(user: &User, codes: &[&str], flavor: Flavor, file_url: &dyn Fn(FileId) -> Option<String>) -> Json {
    let mut out = Map::new();
    for &code in codes {
        let value = match code {
            "ID" => Some(Json::String(user.id.to_string())),
            "IS_ONLINE" => Some(Json::String("N".into())),
            "UF_DEPARTMENT" => Some(Json::Array(user.departments.iter().map(|d| json!(d.get())).collect())),
            "USER_TYPE" => Some(Json::String(
                match user.user_type() {
                    UserType::Employee => "employee",
                    UserType::Extranet => "extranet",
                }
                .into(),
            )),
            _ => attr_of(code).and_then(|a| attr_json(code, user.get(a), flavor, file_url)),
        };
        if let Some(v) = value {
            out.insert(code.to_owned(), v);
        }
    }
    Json::Object(out)
}

fn attr_json(code: &str, value: &Value, flavor: Flavor, file_url: &dyn Fn(FileId) -> Option<String>) -> Option<Json> {
    match (code, value) {
        ("TIMESTAMP_X" | "LAST_ACTIVITY_DATE", Value::Null) => None,
        ("TIMESTAMP_X" | "LAST_ACTIVITY_DATE", Value::DateTime(t)) => Some(match flavor {
            // An ORM date object with no public properties, as portals emit it.
            Flavor::List => Json::Object(Map::new()),
            Flavor::Current if code == "TIMESTAMP_X" => {
                Json::String(datetime(*t).format("%d.%m.%Y %H:%M:%S").to_string())
            }
            Flavor::Current => Json::String(datetime(*t).format("%Y-%m-%d %H:%M:%S").to_string()),
        }),
        ("DATE_REGISTER", Value::DateTime(t)) => Some(Json::String(midnight(datetime(*t).date_naive()))),
        ("LAST_LOGIN", Value::DateTime(t)) => Some(Json::String(crate::envelope::iso(datetime(*t)))),
        ("DATE_REGISTER" | "LAST_LOGIN" | "PERSONAL_BIRTHDAY" | "UF_EMPLOYMENT_DATE", Value::Null) => {
            Some(Json::String(String::new()))
        }
        (_, Value::Date(d)) => Some(Json::String(midnight(*d))),
        (_, Value::Null) => None,
        (_, Value::Text(s)) => Some(Json::String(s.clone())),
        (_, Value::Bool(b)) => Some(Json::Bool(*b)),
        (_, Value::DateTime(t)) => Some(Json::String(crate::envelope::iso(datetime(*t)))),
        (_, Value::Int(i)) => Some(Json::String(i.to_string())),
        (_, Value::File(f)) => file_url(*f).map(Json::String),
    }
}

fn datetime(t: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(t, 0).single().unwrap_or_default()
}

fn midnight(d: NaiveDate) -> String {
    format!("{}T00:00:00+00:00", d.format("%Y-%m-%d"))
}
