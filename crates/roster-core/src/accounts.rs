//! Accounts: a user together with group memberships and media, created or changed in one
//! atomic write. Faces that manage all three at once (Zabbix `user.create/update`) go
//! through here; the core rule kept here is that a super admin role makes the user an
//! administrator (Bitrix24 `is_admin`) and any other role takes that away, in the same write.

use crate::attrs::AttrId;
use crate::directory::Directory;
use crate::error::CoreResult;
use crate::groups::Role;
use crate::ids::{GroupId, RoleId, UserId};
use crate::media::MediaWrite;
use crate::user::{Change, NewUser, UserPatch, Value};

/// A user to create with memberships and media.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAccount {
    pub user: NewUser,
    pub groups: Vec<GroupId>,
    pub medias: Vec<MediaWrite>,
}

/// One user's change: attributes plus, optionally, password, groups and media.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountWrite {
    pub id: UserId,
    pub patch: UserPatch,
    /// `Some(None)` clears the password.
    pub password_hash: Option<Option<String>>,
    /// Set by [`Directory::update_accounts`] from the role; faces leave it `None`.
    pub is_admin: Option<bool>,
    /// Replaces the memberships (kept rows stay, missing ones are added, the rest removed).
    pub groups: Option<Vec<GroupId>>,
    /// Replaces the media, see [`MediaWrite`].
    pub medias: Option<Vec<MediaWrite>>,
    /// Ends every session of the user (a password change in newer protocol versions)...
    pub end_sessions: bool,
    /// ...except this one (the digest of the caller's own session).
    pub keep_session: Option<String>,
}

impl AccountWrite {
    /// A write that changes nothing yet.
    pub fn new(id: UserId) -> AccountWrite {
        AccountWrite {
            id,
            patch: UserPatch::default(),
            password_hash: None,
            is_admin: None,
            groups: None,
            medias: None,
            end_sessions: false,
            keep_session: None,
        }
    }
}

/// The role id a patch sets: `Some(None)` when it clears the role.
pub fn role_in(patch: &UserPatch) -> Option<Option<RoleId>> {
    let attr = AttrId::named("roleid");
    patch.attrs.iter().rev().find(|(a, _)| *a == attr).map(|(_, change)| match change {
        Change::Set(Value::Int(raw)) => RoleId::new(*raw),
        _ => None,
    })
}

impl Directory {
    /// Creates accounts in one atomic write (all or none), in order; returns their ids.
    pub async fn create_accounts(&self, mut accounts: Vec<NewAccount>) -> CoreResult<Vec<UserId>> {
        let roles = self.store().roles(None).await?;
        for account in &mut accounts {
            if let Some(role) = role_in(&account.user.patch) {
                account.user.is_admin = admin_of(&roles, role);
            }
            account.user.patch.validate().map_err(crate::CoreError::Invalid)?;
        }
        Ok(self.store().create_accounts(accounts).await?)
    }

    /// Applies changes in one atomic write (all or none).
    pub async fn update_accounts(&self, mut writes: Vec<AccountWrite>) -> CoreResult<()> {
        if writes.iter().any(|w| role_in(&w.patch).is_some()) {
            let roles = self.store().roles(None).await?;
            for w in &mut writes {
                if let Some(role) = role_in(&w.patch) {
                    w.is_admin = Some(admin_of(&roles, role));
                }
            }
        }
        for w in &writes {
            w.patch.validate().map_err(crate::CoreError::Invalid)?;
        }
        Ok(self.store().update_accounts(writes).await?)
    }
}

fn admin_of(roles: &[Role], role: Option<RoleId>) -> bool {
    role.and_then(|id| roles.iter().find(|r| r.id == id)).is_some_and(Role::grants_admin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_is_read_from_the_last_change() {
        let mut p = UserPatch::default();
        assert_eq!(role_in(&p), None);
        p.set(AttrId::named("roleid"), Value::Int(2));
        p.set(AttrId::named("roleid"), Value::Int(3));
        assert_eq!(role_in(&p), Some(RoleId::new(3)));
        p.set(AttrId::named("roleid"), Value::Null);
        assert_eq!(role_in(&p), Some(None));
    }
}
