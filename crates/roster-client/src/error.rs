//! `Error`: what a call can fail with. Transport problems (after every attempt), answers
//! that are not JSON, and [`ApiError`]: the server answered with its protocol's error
//! (Bitrix24 `error`/`error_description`, Zabbix `error{code,message,data}`). An
//! `ApiError` keeps the whole body, so a CLI can still print the server's JSON.

use std::time::Duration;

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A bad URL, proxy, certificate or option; nothing was sent.
    #[error("{0}")]
    Config(String),
    /// The request could not be sent or its answer not read, on every attempt.
    #[error("request to {url} failed after {attempts} attempt(s)")]
    Transport {
        url: String,
        attempts: u32,
        #[source]
        source: reqwest::Error,
    },
    /// No complete answer within the timeout, on every attempt.
    #[error("no answer from {url} within {after:?} (after {attempts} attempt(s))")]
    Timeout { url: String, after: Duration, attempts: u32 },
    /// The server answered, but not with JSON (a proxy's or web server's error page).
    #[error("{url} answered HTTP {status} with a body that is not JSON: {snippet:?}")]
    NotJson { url: String, status: u16, snippet: String },
    /// The server answered with its protocol's error (boxed: it carries the whole body).
    #[error(transparent)]
    Api(Box<ApiError>),
    /// A well-formed answer of an unexpected shape.
    #[error("unexpected answer to {method}: {detail}")]
    Shape { method: String, detail: String },
}

impl Error {
    /// The API error inside, if this is one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Error {
        Error::Api(Box::new(e))
    }
}

/// An error answered by the server. For Bitrix24, `code` is the `error` string (which may be
/// empty, as `user.userfield.*` sends) and `description` the `error_description`; for
/// Zabbix, `code` is the JSON-RPC code and `description` is "message data".
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{method}: {}{description}{}", code_prefix(.code), status_suffix(*.status))]
pub struct ApiError {
    pub method: String,
    pub status: u16,
    pub code: String,
    pub description: String,
    /// The whole answer body.
    pub body: Value,
}

/// The status only when it says something: an error inside an HTTP 200 (batch items,
/// Zabbix, `insufficient_scope`) is shown without it.
fn status_suffix(status: u16) -> String {
    if status == 200 {
        String::new()
    } else {
        format!(" (HTTP {status})")
    }
}

fn code_prefix(code: &str) -> String {
    if code.is_empty() {
        String::new()
    } else {
        format!("{code}: ")
    }
}

impl ApiError {
    /// Reads a Bitrix24 error body (`error` + `error_description`, or the REST v3 form
    /// `error: {code, message}`); `None` when the body carries no error.
    pub fn from_bitrix(method: &str, status: u16, body: &Value) -> Option<ApiError> {
        let err = body.get("error")?;
        let (code, description) = match err {
            Value::String(code) => {
                let desc = body.get("error_description").and_then(Value::as_str).unwrap_or_default();
                (code.clone(), desc.to_string())
            }
            Value::Object(o) => {
                (o.get("code").map(scalar).unwrap_or_default(), o.get("message").map(scalar).unwrap_or_default())
            }
            Value::Null => return None,
            other => (scalar(other), String::new()),
        };
        Some(ApiError { method: method.to_string(), status, code, description, body: body.clone() })
    }

    /// Reads a Zabbix JSON-RPC error member; `None` when the body carries none.
    pub fn from_zabbix(method: &str, status: u16, body: &Value) -> Option<ApiError> {
        let err = body.get("error")?.as_object()?;
        let message = err.get("message").map(scalar).unwrap_or_default();
        let data = err.get("data").map(scalar).unwrap_or_default();
        let description = if data.is_empty() { message } else { format!("{message} {data}") };
        let code = err.get("code").map(scalar).unwrap_or_default();
        Some(ApiError { method: method.to_string(), status, code, description, body: body.clone() })
    }

    /// True for the codes a client should wait out and retry.
    pub fn is_rate_limit(&self) -> bool {
        matches!(self.code.as_str(), "QUERY_LIMIT_EXCEEDED" | "OPERATION_TIME_LIMIT")
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_both_protocols() {
        let b = json!({"error": "NO_AUTH_FOUND", "error_description": "Wrong authorization data"});
        let e = ApiError::from_bitrix("user.get", 401, &b).unwrap();
        assert_eq!(e.to_string(), "user.get: NO_AUTH_FOUND: Wrong authorization data (HTTP 401)");
        let e = ApiError::from_bitrix(
            "user.userfield.add",
            400,
            &json!({"error": "", "error_description": "Access denied."}),
        )
        .unwrap();
        assert_eq!(e.to_string(), "user.userfield.add: Access denied. (HTTP 400)");
        assert!(ApiError::from_bitrix("user.get", 200, &json!({"result": []})).is_none());
        let z = json!({"jsonrpc": "2.0", "error": {"code": -32602, "message": "Invalid params.", "data": "Not authorized."}, "id": 1});
        let e = ApiError::from_zabbix("user.get", 200, &z).unwrap();
        assert_eq!((e.code.as_str(), e.description.as_str()), ("-32602", "Invalid params. Not authorized."));
    }
}
