//! Shared harness of the end-to-end Bitrix24 tests: starts a real Roster server on
//! 127.0.0.1:0 over its own temporary SQLite file, sends requests with reqwest, and
//! checks the portal envelope (success with `time`, errors without it, never a 5xx).
//! Each test file compiles this module on its own, so not every helper is used everywhere.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use roster_core::{Directory, Scopes, UserId};
use roster_server::{DatabaseArgs, ServeConfig};
use serde_json::{json, Map, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The bootstrap webhook code of every test server.
pub const BOOT_CODE: &str = "testcode1234";
pub const ADMIN_PASSWORD: &str = "admin-pass-1";
pub const JSON_TYPE: &str = "application/json; charset=utf-8";
pub const FORM_TYPE: &str = "application/x-www-form-urlencoded";

/// The eight keys of the `time` object (spec 1.5).
pub const TIME_KEYS: [&str; 8] =
    ["start", "finish", "duration", "processing", "date_start", "date_finish", "operating", "operating_reset_at"];

/// A 1x1 transparent PNG.
pub const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d,
    0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// Settings a test may vary; the rest of `ServeConfig` is fixed.
#[derive(Debug, Clone)]
pub struct Options {
    pub bootstrap_webhook: String,
    pub admin_password: String,
    pub max_body: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { bootstrap_webhook: BOOT_CODE.into(), admin_password: ADMIN_PASSWORD.into(), max_body: 1024 * 1024 }
    }
}

/// A running server and a client for it.
pub struct Server {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The administrator's bootstrap webhook: `http://127.0.0.1:PORT/rest/1/testcode1234/`.
    pub hook: String,
    pub db_url: String,
    pub db_path: PathBuf,
    client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    /// Kept so the database outlives the server (None when the caller owns the directory).
    _dir: Option<tempfile::TempDir>,
}

/// A server with default options on a fresh database.
pub async fn start() -> Server {
    start_opts(Options::default()).await
}

pub async fn start_opts(opts: Options) -> Server {
    start_with_opts(opts, |_| {}).await
}

/// A server on a fresh database like [`start`], with `edit` applied to its `ServeConfig`
/// first (rate limit, operating-time limits, `require_https`, ...).
pub async fn start_with(edit: impl FnOnce(&mut ServeConfig)) -> Server {
    start_with_opts(Options::default(), edit).await
}

async fn start_with_opts(opts: Options, edit: impl FnOnce(&mut ServeConfig)) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = config(dir.path(), opts);
    edit(&mut cfg);
    let mut server = launch(cfg, dir.path()).await;
    server._dir = Some(dir);
    server
}

/// A server on `dir/r.db` (created or reused), for restart tests.
pub async fn start_in(dir: &Path, opts: Options) -> Server {
    launch(config(dir, opts), dir).await
}

/// The test configuration: port 0, `dir/r.db`, the given bootstrap and body limit.
fn config(dir: &Path, opts: Options) -> ServeConfig {
    ServeConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        database: DatabaseArgs { database_url: test_database_url(dir, "r.db") },
        admin_password: Some(opts.admin_password),
        bootstrap_webhook: Some(opts.bootstrap_webhook),
        max_body: opts.max_body,
        ..ServeConfig::default()
    }
}

/// Prepares `cfg` and serves it on 127.0.0.1:0 until [`Server::stop`] (or the test ends).
async fn launch(cfg: ServeConfig, dir: &Path) -> Server {
    let prepared = roster_server::prepare(&cfg).await.expect("prepare");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(roster_server::run(listener, prepared.app, async move {
        let _ = rx.await;
    }));
    let base = format!("http://{addr}");
    Server {
        hook: format!("{base}/rest/1/{BOOT_CODE}/"),
        base,
        db_url: cfg.database.database_url.clone(),
        db_path: dir.join("r.db"),
        client: reqwest::Client::builder().timeout(Duration::from_secs(20)).build().expect("client"),
        stop: Some(tx),
        task: Some(task),
        _dir: None,
    }
}

/// One HTTP answer, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub bytes: Vec<u8>,
    /// The body as JSON, or `Null` when it is not JSON.
    pub json: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// Asserts a portal success (200, JSON, `result` and a full `time`) and returns `result`.
    pub fn ok(&self) -> &Value {
        assert_eq!(self.status, 200, "expected success, got: {}", self.text());
        assert_eq!(self.header("content-type"), JSON_TYPE);
        assert!(self.json.get("error").is_none(), "unexpected error: {}", self.text());
        assert_time(&self.json["time"]);
        self.json.get("result").unwrap_or_else(|| panic!("no result in {}", self.text()))
    }

    /// Asserts a portal error: status, code, description (when given), JSON, no `time`.
    pub fn err(&self, status: u16, code: &str, description: Option<&str>) -> &Value {
        assert_eq!(self.status, status, "unexpected status, body: {}", self.text());
        assert_eq!(self.header("content-type"), JSON_TYPE, "body: {}", self.text());
        assert_eq!(self.json["error"], code, "body: {}", self.text());
        if let Some(d) = description {
            assert_eq!(self.json["error_description"], d, "body: {}", self.text());
        }
        assert!(self.json.get("time").is_none(), "an error carries no time: {}", self.text());
        &self.json
    }

    /// Exactly `{"error":"ERROR_CORE","error_description":"access_denied"}` with HTTP 400.
    pub fn denied(&self) {
        self.err(400, "ERROR_CORE", Some("access_denied"));
        assert_eq!(self.json, json!({"error": "ERROR_CORE", "error_description": "access_denied"}));
    }

    /// `ERROR_ARGUMENT` with HTTP 400, its description and `argument`.
    pub fn argument(&self, description: &str, argument: &str) {
        self.err(400, "ERROR_ARGUMENT", Some(description));
        assert_eq!(self.json["argument"], argument, "body: {}", self.text());
    }

    /// The `ID`s of a user list result, as numbers.
    pub fn ids(&self) -> Vec<i64> {
        ids_of(self.ok())
    }
}

pub fn ids_of(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|u| u["ID"].as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("bad ID in {u}")))
        .collect()
}

pub fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Whether `s` looks like `date('c')`: `YYYY-MM-DDTHH:MM:SS+00:00`.
pub fn is_iso(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|x| x.iter().all(u8::is_ascii_digit));
    b.len() == 25
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && (b[19] == b'+' || b[19] == b'-')
        && digits(20..22)
        && b[22] == b':'
        && digits(23..25)
}

/// Checks the eight `time` keys and their types (spec 1.5).
pub fn assert_time(time: &Value) {
    let obj = time.as_object().unwrap_or_else(|| panic!("time is not an object: {time}"));
    for key in TIME_KEYS {
        assert!(obj.contains_key(key), "time lacks {key}: {time}");
    }
    for key in ["start", "finish", "duration", "processing", "operating"] {
        assert!(time[key].is_number(), "time.{key} is not a number: {time}");
    }
    for key in ["date_start", "date_finish"] {
        let s = time[key].as_str().unwrap_or_default();
        assert!(is_iso(s), "time.{key} is not ISO-8601: {time}");
    }
    let start = time["start"].as_f64().unwrap_or_default();
    let finish = time["finish"].as_f64().unwrap_or_default();
    assert!(finish >= start, "finish before start: {time}");
    assert!((start - now_unix() as f64).abs() < 60.0, "start is not now: {time}");
    let reset =
        time["operating_reset_at"].as_i64().unwrap_or_else(|| panic!("operating_reset_at not an integer: {time}"));
    let expected = now_unix() + 600;
    assert!((reset - expected).abs() <= 15, "operating_reset_at {reset} is not about now+600 ({expected})");
}

/// Standard base64, as `[name, base64]` uploads take it.
pub fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Percent-encodes one form component (everything but unreserved characters).
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A flat JSON object as a query string (`k=v&...`); lists become `k[]=v`.
pub fn query_of(params: &Value) -> String {
    let mut pairs = Vec::new();
    for (k, v) in params.as_object().into_iter().flatten() {
        match v {
            Value::Array(items) => {
                for item in items {
                    pairs.push(format!("{}[]={}", enc(k), enc(&scalar(item))));
                }
            }
            other => pairs.push(format!("{}={}", enc(k), enc(&scalar(other)))),
        }
    }
    pairs.join("&")
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Merges the keys of `extra` (an object) over `base`.
pub fn merged(base: Value, extra: &Value) -> Value {
    let mut map: Map<String, Value> = base.as_object().cloned().unwrap_or_default();
    for (k, v) in extra.as_object().into_iter().flatten() {
        map.insert(k.clone(), v.clone());
    }
    Value::Object(map)
}

impl Server {
    /// Stops the server gracefully and waits until it has finished.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        // Idle pooled connections would otherwise delay the graceful shutdown.
        self.client = reqwest::Client::new();
        if let Some(task) = self.task.take() {
            let ended = tokio::time::timeout(Duration::from_secs(10), task).await.expect("server did not stop");
            ended.expect("server task panicked").expect("server failed");
        }
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends a request and reads the answer; any 5xx fails the test.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let reply = self.send_unchecked(req).await;
        assert!(reply.status < 500, "server answered {}: {}", reply.status, reply.text());
        reply
    }

    /// Sends a request and reads the answer, whatever its status.
    pub async fn send_unchecked(&self, req: reqwest::RequestBuilder) -> Reply {
        let resp = req.send().await.expect("request failed");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("read body").to_vec();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, headers, bytes, json }
    }

    pub async fn get(&self, url: &str) -> Reply {
        self.send(self.client.get(url)).await
    }

    /// POSTs raw bytes with a content type.
    pub async fn post_raw(&self, url: &str, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        let body: Vec<u8> = body.into();
        self.send(self.client.post(url).header("content-type", content_type).body(body)).await
    }

    pub async fn post_form(&self, url: &str, body: &str) -> Reply {
        self.post_raw(url, FORM_TYPE, body.to_owned()).await
    }

    pub async fn post_json(&self, url: &str, params: &Value) -> Reply {
        self.send(self.client.post(url).json(params)).await
    }

    /// Calls `method` with JSON `params` as the administrator (bootstrap webhook).
    pub async fn call(&self, method: &str, params: Value) -> Reply {
        self.call_as(&self.hook, method, params).await
    }

    /// Calls `method` with JSON `params` through the webhook base URL `hook`.
    pub async fn call_as(&self, hook: &str, method: &str, params: Value) -> Reply {
        self.post_json(&format!("{hook}{method}"), &params).await
    }

    /// `user.add` as the administrator with `EMAIL`, `UF_DEPARTMENT=1` and `extra`; the new id.
    pub async fn add_user(&self, email: &str, extra: Value) -> i64 {
        let params = merged(json!({"EMAIL": email, "UF_DEPARTMENT": 1}), &extra);
        let reply = self.call("user.add", params).await;
        reply.ok().as_i64().unwrap_or_else(|| panic!("user.add gave no integer id: {}", reply.text()))
    }

    /// Adds many users through `batch` (50 per call); `specs` are `user.add` parameter objects.
    pub async fn add_users(&self, specs: &[Value]) -> Vec<i64> {
        let mut ids = Vec::with_capacity(specs.len());
        for chunk in specs.chunks(50) {
            let cmd: Vec<String> = chunk.iter().map(|p| format!("user.add?{}", query_of(p))).collect();
            let reply = self.call("batch", json!({"halt": 1, "cmd": cmd})).await;
            let res = reply.ok();
            assert_eq!(res["result_error"], json!([]), "batch user.add failed: {}", reply.text());
            ids.extend(res["result"].as_array().into_iter().flatten().filter_map(Value::as_i64));
        }
        assert_eq!(ids.len(), specs.len());
        ids
    }

    /// One user as the administrator sees it through `user.get` (ADMIN_MODE, all fields).
    pub async fn user(&self, id: i64) -> Value {
        let reply = self.call("user.get", json!({"ID": id, "ADMIN_MODE": "Y"})).await;
        let list = reply.ok().as_array().cloned().unwrap_or_default();
        assert_eq!(list.len(), 1, "user {id} not found: {}", reply.text());
        list[0].clone()
    }

    /// Asserts that `method` with `params` (as the administrator) returns exactly the users
    /// `expected`, in that order.
    pub async fn expect_ids(&self, method: &str, params: Value, expected: &[i64]) {
        let r = self.call(method, params.clone()).await;
        assert_eq!(r.ids(), expected, "{method} {params}");
    }

    /// `user.update` as the administrator; asserts `result: true`.
    pub async fn update(&self, params: Value) {
        let reply = self.call("user.update", params).await;
        assert_eq!(reply.ok(), &json!(true), "{}", reply.text());
    }

    /// Gives `user` a webhook with `scopes` through the library (a second store handle on
    /// the same file, as the admin CLI does) and returns its base URL.
    pub async fn hook_for(&self, user: i64, scopes: &str) -> String {
        let code = format!("hook{user}{}", scopes.replace([',', '_', '.'], "x"));
        let dir = Directory::new(roster_store::open(&self.db_url).expect("open store"));
        let id = UserId::new(user).expect("user id");
        let scopes = Scopes::parse(scopes).expect("scopes");
        dir.add_webhook(id, scopes, Some(code.clone())).await.expect("add webhook");
        format!("{}/rest/{user}/{code}/", self.base)
    }

    /// A plain employee (department 1, not an administrator) with a `user` webhook.
    pub async fn plain_user(&self, email: &str, name: &str) -> (i64, String) {
        let id = self.add_user(email, json!({"NAME": name})).await;
        let hook = self.hook_for(id, "user").await;
        (id, hook)
    }
}

// ---------------------------------------------------------------------------------------
// Helpers of the reliability tests (hostile input, limits, authz, secrets in logs).

/// A server on a fresh database like [`start_with`], served with `run_with`, so the
/// connection limits of the edited config (`max_connections`, `header_timeout`) apply.
pub async fn start_limited(edit: impl FnOnce(&mut ServeConfig)) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = config(dir.path(), Options::default());
    edit(&mut cfg);
    let prepared = roster_server::prepare(&cfg).await.expect("prepare");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("local addr"));
    let (tx, rx) = oneshot::channel::<()>();
    let db_url = cfg.database.database_url.clone();
    let task = tokio::spawn(async move {
        let stop = async move {
            let _ = rx.await;
        };
        roster_server::run_with(listener, prepared.app, &cfg, stop).await
    });
    Server {
        hook: format!("{base}/rest/1/{BOOT_CODE}/"),
        base,
        db_url,
        db_path: dir.path().join("r.db"),
        client: reqwest::Client::builder().timeout(Duration::from_secs(20)).build().expect("client"),
        stop: Some(tx),
        task: Some(task),
        _dir: Some(dir),
    }
}

/// The `host:port` of a base URL such as `http://127.0.0.1:PORT`.
pub fn addr_of(base: &str) -> String {
    base.trim_start_matches("http://").trim_end_matches('/').to_owned()
}

/// Writes `request` on a fresh TCP connection (as much as the server takes: it may answer
/// and close early) and reads until the server closes it or 10 s pass; returns the status
/// of the answer (None when nothing came) and its body. For requests reqwest cannot
/// send: raw bytes in the path, broken framing.
pub async fn raw_exchange(base: &str, request: &[u8]) -> (Option<u16>, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(addr_of(base)).await.expect("connect");
    let _ = conn.write_all(request).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), conn.read_to_end(&mut answer));
    let _ = read.await;
    parse_raw_answer(&answer)
}

/// The status and body of a raw HTTP/1.1 answer (`Content-Length` framing, or to the end).
pub fn parse_raw_answer(answer: &[u8]) -> (Option<u16>, Vec<u8>) {
    let text = String::from_utf8_lossy(answer);
    let status = text.strip_prefix("HTTP/1.1 ").and_then(|rest| rest.get(..3)).and_then(|code| code.parse().ok());
    let body = answer.windows(4).position(|w| w == b"\r\n\r\n").map(|at| answer[at + 4..].to_vec()).unwrap_or_default();
    (status, body)
}

/// Registers an OAuth app with `scopes` (a second store handle on the server's database)
/// and issues `user` a token pair valid for `ttl` seconds (negative: already expired).
pub async fn app_tokens(
    db_url: &str,
    scopes: &str,
    user: i64,
    ttl: i64,
) -> (roster_core::oauth::App, String, roster_core::oauth::IssuedTokens) {
    let dir = Directory::new(roster_store::open(db_url).expect("open store"));
    let scopes = Scopes::parse(scopes).expect("scopes");
    let (app, secret) = dir.add_app("reliability", scopes, None).await.expect("add app");
    let id = UserId::new(user).expect("user id");
    let tokens = dir.issue_tokens(&app.client_id, id, Some(ttl)).await.expect("issue tokens");
    (app, secret, tokens)
}

/// Calls to the Zabbix face of the same server.
impl Server {
    /// `http://127.0.0.1:PORT/api_jsonrpc.php`
    pub fn zabbix_url(&self) -> String {
        format!("{}/api_jsonrpc.php", self.base)
    }

    /// POSTs `body` to `/api_jsonrpc.php` as `application/json-rpc`, whatever comes back.
    pub async fn zabbix_raw(&self, body: impl Into<Vec<u8>>) -> Reply {
        let body: Vec<u8> = body.into();
        self.send_unchecked(
            self.client.post(self.zabbix_url()).header("content-type", "application/json-rpc").body(body),
        )
        .await
    }

    /// One JSON-RPC call (id 1) with `auth` in the body when given; the whole answer.
    pub async fn zabbix(&self, method: &str, params: Value, auth: Option<&str>) -> Reply {
        let mut body = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1});
        if let Some(a) = auth {
            body["auth"] = json!(a);
        }
        self.zabbix_raw(body.to_string()).await
    }

    /// The `result` of a Zabbix call that must succeed.
    pub async fn zabbix_ok(&self, method: &str, params: Value, auth: Option<&str>) -> Value {
        let r = self.zabbix(method, params, auth).await;
        assert!(r.status == 200 && r.json.get("result").is_some(), "{method} failed: {}", r.text());
        r.json["result"].clone()
    }

    /// `user.login`: the session id.
    pub async fn zabbix_login(&self, username: &str, password: &str) -> String {
        let sid = self.zabbix_ok("user.login", json!({"username": username, "password": password}), None).await;
        sid.as_str().expect("session id").to_owned()
    }

    /// Creates a Zabbix user (as the administrator `admin_sid`) with `roleid` and groups;
    /// returns its id.
    pub async fn zabbix_user(
        &self,
        admin_sid: &str,
        username: &str,
        password: &str,
        roleid: &str,
        groups: &[&str],
    ) -> i64 {
        let usrgrps: Vec<Value> = groups.iter().map(|g| json!({"usrgrpid": g})).collect();
        let params = json!({"username": username, "passwd": password, "roleid": roleid, "usrgrps": usrgrps});
        let r = self.zabbix_ok("user.create", params, Some(admin_sid)).await;
        r["userids"][0].as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("user.create gave no id: {r}"))
    }
}

// ---------------------------------------------------------------------------------------
// The backend of test servers: SQLite by default, PostgreSQL with ROSTER_TEST_BACKEND=postgres.

/// The database URL of a test server in `dir`: `sqlite://dir/FILE` by default; with
/// `ROSTER_TEST_BACKEND=postgres`, a fresh database on the server of `ROSTER_TEST_PG_URL`
/// (default `postgres://postgres@127.0.0.1:5432/postgres`), made once per `dir` (a restart
/// in the same `dir` finds it again) and dropped by a later call once `dir` is gone.
pub fn test_database_url(dir: &Path, file: &str) -> String {
    if std::env::var("ROSTER_TEST_BACKEND").as_deref() != Ok("postgres") {
        return format!("sqlite://{}", dir.join(file).display());
    }
    let marker = dir.join("postgres-url");
    if let Ok(url) = std::fs::read_to_string(&marker) {
        return url;
    }
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let server =
        std::env::var("ROSTER_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("roster_e2e_{}_{n}", std::process::id());
    let owner = dir.display().to_string().replace('\'', "''");
    let url = match server.rsplit_once('/') {
        Some((base, db)) if !base.ends_with('/') => match db.split_once('?') {
            Some((_, options)) => format!("{base}/{name}?{options}"),
            None => format!("{base}/{name}"),
        },
        _ => format!("{}/{name}", server.trim_end_matches('/')),
    };
    // On a thread of its own: callers are inside a runtime, and this must finish first.
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            let (admin, conn) = tokio_postgres::connect(&server, tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("ROSTER_TEST_BACKEND=postgres, but {server} is not reachable: {e}"));
            tokio::spawn(conn);
            // Databases of earlier test servers whose directory is gone (their test ended).
            let sql = "SELECT datname::text, coalesce(shobj_description(oid, 'pg_database'), '') \
                       FROM pg_database WHERE datname LIKE 'roster_e2e_%'";
            for row in admin.query(sql, &[]).await.expect("list test databases") {
                let (old, owner): (String, String) = (row.get(0), row.get(1));
                if !owner.is_empty() && !Path::new(&owner).exists() {
                    let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {old} WITH (FORCE)")).await;
                }
            }
            // Names are made here from digits; CREATE DATABASE takes no parameters.
            admin.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("CREATE DATABASE");
            let comment = format!("COMMENT ON DATABASE {name} IS '{owner}'");
            admin.batch_execute(&comment).await.expect("COMMENT ON DATABASE");
        })
    })
    .join()
    .expect("make the test database");
    std::fs::write(&marker, &url).expect("remember the test database");
    url
}
