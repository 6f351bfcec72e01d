//! Issue 9 points 4-6 that the other suites do not cover: the opt-in `If-Match` version
//! check, the per-address brute-force guard on credentials, and the audit log of user
//! changes through both faces (values before and after, never a secret), read through
//! Zabbix `auditlog.get` and kept across a restart.

mod common;

use common::{ADMIN_PASSWORD, BOOT_CODE};
use serde_json::{json, Value};

#[tokio::test]
async fn if_match_turns_a_stale_update_into_a_conflict() {
    let s = common::start().await;
    let id = s.add_user("ver@example.com", json!({"NAME": "V"})).await;
    let read = s.send(s.client().post(format!("{}user.get", s.hook)).json(&json!({"ID": id}))).await;
    let etag = read.headers.get("etag").and_then(|v| v.to_str().ok()).expect("ETag on a one-user read").to_owned();
    let update = |tag: &str, name: &str| {
        s.client()
            .post(format!("{}user.update", s.hook))
            .header("If-Match", tag.to_owned())
            .json(&json!({"ID": id, "NAME": name}))
    };
    // The first writer with the current version wins; the second, with the same version, conflicts.
    assert_eq!(s.send(update(&etag, "First")).await.json["result"], json!(true));
    let stale = s.send(update(&etag, "Second")).await;
    assert_eq!((stale.status, stale.json["error"].as_str()), (409, Some("ERROR_CONFLICT")));
    assert_eq!(s.user(id).await["NAME"], json!("First"));
    // Without If-Match nothing is checked (the extension is off unless asked for).
    s.update(json!({"ID": id, "NAME": "Third"})).await;
    // The VERSION parameter works inside batch too.
    let cmd = json!({"halt": 0, "cmd": {"a": format!("user.update?ID={id}&NAME=X&VERSION=1")}});
    let batch = s.call("batch", cmd).await;
    assert_eq!(batch.ok()["result_error"]["a"]["error"], json!("ERROR_CONFLICT"));
    s.stop().await;
}

#[tokio::test]
async fn wrong_credentials_from_one_address_are_cut_off() {
    let s = common::start_with(|c| c.auth_failures = 5).await;
    let wrong = format!("{}/rest/1/wrongcode99/server.time", s.base);
    for _ in 0..5 {
        assert_eq!(s.get(&wrong).await.status, 401);
    }
    // The address is now refused even with the right code, for the rest of the window.
    let right = s.get(&format!("{}server.time", s.hook)).await;
    assert_eq!((right.status, right.json["error"].as_str()), (401, Some("NO_AUTH_FOUND")));
    s.stop().await;
}

async fn zabbix(s: &common::Server, method: &str, params: Value, auth: Option<&str>) -> Value {
    let mut req = s
        .client()
        .post(format!("{}/api_jsonrpc.php", s.base))
        .header("content-type", "application/json-rpc")
        .json(&json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1}));
    if let Some(token) = auth {
        req = req.bearer_auth(token);
    }
    let reply = s.send(req).await;
    assert!(reply.json.get("error").is_none(), "{method}: {}", reply.text());
    reply.json["result"].clone()
}

#[tokio::test]
async fn changes_through_both_faces_are_audited_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = common::start_in(dir.path(), Default::default()).await;
    let id = s.add_user("audit@example.com", json!({"NAME": "Before"})).await;
    s.update(json!({"ID": id, "NAME": "After", "WORK_PHONE": "555"})).await;
    let sid = zabbix(&s, "user.login", json!({"username": "Admin", "password": ADMIN_PASSWORD}), None).await;
    let sid = sid.as_str().expect("session id").to_owned();
    let secret = "N3w-Passw0rd!x";
    zabbix(&s, "user.update", json!({"userid": id.to_string(), "surname": "Z", "passwd": secret}), Some(&sid)).await;
    s.stop().await;

    // A new server on the same database: the log is still there.
    let s = common::start_in(dir.path(), Default::default()).await;
    let sid = zabbix(&s, "user.login", json!({"username": "Admin", "password": ADMIN_PASSWORD}), None).await;
    let sid = sid.as_str().expect("session id").to_owned();
    let log = zabbix(
        &s,
        "auditlog.get",
        json!({"output": "extend", "filter": {"resourcetype": 0, "resourceid": id}, "sortorder": "ASC"}),
        Some(&sid),
    )
    .await;
    let rows = log.as_array().expect("list");
    let faces: Vec<(&str, &str)> =
        rows.iter().map(|r| (r["face"].as_str().unwrap_or(""), r["action"].as_str().unwrap_or(""))).collect();
    assert_eq!(faces, [("bitrix24", "0"), ("bitrix24", "1"), ("zabbix", "1")], "{log}");
    let details =
        |i: usize| -> Value { serde_json::from_str(rows[i]["details"].as_str().unwrap_or("{}")).unwrap_or_default() };
    assert_eq!(details(1)["user.name"], json!(["update", "After", "Before"]));
    assert_eq!(details(1)["user.work_phone"], json!(["update", "555", ""]));
    assert_eq!(details(2)["user.surname"], json!(["update", "Z", ""]));
    assert_eq!(details(2)["user.passwd"], json!(["update", "******"]));
    assert!(rows.iter().all(|r| r["userid"] == json!("1")), "every change was made by Admin");
    assert!(!log.to_string().contains(secret) && !log.to_string().contains(BOOT_CODE), "no secret in the log");
    s.stop().await;
}
