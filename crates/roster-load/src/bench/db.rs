//! The database of one run, SQLite (a file in the run's temp dir) or PostgreSQL
//! ([`super::pg`]), and the bulk seeding of N users straight into it after the
//! server bootstrapped it: `user{i}@example.com`, `Name{i}`, `Last{i}`, active, in
//! the root department (employees) and Zabbix's default group, `i` being the id.

use std::fs::File;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use rusqlite::{params, Connection, OptionalExtension};

use super::pg::Pg;
use super::Abort;

/// Users inserted per transaction.
const CHUNK: u64 = 100_000;

/// The ids of the seeded users (inclusive); user `i` is `user{i}@example.com`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub first: u64,
    pub last: u64,
}

/// Where a run's directory lives.
pub enum Db {
    Sqlite(PathBuf),
    Postgres(Box<Pg>),
}

impl Db {
    /// The `--database-url` the server is given.
    pub fn url(&self) -> String {
        match self {
            Db::Sqlite(path) => format!("sqlite://{}", path.display()),
            Db::Postgres(pg) => pg.url.clone(),
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Makes the database empty (PostgreSQL: dropped and created again).
    pub fn recreate(&self) -> Result<()> {
        match self {
            Db::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let file = PathBuf::from(format!("{}{suffix}", path.display()));
                    if file.exists() {
                        std::fs::remove_file(&file)?;
                    }
                }
                Ok(())
            }
            Db::Postgres(pg) => pg.recreate(),
        }
    }

    /// Drops a PostgreSQL database; SQLite files go with the temp dir.
    pub fn cleanup(&self) -> Result<()> {
        match self {
            Db::Sqlite(_) => Ok(()),
            Db::Postgres(pg) => pg.drop_database(),
        }
    }

    /// Inserts `n` users after the bootstrapped ones; the server must be stopped.
    pub fn seed(&self, n: u64, abort: &Abort) -> Result<IdRange> {
        match self {
            Db::Sqlite(path) => seed_sqlite(path, n, abort),
            Db::Postgres(pg) => pg.seed(n, abort),
        }
    }
}

/// Seconds since the epoch, for the seeded dates.
pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// The chunks `lo..=hi` of at most [`CHUNK`] ids covering `range`.
pub fn chunks(range: IdRange) -> impl Iterator<Item = (u64, u64)> {
    (range.first..=range.last).step_by(CHUNK as usize).map(move |lo| (lo, (lo + CHUNK - 1).min(range.last)))
}

const SQLITE_USERS: &str = "\
WITH RECURSIVE s(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM s WHERE i < ?2) \
INSERT INTO users (id, login, login_lc, is_admin, version, active, name, last_name, email, \
    date_register, timestamp_x, last_activity_date, name_lc, last_name_lc, email_lc, roleid) \
SELECT i, 'user' || i || '@example.com', 'user' || i || '@example.com', 0, 1, 1, \
    'Name' || i, 'Last' || i, 'user' || i || '@example.com', ?3, ?3, ?3, \
    'name' || i, 'last' || i, 'user' || i || '@example.com', 1 FROM s";

fn seed_sqlite(path: &PathBuf, n: u64, abort: &Abort) -> Result<IdRange> {
    let mut c = Connection::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    c.busy_timeout(std::time::Duration::from_secs(10))?;
    // Only this bulk load runs unsynced; the server opens the file with FULL again.
    c.pragma_update(None, "synchronous", "OFF")?;
    c.pragma_update(None, "cache_size", -262_144)?;
    let max: i64 = c.query_row("SELECT coalesce(max(id), 0) FROM users", [], |r| r.get(0))?;
    let range = IdRange { first: max as u64 + 1, last: max as u64 + n };
    let dept: i64 = c
        .query_row("SELECT min(id) FROM departments", [], |r| r.get(0))
        .context("no department: was the database bootstrapped?")?;
    let group: Option<i64> =
        c.query_row("SELECT id FROM usergroups WHERE id = 13", [], |r| r.get(0)).optional().unwrap_or(None);
    let now = unix_now();
    for (lo, hi) in chunks(range) {
        abort.check()?;
        let tx = c.transaction()?;
        tx.execute(SQLITE_USERS, params![lo, hi, now])?;
        tx.execute(
            "INSERT INTO user_departments (user_id, dept_id) \
             SELECT id, ?3 FROM users WHERE id BETWEEN ?1 AND ?2",
            params![lo, hi, dept],
        )?;
        if let Some(group) = group {
            tx.execute(
                "INSERT INTO users_groups (usrgrpid, userid) \
                 SELECT ?3, id FROM users WHERE id BETWEEN ?1 AND ?2",
                params![lo, hi, group],
            )?;
        }
        tx.commit()?;
    }
    // Leave an empty WAL: every change so far is in the database file.
    c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    drop(c);
    // On disk before any phase: otherwise the server's first checkpoint would pay for
    // writing back the whole unsynced load (hundreds of MB at 1M users) while measured.
    File::open(path).and_then(|f| f.sync_all()).with_context(|| format!("cannot sync {}", path.display()))?;
    Ok(range)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunking_covers_the_range() {
        let c: Vec<_> = chunks(IdRange { first: 3, last: 250_002 }).collect();
        assert_eq!(c, [(3, 100_002), (100_003, 200_002), (200_003, 250_002)]);
        let c: Vec<_> = chunks(IdRange { first: 3, last: 3 }).collect();
        assert_eq!(c, [(3, 3)]);
    }

    #[test]
    fn seeds_a_bootstrapped_sqlite_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let c = Connection::open(&path).unwrap();
        c.pragma_update(None, "journal_mode", "WAL").unwrap();
        for sql in [
            include_str!("../../../roster-store/migrations/sqlite/0001_init.sql"),
            include_str!("../../../roster-store/migrations/sqlite/0002_zabbix.sql"),
            "INSERT INTO departments (name) VALUES ('Company');",
            "INSERT INTO users (login, login_lc) VALUES ('Admin', 'admin'), ('guest', 'guest');",
        ] {
            c.execute_batch(sql).unwrap();
        }
        drop(c);
        let db = Db::Sqlite(path.clone());
        let range = db.seed(5, &Abort::default()).unwrap();
        assert_eq!(range, IdRange { first: 3, last: 7 });
        let c = Connection::open(&path).unwrap();
        let row: (String, String, String, i64) = c
            .query_row("SELECT login, name, email_lc, active FROM users WHERE id = 7", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .unwrap();
        assert_eq!(row, ("user7@example.com".into(), "Name7".into(), "user7@example.com".into(), 1));
        let depts: i64 = c.query_row("SELECT count(*) FROM user_departments", [], |r| r.get(0)).unwrap();
        let groups: i64 = c.query_row("SELECT count(*) FROM users_groups", [], |r| r.get(0)).unwrap();
        assert_eq!((depts, groups), (5, 5));
    }
}
