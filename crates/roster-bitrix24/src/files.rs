//! Stored files (photos, logos) served back at unguessable URLs:
//! `/upload/roster/{id}/{key}/{name}`. The key is compared in constant time.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use roster_core::{FileId, FileRef};

use crate::Bitrix;

pub fn url(base: &str, f: &FileRef) -> String {
    let name: String = form_urlencoded::byte_serialize(f.name.as_bytes()).collect();
    format!("{base}/upload/roster/{}/{}/{name}", f.id, f.key)
}

pub async fn serve(State(bx): State<Arc<Bitrix>>, Path((id, key, _name)): Path<(i64, String, String)>) -> Response {
    let Some(id) = FileId::new(id) else { return StatusCode::NOT_FOUND.into_response() };
    match bx.dir.store().file(id).await {
        Ok(Some(f)) if roster_core::credentials::constant_time_eq(f.key.as_bytes(), key.as_bytes()) => {
            let mut resp = f.data.into_response();
            let h = resp.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&f.content_type) {
                h.insert(header::CONTENT_TYPE, v);
            }
            h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
            resp
        }
        Ok(_) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "reading a file failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
