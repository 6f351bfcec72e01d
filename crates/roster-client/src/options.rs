//! Client options shared by the Bitrix24 and Zabbix clients: timeout, attempts and
//! backoff, proxy, TLS and the request-rate limit. Plain data with defaults; `http.rs`
//! turns them into a reqwest client. Parsing of the CLI's proxy and rate syntax lives here
//! so the library and the CLI accept the same strings.

use std::str::FromStr;
use std::time::Duration;

use serde_json::Value;

use crate::Error;

/// Everything that shapes how requests are sent. `Default` gives: 60 s timeout, 3 attempts,
/// backoff 0.5 s doubling up to 30 s, no proxy, verified TLS, [`Rate::Auto`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Whole-request timeout (connect, send, answer). A request that times out is retried
    /// like a transport error while attempts remain.
    pub timeout: Duration,
    /// Attempts in all (1 = no retry). Retried: transport errors, timeouts, HTTP 5xx, HTTP 429
    /// and a `QUERY_LIMIT_EXCEEDED` / `OPERATION_TIME_LIMIT` error code whatever the status.
    pub attempts: u32,
    pub backoff: Backoff,
    pub proxy: Option<Proxy>,
    pub tls: Tls,
    pub rate: Rate,
    /// Bitrix24 only: seconds of `time.operating` per method after which calls of that
    /// method wait for `operating_reset_at` (portals block at 480 s). `None` turns it off.
    pub operating_limit: Option<f64>,
    pub user_agent: String,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(60),
            attempts: 3,
            backoff: Backoff::default(),
            proxy: None,
            tls: Tls::default(),
            rate: Rate::Auto,
            operating_limit: Some(480.0),
            user_agent: format!("roster-client/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// Delay before the n-th retry: `base * 2^(n-1)`, at most `max`, with ±10 % jitter.
/// A `Retry-After` header (seconds) on the failed answer wins, also capped at `max`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { base: Duration::from_millis(500), max: Duration::from_secs(30) }
    }
}

impl Backoff {
    /// The delay after the `failure`-th failed attempt (1-based).
    pub fn delay(&self, failure: u32) -> Duration {
        let exp = 2f64.powi(failure.saturating_sub(1).min(30) as i32);
        let raw = (self.base.as_secs_f64() * exp).min(self.max.as_secs_f64());
        let jitter = 1.0 + (rand::random::<f64>() - 0.5) * 0.2;
        Duration::from_secs_f64((raw * jitter).min(self.max.as_secs_f64()))
    }
}

/// The client's own request-rate limit, a leaky bucket: `burst` requests go at once, then
/// `per_second`. Bitrix24 cloud answers 503 QUERY_LIMIT_EXCEEDED past 50 / 2 per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    /// 50 / 2 per second for a remote Bitrix24 host; off for loopback hosts (a local Roster
    /// has no cloud limit) and for Zabbix (which has none).
    Auto,
    Off,
    Limit {
        burst: f64,
        per_second: f64,
    },
}

impl Rate {
    /// Bitrix24 cloud's non-Enterprise limit.
    pub const PORTAL: Rate = Rate::Limit { burst: 50.0, per_second: 2.0 };

    /// `(burst, per_second)` for a Bitrix24 host, or `None` when unlimited.
    pub fn for_bitrix_host(self, host: &str) -> Option<(f64, f64)> {
        match self {
            Rate::Off => None,
            Rate::Limit { burst, per_second } => Some((burst, per_second)),
            Rate::Auto if is_loopback(host) => None,
            Rate::Auto => Some((50.0, 2.0)),
        }
    }

    /// `(burst, per_second)` for a Zabbix host: only an explicit limit applies.
    pub fn for_zabbix(self) -> Option<(f64, f64)> {
        match self {
            Rate::Limit { burst, per_second } => Some((burst, per_second)),
            Rate::Auto | Rate::Off => None,
        }
    }
}

/// `auto`, `off`, or `BURST/PER_SECOND` such as `50/2`.
impl FromStr for Rate {
    type Err = Error;
    fn from_str(s: &str) -> Result<Rate, Error> {
        match s.trim() {
            "auto" => Ok(Rate::Auto),
            "off" | "0" | "none" => Ok(Rate::Off),
            other => {
                let bad =
                    || Error::Config(format!("rate {other:?}: expected auto, off or BURST/PER_SECOND (e.g. 50/2)"));
                let (b, r) = other.split_once('/').ok_or_else(bad)?;
                let burst: f64 = b.trim().parse().map_err(|_| bad())?;
                let per_second: f64 = r.trim().parse().map_err(|_| bad())?;
                if burst < 1.0 || per_second <= 0.0 {
                    return Err(bad());
                }
                Ok(Rate::Limit { burst, per_second })
            }
        }
    }
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// TLS settings. Certificates are checked against the bundled web roots plus `ca_certs_pem`.
#[derive(Debug, Clone, Default)]
pub struct Tls {
    /// Accept any certificate (self-signed test servers). Never on by default.
    pub accept_invalid_certs: bool,
    /// Extra trusted roots, each a PEM file's content.
    pub ca_certs_pem: Vec<Vec<u8>>,
}

/// A proxy for every request: `http://`, `https://`, `socks5://` or `socks5h://` (DNS
/// through the proxy), with optional credentials (sent as `Proxy-Authorization: Basic` to
/// HTTP proxies, as the SOCKS5 username/password to SOCKS proxies).
#[derive(Clone, PartialEq)]
pub struct Proxy {
    /// `scheme://host:port`, without credentials.
    pub url: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password never reaches logs or --debug output.
        f.debug_struct("Proxy").field("url", &self.url).field("username", &self.username).finish_non_exhaustive()
    }
}

impl Proxy {
    /// Parses a proxy URL (`http://user:pass@host:3128`; no scheme means http) or oint's
    /// structure `{"Protocol":"socks5","Host":"h","Port":1080,"User":"u","Password":"p"}`.
    pub fn parse(s: &str) -> Result<Proxy, Error> {
        let s = s.trim();
        if s.starts_with('{') {
            let v: Value = serde_json::from_str(s).map_err(|e| Error::Config(format!("proxy structure: {e}")))?;
            return Proxy::from_structure(&v);
        }
        let with_scheme = if s.contains("://") { s.to_string() } else { format!("http://{s}") };
        let url = reqwest::Url::parse(&with_scheme).map_err(|e| Error::Config(format!("proxy {s:?}: {e}")))?;
        let scheme = url.scheme();
        if !matches!(scheme, "http" | "https" | "socks5" | "socks5h") {
            return Err(Error::Config(format!("proxy scheme {scheme:?}: use http, https, socks5 or socks5h")));
        }
        let host = url.host_str().ok_or_else(|| Error::Config(format!("proxy {s:?} has no host")))?;
        let port = url.port_or_known_default().unwrap_or(if scheme.starts_with("socks") { 1080 } else { 80 });
        let decode = |x: &str| percent_decode(x);
        Ok(Proxy {
            url: format!("{scheme}://{host}:{port}"),
            username: Some(url.username()).filter(|u| !u.is_empty()).map(decode),
            password: url.password().map(decode),
        })
    }

    /// oint's `proxy` structure; keys are matched case-insensitively.
    pub fn from_structure(v: &Value) -> Result<Proxy, Error> {
        let obj = v.as_object().ok_or_else(|| Error::Config("proxy structure must be an object".into()))?;
        let get = |k: &str| {
            obj.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)).map(|(_, v)| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        };
        let host =
            get("Host").filter(|h| !h.is_empty()).ok_or_else(|| Error::Config("proxy structure needs Host".into()))?;
        let scheme = get("Protocol").unwrap_or_else(|| "http".into()).to_ascii_lowercase();
        let port = get("Port").unwrap_or_else(|| if scheme.starts_with("socks") { "1080".into() } else { "80".into() });
        let mut p = Proxy::parse(&format!("{scheme}://{host}:{port}"))?;
        p.username = get("User").filter(|u| !u.is_empty());
        p.password = get("Password").filter(|u| !u.is_empty());
        Ok(p)
    }
}

fn percent_decode(s: &str) -> String {
    let bytes: Vec<u8> = form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned().into_bytes())
        .unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_else(|_| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_forms() {
        let p = Proxy::parse("http://u%40x:p%3Aw@127.0.0.1:3128").unwrap();
        assert_eq!(
            (p.url.as_str(), p.username.as_deref(), p.password.as_deref()),
            ("http://127.0.0.1:3128", Some("u@x"), Some("p:w"))
        );
        assert_eq!(Proxy::parse("proxy.local:8080").unwrap().url, "http://proxy.local:8080");
        assert_eq!(Proxy::parse("socks5h://h").unwrap().url, "socks5h://h:1080");
        let s = Proxy::parse(r#"{"Protocol":"socks5","Host":"h","Port":9050,"User":"a","Password":"b"}"#).unwrap();
        assert_eq!((s.url.as_str(), s.username.as_deref()), ("socks5://h:9050", Some("a")));
        assert!(Proxy::parse("ftp://h:21").is_err());
        assert!(!format!("{s:?}").contains("\"b\""));
    }

    #[test]
    fn rate_forms() {
        assert_eq!("off".parse::<Rate>().unwrap(), Rate::Off);
        assert_eq!("50/2".parse::<Rate>().unwrap(), Rate::PORTAL);
        assert!("fast".parse::<Rate>().is_err());
        assert_eq!(Rate::Auto.for_bitrix_host("127.0.0.1"), None);
        assert_eq!(Rate::Auto.for_bitrix_host("[::1]"), None);
        assert_eq!(Rate::Auto.for_bitrix_host("b24-x.bitrix24.by"), Some((50.0, 2.0)));
        assert_eq!(Rate::Auto.for_zabbix(), None);
    }

    #[test]
    fn backoff_grows_and_caps() {
        let b = Backoff { base: Duration::from_millis(100), max: Duration::from_millis(350) };
        assert!(b.delay(1) <= Duration::from_millis(110) && b.delay(1) >= Duration::from_millis(90));
        assert!(b.delay(2) >= Duration::from_millis(180));
        assert!(b.delay(10) <= Duration::from_millis(350));
    }
}
