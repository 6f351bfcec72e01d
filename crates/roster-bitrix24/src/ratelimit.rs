//! The request-rate limit (spec 5): a leaky bucket per webhook or application. Each
//! request adds 1; the level drains at `rate` per second; a request that finds the
//! bucket full is refused (503 `QUERY_LIMIT_EXCEEDED`) and does not fill it.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Instant;

use roster_core::Credential;

/// Drain rate and burst size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub rate: f64,
    pub burst: f64,
}

impl RateLimit {
    /// Bitrix24's plans other than Enterprise: 2 per second, burst 50.
    pub const STANDARD: RateLimit = RateLimit { rate: 2.0, burst: 50.0 };
    /// Enterprise: 5 per second, burst 250.
    pub const ENTERPRISE: RateLimit = RateLimit { rate: 5.0, burst: 250.0 };
}

/// `off`, `standard`, `enterprise` or `RATE/BURST` (e.g. `2/50`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateSetting(pub Option<RateLimit>);

impl FromStr for RateSetting {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "off" | "" => Ok(RateSetting(None)),
            "standard" => Ok(RateSetting(Some(RateLimit::STANDARD))),
            "enterprise" => Ok(RateSetting(Some(RateLimit::ENTERPRISE))),
            other => {
                let (rate, burst) = other.split_once('/').ok_or("expected off, standard, enterprise or RATE/BURST")?;
                let rate: f64 = rate.trim().parse().map_err(|_| format!("bad rate {rate:?}"))?;
                let burst: f64 = burst.trim().parse().map_err(|_| format!("bad burst {burst:?}"))?;
                if !(rate > 0.0 && burst >= 1.0 && rate.is_finite() && burst.is_finite()) {
                    return Err("rate must be > 0 and burst >= 1".into());
                }
                Ok(RateSetting(Some(RateLimit { rate, burst })))
            }
        }
    }
}

/// The key of a credential in shared limit tables: `webhook:7`, `app:3`.
pub fn credential_key(who: &Credential) -> String {
    match who {
        Credential::Webhook(id) => format!("webhook:{id}"),
        Credential::App(id) => format!("app:{id}"),
    }
}

/// Buckets per credential.
pub struct Limiter {
    limit: Option<RateLimit>,
    buckets: Mutex<HashMap<Credential, (f64, Instant)>>,
}

impl Limiter {
    pub fn new(limit: Option<RateLimit>) -> Limiter {
        Limiter { limit, buckets: Mutex::new(HashMap::new()) }
    }

    /// Counts one request; false when the bucket is full (the request is not counted).
    pub fn admit(&self, who: &Credential) -> bool {
        self.admit_at(who, Instant::now())
    }

    /// Like [`Limiter::admit`], in the backend's shared buckets when it keeps them (several
    /// servers on one database count together). A backend failure lets the request pass.
    pub async fn admit_shared(&self, who: &Credential, shared: Option<&dyn roster_core::limits::SharedLimits>) -> bool {
        let (Some(limit), Some(shared)) = (self.limit, shared) else { return self.admit(who) };
        let now = chrono::Utc::now();
        let now = now.timestamp() as f64 + f64::from(now.timestamp_subsec_micros()) / 1e6;
        match shared.admit(&credential_key(who), limit.rate, limit.burst, now).await {
            Ok(admitted) => admitted,
            Err(e) => {
                tracing::warn!(error = %e, "shared rate limit unavailable; request admitted");
                true
            }
        }
    }

    fn admit_at(&self, who: &Credential, now: Instant) -> bool {
        let Some(limit) = self.limit else { return true };
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let (level, last) = buckets.entry(who.clone()).or_insert((0.0, now));
        let drained = now.saturating_duration_since(*last).as_secs_f64() * limit.rate;
        *level = (*level - drained).max(0.0);
        *last = now;
        if *level + 1.0 > limit.burst {
            return false;
        }
        *level += 1.0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster_core::WebhookId;
    use std::time::Duration;

    #[test]
    fn burst_then_drain() {
        let l = Limiter::new(Some(RateLimit { rate: 2.0, burst: 3.0 }));
        let who = Credential::Webhook(WebhookId::new(1).unwrap());
        let t0 = Instant::now();
        assert!(l.admit_at(&who, t0) && l.admit_at(&who, t0) && l.admit_at(&who, t0));
        assert!(!l.admit_at(&who, t0));
        // A refused request does not fill the bucket: half a second frees one place.
        assert!(l.admit_at(&who, t0 + Duration::from_millis(500)));
        assert!(!l.admit_at(&who, t0 + Duration::from_millis(500)));
        let other = Credential::App(7);
        assert!(l.admit_at(&other, t0));
    }

    #[test]
    fn settings_parse() {
        assert_eq!("standard".parse::<RateSetting>().unwrap().0, Some(RateLimit::STANDARD));
        assert_eq!("off".parse::<RateSetting>().unwrap().0, None);
        assert_eq!("10/20".parse::<RateSetting>().unwrap().0, Some(RateLimit { rate: 10.0, burst: 20.0 }));
        assert!("1/0".parse::<RateSetting>().is_err());
    }
}
