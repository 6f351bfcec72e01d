//! The OAuth server endpoint `/oauth/token/` (spec 4.2): `grant_type=authorization_code`
//! and `grant_type=refresh_token` (the refresh token rotates), answered in Bitrix24's
//! shape. Parameters come from the query string or a form/JSON body.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use roster_core::oauth::{GrantError, IssuedTokens};
use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};

use crate::input::text_of;
use crate::{transport, Bitrix};

pub async fn token(State(bx): State<Arc<Bitrix>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 64 * 1024).await else {
        return grant_error(StatusCode::BAD_REQUEST, "invalid_request", "Request body too large");
    };
    let params = match transport::collect(parts.uri.query(), &parts.headers, &body, &Default::default()).await {
        Ok(p) => p,
        Err(e) => return grant_error(StatusCode::BAD_REQUEST, "invalid_request", &e.description),
    };
    let get = |k: &str| params.get(k).and_then(text_of).unwrap_or_default();
    let (client_id, secret) = (get("client_id"), get("client_secret"));
    let outcome = match get("grant_type").as_str() {
        "authorization_code" => bx.dir.exchange_code(&client_id, &secret, &get("code")).await,
        "refresh_token" => bx.dir.refresh_tokens(&client_id, &secret, &get("refresh_token")).await,
        "" => return grant_error(StatusCode::BAD_REQUEST, "invalid_request", "grant_type is required"),
        _ => return grant_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "Unsupported grant type"),
    };
    let base = crate::base_url(&bx.config, &parts.headers, crate::is_secure(&parts.extensions));
    match outcome {
        Ok(t) => (StatusCode::OK, axum::Json(token_json(&t, &base))).into_response(),
        Err(GrantError::InvalidClient) => grant_error(StatusCode::UNAUTHORIZED, "invalid_client", "Invalid client"),
        Err(GrantError::InvalidGrant) => grant_error(StatusCode::BAD_REQUEST, "invalid_grant", "Invalid grant"),
        Err(GrantError::UserAccess) => {
            grant_error(StatusCode::FORBIDDEN, "user_access_error", "The user does not have access to the application.")
        }
    }
}

/// The token answer: Bitrix24's keys, endpoints pointing at this server.
pub fn token_json(t: &IssuedTokens, base: &str) -> Json {
    let domain = base.split("://").nth(1).unwrap_or(base);
    json!({
        "access_token": t.access_token,
        "expires": t.expires,
        "expires_in": t.expires_in,
        "scope": t.scopes.to_list(),
        "domain": domain,
        "server_endpoint": format!("{base}/oauth/rest/"),
        "status": "L",
        "client_endpoint": format!("{base}/rest/"),
        "member_id": member_id(domain),
        "user_id": t.user.get(),
        "refresh_token": t.refresh_token,
    })
}

/// A stable portal id for this host, as Bitrix24's `member_id` is.
pub fn member_id(domain: &str) -> String {
    let digest = Sha256::digest(format!("roster-member:{domain}").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn grant_error(status: StatusCode, code: &str, description: &str) -> Response {
    let mut resp = (status, axum::Json(json!({"error": code, "error_description": description}))).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    resp
}
