//! Sessions and API tokens, and `Access`: a user with the role and groups that decide
//! what they may do. Session ids and tokens are random secrets; only their SHA-256
//! digests are stored (see `credentials`), so a leaked database reveals neither.

use crate::groups::{gui_access, Role, RoleType, UserGroup};
use crate::ids::{TokenId, UserId};
use crate::user::User;

/// A login session as stored (the session id itself is never kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 hex digest of the session id.
    pub hash: String,
    pub user: UserId,
    /// Unix seconds of the last use.
    pub lastaccess: i64,
    /// False once logged out or ended by a password change.
    pub active: bool,
}

/// An API token as stored. Its secret is set by "generate" and kept only as a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: TokenId,
    pub name: String,
    pub description: String,
    pub user: UserId,
    /// Unix seconds of the last authenticated use, 0 when never used.
    pub lastaccess: i64,
    /// 0 enabled, 1 disabled.
    pub status: i64,
    /// Unix seconds; 0 means it never expires.
    pub expires_at: i64,
    pub created_at: i64,
    pub creator: Option<UserId>,
    /// Whether a secret has been generated for it.
    pub generated: bool,
}

impl ApiToken {
    pub fn expired(&self, now: i64) -> bool {
        self.expires_at != 0 && self.expires_at <= now
    }
}

/// A token to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    pub name: String,
    pub description: String,
    pub user: UserId,
    pub status: i64,
    pub expires_at: i64,
    pub creator: UserId,
}

/// A partial update of a token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiTokenPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub status: Option<i64>,
    pub expires_at: Option<i64>,
}

/// Which tokens to list; every part that is set must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenQuery {
    pub ids: Option<Vec<TokenId>>,
    pub users: Option<Vec<UserId>>,
}

/// A user with what decides their rights: role (none possible) and groups.
#[derive(Debug, Clone, PartialEq)]
pub struct Access {
    pub user: User,
    pub role: Option<Role>,
    pub groups: Vec<UserGroup>,
}

impl Access {
    /// The user type (1-3) of the role, 0 without a role.
    pub fn user_type(&self) -> i64 {
        self.role.as_ref().map_or(0, |r| r.kind.get())
    }

    pub fn is_super_admin(&self) -> bool {
        self.role.as_ref().is_some_and(|r| r.kind == RoleType::SuperAdmin)
    }

    /// Highest `gui_access` of the groups (the most restrictive wins).
    pub fn gui_access(&self) -> i64 {
        self.groups.iter().map(|g| g.gui_access).max().unwrap_or(gui_access::DEFAULT)
    }

    /// 1 when any group is disabled.
    pub fn users_status(&self) -> i64 {
        self.groups.iter().map(|g| g.users_status).max().unwrap_or(0)
    }

    /// 1 when any group has debug mode on.
    pub fn debug_mode(&self) -> i64 {
        self.groups.iter().map(|g| g.debug_mode).max().unwrap_or(0)
    }

    /// Whether the user may act at all: active in the directory and in no disabled group.
    pub fn may_act(&self) -> bool {
        self.user.is_active() && self.users_status() == 0
    }
}
