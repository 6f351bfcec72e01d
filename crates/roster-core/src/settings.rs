//! Directory-wide settings kept as key/value pairs: the password policy and the login
//! block rules. Faces read and write them through the store; defaults live here so an
//! unset key reads as a fresh installation has it.

/// Minimum password length (1-70).
pub const PASSWD_MIN_LENGTH: &str = "passwd_min_length";
/// Password rules bitmask (0-15): 1 cases, 2 digit, 4 special, 8 not easy to guess.
pub const PASSWD_CHECK_RULES: &str = "passwd_check_rules";
/// Failed logins before a block.
pub const LOGIN_ATTEMPTS: &str = "login_attempts";
/// Seconds a blocked account stays blocked.
pub const LOGIN_BLOCK: &str = "login_block";

/// Every known setting with its default value, in the order they are listed.
pub const DEFAULTS: &[(&str, &str)] = &[
    ("authentication_type", "0"),
    ("http_auth_enabled", "0"),
    ("http_login_form", "0"),
    ("http_strip_domains", ""),
    ("http_case_sensitive", "1"),
    ("ldap_configured", "0"),
    ("ldap_case_sensitive", "1"),
    ("saml_auth_enabled", "0"),
    ("saml_case_sensitive", "0"),
    (PASSWD_MIN_LENGTH, "8"),
    (PASSWD_CHECK_RULES, "8"),
    (LOGIN_ATTEMPTS, "5"),
    (LOGIN_BLOCK, "30"),
];

/// A settings snapshot: stored values over the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings(pub Vec<(String, String)>);

impl Settings {
    /// The stored value, else the default, else empty.
    pub fn get(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .or_else(|| DEFAULTS.iter().find(|(k, _)| *k == key).map(|(_, v)| *v))
            .unwrap_or("")
    }

    pub fn int(&self, key: &str) -> i64 {
        self.get(key).parse().unwrap_or(0)
    }

    /// The password policy in force.
    pub fn password_policy(&self) -> PasswordPolicy {
        PasswordPolicy {
            min_length: self.int(PASSWD_MIN_LENGTH).clamp(1, 70) as usize,
            check_rules: self.int(PASSWD_CHECK_RULES).clamp(0, 15) as u8,
        }
    }
}

/// What a new password must satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub check_rules: u8,
}

impl PasswordPolicy {
    pub const CASES: u8 = 1;
    pub const DIGITS: u8 = 2;
    pub const SPECIALS: u8 = 4;
    pub const SIMPLE: u8 = 8;

    pub fn has(&self, rule: u8) -> bool {
        self.check_rules & rule != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_override_defaults() {
        let s = Settings(vec![(PASSWD_MIN_LENGTH.into(), "12".into())]);
        assert_eq!(s.password_policy(), PasswordPolicy { min_length: 12, check_rules: 8 });
        assert_eq!(s.int(LOGIN_ATTEMPTS), 5);
        assert_eq!(s.get("nope"), "");
    }
}
