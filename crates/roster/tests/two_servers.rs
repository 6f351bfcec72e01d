//! Several servers, one directory: two real `roster serve` processes on one fresh
//! PostgreSQL database. Ids stay unique under concurrent adds on both; concurrent updates
//! of different fields of one user both survive; a webhook, an OAuth token and a Zabbix
//! session made on one work on the other; a custom field defined through one is enforced
//! by the other at once; and the rate and operating-time limits hold for the pair.

mod pg_support;

use std::collections::BTreeSet;

use pg_support::{roster_ok, PgDb, Serve, ADMIN_PASSWORD};
use serde_json::{json, Value};

/// Two servers on a fresh database, started one after the other (the first bootstraps).
fn pair(db: &PgDb, extra: &[&str]) -> (Serve, Serve) {
    let a = Serve::start(&db.url, extra);
    let b = Serve::start(&db.url, extra);
    (a, b)
}

async fn post(url: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new().post(url).json(&body).send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A Bitrix24 call through `hook` (`.../rest/1/CODE/`): status and body.
async fn call(hook: &str, method: &str, params: Value) -> (u16, Value) {
    post(&format!("{hook}{method}"), params).await
}

/// A Bitrix24 call that must succeed; its `result`.
async fn ok(hook: &str, method: &str, params: Value) -> Value {
    let (status, body) = call(hook, method, params).await;
    assert_eq!(status, 200, "{method} through {hook}: {body}");
    body["result"].clone()
}

async fn zabbix(s: &Serve, method: &str, params: Value, auth: Option<&str>) -> Value {
    let mut body = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1});
    if let Some(a) = auth {
        body["auth"] = json!(a);
    }
    let r = reqwest::Client::new()
        .post(s.zabbix())
        .header("content-type", "application/json-rpc")
        .body(body.to_string())
        .send()
        .await
        .expect("request");
    r.json().await.expect("JSON-RPC answer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ids_stay_unique_and_concurrent_field_updates_both_survive() {
    let Some(db) = PgDb::create() else { return };
    let (a, b) = pair(&db, &[]);
    let (ha, hb) = (a.hook(), b.hook());
    let adds = (0..20).map(|i| {
        let hook = if i % 2 == 0 { ha.clone() } else { hb.clone() };
        tokio::spawn(async move {
            ok(&hook, "user.add", json!({"EMAIL": format!("u{i}@pair.example"), "UF_DEPARTMENT": 1})).await
        })
    });
    let mut ids = BTreeSet::new();
    for add in adds.collect::<Vec<_>>() {
        let id = add.await.expect("task");
        assert!(ids.insert(id.as_i64().expect("numeric id")), "an id was handed out twice: {id}");
    }
    assert_eq!(ids.len(), 20);
    let listed = ok(&hb, "user.get", json!({})).await;
    let seen: BTreeSet<i64> =
        listed.as_array().expect("list").iter().filter_map(|u| u["ID"].as_str()?.parse().ok()).collect();
    assert!(seen.is_superset(&ids), "B lists every user A and B added: {seen:?}");

    let id = *ids.iter().next().expect("a user");
    for round in 0..5 {
        let (name, last) = (format!("Name{round}"), format!("Last{round}"));
        let (x, y) = tokio::join!(
            ok(&ha, "user.update", json!({"ID": id, "NAME": name})),
            ok(&hb, "user.update", json!({"ID": id, "LAST_NAME": last}))
        );
        assert_eq!((x, y), (json!(true), json!(true)));
        for hook in [&ha, &hb] {
            let u = &ok(hook, "user.get", json!({"ID": id})).await[0];
            assert_eq!((u["NAME"].as_str(), u["LAST_NAME"].as_str()), (Some(name.as_str()), Some(last.as_str())));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn credentials_and_sessions_made_on_one_work_on_the_other() {
    let Some(db) = PgDb::create() else { return };
    let (a, b) = pair(&db, &[]);

    // A webhook added with the CLI on the database works on both servers at once.
    let path = roster_ok(&["webhook", "add", "--database-url", &db.url, "--user", "1", "--scope", "user"]);
    let path = path.trim();
    for s in [&a, &b] {
        let me = ok(&format!("{}{path}", s.base), "user.current", json!({})).await;
        assert_eq!(me["ID"], "1");
    }

    // An OAuth token issued with the CLI is accepted by both.
    let app: Value = serde_json::from_str(&roster_ok(&[
        "app",
        "add",
        "--database-url",
        &db.url,
        "--name",
        "Pair",
        "--scope",
        "user",
    ]))
    .expect("app JSON");
    let client_id = app["client_id"].as_str().expect("client_id");
    let tokens: Value = serde_json::from_str(&roster_ok(&[
        "token",
        "issue",
        "--database-url",
        &db.url,
        "--app",
        client_id,
        "--user",
        "1",
    ]))
    .expect("token JSON");
    let token = tokens["access_token"].as_str().expect("access_token");
    for s in [&a, &b] {
        let (status, body) = post(&format!("{}/rest/user.current", s.base), json!({"auth": token})).await;
        assert_eq!((status, &body["result"]["ID"]), (200, &json!("1")), "{body}");
    }

    // A Zabbix session opened on A is good on B, and ended on B it is gone on A.
    let login = zabbix(&a, "user.login", json!({"username": "Admin", "password": ADMIN_PASSWORD}), None).await;
    let sid = login["result"].as_str().unwrap_or_else(|| panic!("login: {login}")).to_owned();
    let users = zabbix(&b, "user.get", json!({"output": ["username"]}), Some(&sid)).await;
    assert!(users["result"].as_array().is_some_and(|u| u.iter().any(|x| x["username"] == "Admin")), "{users}");
    let out = zabbix(&b, "user.logout", json!([]), Some(&sid)).await;
    assert_eq!(out["result"], json!(true), "{out}");
    let after = zabbix(&a, "user.get", json!({"output": ["username"]}), Some(&sid)).await;
    assert!(after.get("error").is_some(), "a session ended on B still works on A: {after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_field_defined_through_one_is_enforced_by_the_other_at_once() {
    let Some(db) = PgDb::create() else { return };
    let (a, b) = pair(&db, &[]);
    let (ha, hb) = (a.hook(), b.hook());
    // B has served a user.add (and so has read the field list) before the field exists.
    ok(&hb, "user.add", json!({"EMAIL": "before@pair.example", "UF_DEPARTMENT": 1})).await;
    let field = json!({"FIELD_NAME": "BADGE", "USER_TYPE_ID": "integer", "MANDATORY": "Y", "LABEL": "Badge"});
    ok(&ha, "user.userfield.add", json!({"fields": field})).await;

    let (status, body) = call(&hb, "user.add", json!({"EMAIL": "none@pair.example", "UF_DEPARTMENT": 1})).await;
    assert_eq!(status, 400, "B accepted a user without the MANDATORY field: {body}");
    let (status, body) =
        call(&hb, "user.add", json!({"EMAIL": "bad@pair.example", "UF_USR_BADGE": "abc", "UF_DEPARTMENT": 1})).await;
    assert_eq!(status, 400, "B accepted a string in the integer field: {body}");
    assert!(body["error_description"].as_str().unwrap_or_default().contains("UF_USR_BADGE"), "{body}");
    let id = ok(&hb, "user.add", json!({"EMAIL": "good@pair.example", "UF_USR_BADGE": "42", "UF_DEPARTMENT": 1})).await;
    let seen = ok(&ha, "user.get", json!({"ID": id})).await;
    assert_eq!(seen[0]["UF_USR_BADGE"], "42", "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_and_operating_limits_hold_for_the_pair() {
    let Some(db) = PgDb::create() else { return };
    // 1 request per second with a burst of 5; operating time counted from the first microsecond.
    let limits = ["--rate-limit", "1/5", "--operating-limit", "0.000001", "--operating-min-call", "0"];
    let (a, b) = pair(&db, &limits);
    let (ha, hb) = (a.hook(), b.hook());

    // Five calls split across A and B pass; the sixth, on either, finds the shared bucket full.
    let methods = ["user.get", "department.get", "user.fields", "scope", "methods"];
    for (i, method) in methods.iter().enumerate() {
        let hook = if i % 2 == 0 { &ha } else { &hb };
        let (status, body) = call(hook, method, json!({})).await;
        assert_eq!(status, 200, "call {} ({method}) was refused: {body}", i + 1);
    }
    for hook in [&ha, &hb] {
        let (status, body) = call(hook, "user.get", json!({})).await;
        assert_eq!((status, body["error"].as_str()), (503, Some("QUERY_LIMIT_EXCEEDED")), "{body}");
    }

    // user.get ran once (on A) and used up its operating time for the pair: B refuses it
    // while other methods, with accounts of their own, still run once the bucket drains.
    tokio::time::sleep(std::time::Duration::from_millis(3000)).await;
    let (status, body) = call(&hb, "user.get", json!({})).await;
    assert_eq!((status, body["error"].as_str()), (429, Some("OPERATION_TIME_LIMIT")), "{body}");
    let (status, body) = call(&ha, "user.current", json!({})).await;
    assert_eq!(status, 200, "{body}");
}
