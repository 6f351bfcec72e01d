//! Credentials: webhook codes and passwords, how they are made, stored and checked.
//! Codes are high-entropy tokens, kept as SHA-256 digests and compared in constant
//! time; passwords are kept as argon2id hashes. Neither is ever logged or returned.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::distributions::Alphanumeric;
use rand::rngs::OsRng;
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::ids::{UserId, WebhookId};

/// An inbound webhook as stored (the code itself is never kept).
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    pub id: WebhookId,
    pub user: UserId,
    pub scopes: Scopes,
    pub code_hash: String,
    /// Unix seconds.
    pub created: i64,
}

/// A webhook to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewWebhook {
    pub user: UserId,
    pub scopes: Scopes,
    pub code_hash: String,
}

/// A set of Bitrix24 scopes (`user`, `user_basic`, `department`, ...), sorted, unique.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(Vec<String>);

/// Every scope Roster knows; an administrator's bootstrap webhook gets all of them.
pub const ALL_SCOPES: &[&str] = &["department", "user", "user.userfield", "user_basic", "user_brief"];

impl Scopes {
    pub fn all() -> Scopes {
        Scopes::parse(&ALL_SCOPES.join(",")).unwrap_or_default()
    }

    /// Parses a comma list; an unknown scope name is an error naming it.
    pub fn parse(list: &str) -> Result<Scopes, String> {
        let mut out: Vec<String> = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let item = item.to_ascii_lowercase();
            if !ALL_SCOPES.contains(&item.as_str()) {
                return Err(format!("unknown scope {item:?}; known: {}", ALL_SCOPES.join(",")));
            }
            out.push(item);
        }
        out.sort();
        out.dedup();
        Ok(Scopes(out))
    }

    pub fn has(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn to_list(&self) -> String {
        self.0.join(",")
    }
}

/// A new random secret of `len` letters and digits, from the OS generator.
pub fn generate_secret(len: usize) -> String {
    OsRng.sample_iter(&Alphanumeric).take(len).map(char::from).collect::<String>().to_ascii_lowercase()
}

/// The stored form of a high-entropy secret (webhook code, token).
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` hashes to `stored`, compared in constant time.
pub fn secret_matches(secret: &str, stored: &str) -> bool {
    let digest = hex::encode(Sha256::digest(secret.as_bytes()));
    digest.as_bytes().ct_eq(stored.as_bytes()).into()
}

/// An argon2id hash (PHC string) of a password.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
}

/// Whether `password` matches a stored argon2 hash; a malformed hash never matches.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// `bytes` random bytes from the OS generator, as lowercase hex.
pub fn random_hex(bytes: usize) -> String {
    hex_from(OsRng, bytes)
}

/// `bytes` random bytes from this thread's generator (a CSPRNG seeded from the OS) as
/// lowercase hex: for identifiers that must not repeat (audit recordsets, event ids),
/// made on hot paths where a system call per id would show. Secrets use [`random_hex`].
pub fn unique_hex(bytes: usize) -> String {
    hex_from(rand::thread_rng(), bytes)
}

fn hex_from(mut rng: impl Rng, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rng.fill(buf.as_mut_slice());
    hex::encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_and_unique_ids_are_hex_of_their_length_and_differ() {
        for make in [random_hex, unique_hex] {
            let (a, b) = (make(12), make(12));
            assert_eq!(a.len(), 24);
            assert!(a.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{a}");
            assert_ne!(a, b);
        }
    }

    #[test]
    fn secrets_hash_and_match() {
        let code = generate_secret(24);
        assert_eq!(code.len(), 24);
        let stored = hash_secret(&code);
        assert!(secret_matches(&code, &stored));
        assert!(!secret_matches("other", &stored));
        assert!(!stored.contains(&code));
    }

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("s3cret!").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("s3cret!", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("s3cret!", "garbage"));
    }

    #[test]
    fn scopes_parse_sorted_and_refuse_unknown() {
        let s = Scopes::parse("user, department,user").unwrap();
        assert_eq!(s.to_list(), "department,user");
        assert!(Scopes::parse("user,crm").unwrap_err().contains("crm"));
    }
}
