//! Self-throttling: a leaky bucket over requests (Bitrix24 cloud's own model, 50 burst and
//! 2 per second by default) and the Bitrix24 operating-time guard, which reads
//! `time.operating` per method and waits for `operating_reset_at` before the portal would
//! answer 429 OPERATION_TIME_LIMIT. No locks are held across an await.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::time::Instant;

/// Each request adds 1 to a level that drains at `per_second`; a request that would lift
/// the level above `burst` waits until it fits.
#[derive(Debug)]
pub(crate) struct LeakyBucket {
    burst: f64,
    per_second: f64,
    state: Mutex<(f64, Instant)>,
}

impl LeakyBucket {
    pub(crate) fn new(burst: f64, per_second: f64) -> LeakyBucket {
        LeakyBucket { burst, per_second, state: Mutex::new((0.0, Instant::now())) }
    }

    /// Waits until one more request fits, then counts it.
    pub(crate) async fn acquire(&self) {
        loop {
            let wait = {
                let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                let drained = now.duration_since(st.1).as_secs_f64() * self.per_second;
                st.0 = (st.0 - drained).max(0.0);
                st.1 = now;
                if st.0 + 1.0 <= self.burst {
                    st.0 += 1.0;
                    return;
                }
                (st.0 + 1.0 - self.burst) / self.per_second
            };
            tracing::debug!(wait_s = wait, "rate limit: waiting");
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
    }
}

/// What the last answer said about a method's operating time.
#[derive(Debug, Clone, Copy)]
struct Account {
    operating: f64,
    reset_at: Option<f64>,
}

/// Per-method operating-time accounts, fed from every reply's `time` (and a batch's
/// `result_time`). Blocks a method once its `operating` is within 5 s of the limit, until
/// `operating_reset_at` + 1 s (5 s when the portal did not say), as the JS SDK does.
#[derive(Debug)]
pub(crate) struct OperatingGuard {
    limit: f64,
    accounts: Mutex<HashMap<String, Account>>,
}

impl OperatingGuard {
    pub(crate) fn new(limit: f64) -> OperatingGuard {
        OperatingGuard { limit, accounts: Mutex::new(HashMap::new()) }
    }

    /// Records a `time` object answered for `method`.
    pub(crate) fn record(&self, method: &str, time: &Value) {
        let Some(operating) = time.get("operating").and_then(Value::as_f64) else {
            return;
        };
        let reset_at = time.get("operating_reset_at").and_then(Value::as_f64);
        let mut map = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(method.to_ascii_lowercase(), Account { operating, reset_at });
    }

    /// How long a call of `method` should wait now (zero when it may go).
    pub(crate) fn delay(&self, method: &str) -> Duration {
        let map = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        let Some(acc) = map.get(&method.to_ascii_lowercase()) else {
            return Duration::ZERO;
        };
        if acc.operating < self.limit - 5.0 {
            return Duration::ZERO;
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        match acc.reset_at {
            Some(at) if at + 1.0 > now => Duration::from_secs_f64(at + 1.0 - now),
            Some(_) => Duration::ZERO,
            None => Duration::from_secs(5),
        }
    }

    /// Waits out the block on `method`, if any, and forgets the account afterwards.
    pub(crate) async fn wait(&self, method: &str) {
        let d = self.delay(method);
        if !d.is_zero() {
            tracing::info!(method, wait_s = d.as_secs_f64(), "operating-time limit near: waiting");
            tokio::time::sleep(d).await;
            self.accounts.lock().unwrap_or_else(|p| p.into_inner()).remove(&method.to_ascii_lowercase());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test(start_paused = true)]
    async fn bucket_lets_a_burst_through_then_drains() {
        let b = LeakyBucket::new(5.0, 2.0);
        let start = Instant::now();
        for _ in 0..5 {
            b.acquire().await;
        }
        assert!(start.elapsed() < Duration::from_millis(1), "the burst is free");
        for _ in 0..4 {
            b.acquire().await;
        }
        let took = start.elapsed().as_secs_f64();
        assert!((1.9..2.2).contains(&took), "4 more at 2/s take 2 s, took {took}");
    }

    #[test]
    fn operating_guard_blocks_near_the_limit() {
        let g = OperatingGuard::new(480.0);
        g.record("user.get", &json!({"operating": 10.0}));
        assert_eq!(g.delay("USER.GET"), Duration::ZERO);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
        g.record("user.get", &json!({"operating": 476.0, "operating_reset_at": now + 3.0}));
        let d = g.delay("user.get");
        assert!(d > Duration::from_secs(3) && d <= Duration::from_secs(4), "{d:?}");
        assert_eq!(g.delay("user.update"), Duration::ZERO);
        g.record("user.add", &json!({"operating": 479.0}));
        assert_eq!(g.delay("user.add"), Duration::from_secs(5));
    }
}
