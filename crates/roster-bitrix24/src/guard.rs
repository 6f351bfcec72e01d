//! Brute-force protection for credentials: failed webhook or token checks are counted
//! per client address; an address with too many failures in a window is refused
//! (HTTP 401 `NO_AUTH_FOUND`, as for any wrong credential) until the window passes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GuardConfig {
    /// Failures allowed per address in `window` before it is refused.
    pub max_failures: u32,
    pub window: Duration,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig { max_failures: 20, window: Duration::from_secs(60) }
    }
}

/// Failure counts per address: (failures, start of the window).
pub struct AuthGuard {
    config: GuardConfig,
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl AuthGuard {
    pub fn new(config: GuardConfig) -> AuthGuard {
        AuthGuard { config, failures: Mutex::new(HashMap::new()) }
    }

    /// Whether `ip` may try a credential now.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(&ip) {
            Some((_, since)) if since.elapsed() >= self.config.window => {
                map.remove(&ip);
                true
            }
            Some((n, _)) => *n < self.config.max_failures,
            None => true,
        }
    }

    /// Counts a failed credential from `ip`.
    pub fn failed(&self, ip: IpAddr) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            // Forget expired entries rather than grow without bound.
            let window = self.config.window;
            map.retain(|_, (_, since)| since.elapsed() < window);
        }
        let entry = map.entry(ip).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= self.config.window {
            *entry = (0, Instant::now());
        }
        entry.0 = entry.0.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_failures_per_address() {
        let g = AuthGuard::new(GuardConfig { max_failures: 3, window: Duration::from_secs(60) });
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert!(g.allows(a));
            g.failed(a);
        }
        assert!(!g.allows(a));
        assert!(g.allows(b));
        let quick = AuthGuard::new(GuardConfig { max_failures: 1, window: Duration::from_millis(1) });
        quick.failed(a);
        std::thread::sleep(Duration::from_millis(5));
        assert!(quick.allows(a));
    }
}
