//! Secrets never reach the log (issue 9, point 5): the real `roster serve` binary runs
//! with `ROSTER_LOG=trace`; webhook calls (right and wrong code), OAuth code exchange,
//! token calls and refresh, Zabbix logins (right and wrong password), sessions, API
//! tokens, password changes and a PERSONAL_PHOTO upload go through it; then its whole
//! stderr is searched for every secret used. Needs `cargo build -p roster` first.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{b64, TINY_PNG};
use roster_core::{Directory, UserId};
use serde_json::{json, Value};

const ADMIN_PASSWORD: &str = "Adm1n-Secret-Pw-4242";
const WEBHOOK_CODE: &str = "hooksecret8x7q2k";
const WRONG_CODE: &str = "guessedcode5t6y7u";
const WRONG_PASSWORD: &str = "Guessed-Secret-Pw-99";
const NEW_PASSWORD: &str = "Fresh-Secret-Pw-1357";
const CHANGED_PASSWORD: &str = "Changed-Secret-Pw-2468";

/// `roster serve` on a fresh database with `ROSTER_LOG=trace`; stderr goes to a file.
struct Served {
    child: Child,
    base: String,
    db_url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve() -> Served {
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/roster");
    assert!(bin.exists(), "{} is missing: run `cargo build -p roster` first", bin.display());
    let dir = tempfile::tempdir().expect("temp dir");
    let db_url = format!("sqlite://{}", dir.path().join("secrets.db").display());
    let log = dir.path().join("stderr.log");
    let stderr = std::fs::File::create(&log).expect("log file");
    let mut child = Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &db_url])
        .args(["--admin-password", ADMIN_PASSWORD, "--bootstrap-webhook", WEBHOOK_CODE])
        .env("ROSTER_LOG", "trace")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("spawn roster serve");
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut base = String::new();
    for line in stdout.lines().map_while(Result::ok) {
        if let Some(addr) = line.strip_prefix("listening on http://") {
            base = format!("http://{addr}");
            break;
        }
    }
    assert!(!base.is_empty(), "roster serve did not say where it listens");
    Served { child, base, db_url, log, _dir: dir }
}

/// Sends a request and returns the JSON answer (Null when there is none).
async fn json_of(req: reqwest::RequestBuilder) -> Value {
    let resp = req.send().await.expect("request");
    assert!(resp.status().as_u16() < 500, "server error {}", resp.status());
    resp.json().await.unwrap_or(Value::Null)
}

/// Exercises every path that handles a secret; returns every secret used.
async fn exercise(s: &Served) -> Vec<String> {
    let http = reqwest::Client::new();
    let mut secrets: Vec<String> =
        [ADMIN_PASSWORD, WEBHOOK_CODE, WRONG_CODE, WRONG_PASSWORD, NEW_PASSWORD, CHANGED_PASSWORD]
            .map(str::to_owned)
            .to_vec();
    let rest = |path: &str| format!("{}/rest/{path}", s.base);
    // Bitrix24 webhook: calls, a photo upload, a wrong code.
    let hook = |method: &str| rest(&format!("1/{WEBHOOK_CODE}/{method}"));
    json_of(http.post(hook("user.get")).json(&json!({"ID": 1}))).await;
    let photo = json!({"ID": 1, "PERSONAL_PHOTO": ["me.png", b64(TINY_PNG)]});
    assert_eq!(json_of(http.post(hook("user.update")).json(&photo)).await["result"], true);
    let wrong = json_of(http.get(rest(&format!("1/{WRONG_CODE}/user.get")))).await;
    assert_eq!(wrong["error"], "NO_AUTH_FOUND");
    // OAuth: an app, a code exchanged with the client secret, calls, a refresh.
    let dir = Directory::new(roster_store::open(&s.db_url).expect("open store"));
    let scopes = roster_core::Scopes::parse("user").expect("scopes");
    let (app, client_secret) = dir.add_app("secrets", scopes, None).await.expect("app");
    let admin = UserId::new(1).expect("id");
    let code = dir.authorization_code(&app.client_id, admin).await.expect("code");
    let grant = |kind: &str, key: &str, value: &str| {
        let query =
            [("grant_type", kind), ("client_id", &app.client_id), ("client_secret", &client_secret), (key, value)];
        json_of(http.get(format!("{}/oauth/token/", s.base)).query(&query))
    };
    let first = grant("authorization_code", "code", &code).await;
    let access = first["access_token"].as_str().expect("access token").to_owned();
    let refresh = first["refresh_token"].as_str().expect("refresh token").to_owned();
    json_of(http.post(rest("user.current")).json(&json!({"auth": access}))).await;
    json_of(http.get(rest("user.current")).bearer_auth(&access)).await;
    let second = grant("refresh_token", "refresh_token", &refresh).await;
    let access2 = second["access_token"].as_str().expect("new access token").to_owned();
    json_of(http.get(rest("user.current")).query(&[("access_token", &access2)])).await;
    let reused = grant("refresh_token", "refresh_token", &refresh).await;
    assert!(reused.get("error").is_some(), "a rotated refresh token worked again: {reused}");
    secrets.extend([client_secret, code, access, refresh, access2]);
    secrets.push(second["refresh_token"].as_str().expect("new refresh token").to_owned());
    // Zabbix: logins right and wrong, a session, an API token, password changes.
    let rpc = |method: &str, params: Value, auth: Option<&str>| {
        let mut body = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1});
        if let Some(a) = auth {
            body["auth"] = json!(a);
        }
        json_of(
            http.post(format!("{}/api_jsonrpc.php", s.base))
                .header("content-type", "application/json-rpc")
                .body(body.to_string()),
        )
    };
    let login = |user: &'static str, password: &'static str| {
        rpc("user.login", json!({"username": user, "password": password}), None)
    };
    let failed = login("Admin", WRONG_PASSWORD).await;
    assert!(failed.get("error").is_some(), "{failed}");
    let sid = login("Admin", ADMIN_PASSWORD).await["result"].as_str().expect("session").to_owned();
    rpc("user.checkauthentication", json!({"sessionid": sid}), None).await;
    let created = rpc(
        "user.create",
        json!({"username": "sam", "passwd": NEW_PASSWORD, "roleid": "1", "usrgrps": [{"usrgrpid": "13"}]}),
        Some(&sid),
    )
    .await;
    let sam = created["result"]["userids"][0].as_str().expect("user id").to_owned();
    let sam_sid = login("sam", NEW_PASSWORD).await["result"].as_str().expect("session").to_owned();
    rpc(
        "user.update",
        json!({"userid": sam, "passwd": CHANGED_PASSWORD, "current_passwd": NEW_PASSWORD}),
        Some(&sam_sid),
    )
    .await;
    let token_id = rpc("token.create", json!({"name": "ci"}), Some(&sid)).await["result"]["tokenids"][0].clone();
    let generated = rpc("token.generate", json!([token_id]), Some(&sid)).await;
    let api_token = generated["result"][0]["token"].as_str().expect("api token").to_owned();
    rpc("user.get", json!({"output": ["userid"]}), Some(&api_token)).await;
    let bearer = json!({"jsonrpc": "2.0", "method": "user.get", "params": {"output": ["userid"]}, "id": 2});
    json_of(
        http.post(format!("{}/api_jsonrpc.php", s.base))
            .header("content-type", "application/json")
            .bearer_auth(&api_token)
            .body(bearer.to_string()),
    )
    .await;
    rpc("user.logout", json!([]), Some(&sid)).await;
    secrets.extend([sid, sam_sid, api_token]);
    secrets
}

#[tokio::test]
async fn no_secret_reaches_the_trace_log() {
    let served = serve();
    let secrets = exercise(&served).await;
    // Stop it gracefully (SIGTERM), so that everything it logs is in the file.
    let mut served = served;
    let pid = served.child.id().to_string();
    let signalled = Command::new("kill").args(["-TERM", &pid]).status().expect("kill -TERM");
    assert!(signalled.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while served.child.try_wait().expect("wait").is_none() {
        assert!(std::time::Instant::now() < deadline, "roster serve did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut log = String::new();
    std::fs::File::open(&served.log).expect("open log").read_to_string(&mut log).expect("read log");
    drop(served);
    // The log was captured: the graceful stop is logged (at info, so trace includes it).
    assert!(log.contains("stopped"), "the log was not captured:\n{log}");
    for secret in &secrets {
        assert!(!secret.is_empty());
        for form in [secret.clone(), common::enc(secret)] {
            if let Some(at) = log.find(&form) {
                let line = log[..at].rsplit('\n').next().unwrap_or("");
                panic!("the log holds the secret {secret:?}: ...{line}{form}...");
            }
        }
    }
}
