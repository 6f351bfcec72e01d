//! `ApiVersion`: the Zabbix version the face reports and whose behaviour it follows.
//! 6.0 is the reference (spec sections 2-8); later versions switch on the deltas of
//! section 9 at the version that introduced them.

use std::fmt;
use std::str::FromStr;

/// A Zabbix version `X.Y.Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl ApiVersion {
    pub const DEFAULT: ApiVersion = ApiVersion { major: 7, minor: 0, patch: 0 };

    const fn at_least(&self, major: u32, minor: u32) -> bool {
        self.major > major || (self.major == major && self.minor >= minor)
    }

    /// `Authorization: Bearer` is read (6.4 and later; 6.0 ignores the header).
    pub fn bearer(&self) -> bool {
        self.at_least(6, 4)
    }

    /// The `auth` member of a call is still accepted (removed in 7.4).
    pub fn body_auth(&self) -> bool {
        !self.at_least(7, 4)
    }

    /// `alias` and `user_medias` are still known (removed in 6.4).
    pub fn legacy_names(&self) -> bool {
        !self.at_least(6, 4)
    }

    /// `roleid` (create, update) and `usrgrps` (create) are optional (6.4).
    pub fn optional_role_and_groups(&self) -> bool {
        self.at_least(6, 4)
    }

    /// `current_passwd` is required to change one's own password (6.4).
    pub fn current_passwd(&self) -> bool {
        self.at_least(6, 4)
    }

    /// A password change ends the user's sessions; missing groups and roles are
    /// reported as "object does not exist"; new empty-password text (7.0).
    pub fn v7(&self) -> bool {
        self.at_least(7, 0)
    }

    /// `user.get` shows `userdirectoryid` and `ts_provisioned` (6.4).
    pub fn provisioning_fields(&self) -> bool {
        self.at_least(6, 4)
    }
}

impl Default for ApiVersion {
    fn default() -> Self {
        ApiVersion::DEFAULT
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl FromStr for ApiVersion {
    type Err = String;

    /// Parses `X.Y.Z` (three decimal numbers).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not a version X.Y.Z");
        let parts: Vec<&str> = s.trim().split('.').collect();
        let [major, minor, patch] = parts.as_slice() else {
            return Err(bad());
        };
        let num = |p: &str| -> Result<u32, String> {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            p.parse().map_err(|_| bad())
        };
        Ok(ApiVersion { major: num(major)?, minor: num(minor)?, patch: num(patch)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        let v: ApiVersion = "6.0.14".parse().unwrap();
        assert_eq!(v.to_string(), "6.0.14");
        assert!(!v.bearer() && v.body_auth() && v.legacy_names() && !v.v7());
        let v: ApiVersion = "7.0.0".parse().unwrap();
        assert!(v.bearer() && v.body_auth() && !v.legacy_names() && v.v7() && v.current_passwd());
        let v: ApiVersion = "7.4.1".parse().unwrap();
        assert!(!v.body_auth());
        for bad in ["7", "7.0", "7.0.x", "7..0", "-1.0.0", "7.0.0.1", ""] {
            assert!(bad.parse::<ApiVersion>().is_err(), "{bad}");
        }
    }
}
