//! `BxError`: every error the Bitrix24 face answers, with its HTTP status, code and
//! text exactly as a portal sends them. Core errors are mapped here, once; internal
//! causes are logged and never sent.

use axum::http::StatusCode;
use roster_core::CoreError;

/// A Bitrix24 error reply: `{"error": code, "error_description": text[, "argument": ...]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct BxError {
    pub status: StatusCode,
    pub code: String,
    pub description: String,
    /// `ERROR_ARGUMENT` errors name the parameter (possibly empty).
    pub argument: Option<String>,
}

impl BxError {
    pub fn new(status: StatusCode, code: &str, description: impl Into<String>) -> BxError {
        BxError { status, code: code.into(), description: description.into(), argument: None }
    }

    pub fn method_not_found() -> BxError {
        BxError::new(StatusCode::NOT_FOUND, "ERROR_METHOD_NOT_FOUND", "Method not found!")
    }

    /// A missing, wrong or unknown webhook code or token (the seed's table).
    pub fn no_auth() -> BxError {
        BxError::new(StatusCode::UNAUTHORIZED, "NO_AUTH_FOUND", "Wrong authorization data")
    }

    /// A valid credential whose user may no longer act.
    pub fn invalid_credentials() -> BxError {
        BxError::new(StatusCode::FORBIDDEN, "INVALID_CREDENTIALS", "Invalid request credentials")
    }

    pub fn insufficient_scope() -> BxError {
        BxError::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "The request requires higher privileges than provided by the webhook token",
        )
    }

    /// `ERROR_CORE` with HTTP 400; `access_denied` is the usual text.
    pub fn core(description: impl Into<String>) -> BxError {
        BxError::new(StatusCode::BAD_REQUEST, "ERROR_CORE", description)
    }

    pub fn access_denied() -> BxError {
        BxError::core("access_denied")
    }

    /// `ERROR_ARGUMENT` naming the argument (empty when none applies).
    pub fn argument(description: impl Into<String>, argument: impl Into<String>) -> BxError {
        BxError {
            argument: Some(argument.into()),
            ..BxError::new(StatusCode::BAD_REQUEST, "ERROR_ARGUMENT", description)
        }
    }

    pub fn internal() -> BxError {
        BxError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_SERVER_ERROR", "Internal server error")
    }

    pub fn body_too_large(limit: usize) -> BxError {
        BxError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "ERROR_ARGUMENT",
            format!("Request body is larger than the limit of {limit} bytes"),
        )
        .with_argument("")
    }

    pub fn operation_time_limit() -> BxError {
        BxError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "OPERATION_TIME_LIMIT",
            "Method is blocked due to operation time limit.",
        )
    }

    pub fn with_argument(mut self, argument: impl Into<String>) -> BxError {
        self.argument = Some(argument.into());
        self
    }

    /// Maps a core error the way user and department methods report them.
    pub fn from_core(e: CoreError) -> BxError {
        match e {
            CoreError::AccessDenied => BxError::access_denied(),
            CoreError::NotFound(what) => BxError::core(format!("{} not found", capitalise(what))),
            CoreError::Invalid(msg) => BxError::core(msg),
            CoreError::Taken("email") | CoreError::Taken("login") => {
                BxError::core("A user with this email already exists")
            }
            CoreError::Taken(what) => BxError::core(format!("{} is already taken", capitalise(what))),
            CoreError::VersionConflict => BxError::new(
                StatusCode::CONFLICT,
                "ERROR_CONFLICT",
                "The user was changed since the version given in If-Match",
            ),
            CoreError::Internal(cause) => {
                tracing::error!(%cause, "internal error in a Bitrix24 method");
                BxError::internal()
            }
        }
    }
}

impl From<CoreError> for BxError {
    fn from(e: CoreError) -> Self {
        BxError::from_core(e)
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
