//! The Bitrix24 REST face of Roster: `/rest/...` URL forms, PHP-style parameters,
//! webhook authentication, the method table, `batch`, the `result`/`time` envelope and
//! a portal's error codes. Rules live in `roster_core::Directory`; this crate only
//! translates between the wire and the core.

pub mod envelope;
pub mod error;
pub mod fields;
pub mod files;
pub mod filter;
pub mod input;
pub mod methods;
pub mod operating;
pub mod params;
pub mod php_json;
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
}

impl Default for BitrixConfig {
    fn default() -> Self {
        BitrixConfig {
            max_body: 16 * 1024 * 1024,
            public_url: None,
            operating: OperatingConfig::default(),
            default_language: "en".into(),
        }
    }
}

/// The face's shared state.
pub struct Bitrix {
    pub dir: Directory,
    pub config: BitrixConfig,
    pub operating: Operating,
}

impl Bitrix {
    pub fn new(dir: Directory, config: BitrixConfig) -> Bitrix {
        let operating = Operating::new(config.operating);
        Bitrix { dir, config, operating }
    }
}

/// Routes of the face: `/rest/...` and the file URLs it hands out.
pub fn router(bx: Arc<Bitrix>) -> Router {
    Router::new()
        .route("/rest/{*tail}", any(rest))
        .route("/rest", any(rest_root))
        .route("/upload/roster/{id}/{key}/{name}", get(files::serve))
        .with_state(bx)
}

async fn rest_root() -> Response {
    render_error(&BxError::method_not_found(), Format::Json)
}

async fn rest(State(bx): State<Arc<Bitrix>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let tail = parts.uri.path().strip_prefix("/rest/").unwrap_or("");
    let route = transport::route(tail);
    let format = route.format;
    let body = match axum::body::to_bytes(Body::new(body), bx.config.max_body).await {
        Ok(b) => b,
        Err(_) => return render_error(&BxError::body_too_large(bx.config.max_body), format),
    };
    let base_url = base_url(&bx.config, &parts.headers);
    match handle(&bx, &route, parts.uri.query(), &parts.headers, &body, &base_url).await {
        Ok(Handled::Json(status, body, processing)) => render(status, &body, format, processing),
        Ok(Handled::Raw(ctype, bytes)) => raw_response(&ctype, bytes),
        Err(e) => render_error(&e, format),
    }
}

/// What a handled call sends back.
enum Handled {
    Json(StatusCode, Json, Option<f64>),
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
) -> Result<Handled, BxError> {
    let mut raw = transport::collect(query, headers, body).await?;
    if methods::need_of(&route.method).is_none() {
        return Err(BxError::method_not_found());
    }
    let actor = authenticate(bx, route, &raw, headers).await?;
    for key in transport::RESERVED {
        if *key != "start" {
            raw.remove(*key);
        }
    }
    let call = Call { bx, actor: &actor, base_url };
    let (reply, timing) = methods::run_timed(&call, &route.method, Params(raw)).await?;
    if let Some((ctype, bytes)) = reply.raw {
        return Ok(Handled::Raw(ctype, bytes));
    }
    Ok(Handled::Json(StatusCode::OK, success_body(&reply, &timing), Some(timing.processing)))
}

/// Resolves the caller: the webhook in the path, or `aplogin`/`ap` parameters; a token
/// (`auth`, `access_token`, `Authorization: Bearer`) is not known here and is refused.
async fn authenticate(bx: &Bitrix, route: &Route, params: &Map<String, Json>, headers: &HeaderMap) -> Result<Actor, BxError> {
    let text = |k: &str| params.get(k).and_then(input::text_of);
    let webhook = route.webhook.clone().or_else(|| Some((text("aplogin")?, text("ap")?)));
    if let Some((user, code)) = webhook {
        return bx.dir.authenticate_webhook(&user, &code).await.map_err(|e| match e {
            AuthError::BadCredentials => BxError::no_auth(),
            AuthError::Inactive => BxError::invalid_credentials(),
            AuthError::Core(c) => BxError::from_core(c),
        });
    }
    let _bearer = headers.get(header::AUTHORIZATION);
    Err(BxError::no_auth())
}

fn base_url(config: &BitrixConfig, headers: &HeaderMap) -> String {
    if let Some(url) = &config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    format!("http://{host}")
}
