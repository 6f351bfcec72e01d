//! The checks `user.create` and `user.update` share after structural validation, in the
//! order Zabbix runs them: login options, password policy, languages, roles, groups and
//! the empty-password rule, media types and recipients; plus password hashing, done off
//! the async workers because argon2 costs milliseconds.

use roster_core::credentials::{hash_password, verify_password};
use roster_core::{GroupId, MediaType, MediaTypeId, Role, RoleId, UserGroup};

use super::user_object::{UserInput, INSTALLED_LANGUAGES};
use crate::error::{ZbxError, ZbxResult};
use crate::validate::{invalid, time_unit_seconds};
use crate::ApiVersion;

/// Step 5.4: auto-login and auto-logout exclude each other; one set forces the other off.
pub fn login_options(u: &mut UserInput) -> ZbxResult<()> {
    let logout_on = u.autologout.as_deref().and_then(time_unit_seconds).is_some_and(|s| s != 0);
    match (u.autologin, &u.autologout) {
        (Some(login), Some(_)) if login != 0 && logout_on => {
            return Err(ZbxError::params("Auto-login and auto-logout options cannot be enabled together."));
        }
        (Some(login), None) if login != 0 => u.autologout = Some("0".into()),
        (None, Some(_)) if logout_on => u.autologin = Some(0),
        _ => {}
    }
    Ok(())
}

/// The password policy's refusal of user `index`.
pub fn policy_error(index: i64, reason: &str) -> ZbxError {
    ZbxError::params(format!("Incorrect value for field \"/{index}/passwd\": {reason}."))
}

/// Step 8: languages must have an installed locale.
pub fn check_languages(inputs: &[UserInput]) -> ZbxResult<()> {
    for u in inputs {
        if let Some(lang) = &u.lang {
            if !INSTALLED_LANGUAGES.contains(&lang.as_str()) {
                return Err(ZbxError::params(format!("Language \"{lang}\" is not supported.")));
            }
        }
    }
    Ok(())
}

pub fn role_of(id: &str, roles: &[Role]) -> Option<Role> {
    let id = id.parse().ok().and_then(RoleId::new)?;
    roles.iter().find(|r| r.id == id).cloned()
}

pub fn group_of(id: &str, groups: &[UserGroup]) -> Option<UserGroup> {
    let id = id.parse().ok().and_then(GroupId::new)?;
    groups.iter().find(|g| g.id == id).cloned()
}

pub fn media_type_of(id: &str, types: &[MediaType]) -> Option<MediaType> {
    let id = id.parse().ok().and_then(MediaTypeId::new)?;
    types.iter().find(|t| t.id == id).cloned()
}

/// Step 9: the roles sent must exist (`only` filters which users' roles are checked).
pub fn check_roles(
    inputs: &[UserInput],
    only: &dyn Fn(&UserInput) -> bool,
    roles: &[Role],
    v: ApiVersion,
) -> ZbxResult<()> {
    for u in inputs.iter().filter(|u| only(u)) {
        if let Some(id) = &u.roleid {
            if role_of(id, roles).is_none() {
                return Err(ZbxError::params(if v.v7() {
                    invalid(&format!("/{}/roleid", u.index), "object does not exist")
                } else {
                    format!("User role with ID \"{id}\" is not available.")
                }));
            }
        }
    }
    Ok(())
}

/// Step 10, first half: the groups sent must exist.
pub fn check_groups(inputs: &[UserInput], groups: &[UserGroup], v: ApiVersion) -> ZbxResult<()> {
    for u in inputs {
        for (i, id) in u.usrgrps.iter().flatten().enumerate() {
            if group_of(id, groups).is_none() {
                return Err(ZbxError::params(if v.v7() {
                    invalid(&format!("/{}/usrgrps/{}", u.index, i + 1), "object does not exist")
                } else {
                    format!("User group with ID \"{id}\" is not available.")
                }));
            }
        }
    }
    Ok(())
}

/// Step 10, second half: a user left without a password may not be in a group that
/// authenticates internally. `has_password` tells whether the user ends up with one.
pub fn check_empty_password(
    u: &UserInput,
    username: &str,
    has_password: bool,
    groups: &[UserGroup],
    v: ApiVersion,
) -> ZbxResult<()> {
    let Some(ids) = &u.usrgrps else { return Ok(()) };
    if has_password || !ids.iter().filter_map(|id| group_of(id, groups)).any(|g| g.internal_auth()) {
        return Ok(());
    }
    Err(ZbxError::params(if v.v7() {
        format!("User \"{username}\" must have a password, because internal authentication is in effect.")
    } else {
        "Incorrect value for field \"passwd\": cannot be empty.".into()
    }))
}

/// Step 11: media types exist, then every recipient list is valid.
pub fn check_medias(inputs: &[UserInput], types: &[MediaType]) -> ZbxResult<()> {
    for m in inputs.iter().flat_map(|u| u.medias.iter().flatten()) {
        if media_type_of(&m.mediatypeid, types).is_none() {
            return Err(ZbxError::params(format!("Media type with ID \"{}\" is not available.", m.mediatypeid)));
        }
    }
    for m in inputs.iter().flat_map(|u| u.medias.iter().flatten()) {
        let Some(kind) = media_type_of(&m.mediatypeid, types) else {
            continue;
        };
        if !kind.is_email() && m.sendto.len() > 1 {
            return Err(ZbxError::params("Invalid parameter \"sendto\": a character string is expected."));
        }
        if m.sendto.iter().any(String::is_empty) {
            return Err(ZbxError::params("Invalid parameter \"sendto\": cannot be empty."));
        }
        if kind.is_email() {
            if !m.sendto.iter().all(|a| valid_recipient(a)) {
                return Err(ZbxError::params(format!(
                    "Invalid email address for media type with ID \"{}\".",
                    m.mediatypeid
                )));
            }
            if m.sendto.join("\n").chars().count() > 1024 {
                return Err(ZbxError::params(format!(
                    "Maximum total length of email address exceeded for media type with ID \"{}\".",
                    m.mediatypeid
                )));
            }
        }
    }
    Ok(())
}

/// An address PHP's `FILTER_VALIDATE_EMAIL` accepts, or `Name <address>`.
pub fn valid_recipient(s: &str) -> bool {
    if let Some(open) = s.rfind('<') {
        if let Some(inner) = s.strip_suffix('>').map(|t| &t[open + 1..]) {
            return valid_email(inner);
        }
    }
    valid_email(s)
}

fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    local_ok && domain_ok
}

/// Hashes a password (argon2id) on the blocking pool.
pub async fn hash(password: String) -> ZbxResult<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(ZbxError::internal)?
        .map_err(ZbxError::internal)
}

/// Checks a password against a stored hash on the blocking pool; no hash never matches.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    let Some(stored) = stored.filter(|s| !s.is_empty()) else {
        return false;
    };
    tokio::task::spawn_blocking(move || verify_password(&password, &stored)).await.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_options_force_and_refuse() {
        let mut u = UserInput { autologin: Some(1), ..UserInput::default() };
        login_options(&mut u).expect("ok");
        assert_eq!(u.autologout.as_deref(), Some("0"));
        let mut u = UserInput { autologout: Some("15m".into()), ..UserInput::default() };
        login_options(&mut u).expect("ok");
        assert_eq!(u.autologin, Some(0));
        let mut u = UserInput { autologin: Some(1), autologout: Some("90".into()), ..UserInput::default() };
        assert!(login_options(&mut u).is_err());
        let mut u = UserInput { autologin: Some(1), autologout: Some("0".into()), ..UserInput::default() };
        assert!(login_options(&mut u).is_ok());
    }

    #[test]
    fn recipients() {
        for ok in ["a@example.com", "John Doe <john.doe@example.com>", "x.y+z@mail.example.org"] {
            assert!(valid_recipient(ok), "{ok}");
        }
        for bad in ["", "a", "a@b", "@example.com", "a..b@example.com", "a@-x.com", "<a@b.c", "a b@example.com"] {
            assert!(!valid_recipient(bad), "{bad}");
        }
    }
}
