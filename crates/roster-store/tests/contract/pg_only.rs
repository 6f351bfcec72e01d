//! PostgreSQL matters the shared cases cannot express: several first opens of one empty
//! database at once (migrations under an advisory lock), a column for every catalog
//! attribute, the lazy `open` of a server that is not there, ILIKE folding in a database
//! whose own ctype is "C", and refusing a database that is not UTF-8. Each cleans up
//! before it asserts.

use roster_core::query::Op;
use roster_core::{Store, StoreError, ATTRS};
use roster_store::PgStore;

use crate::fixtures::{create, ids, on, text};
use crate::harness::{skipped, PgDatabase};

fn migrations_shipped() -> usize {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres");
    std::fs::read_dir(dir).expect("migrations/postgres").filter(|e| e.is_ok()).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_opens_at_once_migrate_once() {
    let Some(db) = PgDatabase::create("").await else {
        return;
    };
    let (a, b, c) = tokio::join!(PgStore::open(&db.url), PgStore::open(&db.url), PgStore::open(&db.url));
    let outcomes: Vec<Result<(), String>> =
        [&a, &b, &c].iter().map(|r| r.as_ref().map(|_| ()).map_err(|e| e.to_string())).collect();
    let version: Option<String> = db
        .connect()
        .await
        .query_opt("SELECT value FROM meta WHERE key = 'schema_version'", &[])
        .await
        .ok()
        .flatten()
        .map(|r| r.get(0));
    for store in [a, b, c].into_iter().flatten() {
        store.close();
    }
    db.drop().await;
    assert_eq!(outcomes, vec![Ok(()), Ok(()), Ok(())]);
    assert_eq!(version, Some(migrations_shipped().to_string()));
}

#[tokio::test]
async fn users_table_has_a_column_for_every_attribute() {
    let Some(db) = PgDatabase::create("").await else {
        return;
    };
    let store = PgStore::open(&db.url).await;
    let sql = "SELECT column_name::text FROM information_schema.columns WHERE table_name = 'users'";
    let rows = db.connect().await.query(sql, &[]).await;
    if let Ok(store) = &store {
        store.close();
    }
    db.drop().await;
    store.expect("open");
    let columns: Vec<String> = rows.expect("columns").iter().map(|r| r.get(0)).collect();
    let missing: Vec<&str> = ATTRS.iter().map(|a| a.name).filter(|n| !columns.iter().any(|c| c == n)).collect();
    assert!(missing.is_empty(), "add a PostgreSQL migration for these attributes: {missing:?}");
}

#[tokio::test]
async fn lazy_open_reports_an_absent_server_on_first_use() {
    // Port 1 on the loopback: nothing listens, the connection is refused at once.
    let url = "postgres://postgres@127.0.0.1:1/roster";
    let store = roster_store::open(url).expect("a lazy open only checks the URL");
    match store.webhooks().await {
        Err(StoreError::Backend(msg)) => assert!(msg.contains("connect"), "{msg}"),
        other => panic!("expected a connection failure, got {other:?}"),
    }
    assert!(roster_store::open_async(url).await.is_err(), "an eager open connects at once");
    assert!(roster_store::open("postgresql://h:notaport/x").is_err(), "a bad URL is refused at open");
}

#[tokio::test]
async fn ilike_folds_cyrillic_in_a_c_ctype_database() {
    let options = "TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'";
    let Some(db) = PgDatabase::create(options).await else {
        return;
    };
    let icu: i64 = db
        .connect()
        .await
        .query_one("SELECT count(*) FROM pg_collation WHERE collname = 'und-x-icu'", &[])
        .await
        .map(|r| r.get(0))
        .unwrap_or(0);
    if icu == 0 {
        skipped("this PostgreSQL has no ICU collation to fold case in a C-ctype database");
        db.drop().await;
        return;
    }
    // Run on its own task so that a failure still drops the database before it is reported.
    let url = db.url.clone();
    let outcome = tokio::spawn(async move {
        let store = PgStore::open(&url).await.expect("open");
        let s: &dyn Store = &store;
        let values = [("personal_city", text("Москва")), ("name", text("Иван"))];
        let id = create(s, "ivan", &values).await;
        let found = (
            ids(s, vec![on("personal_city", Op::Like, &["МОСК%"])]).await,
            ids(s, vec![on("name", Op::Like, &["%ВАН"])]).await,
        );
        store.close();
        assert_eq!(found, (vec![id], vec![id]));
    })
    .await;
    db.drop().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[tokio::test]
async fn a_database_that_is_not_utf8_is_refused() {
    let options = "TEMPLATE template0 ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C'";
    let Some(db) = PgDatabase::create(options).await else {
        return;
    };
    let opened = PgStore::open(&db.url).await;
    if let Ok(store) = &opened {
        store.close();
    }
    db.drop().await;
    match opened {
        Err(StoreError::Backend(msg)) => assert!(msg.contains("UTF8"), "{msg}"),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a SQL_ASCII database was accepted"),
    }
}
