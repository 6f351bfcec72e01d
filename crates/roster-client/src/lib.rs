//! `roster-client`: a Rust client for the two APIs Roster speaks, usable against Roster
//! itself and against real portals. [`Bitrix24`] talks to a webhook URL or a portal with an
//! OAuth token; [`Zabbix`] talks JSON-RPC and detects the server's version and auth style.
//! Both share one transport ([`ClientOptions`]): timeout, attempts with backoff on 5xx,
//! 429 and QUERY_LIMIT_EXCEEDED, a leaky-bucket rate limit, proxy and TLS settings.
//! The `roster` CLI is a thin layer over this crate, and the tests use it too.

mod bitrix;
mod error;
mod http;
mod options;
#[cfg(feature = "test-support")]
pub mod testing;
mod throttle;
mod zabbix;

pub use bitrix::batch::{http_build_query, BatchItem, Call};
pub use bitrix::oint;
pub use bitrix::{Bitrix24, Envelope, PAGE};
pub use error::{ApiError, Error};
pub use http::Reply;
pub use options::{Backoff, ClientOptions, Proxy, Rate, Tls};
pub use zabbix::{Version, Zabbix, ZabbixAuth};

/// A JSON object, key order kept (requests are sent in the order the caller built them).
pub type Map = serde_json::Map<String, serde_json::Value>;

/// Result of every fallible call in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
