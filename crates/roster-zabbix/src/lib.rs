//! The Zabbix JSON-RPC face of Roster: `POST .../api_jsonrpc.php` under any prefix, the
//! JSON-RPC envelope with Zabbix's exact checks and texts, session and API-token
//! authentication, and the user API (`user.*`, `usergroup.*`, `role.get`, `token.*`, ...).
//! Rules about users live in `roster_core::Directory`; this crate translates the wire.

pub mod auth;
pub mod envelope;
pub mod error;
pub mod methods;
pub mod php_array;
pub mod php_json;
pub mod policy;
pub mod validate;
pub mod version;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use roster_core::Directory;

pub use error::{ZbxError, ZbxResult};
pub use version::ApiVersion;

/// Settings of the Zabbix face.
#[derive(Debug, Clone)]
pub struct ZabbixConfig {
    /// The version `apiinfo.version` reports; it also picks the behaviour profile.
    pub version: ApiVersion,
    /// Largest accepted request body in bytes (a larger one reads as no JSON).
    pub max_body: usize,
    /// Longest a call may take, body included; then an application error.
    pub request_timeout: std::time::Duration,
}

impl Default for ZabbixConfig {
    fn default() -> Self {
        ZabbixConfig {
            version: ApiVersion::DEFAULT,
            max_body: 16 * 1024 * 1024,
            request_timeout: std::time::Duration::from_secs(60),
        }
    }
}

/// The face's shared state.
pub struct Zabbix {
    pub dir: Directory,
    pub config: ZabbixConfig,
}

impl Zabbix {
    pub fn new(dir: Directory, config: ZabbixConfig) -> Zabbix {
        Zabbix { dir, config }
    }

    pub fn version(&self) -> ApiVersion {
        self.config.version
    }
}

/// What the transport tells a call besides its body.
#[derive(Debug, Clone, Default)]
pub struct RequestCtx {
    /// The `Authorization: Bearer` value, when sent.
    pub bearer: Option<String>,
    /// The client's address (for `attempt_ip` and `userip`), empty when unknown.
    pub ip: String,
}

/// Routes of the face: every path ending in `api_jsonrpc.php` (`/api_jsonrpc.php`,
/// `/zabbix/api_jsonrpc.php`, ...); other paths under it answer 404 with no body.
/// More specific routes of other faces (`/rest/...`) take precedence when merged.
pub fn router(zbx: Arc<Zabbix>) -> Router {
    Router::new().route("/{*path}", any(endpoint)).with_state(zbx)
}

/// The CORS headers Zabbix puts on every answer.
fn cors(headers: &mut HeaderMap) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("Content-Type"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST"));
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("1000"));
}

fn empty(status: StatusCode, json: bool) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = status;
    cors(resp.headers_mut());
    if json {
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    resp
}

/// The content types `api_jsonrpc.php` accepts (parameters after `;` ignored).
fn accepted_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let base = value.split(';').next().unwrap_or("");
    matches!(base, "application/json-rpc" | "application/json" | "application/jsonrequest")
}

async fn endpoint(State(zbx): State<Arc<Zabbix>>, req: Request) -> Response {
    if !req.uri().path().ends_with("api_jsonrpc.php") {
        let mut resp = Response::new(Body::empty());
        *resp.status_mut() = StatusCode::NOT_FOUND;
        return resp;
    }
    if req.method() == Method::OPTIONS {
        return empty(StatusCode::OK, false);
    }
    if !accepted_type(req.headers()) {
        return empty(StatusCode::PRECONDITION_FAILED, false);
    }
    let ctx = RequestCtx { bearer: bearer(req.headers()), ip: client_ip(&req) };
    let deadline = zbx.config.request_timeout;
    let answer = tokio::time::timeout(deadline, async {
        // An unreadable or oversized body reads as an empty one: a parse error, as PHP gives.
        let body = axum::body::to_bytes(req.into_body(), zbx.config.max_body).await.unwrap_or_default();
        envelope::handle(&zbx, &body, &ctx).await
    })
    .await
    .unwrap_or_else(|_| {
        // A slow client or a call past the deadline: an application error, never silence.
        envelope::Answer::Body(serde_json::json!({
            "jsonrpc": "2.0",
            "error": {"code": -32500, "message": "Application error.", "data": "Request timed out."},
            "id": null,
        }))
    });
    match answer {
        envelope::Answer::Empty => empty(StatusCode::OK, true),
        envelope::Answer::Fatal => empty(StatusCode::INTERNAL_SERVER_ERROR, false),
        envelope::Answer::Body(json) => {
            let mut resp = Response::new(Body::from(php_json::to_vec(&json)));
            cors(resp.headers_mut());
            resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            resp
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned()).filter(|t| !t.is_empty())
}

fn client_ip(req: &Request) -> String {
    req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()).unwrap_or_default()
}
