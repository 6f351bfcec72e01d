//! User groups and roles: who a user is for permission purposes. A group says how its
//! members reach the system (frontend access, enabled or not, debug mode); a role says
//! what type of user they are (1 user, 2 admin, 3 super admin). Membership lives in the store.

use crate::ids::{GroupId, RoleId, UserId};

/// How a group's members authenticate (Zabbix `gui_access`).
pub mod gui_access {
    /// The system default (internal authentication here).
    pub const DEFAULT: i64 = 0;
    pub const INTERNAL: i64 = 1;
    pub const LDAP: i64 = 2;
    /// No frontend access (the API still accepts them).
    pub const DISABLED: i64 = 3;
}

/// A user group as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserGroup {
    pub id: GroupId,
    pub name: String,
    /// See [`gui_access`].
    pub gui_access: i64,
    /// 0 enabled, 1 disabled: members of a disabled group may not log in.
    pub users_status: i64,
    /// 0 or 1.
    pub debug_mode: i64,
}

impl UserGroup {
    /// Whether members authenticate against the directory's own passwords.
    pub fn internal_auth(&self) -> bool {
        matches!(self.gui_access, gui_access::DEFAULT | gui_access::INTERNAL)
    }

    pub fn enabled(&self) -> bool {
        self.users_status == 0
    }
}

/// A group to create; `users` are its first members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUserGroup {
    pub name: String,
    pub gui_access: i64,
    pub users_status: i64,
    pub debug_mode: i64,
    pub users: Vec<UserId>,
}

/// A partial update of a group; `users`, when given, replaces the membership.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserGroupPatch {
    pub name: Option<String>,
    pub gui_access: Option<i64>,
    pub users_status: Option<i64>,
    pub debug_mode: Option<i64>,
    pub users: Option<Vec<UserId>>,
}

/// The user type a role grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RoleType {
    User = 1,
    Admin = 2,
    SuperAdmin = 3,
}

impl RoleType {
    pub fn from_i64(raw: i64) -> Option<RoleType> {
        match raw {
            1 => Some(RoleType::User),
            2 => Some(RoleType::Admin),
            3 => Some(RoleType::SuperAdmin),
            _ => None,
        }
    }

    pub fn get(self) -> i64 {
        self as i64
    }
}

/// A user role as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: RoleId,
    pub name: String,
    pub kind: RoleType,
    /// The built-in super admin role cannot be changed or deleted.
    pub readonly: bool,
}

impl Role {
    /// The Bitrix24 face's "administrator" is exactly a super admin here.
    pub fn grants_admin(&self) -> bool {
        self.kind == RoleType::SuperAdmin
    }
}
