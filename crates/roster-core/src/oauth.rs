//! OAuth 2.0 applications (Bitrix24 "local applications"): registered apps with scopes
//! and an optional user allow-list, one-time authorization codes, and access/refresh
//! token pairs. Secrets are random, shown once, stored as SHA-256 digests.

use crate::credentials::{self, hash_secret, secret_matches, Scopes};
use crate::directory::{Actor, AuthError, Credential, Directory};
use crate::error::{CoreError, CoreResult};
use crate::ids::UserId;
use crate::store::StoreError;

/// Lifetime of an access token (Bitrix24: one hour).
pub const ACCESS_TTL: i64 = 3600;
/// Lifetime of a refresh token (Bitrix24: 180 days).
pub const REFRESH_TTL: i64 = 180 * 86_400;
/// Lifetime of an authorization code (Bitrix24: 30 seconds).
pub const CODE_TTL: i64 = 30;

/// A registered application.
#[derive(Debug, Clone, PartialEq)]
pub struct App {
    pub id: i64,
    pub client_id: String,
    pub secret_hash: String,
    pub name: String,
    pub scopes: Scopes,
    /// When set, only these users (and administrators) may use the app.
    pub users: Option<Vec<UserId>>,
    pub active: bool,
    pub created: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewApp {
    pub client_id: String,
    pub secret_hash: String,
    pub name: String,
    pub scopes: Scopes,
    pub users: Option<Vec<UserId>>,
}

/// A stored token pair (digests only).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    pub app: i64,
    pub user: UserId,
    pub access_hash: String,
    pub refresh_hash: String,
    /// Unix time the access token stops working.
    pub access_expires: i64,
    pub refresh_expires: i64,
}

/// A freshly issued pair, with the secrets (shown once).
#[derive(Debug, Clone, PartialEq)]
pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires: i64,
    pub expires_in: i64,
    pub scopes: Scopes,
    pub user: UserId,
    pub client_id: String,
}

/// Why the OAuth server refused a grant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error("invalid_client")]
    InvalidClient,
    #[error("invalid_grant")]
    InvalidGrant,
    #[error("user_access_error")]
    UserAccess,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl App {
    /// Whether `user` may use this app (administrators always may).
    pub fn admits(&self, user: UserId, is_admin: bool) -> bool {
        is_admin || self.users.as_ref().is_none_or(|list| list.contains(&user))
    }
}

impl Directory {
    /// Registers an app; returns it with its client secret (shown once).
    pub async fn add_app(&self, name: &str, scopes: Scopes, users: Option<Vec<UserId>>) -> CoreResult<(App, String)> {
        let client_id = format!("local.{}.{}", credentials::random_hex(7), credentials::random_hex(4));
        let secret = credentials::generate_secret(50);
        let new = NewApp {
            client_id: client_id.clone(),
            secret_hash: hash_secret(&secret),
            name: name.to_owned(),
            scopes,
            users,
        };
        self.store().create_app(new).await?;
        let app = self.store().app_by_client_id(&client_id).await?.ok_or(CoreError::NotFound("app"))?;
        Ok((app, secret))
    }

    async fn app_checked(&self, client_id: &str, secret: Option<&str>) -> Result<App, GrantError> {
        let app = self.store().app_by_client_id(client_id).await.ok().flatten().filter(|a| a.active);
        let app = app.ok_or(GrantError::InvalidClient)?;
        match secret {
            Some(s) if !secret_matches(s, &app.secret_hash) => Err(GrantError::InvalidClient),
            _ => Ok(app),
        }
    }

    async fn issue(&self, app: &App, user: UserId, ttl: i64) -> CoreResult<IssuedTokens> {
        let access = credentials::random_hex(32);
        let refresh = credentials::random_hex(32);
        let t = now();
        let record = TokenRecord {
            app: app.id,
            user,
            access_hash: hash_secret(&access),
            refresh_hash: hash_secret(&refresh),
            access_expires: t + ttl,
            refresh_expires: t + REFRESH_TTL,
        };
        self.store().save_token(record, None).await?;
        Ok(IssuedTokens {
            access_token: access,
            refresh_token: refresh,
            expires: t + ttl,
            expires_in: ttl,
            scopes: app.scopes.clone(),
            user,
            client_id: app.client_id.clone(),
        })
    }

    async fn user_for_app(&self, app: &App, user: UserId) -> Result<(), GrantError> {
        let found = self.user(user).await.ok().flatten().filter(crate::user::User::is_active);
        let found = found.ok_or(GrantError::InvalidGrant)?;
        if app.admits(user, found.is_admin) {
            Ok(())
        } else {
            Err(GrantError::UserAccess)
        }
    }

    /// Issues a token pair directly (the `roster token issue` command).
    pub async fn issue_tokens(
        &self,
        client_id: &str,
        user: UserId,
        ttl: Option<i64>,
    ) -> Result<IssuedTokens, GrantError> {
        let app = self.app_checked(client_id, None).await?;
        self.user_for_app(&app, user).await?;
        self.issue(&app, user, ttl.unwrap_or(ACCESS_TTL)).await.map_err(|_| GrantError::InvalidGrant)
    }

    /// Makes a one-time authorization code (the `roster oauth code` command).
    pub async fn authorization_code(&self, client_id: &str, user: UserId) -> Result<String, GrantError> {
        let app = self.app_checked(client_id, None).await?;
        self.user_for_app(&app, user).await?;
        let code = credentials::random_hex(16);
        self.store()
            .save_auth_code(hash_secret(&code), app.id, user, now() + CODE_TTL)
            .await
            .map_err(|_| GrantError::InvalidGrant)?;
        Ok(code)
    }

    /// `grant_type=authorization_code`: the code works once, within its lifetime.
    pub async fn exchange_code(&self, client_id: &str, secret: &str, code: &str) -> Result<IssuedTokens, GrantError> {
        let app = self.app_checked(client_id, Some(secret)).await?;
        let taken = self.store().take_auth_code(&hash_secret(code)).await.map_err(|_| GrantError::InvalidGrant)?;
        let (app_id, user, expires) = taken.ok_or(GrantError::InvalidGrant)?;
        if app_id != app.id || expires < now() {
            return Err(GrantError::InvalidGrant);
        }
        self.user_for_app(&app, user).await?;
        self.issue(&app, user, ACCESS_TTL).await.map_err(|_| GrantError::InvalidGrant)
    }

    /// `grant_type=refresh_token`: the refresh token rotates (the old one stops working).
    pub async fn refresh_tokens(
        &self,
        client_id: &str,
        secret: &str,
        refresh: &str,
    ) -> Result<IssuedTokens, GrantError> {
        let app = self.app_checked(client_id, Some(secret)).await?;
        let old_hash = hash_secret(refresh);
        let old = self.store().token_by_refresh(&old_hash).await.map_err(|_| GrantError::InvalidGrant)?;
        let old = old.filter(|t| t.app == app.id && t.refresh_expires >= now()).ok_or(GrantError::InvalidGrant)?;
        self.user_for_app(&app, old.user).await?;
        let access = credentials::random_hex(32);
        let new_refresh = credentials::random_hex(32);
        let t = now();
        let record = TokenRecord {
            app: app.id,
            user: old.user,
            access_hash: hash_secret(&access),
            refresh_hash: hash_secret(&new_refresh),
            access_expires: t + ACCESS_TTL,
            refresh_expires: t + REFRESH_TTL,
        };
        match self.store().save_token(record, Some(old_hash)).await {
            Ok(()) => {}
            Err(StoreError::Missing(_)) => return Err(GrantError::InvalidGrant),
            Err(_) => return Err(GrantError::InvalidGrant),
        }
        Ok(IssuedTokens {
            access_token: access,
            refresh_token: new_refresh,
            expires: t + ACCESS_TTL,
            expires_in: ACCESS_TTL,
            scopes: app.scopes.clone(),
            user: old.user,
            client_id: app.client_id.clone(),
        })
    }

    /// Resolves an access token to an actor (spec 4.2 checks, in order).
    pub async fn authenticate_token(&self, token: &str) -> Result<(Actor, App), AuthError> {
        let record = self.store().token_by_access(&hash_secret(token)).await.map_err(CoreError::from)?;
        let record = record.ok_or(AuthError::BadCredentials)?;
        let app = self.store().app_by_id(record.app).await.map_err(CoreError::from)?;
        let app = app.filter(|a| a.active).ok_or(AuthError::AppNotFound)?;
        if record.access_expires < now() {
            return Err(AuthError::Expired);
        }
        let user = self.user(record.user).await?.ok_or(AuthError::BadCredentials)?;
        if !user.is_active() {
            return Err(AuthError::Inactive);
        }
        if !app.admits(user.id, user.is_admin) {
            return Err(AuthError::UserAccess);
        }
        let actor = Actor { scopes: app.scopes.clone(), credential: Credential::App(app.id), user };
        Ok((actor, app))
    }
}
