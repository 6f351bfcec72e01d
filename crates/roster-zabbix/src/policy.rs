//! The password policy of `authentication.get/update`, checked in Zabbix's order: length,
//! letter cases, digits, special characters, then "avoid easy to guess" (no name, surname
//! or username inside, not a common password). The common-password list comes from the
//! MIT-licensed `passwords` crate, plus the context words of this directory.

use roster_core::PasswordPolicy;

/// Special characters of rule 4: space and ASCII punctuation.
const SPECIALS: &str = " !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// Words that are easy to guess here whatever the list says.
const CONTEXT_WORDS: &[&str] = &["zabbix", "Zabbix", "ZABBIX", "admin", "Admin", "roster", "Roster"];

/// Checks `password` against `policy`; `context` holds the username, name and surname
/// (empty ones are skipped). The error is the reason, e.g. `must contain at least one digit`.
pub fn check(policy: &PasswordPolicy, password: &str, context: &[&str]) -> Result<(), String> {
    if password.chars().count() < policy.min_length {
        return Err(format!("must be at least {} characters long", policy.min_length));
    }
    if policy.has(PasswordPolicy::CASES)
        && !(password.bytes().any(|b| b.is_ascii_lowercase()) && password.bytes().any(|b| b.is_ascii_uppercase()))
    {
        return Err("must contain at least one lowercase and one uppercase Latin letter".into());
    }
    if policy.has(PasswordPolicy::DIGITS) && !password.bytes().any(|b| b.is_ascii_digit()) {
        return Err("must contain at least one digit".into());
    }
    if policy.has(PasswordPolicy::SPECIALS) && !password.chars().any(|c| SPECIALS.contains(c)) {
        return Err("must contain at least one special character".into());
    }
    if policy.has(PasswordPolicy::SIMPLE) {
        let lower = password.to_lowercase();
        if context.iter().filter(|c| !c.is_empty()).any(|c| lower.contains(&c.to_lowercase())) {
            return Err("must not contain user's name, surname or username".into());
        }
        if CONTEXT_WORDS.contains(&password) || passwords::analyzer::is_common_password(password) {
            return Err("must not be one of common or context-specific passwords".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: PasswordPolicy = PasswordPolicy { min_length: 8, check_rules: 15 };

    #[test]
    fn rules_apply_in_order() {
        let default = PasswordPolicy { min_length: 8, check_rules: 8 };
        assert_eq!(check(&default, "short", &[]), Err("must be at least 8 characters long".into()));
        assert_eq!(
            check(&ALL, "alllowercase1!", &[]),
            Err("must contain at least one lowercase and one uppercase Latin letter".into())
        );
        assert_eq!(check(&ALL, "NoDigitsHere!", &[]), Err("must contain at least one digit".into()));
        assert_eq!(check(&ALL, "NoSpecial123", &[]), Err("must contain at least one special character".into()));
        assert_eq!(
            check(&ALL, "Xjohnx123!", &["John", "", "Doe"]),
            Err("must not contain user's name, surname or username".into())
        );
        assert_eq!(
            check(&default, "12345678", &[]),
            Err("must not be one of common or context-specific passwords".into())
        );
        assert_eq!(
            check(&default, "g00dPa$$w0rD", &[]),
            Err("must not be one of common or context-specific passwords".into())
        );
        assert_eq!(check(&default, "zabbix", &[]), Err("must be at least 8 characters long".into()));
        assert!(check(&ALL, "Tr0ub4dor&3-horse", &["john"]).is_ok());
        assert!(check(&PasswordPolicy { min_length: 1, check_rules: 0 }, "x", &[]).is_ok());
    }
}
