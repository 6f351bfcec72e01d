//! Who is calling: the session id or API token of a call (the `auth` member, or from 6.4
//! on the `Authorization: Bearer` header) resolved to a `Caller`, with Zabbix's texts for
//! each refusal. Session ids are 32 hex characters, tokens 64; both are stored only as
//! SHA-256 digests, so one indexed read finds the user, role and groups.

use std::time::Duration;

use roster_core::credentials::{hash_secret, random_hex};
use roster_core::{Access, TokenId};

use crate::error::{text, ZbxError, ZbxResult};
use crate::{RequestCtx, Zabbix};

/// How the caller authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// The SHA-256 digest of the session id.
    Session(String),
    Token(TokenId),
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub access: Access,
    pub credential: Credential,
}

impl Caller {
    pub fn user_type(&self) -> i64 {
        self.access.user_type()
    }

    pub fn is_super_admin(&self) -> bool {
        self.access.is_super_admin()
    }

    pub fn id(&self) -> roster_core::UserId {
        self.access.user.id
    }
}

/// A new session id: 32 lowercase hex characters.
pub fn new_session_id() -> String {
    random_hex(16)
}

/// A new API token: 64 lowercase hex characters.
pub fn new_token() -> String {
    random_hex(32)
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// How old a token's `lastaccess` may get before a use refreshes it (keeps writes rare).
const TOUCH_AFTER: i64 = 60;

/// Resolves the secret of an authenticated method: `auth`, else the Bearer header.
pub async fn authenticate(zbx: &Zabbix, auth: Option<&str>, ctx: &RequestCtx) -> ZbxResult<Caller> {
    let secret = auth.or_else(|| ctx.bearer.as_deref().filter(|_| zbx.version().bearer()));
    let Some(secret) = secret else {
        return Err(ZbxError::params(text::NOT_AUTHORIZED));
    };
    let store = zbx.dir.store();
    let hash = hash_secret(secret);
    if secret.len() == 64 {
        let Some((token, access)) = store.api_token_access(&hash).await? else {
            // As Zabbix: a short pause makes guessing tokens slower.
            tokio::time::sleep(Duration::from_millis(10)).await;
            return Err(ZbxError::params(text::NOT_AUTHORIZED));
        };
        if token.status != 0 || !access.may_act() {
            return Err(ZbxError::params(text::NOT_AUTHORIZED));
        }
        let now = now();
        if token.expired(now) {
            return Err(ZbxError::app("API token expired."));
        }
        if now - token.lastaccess >= TOUCH_AFTER {
            let store = store.clone();
            tokio::spawn(async move {
                if let Err(e) = store.touch_api_token(token.id, now).await {
                    tracing::warn!(error = %e, "cannot record an API token's use");
                }
            });
        }
        return Ok(Caller { access, credential: Credential::Token(token.id) });
    }
    match store.session_access(&hash).await? {
        Some((session, access)) if session.active && access.may_act() => {
            Ok(Caller { access, credential: Credential::Session(hash) })
        }
        _ => Err(ZbxError::params(text::SESSION_TERMINATED)),
    }
}
