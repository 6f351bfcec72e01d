//! `user.update` (seeds 000/001, spec 2.6): only the fields sent change. Administrators
//! may update anyone; a user only themselves, without `ACTIVE` and `UF_DEPARTMENT`.
//! An unknown or missing ID, or no right, is 400 `ERROR_CORE` / `access_denied`.

use roster_core::UserId;
use serde_json::{Map, Value as Json};

use super::Call;
use crate::envelope::Reply;
use crate::error::BxError;
use crate::input::{int_of, text_of, user_patch, Params, Purpose};
use crate::uf;

pub async fn run(call: &Call<'_>, params: Params) -> Result<Reply, BxError> {
    let fields = flat_fields(&params);
    let id = fields.get("ID").and_then(int_of).and_then(UserId::new).ok_or_else(BxError::access_denied)?;
    if !call.actor.is_admin() && call.actor.id() != id {
        return Err(BxError::access_denied());
    }
    let mut patch = user_patch(&fields, Purpose::Update, &call.bx.config.files)?;
    // Roster's optimistic concurrency, off unless asked for: `If-Match: "N"` or `VERSION`.
    patch.expected_version = call.if_match.or_else(|| fields.get("VERSION").and_then(int_of));
    if fields.keys().any(|k| k.starts_with("UF_USR_")) {
        let custom = call.bx.dir.user_fields().await?;
        let lang = lang_of(call, &params);
        patch.custom = uf::changes(&custom, &fields, &call.bx.config.files, &lang).map_err(BxError::core)?;
        let mut missing = uf::missing_mandatory(&custom, &patch.custom, false);
        if missing.is_none() && uf::removes_files(&custom, &patch.custom) {
            // A mandatory file field must keep at least one file: look at what the user holds.
            if let Some(target) = call.bx.dir.user(id).await? {
                missing = uf::emptied_file_field(&custom, &patch.custom, &target);
            }
        }
        if let Some(f) = missing {
            return Err(BxError::core(uf::mandatory_message(f, &lang)));
        }
    }
    if let Some(email) = fields.get("EMAIL").and_then(text_of) {
        if !email.trim().is_empty() && !valid_email(email.trim()) {
            return Err(BxError::core("Invalid e-mail address"));
        }
    }
    patch.audit = Some(call.audit());
    call.bx.dir.update_user(call.actor, id, patch).await?;
    Ok(Reply::new(Json::Bool(true)))
}

/// The language of messages: `LANG`, else the server's default.
pub fn lang_of(call: &Call<'_>, params: &Params) -> String {
    params
        .get("LANG")
        .and_then(|v| text_of(&v))
        .map(|l| l.trim().to_ascii_lowercase())
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| call.bx.config.default_language.clone())
}

/// Upper-cased top-level fields, with a `FIELDS` object (which some clients send) merged in.
pub fn flat_fields(params: &Params) -> Map<String, Json> {
    let mut fields = params.upper();
    if let Some(Json::Object(inner)) = fields.remove("FIELDS") {
        for (k, v) in inner {
            fields.insert(k.to_ascii_uppercase(), v);
        }
    }
    fields
}

/// A plain, portal-like e-mail check: one `@`, a non-empty local part, a dotted domain.
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else { return false };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.len() <= 254
}

#[cfg(test)]
mod tests {
    use super::valid_email;

    #[test]
    fn emails() {
        assert!(valid_email("a.b@example.com"));
        assert!(!valid_email("a@b"));
        assert!(!valid_email("a b@example.com"));
        assert!(!valid_email("@example.com"));
        assert!(!valid_email("a@@example.com"));
    }
}
