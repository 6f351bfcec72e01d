//! The operating-time account (spec 1.5, 5): handler seconds per (credential, method)
//! summed in one-minute buckets; a bucket stops counting 10 minutes after its first call.
//! Calls shorter than the minimum are not counted. Over the limit, calls are refused.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use roster_core::Credential;

const WINDOW_SECS: f64 = 600.0;
const BUCKET_SECS: f64 = 60.0;

#[derive(Debug, Clone, Copy)]
pub struct OperatingConfig {
    /// Seconds per method per credential in the window; above it calls get 429.
    pub limit: f64,
    /// Calls this short or shorter are not counted.
    pub min_call: f64,
}

impl Default for OperatingConfig {
    fn default() -> Self {
        OperatingConfig { limit: 480.0, min_call: 0.1 }
    }
}

/// The state of one account at a moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    pub operating: f64,
    /// Unix time when the oldest counted bucket expires, or `now + 600` when none counts.
    pub reset_at: i64,
}

#[derive(Default)]
struct Account {
    /// (time of the bucket's first call, seconds) oldest first.
    buckets: VecDeque<(f64, f64)>,
}

impl Account {
    fn expire(&mut self, now: f64) {
        while self.buckets.front().is_some_and(|(t, _)| now - t >= WINDOW_SECS) {
            self.buckets.pop_front();
        }
    }

    fn usage(&self, now: f64) -> Usage {
        let operating = self.buckets.iter().map(|(_, s)| s).sum();
        let reset_at = self.buckets.front().map_or(now + WINDOW_SECS, |(t, _)| t + WINDOW_SECS);
        Usage { operating, reset_at: reset_at.floor() as i64 }
    }
}

impl Operating {
    /// The account before a call, kept by the backend when it shares limits.
    pub async fn check_shared(
        &self,
        shared: Option<&dyn roster_core::limits::SharedLimits>,
        who: &Credential,
        method: &str,
        now: f64,
    ) -> Result<Usage, Usage> {
        let Some(shared) = shared else { return self.check(who, method, now) };
        let usage = match shared.operating(&account_key(who, method), now).await {
            Ok(u) => to_usage(u, now),
            Err(_) => return self.check(who, method, now),
        };
        if usage.operating > self.config.limit {
            Err(usage)
        } else {
            Ok(usage)
        }
    }

    /// After a call, counted in the backend's account when it shares limits.
    pub async fn record_shared(
        &self,
        shared: Option<&dyn roster_core::limits::SharedLimits>,
        who: &Credential,
        method: &str,
        now: f64,
        secs: f64,
    ) -> Usage {
        let Some(shared) = shared else { return self.record(who, method, now, secs) };
        let key = account_key(who, method);
        let outcome = if secs <= self.config.min_call {
            shared.operating(&key, now).await
        } else {
            shared.add_operating(&key, now, secs).await
        };
        match outcome {
            Ok(u) => to_usage(u, now),
            Err(_) => self.record(who, method, now, secs),
        }
    }
}

fn account_key(who: &Credential, method: &str) -> String {
    format!("{}:{method}", crate::ratelimit::credential_key(who))
}

fn to_usage(u: roster_core::limits::OperatingUsage, now: f64) -> Usage {
    Usage { operating: u.seconds, reset_at: (u.oldest.unwrap_or(now) + WINDOW_SECS).floor() as i64 }
}

pub struct Operating {
    config: OperatingConfig,
    accounts: Mutex<HashMap<(Credential, String), Account>>,
}

impl Operating {
    pub fn new(config: OperatingConfig) -> Operating {
        Operating { config, accounts: Mutex::new(HashMap::new()) }
    }

    /// Before a call: its usage now, or `Err(usage)` when the method is blocked.
    pub fn check(&self, who: &Credential, method: &str, now: f64) -> Result<Usage, Usage> {
        let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        let usage = match accounts.get_mut(&(who.clone(), method.to_owned())) {
            Some(acc) => {
                acc.expire(now);
                acc.usage(now)
            }
            None => Usage { operating: 0.0, reset_at: (now + WINDOW_SECS).floor() as i64 },
        };
        if usage.operating > self.config.limit {
            Err(usage)
        } else {
            Ok(usage)
        }
    }

    /// After a call that took `secs`: counts it if long enough and returns the new usage.
    pub fn record(&self, who: &Credential, method: &str, now: f64, secs: f64) -> Usage {
        let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        if secs <= self.config.min_call {
            return match accounts.get_mut(&(who.clone(), method.to_owned())) {
                Some(acc) => {
                    acc.expire(now);
                    acc.usage(now)
                }
                None => Usage { operating: 0.0, reset_at: (now + WINDOW_SECS).floor() as i64 },
            };
        }
        let acc = accounts.entry((who.clone(), method.to_owned())).or_default();
        acc.expire(now);
        match acc.buckets.back_mut() {
            Some((t, s)) if now - *t < BUCKET_SECS => *s += secs,
            _ => acc.buckets.push_back((now, secs)),
        }
        acc.usage(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster_core::WebhookId;

    #[test]
    fn counts_long_calls_expires_and_blocks() {
        let op = Operating::new(OperatingConfig { limit: 1.0, min_call: 0.1 });
        let who = Credential::Webhook(WebhookId::new(1).unwrap());
        assert_eq!(op.record(&who, "user.get", 1000.0, 0.05).operating, 0.0);
        let u = op.record(&who, "user.get", 1000.0, 0.6);
        assert_eq!((u.operating, u.reset_at), (0.6, 1600));
        op.record(&who, "user.get", 1070.0, 0.6);
        assert!(op.check(&who, "user.get", 1071.0).is_err());
        assert!(op.check(&who, "user.update", 1071.0).is_ok());
        let later = op.check(&who, "user.get", 1601.0).unwrap();
        assert!((later.operating - 0.6).abs() < 1e-9);
        assert_eq!(later.reset_at, 1670);
    }
}
