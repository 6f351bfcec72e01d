//! PostgreSQL runs: the `--database-url` database is dropped and created again for
//! each size (through the `postgres` maintenance database of the same server; its
//! name must contain "bench"), seeded with server-side multi-row INSERTs over
//! `generate_series`, and dropped at the end. tokio-postgres on a one-off runtime.

use std::future::Future;

use anyhow::{bail, Context, Result};
use tokio_postgres::{Client, Config, NoTls};

use super::db::{chunks, unix_now, IdRange};
use super::Abort;

/// A PostgreSQL database the bench owns.
pub struct Pg {
    pub url: String,
    name: String,
    config: Config,
}

const PG_USERS: &str = "\
INSERT INTO users (id, login, login_lc, is_admin, version, active, name, last_name, email, \
    date_register, timestamp_x, last_activity_date, name_lc, last_name_lc, email_lc, roleid) \
SELECT i, 'user' || i || '@example.com', 'user' || i || '@example.com', false, 1, true, \
    'Name' || i, 'Last' || i, 'user' || i || '@example.com', $3, $3, $3, \
    'name' || i, 'last' || i, 'user' || i || '@example.com', 1 \
FROM generate_series($1::bigint, $2::bigint) AS s(i)";

fn block_on<F: Future>(f: F) -> Result<F::Output> {
    let rt =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start a tokio runtime")?;
    Ok(rt.block_on(f))
}

async fn connect(config: &Config) -> Result<Client> {
    let (client, conn) = config.connect(NoTls).await.context("cannot connect to PostgreSQL")?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// Whether a table exists in the current schema.
async fn has_table(client: &Client, table: &str) -> Result<bool> {
    let row = client.query_one("SELECT to_regclass($1) IS NOT NULL", &[&table]).await?;
    Ok(row.get(0))
}

impl Pg {
    /// Checks the URL; refuses database names without "bench" (they get dropped).
    pub fn new(url: &str) -> Result<Pg> {
        let config: Config = url.parse().context("bad --database-url")?;
        let name = config.get_dbname().context("--database-url names no database")?.to_string();
        let plain = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !plain || !name.to_ascii_lowercase().contains("bench") {
            bail!(
                "refusing database {name:?}: the bench drops and recreates it, so its name must \
                 contain \"bench\" and only letters, digits and _ (e.g. roster_bench)"
            );
        }
        Ok(Pg { url: url.to_string(), name, config })
    }

    fn maintenance(&self) -> Config {
        let mut admin = self.config.clone();
        admin.dbname("postgres");
        admin
    }

    /// `DROP DATABASE IF EXISTS ... WITH (FORCE)`, then `CREATE DATABASE`.
    pub fn recreate(&self) -> Result<()> {
        let admin = self.maintenance();
        let name = &self.name;
        block_on(async move {
            let c = connect(&admin).await?;
            c.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await?;
            c.batch_execute(&format!("CREATE DATABASE \"{name}\"")).await?;
            Ok::<_, anyhow::Error>(())
        })?
        .with_context(|| format!("cannot recreate database {name}"))
    }

    pub fn drop_database(&self) -> Result<()> {
        let admin = self.maintenance();
        let name = &self.name;
        block_on(async move {
            let c = connect(&admin).await?;
            c.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await?;
            Ok::<_, anyhow::Error>(())
        })?
        .with_context(|| format!("cannot drop database {name}"))
    }

    /// `server_version` of the server, for the report.
    pub fn server_version(&self) -> Result<String> {
        let admin = self.maintenance();
        block_on(async move {
            let c = connect(&admin).await?;
            let row = c.query_one("SHOW server_version", &[]).await?;
            Ok::<_, anyhow::Error>(row.get::<_, String>(0))
        })?
    }

    /// Inserts `n` users after the bootstrapped ones, then ANALYZE.
    pub fn seed(&self, n: u64, abort: &Abort) -> Result<IdRange> {
        let config = self.config.clone();
        block_on(async move {
            let mut c = connect(&config).await?;
            let max: i64 = c.query_one("SELECT coalesce(max(id), 0) FROM users", &[]).await?.get(0);
            let range = IdRange { first: max as u64 + 1, last: max as u64 + n };
            let dept: i64 = c
                .query_one("SELECT min(id) FROM departments", &[])
                .await?
                .try_get(0)
                .context("no department: was the database bootstrapped?")?;
            let groups = has_table(&c, "users_groups").await?
                && has_table(&c, "usergroups").await?
                && c.query_opt("SELECT 1 FROM usergroups WHERE id = 13", &[]).await?.is_some();
            let now = unix_now();
            for (lo, hi) in chunks(range) {
                abort.check()?;
                let (lo, hi) = (lo as i64, hi as i64);
                let tx = c.transaction().await?;
                tx.execute(PG_USERS, &[&lo, &hi, &now]).await?;
                tx.execute(
                    "INSERT INTO user_departments (user_id, dept_id) \
                     SELECT i, $3 FROM generate_series($1::bigint, $2::bigint) AS s(i)",
                    &[&lo, &hi, &dept],
                )
                .await?;
                if groups {
                    tx.execute(
                        "INSERT INTO users_groups (usrgrpid, userid) \
                         SELECT 13, i FROM generate_series($1::bigint, $2::bigint) AS s(i)",
                        &[&lo, &hi],
                    )
                    .await?;
                }
                tx.commit().await?;
            }
            c.batch_execute(
                "SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users)); \
                 ANALYZE",
            )
            .await?;
            Ok::<_, anyhow::Error>(range)
        })?
        .context("seeding PostgreSQL failed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A [`Pg`] for a database of this test process on the `ROSTER_TEST_PG_URL`
    /// server; `None` (test skipped) when no server answers, unless `ROSTER_REQUIRE_PG=1`.
    fn test_pg() -> Option<Pg> {
        let server = std::env::var("ROSTER_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let mut config: Config = server.parse().unwrap();
        config.connect_timeout(std::time::Duration::from_secs(3));
        let name = format!("roster_bench_selftest_{}", std::process::id());
        let pg = Pg { url: String::new(), name: name.clone(), config: config.clone() };
        if let Err(e) = block_on(connect(&pg.maintenance())).unwrap() {
            if std::env::var("ROSTER_REQUIRE_PG").as_deref() == Ok("1") {
                panic!("PostgreSQL not reachable at {server}: {e:#} (ROSTER_REQUIRE_PG=1)");
            }
            println!("SKIPPED: PostgreSQL not reachable at {server}: {e:#}");
            return None;
        }
        config.dbname(&name);
        Some(Pg { url: String::new(), name, config })
    }

    #[test]
    fn seeds_a_bootstrapped_postgres_database() {
        let Some(pg) = test_pg() else { return };
        pg.recreate().unwrap();
        let config = pg.config.clone();
        block_on(async move {
            let c = connect(&config).await.unwrap();
            c.batch_execute(include_str!("../../../roster-store/migrations/postgres/0001_init.sql")).await.unwrap();
            c.batch_execute(
                "INSERT INTO departments (name) VALUES ('Company'); \
                 INSERT INTO users (login, login_lc) VALUES ('Admin', 'admin'), ('guest', 'guest');",
            )
            .await
            .unwrap();
        })
        .unwrap();
        let seeded = pg.seed(5, &Abort::default());
        let config = pg.config.clone();
        let check = block_on(async move {
            let c = connect(&config).await.unwrap();
            let row =
                c.query_one("SELECT login, name, last_name_lc, active FROM users WHERE id = 7", &[]).await.unwrap();
            let depts: i64 = c.query_one("SELECT count(*) FROM user_departments", &[]).await.unwrap().get(0);
            let next: i64 = c
                .query_one("INSERT INTO users (login, login_lc) VALUES ('n', 'n') RETURNING id", &[])
                .await
                .unwrap()
                .get(0);
            let got: (String, String, String, bool) = (row.get(0), row.get(1), row.get(2), row.get(3));
            (got, depts, next)
        });
        pg.drop_database().unwrap();
        assert_eq!(seeded.unwrap(), IdRange { first: 3, last: 7 });
        let (row, depts, next) = check.unwrap();
        assert_eq!(row, ("user7@example.com".into(), "Name7".into(), "last7".into(), true));
        assert_eq!((depts, next), (5, 8));
    }

    #[test]
    fn names_must_say_bench() {
        assert!(Pg::new("postgres://postgres@127.0.0.1:5432/roster_bench").is_ok());
        assert!(Pg::new("postgres://postgres@127.0.0.1:5432/roster").is_err());
        assert!(Pg::new("postgres://postgres@127.0.0.1:5432/postgres").is_err());
        assert!(Pg::new("postgres://postgres@127.0.0.1/x\"bench").is_err());
        assert!(Pg::new("postgres://postgres@127.0.0.1").is_err());
    }
}
