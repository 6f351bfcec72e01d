//! OpenIntegrations' (`oint bitrix24 ...`) user functions as request shapes: which method
//! each one calls and the exact parameters, in oint's order (`auth` is put first by the
//! client in token mode). `GetUserFilterStructure` is local: it only returns a template.
//! Source: OPI_Bitrix24.os, region UsersManagement (spec clients.md section 5).

use serde_json::Value;

use super::batch::Call;
use crate::Map;

/// `GetCurrentUser` → `user.current {}`.
pub fn get_current_user() -> Call {
    Call::new("user.current", Map::new())
}

/// `GetUser --userid` → `user.get {"ID": "<id>"}` (top-level ID, as a string).
pub fn get_user(userid: &str) -> Call {
    let mut p = Map::new();
    p.insert("ID".into(), Value::String(userid.to_string()));
    Call::new("user.get", p)
}

/// `CreateUser --fields` → `user.add` with the fields flattened to the top level.
pub fn create_user(fields: &Map) -> Call {
    Call::new("user.add", fields.clone())
}

/// `UpdateUser --userid --fields` → `user.update` with the fields, then `"ID": "<id>"`
/// (an `ID` inside the fields keeps its place and takes the --userid value).
pub fn update_user(userid: &str, fields: &Map) -> Call {
    let mut p = fields.clone();
    p.insert("ID".into(), Value::String(userid.to_string()));
    Call::new("user.update", p)
}

/// `ChangeUserStatus --userid [--fire]` → `user.update {"ACTIVE": "N"|"Y", "ID": "<id>"}`;
/// fire (the default) deactivates.
pub fn change_user_status(userid: &str, fire: bool) -> Call {
    let mut fields = Map::new();
    fields.insert("ACTIVE".into(), Value::String(if fire { "N" } else { "Y" }.into()));
    update_user(userid, &fields)
}

/// `FindUsers --filter` → `user.search {"FILTER": {...}}`.
pub fn find_users(filter: &Map) -> Call {
    let mut p = Map::new();
    p.insert("FILTER".into(), Value::Object(filter.clone()));
    Call::new("user.search", p)
}

/// `GetUserFieldsStructure` → `user.fields {}`.
pub fn get_user_fields_structure() -> Call {
    Call::new("user.fields", Map::new())
}

/// `GetUserFilterStructure [--empty]`: the filter template for `FindUsers`, with field
/// descriptions as values, or empty strings with `empty`.
pub fn user_filter_structure(empty: bool) -> Value {
    let fields = [
        ("NAME", "<name>"),
        ("LAST_NAME", "<surname>"),
        ("WORK_POSITION", "<position>"),
        ("UF_DEPARTMENT_NAME", "<department name>"),
        ("USER_TYPE", "<type: employee, extranet, email>"),
    ];
    let mut m = Map::new();
    for (k, v) in fields {
        m.insert(k.into(), Value::String(if empty { String::new() } else { v.into() }));
    }
    Value::Object(m)
}

/// Roster's additions in oint's style (oint has no `user.userfield.*` wrappers; these
/// follow its task custom-field functions): `GetCustomUserFieldsList [--filter]`.
pub fn get_custom_user_fields_list(filter: Option<&Map>) -> Call {
    let mut p = Map::new();
    if let Some(f) = filter {
        p.insert("filter".into(), Value::Object(f.clone()));
    }
    Call::new("user.userfield.list", p)
}

/// `AddCustomUserField --fields` → `user.userfield.add {"fields": {...}}`.
pub fn add_custom_user_field(fields: &Map) -> Call {
    let mut p = Map::new();
    p.insert("fields".into(), Value::Object(fields.clone()));
    Call::new("user.userfield.add", p)
}

/// `UpdateCustomUserField --fieldid --fields` → `user.userfield.update {"id", "fields"}`.
pub fn update_custom_user_field(fieldid: &str, fields: &Map) -> Call {
    let mut p = Map::new();
    p.insert("id".into(), Value::String(fieldid.to_string()));
    p.insert("fields".into(), Value::Object(fields.clone()));
    Call::new("user.userfield.update", p)
}

/// `DeleteCustomUserField --fieldid` → `user.userfield.delete {"id": "<id>"}`.
pub fn delete_custom_user_field(fieldid: &str) -> Call {
    let mut p = Map::new();
    p.insert("id".into(), Value::String(fieldid.to_string()));
    Call::new("user.userfield.delete", p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes_match_oint() {
        let Value::Object(f) = json!({"EMAIL": "a@example.org", "ID": "1", "UF_DEPARTMENT": "7"}) else {
            unreachable!()
        };
        let c = update_user("3766", &f);
        assert_eq!(
            serde_json::to_string(&c.params).unwrap(),
            r#"{"EMAIL":"a@example.org","ID":"3766","UF_DEPARTMENT":"7"}"#
        );
        let c = change_user_status("5", true);
        assert_eq!((c.method.as_str(), Value::Object(c.params)), ("user.update", json!({"ACTIVE": "N", "ID": "5"})));
        assert_eq!(Value::Object(get_user("9").params), json!({"ID": "9"}));
        assert_eq!(user_filter_structure(true)["USER_TYPE"], json!(""));
    }
}
