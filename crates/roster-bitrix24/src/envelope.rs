//! The reply envelope: `result`, `total`, `next` and the `time` object on success, the
//! error body on failure, in JSON (PHP-escaped) or XML, with a portal's headers.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use crate::error::BxError;
use crate::{php_json, xml};

/// What a method returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub result: Value,
    pub total: Option<u64>,
    pub next: Option<u64>,
    /// The body is `result` alone with HTTP 200 and no `time` (a handler-returned error,
    /// as `user.update` does for `insufficient_scope`).
    pub bare: bool,
    /// A raw body (content type, bytes) instead of JSON, as `user.userfield.file.get` sends.
    pub raw: Option<(String, Vec<u8>)>,
    /// A version to send as `ETag` (a read of exactly one user).
    pub etag: Option<i64>,
}

impl Reply {
    pub fn new(result: Value) -> Reply {
        Reply { result, total: None, next: None, bare: false, raw: None, etag: None }
    }

    /// A list page: `total` when counted, `next` only while rows remain.
    pub fn page(items: Vec<Value>, offset: u64, total: Option<u64>) -> Reply {
        let shown = items.len() as u64;
        if items.is_empty() {
            // A portal sends no `total` for an empty result.
            return Reply::new(Value::Array(items));
        }
        let next = total.and_then(|t| (offset + shown < t).then_some(offset + shown));
        Reply { result: Value::Array(items), total, next, bare: false, raw: None, etag: None }
    }

    pub fn bare_error(code: &str, description: &str) -> Reply {
        Reply { bare: true, ..Reply::new(json!({"error": code, "error_description": description})) }
    }
}

/// Timings of one call, reported in `time`.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub start: DateTime<Utc>,
    pub finish: DateTime<Utc>,
    /// Seconds spent in the method handler.
    pub processing: f64,
    /// Handler seconds of this method for this credential in the current window.
    pub operating: f64,
    /// Unix time at which the window's oldest counted call stops counting.
    pub operating_reset_at: i64,
}

impl Timing {
    pub fn to_json(&self) -> Value {
        let start = unix_f64(self.start);
        let finish = unix_f64(self.finish);
        json!({
            "start": start,
            "finish": finish,
            "duration": round6(finish - start),
            "processing": round6(self.processing),
            "date_start": iso(self.start),
            "date_finish": iso(self.finish),
            "operating": round6(self.operating),
            "operating_reset_at": self.operating_reset_at,
        })
    }
}

fn unix_f64(t: DateTime<Utc>) -> f64 {
    round6(t.timestamp() as f64 + f64::from(t.timestamp_subsec_micros()) / 1e6)
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// `date('c')`: ISO-8601 with a colon offset.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// Output format chosen by the URL suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

/// The success body as a JSON value.
pub fn success_body(reply: &Reply, timing: &Timing) -> Value {
    if reply.bare {
        return reply.result.clone();
    }
    let mut body = Map::new();
    body.insert("result".into(), reply.result.clone());
    if let Some(t) = reply.total {
        body.insert("total".into(), t.into());
    }
    if let Some(n) = reply.next {
        body.insert("next".into(), n.into());
    }
    body.insert("time".into(), timing.to_json());
    Value::Object(body)
}

pub fn error_body(e: &BxError) -> Value {
    let mut body = Map::new();
    body.insert("error".into(), Value::String(e.code.clone()));
    body.insert("error_description".into(), Value::String(e.description.clone()));
    if let Some(arg) = &e.argument {
        body.insert("argument".into(), Value::String(arg.clone()));
    }
    Value::Object(body)
}

/// Renders a body with a portal's headers.
pub fn render(status: StatusCode, body: &Value, format: Format, processing: Option<f64>) -> Response {
    let (bytes, ctype) = match format {
        Format::Json => (php_json::to_vec(body), "application/json; charset=utf-8"),
        Format::Xml => (xml::to_xml(body), "text/xml; charset=utf-8"),
    };
    let mut resp = (status, bytes).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("origin, content-type, accept"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Some(p) = processing {
        if let Ok(v) = HeaderValue::from_str(&format!("{p:.10}")) {
            h.insert("x-bitrix-rest-time", v);
        }
    }
    resp
}

pub fn render_error(e: &BxError, format: Format) -> Response {
    render(e.status, &error_body(e), format, None)
}
