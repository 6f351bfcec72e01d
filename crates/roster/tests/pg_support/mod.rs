//! Shared by the PostgreSQL tests of the binary (`two_servers`, `migrate`): a database of
//! its own per test on the server of `ROSTER_TEST_PG_URL` (default below), dropped when the
//! test ends, also when it fails; real `roster serve` processes on a database URL (stdout
//! drained in a thread, killed on drop); and a runner for other `roster` commands. When no
//! PostgreSQL answers, tests print `SKIPPED: ...` and pass, unless `ROSTER_REQUIRE_PG=1`.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
pub const ADMIN_PASSWORD: &str = "pw-pg-tests-1";
pub const CODE: &str = "pgtestcode12345";

fn server_url() -> String {
    std::env::var("ROSTER_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned())
}

/// Runs `f` on a runtime of its own (callers may be inside one, or in `Drop`).
fn on_own_runtime<T: Send + 'static>(f: impl std::future::Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(f)
    })
    .join()
    .expect("PostgreSQL helper thread")
}

async fn connect(url: String) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let mut config = tokio_postgres::Config::from_str(&url)?;
    config.connect_timeout(Duration::from_secs(5));
    let (client, conn) = config.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    Ok(client)
}

/// A fresh database, dropped (with its connections) when this value is.
pub struct PgDb {
    name: String,
    pub url: String,
}

impl PgDb {
    /// None (after printing `SKIPPED: PostgreSQL not reachable ...`) when there is no server,
    /// unless `ROSTER_REQUIRE_PG=1`, which makes that a failure.
    pub fn create() -> Option<PgDb> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let server = server_url();
        let name = format!("roster_bin_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let (s, n) = (server.clone(), name.clone());
        // The name is made here from digits; CREATE DATABASE takes no parameters.
        let made =
            on_own_runtime(async move { connect(s).await?.batch_execute(&format!("CREATE DATABASE {n}")).await });
        match made {
            Ok(()) => Some(PgDb { url: with_database(&server, &name), name }),
            Err(e) if std::env::var("ROSTER_REQUIRE_PG").as_deref() == Ok("1") => {
                panic!("PostgreSQL not reachable at {server}: {e} (ROSTER_REQUIRE_PG=1)")
            }
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "SKIPPED: PostgreSQL not reachable at {server}: {e}");
                None
            }
        }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let (server, name) = (server_url(), self.name.clone());
        let dropped = on_own_runtime(async move {
            connect(server).await?.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await
        });
        if let Err(e) = dropped {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// `url` with its database (path) replaced by `db`, keeping any `?options`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let host_at = base.find("://").map_or(0, |i| i + 3);
    let base = match base[host_at..].find('/') {
        Some(i) => &base[..host_at + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

/// A `roster serve` process, killed on drop.
pub struct Serve {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
}

impl Serve {
    /// Starts `roster serve --listen 127.0.0.1:0` on `database_url` with the test's
    /// administrator password and bootstrap webhook, plus `extra` flags.
    pub fn start(database_url: &str, extra: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
            .args(["serve", "--listen", "127.0.0.1:0", "--bootstrap-webhook", CODE, "--admin-password", ADMIN_PASSWORD])
            .args(["--database-url", database_url])
            .args(extra)
            .env("ROSTER_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start roster serve");
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        reader.read_line(&mut first).expect("listening line");
        let base = match first.trim().strip_prefix("listening on ") {
            Some(base) => base.to_owned(),
            None => {
                let _ = child.kill();
                panic!("roster serve did not start: {first:?}");
            }
        };
        // Kept drained, so the server never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        Serve { child, base }
    }

    /// The bootstrap administrator's webhook: `http://127.0.0.1:PORT/rest/1/CODE/`.
    pub fn hook(&self) -> String {
        format!("{}/rest/1/{CODE}/", self.base)
    }

    pub fn zabbix(&self) -> String {
        format!("{}/api_jsonrpc.php", self.base)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `roster ARGS` and returns (success, stdout, stderr).
pub fn roster(args: &[&str]) -> (bool, String, String) {
    let out =
        Command::new(env!("CARGO_BIN_EXE_roster")).args(args).env("ROSTER_LOG", "warn").output().expect("run roster");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `roster ARGS`, which must succeed, and returns its stdout.
pub fn roster_ok(args: &[&str]) -> String {
    let (ok, stdout, stderr) = roster(args);
    assert!(ok, "roster {args:?} failed: {stderr}");
    stdout
}
