//! The Bitrix24 REST face of Roster: `/rest/...` URL forms, PHP-style parameters,
//! webhook authentication, the method table, `batch`, the `result`/`time` envelope and
//! a portal's error codes. Rules live in `roster_core::Directory`; this crate only
//! translates between the wire and the core.

pub mod delivery;
pub mod envelope;
pub mod error;
pub mod fields;
pub mod files;
pub mod filter;
pub mod guard;
pub mod input;
pub mod methods;
pub mod oauth;
pub mod operating;
pub mod params;
pub mod php_json;
pub mod ratelimit;
pub mod transport;
pub mod uf;
pub mod xml;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{any, get};
use axum::Router;
use roster_core::oauth::App;
use roster_core::{Actor, AuthError, Directory};
use serde_json::{Map, Value as Json};

use envelope::{render, render_error, success_body, Format};
use error::BxError;
use input::Params;
use methods::Call;
use operating::{Operating, OperatingConfig};
use transport::Route;

/// Settings of the Bitrix24 face.
#[derive(Debug, Clone)]
pub struct BitrixConfig {
    /// Largest accepted request body in bytes.
    pub max_body: usize,
    /// Base of absolute file URLs; when None, taken from the request's Host.
    pub public_url: Option<String>,
    pub operating: OperatingConfig,
    /// Language of labels when a call names none (`LANG`).
    pub default_language: String,
    /// Refuse REST calls that did not arrive over TLS (`INVALID_REQUEST`).
    pub require_https: bool,
    /// Request-rate limit per webhook or application; None is off.
    pub rate_limit: Option<ratelimit::RateLimit>,
    /// Size limits of uploaded files and images.
    pub files: input::FileLimits,
    /// Most commands in one `batch` (Bitrix24: 50).
    pub max_batch: usize,
    /// Deepest nesting of request parameters (`a[b][c]...`).
    pub max_depth: usize,
    /// Longest a REST call may take, body included.
    pub request_timeout: std::time::Duration,
    /// Failed credentials allowed per client address before it is refused for a while.
    pub auth_guard: guard::GuardConfig,
}

impl Default for BitrixConfig {
    fn default() -> Self {
        BitrixConfig {
            max_body: 16 * 1024 * 1024,
            public_url: None,
            operating: OperatingConfig::default(),
            default_language: "en".into(),
            require_https: false,
            rate_limit: None,
            files: input::FileLimits::default(),
            max_batch: methods::batch::MAX_COMMANDS,
            max_depth: 32,
            request_timeout: std::time::Duration::from_secs(60),
            auth_guard: guard::GuardConfig::default(),
        }
    }
}

/// The face's shared state.
pub struct Bitrix {
    pub dir: Directory,
    pub config: BitrixConfig,
    pub operating: Operating,
    pub limiter: ratelimit::Limiter,
    pub guard: guard::AuthGuard,
    /// This server's own base URL as first seen in a request (for event payloads).
    seen_base: std::sync::OnceLock<String>,
}

impl Bitrix {
    pub fn new(dir: Directory, config: BitrixConfig) -> Bitrix {
        let operating = Operating::new(config.operating);
        let limiter = ratelimit::Limiter::new(config.rate_limit);
        let guard = guard::AuthGuard::new(config.auth_guard);
        Bitrix { dir, config, operating, limiter, guard, seen_base: std::sync::OnceLock::new() }
    }

    /// `--public-url`, else the scheme and Host of the first request served.
    pub fn base_url_for_events(&self) -> String {
        match &self.config.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => self.seen_base.get().cloned().unwrap_or_else(|| "http://localhost".into()),
        }
    }
}

/// Marks a request that arrived over TLS (the server's HTTPS listener inserts it).
#[derive(Debug, Clone, Copy)]
pub struct Secure;

pub fn is_secure(ext: &axum::http::Extensions) -> bool {
    ext.get::<Secure>().is_some()
}

/// Routes of the face: `/rest/...` and the file URLs it hands out.
pub fn router(bx: Arc<Bitrix>) -> Router {
    Router::new()
        .route("/rest/{*tail}", any(rest))
        .route("/rest", any(rest_root))
        .route("/rest/", any(rest_root))
        .route("/upload/roster/{id}/{key}/{name}", get(files::serve))
        .route("/oauth/token", any(oauth::token))
        .route("/oauth/token/", any(oauth::token))
        .with_state(bx)
}

async fn rest_root() -> Response {
    render_error(&BxError::method_not_found(), Format::Json)
}

async fn rest(State(bx): State<Arc<Bitrix>>, req: Request) -> Response {
    let deadline = bx.config.request_timeout;
    let format = transport::route(req.uri().path().strip_prefix("/rest/").unwrap_or("")).format;
    match tokio::time::timeout(deadline, rest_inner(&bx, req)).await {
        Ok(resp) => resp,
        Err(_) => render_error(
            &BxError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "REQUEST_TIMEOUT",
                format!("The request took longer than {} seconds", deadline.as_secs()),
            ),
            format,
        ),
    }
}

async fn rest_inner(bx: &Arc<Bitrix>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let tail = parts.uri.path().strip_prefix("/rest/").unwrap_or("");
    let route = transport::route(tail);
    let format = route.format;
    let body = match axum::body::to_bytes(Body::new(body), bx.config.max_body).await {
        Ok(b) => b,
        Err(_) => return render_error(&BxError::body_too_large(bx.config.max_body), format),
    };
    let secure = is_secure(&parts.extensions);
    let base_url = base_url(&bx.config, &parts.headers, secure);
    if bx.seen_base.get().is_none() {
        let _ = bx.seen_base.set(base_url.clone());
    }
    if bx.config.require_https && !secure && methods::need_of(&route.method).is_some() {
        return render_error(&BxError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "Https required"), format);
    }
    let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    match handle(bx, &route, parts.uri.query(), &parts.headers, &body, &base_url, peer).await {
        Ok(Handled::Json(status, body, processing, etag)) => {
            let mut resp = render(status, &body, format, processing);
            if let Some(Ok(v)) = etag.map(|v| axum::http::HeaderValue::from_str(&format!("\"{v}\""))) {
                resp.headers_mut().insert(header::ETAG, v);
            }
            resp
        }
        Ok(Handled::Raw(ctype, bytes)) => raw_response(&ctype, bytes),
        Err(e) => render_error(&e, format),
    }
}

/// What a handled call sends back.
enum Handled {
    Json(StatusCode, Json, Option<f64>, Option<i64>),
    Raw(String, Vec<u8>),
}

fn raw_response(ctype: &str, bytes: Vec<u8>) -> Response {
    use axum::response::IntoResponse;
    let mut resp = bytes.into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(ctype) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, axum::http::HeaderValue::from_static("nosniff"));
    resp
}

async fn handle(
    bx: &Bitrix,
    route: &Route,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    base_url: &str,
    peer: Option<std::net::IpAddr>,
) -> Result<Handled, BxError> {
    let limits = params::Limits { max_depth: bx.config.max_depth, ..params::Limits::default() };
    let mut raw = transport::collect(query, headers, body, &limits).await?;
    if methods::need_of(&route.method).is_none() {
        return Err(BxError::method_not_found());
    }
    if peer.is_some_and(|ip| !bx.guard.allows(ip)) {
        return Err(BxError::no_auth());
    }
    let (actor, app) = match authenticate(bx, route, &raw, headers).await {
        Ok(found) => found,
        Err(e) => {
            if let (Some(ip), 401 | 403) = (peer, e.status.as_u16()) {
                bx.guard.failed(ip);
            }
            return Err(e);
        }
    };
    let if_match = headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().trim_start_matches("W/").trim_matches('"').parse::<i64>().ok());
    if !bx.limiter.admit_shared(&actor.credential, bx.dir.store().shared_limits()).await {
        return Err(BxError::new(StatusCode::SERVICE_UNAVAILABLE, "QUERY_LIMIT_EXCEEDED", "Too many requests"));
    }
    for key in transport::RESERVED {
        if *key != "start" {
            raw.remove(*key);
        }
    }
    let call = Call { bx, actor: &actor, app: app.as_ref(), base_url, if_match, peer };
    let (reply, timing) = methods::run_timed(&call, &route.method, Params(raw)).await?;
    if let Some((ctype, bytes)) = reply.raw {
        return Ok(Handled::Raw(ctype, bytes));
    }
    Ok(Handled::Json(StatusCode::OK, success_body(&reply, &timing), Some(timing.processing), reply.etag))
}

/// Resolves the caller: the webhook in the path or `aplogin`/`ap` parameters, else an
/// OAuth access token in `auth`, `access_token` or `Authorization: Bearer`.
async fn authenticate(
    bx: &Bitrix,
    route: &Route,
    params: &Map<String, Json>,
    headers: &HeaderMap,
) -> Result<(Actor, Option<App>), BxError> {
    let text = |k: &str| params.get(k).and_then(input::text_of).filter(|s| !s.is_empty());
    let webhook = route.webhook.clone().or_else(|| Some((text("aplogin")?, text("ap")?)));
    if let Some((user, code)) = webhook {
        let actor = bx.dir.authenticate_webhook(&user, &code).await.map_err(auth_error)?;
        return Ok((actor, None));
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .map(|t| t.trim().to_owned());
    match text("auth").or_else(|| text("access_token")).or(bearer) {
        Some(token) => {
            let (actor, app) = bx.dir.authenticate_token(&token).await.map_err(auth_error)?;
            Ok((actor, Some(app)))
        }
        None => Err(BxError::no_auth()),
    }
}

fn auth_error(e: AuthError) -> BxError {
    match e {
        AuthError::BadCredentials => BxError::no_auth(),
        AuthError::Inactive => BxError::invalid_credentials(),
        AuthError::Expired => {
            BxError::new(StatusCode::UNAUTHORIZED, "expired_token", "The access token provided has expired")
        }
        AuthError::AppNotFound => {
            BxError::new(StatusCode::UNAUTHORIZED, "APPLICATION_NOT_FOUND", "Application not found")
        }
        AuthError::UserAccess => BxError::new(
            StatusCode::FORBIDDEN,
            "user_access_error",
            "The user does not have access to the application.",
        ),
        AuthError::Core(c) => BxError::from_core(c),
    }
}

pub(crate) fn base_url(config: &BitrixConfig, headers: &HeaderMap, secure: bool) -> String {
    if let Some(url) = &config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let scheme = if secure { "https" } else { "http" };
    format!("{scheme}://{host}")
}
