//! Global methods and departments end to end (spec 2.7, 2.9): `user.admin`, `user.access`,
//! `profile`, `server.time`, `scope`, `methods`, `method.get`, and the
//! `department.add/get/update/delete` flow with the `UF_DEPARTMENT` user filter.

mod common;

use common::Server;
use serde_json::{json, Value};

const ALL_SCOPES: [&str; 5] = ["department", "user", "user.userfield", "user_basic", "user_brief"];
const USER_METHODS: [&str; 6] = ["user.fields", "user.current", "user.get", "user.search", "user.add", "user.update"];

async fn with_plain() -> (Server, i64, String) {
    let s = common::start().await;
    let (id, hook) = s.plain_user("plain@example.com", "Plain").await;
    (s, id, hook)
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

#[tokio::test]
async fn user_admin_and_user_access() {
    let (s, id, hook) = with_plain().await;
    assert_eq!(s.call("user.admin", json!({})).await.ok(), &json!(true));
    assert_eq!(s.call_as(&hook, "user.admin", json!({})).await.ok(), &json!(false));
    for (access, expected) in [
        (json!(format!("U{id}")), true),
        (json!(["G1"]), false),
        (json!(["X9", "AU"]), true),
        (json!("D1"), true),
        (json!(["U1"]), false),
    ] {
        let r = s.call_as(&hook, "user.access", json!({"ACCESS": access})).await;
        assert_eq!(r.ok(), &json!(expected), "{access}");
    }
    assert_eq!(s.call("user.access", json!({"ACCESS": ["nothing"]})).await.ok(), &json!(true));
}

#[tokio::test]
async fn profile_of_admin_and_plain_user() {
    let (s, id, hook) = with_plain().await;
    s.update(json!({"ID": 1, "NAME": "Ada", "LAST_NAME": "Root"})).await;
    let r = s.call("profile", json!({})).await;
    assert_eq!(
        r.ok(),
        &json!({"ID": "1", "ADMIN": true, "NAME": "Ada", "LAST_NAME": "Root", "PERSONAL_GENDER": "", "TIME_ZONE": ""})
    );
    let r = s.call_as(&hook, "profile", json!({})).await;
    assert_eq!((r.ok()["ID"].clone(), r.ok()["ADMIN"].clone()), (json!(id.to_string()), json!(false)));
    assert_eq!(r.ok()["NAME"], "Plain");
}

#[tokio::test]
async fn server_time_is_now_in_iso() {
    let s = common::start().await;
    let r = s.call("server.time", json!({})).await;
    let t = r.ok().as_str().expect("string");
    assert!(common::is_iso(t), "{t}");
    // Taken while the call ran: between the envelope's date_start and date_finish.
    let date_start = r.json["time"]["date_start"].as_str().unwrap_or_default();
    let date_finish = r.json["time"]["date_finish"].as_str().unwrap_or_default();
    assert!(date_start <= t && t <= date_finish, "{date_start} <= {t} <= {date_finish}");
}

#[tokio::test]
async fn scope_lists_granted_scopes() {
    let (s, _, hook) = with_plain().await;
    assert_eq!(strings(s.call("scope", json!({})).await.ok()), ALL_SCOPES);
    assert_eq!(strings(s.call_as(&hook, "scope", json!({})).await.ok()), ["user"]);
    assert_eq!(strings(s.call_as(&hook, "scope", json!({"full": true})).await.ok()), ALL_SCOPES);
}

#[tokio::test]
async fn methods_by_scope() {
    let (s, _, hook) = with_plain().await;
    let r = s.call_as(&hook, "methods", json!({"scope": "user"})).await;
    assert_eq!(strings(r.ok()), USER_METHODS);
    let granted = s.call_as(&hook, "methods", json!({})).await;
    let granted = strings(granted.ok());
    for expected in ["user.get", "user.update", "methods", "server.time"] {
        assert!(granted.contains(&expected), "{expected} missing: {granted:?}");
    }
    assert!(!granted.contains(&"department.get"), "{granted:?}");
    let global = s.call_as(&hook, "methods", json!({"scope": ""})).await;
    let global = strings(global.ok());
    assert!(global.contains(&"server.time") && !global.contains(&"user.get"), "{global:?}");
    let full = s.call_as(&hook, "methods", json!({"full": "Y"})).await;
    assert!(strings(full.ok()).contains(&"department.get"));
}

#[tokio::test]
async fn method_get_existing_and_available() {
    let (s, _, hook) = with_plain().await;
    for (name, existing, available) in [
        ("user.get", true, true),
        ("USER.UPDATE", true, true),
        ("batch", true, true),
        ("department.get", true, false),
        ("user.nope", false, false),
        ("", false, false),
    ] {
        let r = s.call_as(&hook, "method.get", json!({"name": name})).await;
        assert_eq!(r.ok(), &json!({"isExisting": existing, "isAvailable": available}), "{name}");
    }
}

#[tokio::test]
async fn department_flow_and_user_filter() {
    let s = common::start().await;
    let dept = s.call("department.add", json!({"NAME": "Sales", "PARENT": 1, "SORT": 100})).await;
    let dept = dept.ok().as_i64().expect("department id");
    let r = s.call("department.get", json!({"ID": dept})).await;
    assert_eq!(r.ok(), &json!([{"ID": dept.to_string(), "NAME": "Sales", "SORT": 100, "PARENT": "1"}]));
    assert_eq!(r.json["total"], 1);

    let r = s.call("department.update", json!({"ID": dept, "NAME": "Sales EU"})).await;
    assert_eq!(r.ok(), &json!(true));
    let r = s.call("department.get", json!({"FILTER": {"NAME": "Sales EU"}})).await;
    assert_eq!(r.ok()[0]["ID"], dept.to_string());

    let member = s.add_user("member@example.com", json!({"UF_DEPARTMENT": [dept]})).await;
    let both = s.add_user("both@example.com", json!({"UF_DEPARTMENT": [1, dept]})).await;
    let r = s.call("user.get", json!({"UF_DEPARTMENT": dept})).await;
    assert_eq!(r.ids(), vec![member, both]);
    let r = s.call("user.get", json!({"FILTER": {"UF_DEPARTMENT": [1]}})).await;
    assert_eq!(r.ids(), vec![1, both]);
    let r = s.call("user.search", json!({"UF_DEPARTMENT_NAME": "sales"})).await;
    assert_eq!(r.ids(), vec![member, both]);

    let r = s.call("department.delete", json!({"ID": dept})).await;
    assert_eq!(r.ok(), &json!(true));
    let r = s.call("department.get", json!({"ID": dept})).await;
    assert_eq!(r.ok(), &json!([]));
    assert!(r.json.get("total").is_none());
    // The member lost their only department.
    assert_eq!(s.user(member).await["UF_DEPARTMENT"], json!([]));
    let r = s.call("department.delete", json!({"ID": dept})).await;
    r.err(400, "ERROR_NOT_FOUND", None);
}

#[tokio::test]
async fn department_changes_need_an_administrator() {
    let s = common::start().await;
    let (id, _) = s.plain_user("deptless@example.com", "D").await;
    let hook = s.hook_for(id, "department").await;
    s.call_as(&hook, "department.get", json!({})).await.ok();
    for (method, params) in [
        ("department.add", json!({"NAME": "X"})),
        ("department.update", json!({"ID": 1, "NAME": "X"})),
        ("department.delete", json!({"ID": 1})),
    ] {
        s.call_as(&hook, method, params).await.err(403, "ACCESS_DENIED", None);
    }
    let r = s.call("department.get", json!({"ID": 1})).await;
    assert_eq!(r.ok()[0]["NAME"], "Company");
}
