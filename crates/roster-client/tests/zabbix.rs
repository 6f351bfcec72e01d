//! The Zabbix client: version detection first (no auth), the login key and auth style the
//! version selects (`user` < 5.4 ≤ `username`; body `auth` < 6.4 ≤ Bearer), API tokens
//! without a login, errors as `ApiError`, logout. Checked against a local JSON-RPC fake,
//! and against Roster's own Zabbix face when it answers (else `SKIPPED:` is printed).

mod common;

use roster_client::testing::{Answer, FakeServer, Recorded};
use roster_client::{Version, Zabbix, ZabbixAuth};
use serde_json::{json, Value};

/// A JSON-RPC fake reporting `version`; session "sid0123", any password but "bad".
async fn fake(version: &'static str) -> FakeServer {
    FakeServer::start(move |_, r: &Recorded| {
        let req = r.json();
        let id = req["id"].clone();
        let result = |v: Value| Answer::json(200, json!({"jsonrpc": "2.0", "result": v, "id": id}));
        let error = |code: i64, message: &str, data: &str| {
            Answer::json(
                200,
                json!({"jsonrpc": "2.0", "error": {"code": code, "message": message, "data": data}, "id": id}),
            )
        };
        match req["method"].as_str().unwrap_or_default() {
            "apiinfo.version" => result(json!(version)),
            "user.login" if req["params"]["password"] == json!("bad") => error(
                -32500,
                "Application error.",
                "Incorrect user name or password or account is temporarily blocked.",
            ),
            "user.login" => result(json!("sid0123")),
            "user.logout" => result(json!(true)),
            "user.get" => result(json!([{"userid": "1", "username": "Admin"}])),
            "user.create" => result(json!({"userids": ["7"]})),
            other => error(-32601, "Method not found.", &format!("Incorrect API \"{other}\".")),
        }
    })
    .await
}

fn auth_of(r: &Recorded) -> (Option<Value>, Option<String>) {
    (r.json().get("auth").cloned(), r.header("authorization").map(str::to_string))
}

#[tokio::test]
async fn seven_uses_username_and_bearer() {
    let f = fake("7.0.0").await;
    let auth = ZabbixAuth::Password { username: "Admin".into(), password: "zabbix".into() };
    let z = Zabbix::connect(&f.url(), auth, common::quick(1, 2000)).await.unwrap();
    assert_eq!(z.version(), Version(7, 0, 0));
    assert_eq!(z.user_get(json!({"output": "extend"})).await.unwrap()[0]["username"], json!("Admin"));
    z.logout().await.unwrap();
    let reqs = f.recorded();
    let methods: Vec<Value> = reqs.iter().map(|r| r.json()["method"].clone()).collect();
    assert_eq!(methods, vec![json!("apiinfo.version"), json!("user.login"), json!("user.get"), json!("user.logout")]);
    assert!(reqs
        .iter()
        .all(|r| r.target == "/api_jsonrpc.php" && r.header("content-type") == Some("application/json-rpc")));
    assert_eq!(auth_of(&reqs[0]), (None, None), "the version is asked without auth");
    assert_eq!(reqs[1].json()["params"], json!({"username": "Admin", "password": "zabbix"}));
    assert_eq!(auth_of(&reqs[1]), (None, None));
    assert_eq!(auth_of(&reqs[2]), (None, Some("Bearer sid0123".into())));
}

#[tokio::test]
async fn six_puts_the_session_in_the_body_and_five_two_says_user() {
    let f = fake("6.0.14").await;
    let auth = ZabbixAuth::Password { username: "Admin".into(), password: "zabbix".into() };
    let z = Zabbix::connect(&format!("{}/", f.url()), auth.clone(), common::quick(1, 2000)).await.unwrap();
    z.user_get(json!({})).await.unwrap();
    let reqs = f.recorded();
    assert_eq!(auth_of(&reqs[2]), (Some(json!("sid0123")), None));
    assert_eq!(reqs[1].json()["params"]["username"], json!("Admin"));
    let f = fake("5.2.7").await;
    let z = Zabbix::connect(&f.url(), auth, common::quick(1, 2000)).await.unwrap();
    assert_eq!(f.recorded()[1].json()["params"], json!({"user": "Admin", "password": "zabbix"}));
    assert!(!z.uses_bearer());
    let err = Zabbix::connect(&f.url(), ZabbixAuth::Token("t".repeat(64)), common::quick(1, 2000)).await.unwrap_err();
    assert!(err.to_string().contains("5.4"), "{err}");
}

#[tokio::test]
async fn tokens_skip_the_login_and_errors_are_api_errors() {
    let f = fake("7.2.1").await;
    let token = "a".repeat(64);
    let z = Zabbix::connect(&f.url(), ZabbixAuth::Token(token.clone()), common::quick(1, 2000)).await.unwrap();
    assert_eq!(z.user_create(json!({"username": "u1", "passwd": "Secret-Pass-1"})).await.unwrap(), vec!["7"]);
    let err = z.call("user.frobnicate", json!({})).await.unwrap_err();
    let api = err.api().expect("API error");
    assert_eq!(
        (api.code.as_str(), api.description.as_str()),
        ("-32601", "Method not found. Incorrect API \"user.frobnicate\".")
    );
    z.logout().await.unwrap();
    let reqs = f.recorded();
    assert_eq!(reqs.len(), 3, "version, create, frobnicate: no login, no logout");
    assert_eq!(auth_of(&reqs[1]), (None, Some(format!("Bearer {token}"))));
    let bad = ZabbixAuth::Password { username: "Admin".into(), password: "bad".into() };
    let err = Zabbix::connect(&f.url(), bad, common::quick(1, 2000)).await.unwrap_err();
    assert_eq!(err.api().map(|a| a.code.as_str()), Some("-32500"));
}

/// Roster's Zabbix face, if this build serves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_rosters_zabbix_face() {
    let server = common::Roster::start().await;
    let probe = reqwest::Client::new()
        .post(format!("{}/api_jsonrpc.php", server.base))
        .header("content-type", "application/json-rpc")
        .body(r#"{"jsonrpc":"2.0","method":"apiinfo.version","params":{},"id":1}"#)
        .send()
        .await
        .unwrap();
    if probe.status() == 404 {
        println!("SKIPPED: Zabbix face not available (POST /api_jsonrpc.php answers 404)");
        return;
    }
    let auth = ZabbixAuth::Password { username: "Admin".into(), password: "pw-client-tests-1".into() };
    let z = Zabbix::connect(&server.base, auth, common::quick(1, 5000)).await.unwrap();
    assert!(z.version() >= Version(6, 0, 0));
    let users = z.user_get(json!({"output": ["userid", "username"], "filter": {"username": "Admin"}})).await.unwrap();
    assert_eq!(users[0]["userid"], json!("1"));
    let user = json!({"username": "zbx-client-1", "passwd": "Zabbix-Client-Pass-1", "usrgrps": [{"usrgrpid": "7"}], "roleid": "1"});
    let id = z.user_create(user).await.unwrap().remove(0);
    z.user_update(json!({"userid": id, "name": "Zed"})).await.unwrap();
    let got = z.user_get(json!({"output": ["name"], "userids": [id]})).await.unwrap();
    assert_eq!(got[0]["name"], json!("Zed"));
    assert_eq!(z.user_delete(&[&id]).await.unwrap(), vec![id.clone()]);
    let err = z.call("user.frobnicate", json!({})).await.unwrap_err();
    assert_eq!(err.api().map(|a| a.code.as_str()), Some("-32601"));
    z.logout().await.unwrap();
}
