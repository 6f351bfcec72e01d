//! `SharedLimits` on PostgreSQL: the rate and operating-time limits of every server on one
//! database, each check one statement (one round trip) with no lock held between calls.
//! A leaky bucket is one row per key, drained and filled by a single upsert that admits
//! only when the drained level + 1 fits the burst; operating time is kept in minute rows.

use async_trait::async_trait;
use roster_core::limits::{OperatingUsage, SharedLimits};
use roster_core::StoreResult;

use super::sql::col;
use super::{query, PgStore};

/// Runtime state, not directory data: created (if missing) at every start, outside the
/// numbered schema, and never copied by `migrate`.
pub(crate) const TABLES: &str = "
CREATE TABLE IF NOT EXISTS limit_buckets (
    key TEXT PRIMARY KEY,
    level DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS limit_operating (
    key TEXT NOT NULL,
    minute BIGINT NOT NULL,
    first_call DOUBLE PRECISION NOT NULL,
    seconds DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (key, minute)
);
";

/// A bucket stops counting this long after its first call.
const WINDOW: f64 = 600.0;

/// Drains the stored level to `$2` (clock skew between servers never drains backwards) and
/// counts this request; the WHERE refuses a full bucket and leaves its row untouched.
const ADMIT: &str = "INSERT INTO limit_buckets AS b (key, level, updated_at) \
     SELECT $1, 1, $2 WHERE 1 <= CAST($4 AS DOUBLE PRECISION) \
     ON CONFLICT (key) DO UPDATE SET \
       level = greatest(b.level - greatest($2 - b.updated_at, 0) * $3, 0) + 1, \
       updated_at = greatest(b.updated_at, $2) \
     WHERE greatest(b.level - greatest($2 - b.updated_at, 0) * $3, 0) + 1 <= $4 \
     RETURNING 1";

/// Removes the key's expired minutes, adds to the current one (first call kept), and
/// returns that minute with the sum and oldest first call of the others still counting
/// (the statement's snapshot does not see its own upsert, hence the two parts). `$5` is
/// the cut-off: minutes whose first call is at or before it no longer count.
const ADD: &str = "WITH gone AS ( \
       DELETE FROM limit_operating WHERE key = $1 AND first_call <= $5), \
     upsert AS ( \
       INSERT INTO limit_operating (key, minute, first_call, seconds) VALUES ($1, $3, $2, $4) \
       ON CONFLICT (key, minute) DO UPDATE SET seconds = limit_operating.seconds + excluded.seconds \
       RETURNING minute, first_call, seconds) \
     SELECT u.seconds, u.first_call, \
       (SELECT sum(o.seconds) FROM limit_operating o WHERE o.key = $1 AND o.minute <> u.minute \
          AND o.first_call > $5), \
       (SELECT min(o.first_call) FROM limit_operating o WHERE o.key = $1 AND o.minute <> u.minute \
          AND o.first_call > $5) \
     FROM upsert u";

const USAGE: &str = "SELECT sum(seconds), min(first_call) FROM limit_operating \
     WHERE key = $1 AND first_call > $2";

#[async_trait]
impl SharedLimits for PgStore {
    async fn admit(&self, key: &str, rate: f64, burst: f64, now: f64) -> StoreResult<bool> {
        let (c, _) = self.client().await?;
        Ok(!query(&c, ADMIT, &[&key, &now, &rate, &burst]).await?.is_empty())
    }

    async fn add_operating(&self, key: &str, now: f64, secs: f64) -> StoreResult<OperatingUsage> {
        let (c, _) = self.client().await?;
        let minute = (now / 60.0).floor() as i64;
        let rows = query(&c, ADD, &[&key, &now, &minute, &secs, &(now - WINDOW)]).await?;
        let Some(r) = rows.first() else {
            return self.operating(key, now).await;
        };
        let (mine, first): (f64, f64) = (col(r, 0)?, col(r, 1)?);
        let (others, oldest): (Option<f64>, Option<f64>) = (col(r, 2)?, col(r, 3)?);
        Ok(OperatingUsage {
            seconds: mine + others.unwrap_or(0.0),
            oldest: Some(oldest.map_or(first, |o| o.min(first))),
        })
    }

    async fn operating(&self, key: &str, now: f64) -> StoreResult<OperatingUsage> {
        let (c, _) = self.client().await?;
        let rows = query(&c, USAGE, &[&key, &(now - WINDOW)]).await?;
        let (seconds, oldest): (Option<f64>, Option<f64>) = match rows.first() {
            Some(r) => (col(r, 0)?, col(r, 1)?),
            None => (None, None),
        };
        Ok(OperatingUsage { seconds: seconds.unwrap_or(0.0), oldest })
    }
}
