//! Harness of the Zabbix face's end-to-end tests: starts the real server on 127.0.0.1:0
//! over a fresh SQLite file with a chosen `--zabbix-version`, and talks JSON-RPC (and the
//! Bitrix24 webhook, for cross-face checks) over a real socket with reqwest.
//! Each test file compiles this module on its own, so not every helper is used everywhere.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use roster_server::{DatabaseArgs, ServeConfig};
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const ADMIN_PASSWORD: &str = "Adm1n-Roster-Pass!";
pub const HOOK_CODE: &str = "zabbixsuite1234";

/// A running server.
pub struct Server {
    pub base: String,
    /// `http://127.0.0.1:PORT/api_jsonrpc.php`
    pub url: String,
    pub db_path: PathBuf,
    client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

/// One HTTP answer, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub bytes: Vec<u8>,
    /// The body as JSON, or `Null` when it is not JSON (or empty).
    pub json: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// Starts a server behaving as Zabbix `version`.
pub async fn start(version: &str) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let db_path = dir.path().join("z.db");
    let cfg = ServeConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        database: DatabaseArgs { database_url: test_database_url(dir.path(), "z.db") },
        admin_password: Some(ADMIN_PASSWORD.into()),
        bootstrap_webhook: Some(HOOK_CODE.into()),
        zabbix_version: version.parse().expect("version"),
        ..ServeConfig::default()
    };
    let prepared = roster_server::prepare(&cfg).await.expect("prepare");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(roster_server::run(listener, prepared.app, async move {
        let _ = rx.await;
    }));
    let base = format!("http://{addr}");
    Server {
        url: format!("{base}/api_jsonrpc.php"),
        base,
        db_path,
        client: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client"),
        stop: Some(tx),
        task: Some(task),
        _dir: dir,
    }
}

impl Server {
    /// POSTs raw bytes with a content type (None: no header) to `path`.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
        bearer: Option<&str>,
    ) -> Reply {
        let mut req = self.client.post(format!("{}{path}", self.base)).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        read(req.send().await.expect("request")).await
    }

    /// POSTs a JSON value as `application/json-rpc` to `/api_jsonrpc.php`.
    pub async fn post(&self, body: &Value) -> Reply {
        self.post_raw("/api_jsonrpc.php", Some("application/json-rpc"), body.to_string(), None).await
    }

    /// One call with `auth` in the body (or none); the whole answer object.
    pub async fn call(&self, method: &str, params: Value, auth: Option<&str>) -> Value {
        let mut body = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1});
        if let Some(a) = auth {
            body["auth"] = json!(a);
        }
        let r = self.post(&body).await;
        assert_eq!(r.status, 200, "{method}: {}", r.text());
        r.json
    }

    /// One call authenticated by `Authorization: Bearer`.
    pub async fn call_bearer(&self, method: &str, params: Value, bearer: &str) -> Value {
        let body = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1});
        let r = self.post_raw("/api_jsonrpc.php", Some("application/json"), body.to_string(), Some(bearer)).await;
        r.json
    }

    /// The `result` of a call that must succeed.
    pub async fn ok(&self, method: &str, params: Value, auth: Option<&str>) -> Value {
        let a = self.call(method, params, auth).await;
        assert!(a.get("error").is_none(), "{method} failed: {a}");
        a["result"].clone()
    }

    /// The `(code, data)` of a call that must fail.
    pub async fn err(&self, method: &str, params: Value, auth: Option<&str>) -> (i64, String) {
        let a = self.call(method, params, auth).await;
        let e = a.get("error").unwrap_or_else(|| panic!("{method} should fail: {a}"));
        (e["code"].as_i64().unwrap_or(0), e["data"].as_str().unwrap_or("").to_owned())
    }

    pub async fn login(&self, user: &str, password: &str) -> String {
        let r = self.ok("user.login", json!({"username": user, "password": password}), None).await;
        r.as_str().expect("session id").to_owned()
    }

    pub async fn admin(&self) -> String {
        self.login("Admin", ADMIN_PASSWORD).await
    }

    /// A Bitrix24 call through the administrator's webhook; the whole answer.
    pub async fn bitrix(&self, method: &str, params: Value) -> Value {
        let url = format!("{}/rest/1/{HOOK_CODE}/{method}", self.base);
        let r = read(self.client.post(url).json(&params).send().await.expect("request")).await;
        assert!(r.json.get("error").is_none(), "{method}: {}", r.text());
        r.json
    }

    /// Creates a user through Zabbix and returns its id.
    pub async fn create_user(&self, auth: &str, params: Value) -> String {
        let r = self.ok("user.create", params, Some(auth)).await;
        r["userids"][0].as_str().expect("userid").to_owned()
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

async fn read(resp: reqwest::Response) -> Reply {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.expect("body").to_vec();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply { status, headers, bytes, json }
}

/// A plain user of the User role in group 13 ("Internal"), created by the admin.
pub fn user_params(username: &str, password: &str) -> Value {
    json!({"username": username, "passwd": password, "roleid": "1", "usrgrps": [{"usrgrpid": "13"}], "name": "Ann", "surname": "Lee"})
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
