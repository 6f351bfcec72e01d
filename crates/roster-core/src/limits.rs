//! Limits shared by every server on one database: the request-rate bucket and the
//! operating-time account, kept by the backend when several processes serve one
//! directory (PostgreSQL). A backend for one process (SQLite) offers none, and the
//! faces keep their own in memory.

use async_trait::async_trait;

use crate::store::StoreResult;

/// What an operating-time account holds at a moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OperatingUsage {
    /// Handler seconds counted in the last 600 s.
    pub seconds: f64,
    /// Unix time of the oldest counted minute bucket's first call, if any counts.
    pub oldest: Option<f64>,
}

#[async_trait]
pub trait SharedLimits: Send + Sync {
    /// Leaky bucket of `key` (draining `rate` per second, holding `burst`): counts one
    /// request at `now` unless the bucket is full; true when admitted. A refused request
    /// does not fill the bucket.
    async fn admit(&self, key: &str, rate: f64, burst: f64, now: f64) -> StoreResult<bool>;

    /// Adds `secs` of handler time for `key` at `now` (one-minute buckets that expire 600 s
    /// after their first call) and returns the account after it.
    async fn add_operating(&self, key: &str, now: f64, secs: f64) -> StoreResult<OperatingUsage>;

    /// The account of `key` at `now`.
    async fn operating(&self, key: &str, now: f64) -> StoreResult<OperatingUsage>;
}
