//! Runs one contract case against one backend: SQLite in a temporary directory, or
//! PostgreSQL in a database made for the case and dropped after it. When no PostgreSQL
//! server answers, the PostgreSQL runs print `SKIPPED: ...` and pass, unless
//! `ROSTER_REQUIRE_PG=1`. The server is `ROSTER_TEST_PG_URL` (default below).

use std::future::Future;
use std::io::Write;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use roster_core::Store;
use roster_store::PgStore;

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// What a case gets: the store, and the URL that opens the same database again.
pub struct Env {
    pub store: Arc<dyn Store>,
    pub url: String,
}

impl Env {
    /// A second, independent store on the same database (as a second process would be).
    pub async fn open_again(&self) -> Arc<dyn Store> {
        roster_store::open_async(&self.url).await.expect("open the database again")
    }
}

pub async fn on_sqlite<F, Fut>(case: F)
where
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("roster.db").display());
    let store = roster_store::open_async(&url).await.expect("open SQLite");
    case(Env { store, url }).await;
}

pub async fn on_postgres<F, Fut>(case: F)
where
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(db) = PgDatabase::create("").await else {
        return;
    };
    let store = match PgStore::open(&db.url).await {
        Ok(store) => store,
        Err(e) => {
            db.drop().await;
            panic!("open PostgreSQL: {e}");
        }
    };
    // On its own task, so that a failing case still drops its database before failing.
    let outcome = tokio::spawn(case(Env { store: Arc::new(store.clone()), url: db.url.clone() })).await;
    store.close();
    db.drop().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// A database of its own on the test server, made empty and dropped by [`PgDatabase::drop`].
pub struct PgDatabase {
    admin: tokio_postgres::Client,
    name: String,
    pub url: String,
}

impl PgDatabase {
    /// Makes `roster_t_<unique>` with `options` appended to CREATE DATABASE; None when the
    /// server cannot be reached (after printing SKIPPED), unless PostgreSQL is required.
    pub async fn create(options: &str) -> Option<PgDatabase> {
        let server = std::env::var("ROSTER_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned());
        let admin = match connect(&server).await {
            Ok(c) => c,
            Err(e) if std::env::var("ROSTER_REQUIRE_PG").as_deref() == Ok("1") => {
                panic!("PostgreSQL not reachable at {server}: {e} (ROSTER_REQUIRE_PG=1)")
            }
            Err(e) => {
                skipped(&format!("PostgreSQL not reachable at {server}: {e}"));
                return None;
            }
        };
        let name = unique_name();
        // The name is made here from digits, never input; CREATE DATABASE takes no parameters.
        admin.batch_execute(&format!("CREATE DATABASE {name} {options}")).await.expect("CREATE DATABASE");
        let url = with_database(&server, &name);
        Some(PgDatabase { admin, name, url })
    }

    /// A plain connection to this database, for looking behind the store.
    pub async fn connect(&self) -> tokio_postgres::Client {
        connect(&self.url).await.expect("connect to the test database")
    }

    pub async fn drop(self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = self.admin.batch_execute(&sql).await {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// Prints `SKIPPED: why` where it is seen: straight to stderr, past libtest's capture
/// (which would hide `eprintln!` of a passing test).
pub fn skipped(why: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
}

async fn connect(url: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let mut config = tokio_postgres::Config::from_str(url)?;
    config.connect_timeout(Duration::from_secs(5));
    let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

fn unique_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("roster_t_{}_{}_{}", std::process::id(), nanos, NEXT.fetch_add(1, Ordering::Relaxed))
}

/// `url` with its database (path) replaced by `db`, keeping any `?options`.
fn with_database(url: &str, db: &str) -> String {
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

#[test]
fn database_is_replaced_in_urls() {
    assert_eq!(with_database("postgres://u@h:1/postgres", "x"), "postgres://u@h:1/x");
    assert_eq!(with_database("postgresql://u@h", "x"), "postgresql://u@h/x");
    assert_eq!(with_database("postgres://u@h/d?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
}
