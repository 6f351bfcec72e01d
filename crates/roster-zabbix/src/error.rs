//! `ZbxError`: every error the Zabbix face answers, as the JSON-RPC `{code, message,
//! data}` triple Zabbix sends, plus the one answer that is no JSON at all (HTTP 500 with
//! an empty body, Zabbix's PHP fatal error). Core errors are mapped here, once.

use roster_core::CoreError;
use serde_json::{json, Value as Json};

/// One JSON-RPC error, or a fatal error that ends the whole HTTP request.
#[derive(Debug, Clone, PartialEq)]
pub enum ZbxError {
    Rpc {
        code: i64,
        message: &'static str,
        data: String,
    },
    /// PHP died: HTTP 500, empty body, for the whole request (batch included).
    Fatal,
}

/// The texts clients match on, shared by several methods.
pub mod text {
    pub const NO_PERMISSIONS: &str = "No permissions to referred object or it does not exist!";
    pub const NOT_AUTHORIZED: &str = "Not authorized.";
    pub const SESSION_TERMINATED: &str = "Session terminated, re-login, please.";
    pub const LOGIN_FAILED: &str = "Incorrect user name or password or account is temporarily blocked.";
    pub const NO_SYSTEM_ACCESS: &str = "No permissions for system access.";
}

impl ZbxError {
    /// -32700: the body is not JSON.
    pub fn parse() -> ZbxError {
        ZbxError::Rpc {
            code: -32700,
            message: "Parse error",
            data: "Invalid JSON. An error occurred on the server while parsing the JSON text.".into(),
        }
    }

    /// -32600: the envelope is wrong; `data` is the validator's text.
    pub fn invalid_request(data: impl Into<String>) -> ZbxError {
        ZbxError::Rpc { code: -32600, message: "Invalid request.", data: data.into() }
    }

    /// -32601: unknown API or method.
    pub fn no_method(data: impl Into<String>) -> ZbxError {
        ZbxError::Rpc { code: -32601, message: "Method not found.", data: data.into() }
    }

    /// -32602: bad parameters, and also every authentication failure (Zabbix's code 100 and 200).
    pub fn params(data: impl Into<String>) -> ZbxError {
        ZbxError::Rpc { code: -32602, message: "Invalid params.", data: data.into() }
    }

    /// -32500: permission and internal errors (Zabbix's codes 120 and 111).
    pub fn app(data: impl Into<String>) -> ZbxError {
        ZbxError::Rpc { code: -32500, message: "Application error.", data: data.into() }
    }

    pub fn no_permissions() -> ZbxError {
        ZbxError::app(text::NO_PERMISSIONS)
    }

    /// A failure of ours (storage); the cause goes to the log only.
    pub fn internal(cause: impl std::fmt::Display) -> ZbxError {
        tracing::error!(%cause, "internal error in a Zabbix method");
        ZbxError::app("Internal error.")
    }

    /// The JSON of the `error` member.
    pub fn to_json(&self) -> Json {
        match self {
            ZbxError::Rpc { code, message, data } => json!({"code": code, "message": message, "data": data}),
            ZbxError::Fatal => Json::Null,
        }
    }

    /// The data text, for tests and logs.
    pub fn data(&self) -> &str {
        match self {
            ZbxError::Rpc { data, .. } => data,
            ZbxError::Fatal => "",
        }
    }
}

impl From<CoreError> for ZbxError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::AccessDenied | CoreError::NotFound(_) => ZbxError::no_permissions(),
            CoreError::Invalid(msg) => ZbxError::params(msg),
            CoreError::Taken(what) => ZbxError::params(format!("The {what} is already taken.")),
            CoreError::VersionConflict => ZbxError::app("The object was changed by someone else."),
            CoreError::Internal(cause) => ZbxError::internal(cause),
        }
    }
}

impl From<roster_core::StoreError> for ZbxError {
    fn from(e: roster_core::StoreError) -> Self {
        ZbxError::from(CoreError::from(e))
    }
}

pub type ZbxResult<T> = Result<T, ZbxError>;
