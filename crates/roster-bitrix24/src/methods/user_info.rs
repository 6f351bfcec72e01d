//! The caller's own views: `user.current`, `user.fields`, `user.access`, `profile`.

use serde_json::{json, Map, Value as Json};

use super::Call;
use crate::envelope::Reply;
use crate::error::BxError;
use crate::fields::{label, Flavor};
use crate::input::{text_of, Params};

pub async fn current(call: &Call<'_>) -> Result<Reply, BxError> {
    let codes = call.visibility().fields();
    let custom = call.custom_fields().await?;
    let all: Vec<&roster_core::UserField> = custom.iter().collect();
    let user = call.bx.dir.user(call.actor.id()).await?.unwrap_or_else(|| call.actor.user.clone());
    let mut items = call.users_json(std::slice::from_ref(&user), codes, &all, Flavor::Current).await?;
    Ok(Reply { etag: Some(user.version), ..Reply::new(items.pop().unwrap_or(Json::Null)) })
}

pub async fn fields(call: &Call<'_>, params: &Params) -> Result<Reply, BxError> {
    let mut out = Map::new();
    for code in call.visibility().fields() {
        out.insert((*code).to_owned(), Json::String(label(code).to_owned()));
    }
    let lang = params
        .get("LANG")
        .and_then(|v| text_of(&v))
        .map(|l| l.trim().to_ascii_lowercase())
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| call.bx.config.default_language.clone());
    for f in call.custom_fields().await? {
        out.insert(f.name.clone(), Json::String(f.label("EDIT_FORM_LABEL", &lang)));
    }
    Ok(Reply::new(Json::Object(out)))
}

/// Access codes the caller holds: `U<id>`, `AU`, `G2`, `G1` for administrators, `D<n>`/`DR<n>`.
fn held(call: &Call<'_>) -> Vec<String> {
    let user = &call.actor.user;
    let mut codes = vec![format!("U{}", user.id), "AU".to_owned(), "G2".to_owned()];
    if user.is_admin {
        codes.push("G1".into());
    }
    for d in &user.departments {
        codes.push(format!("D{d}"));
        codes.push(format!("DR{d}"));
    }
    codes
}

pub fn access(call: &Call<'_>, params: &Params) -> Reply {
    if call.actor.is_admin() {
        return Reply::new(Json::Bool(true));
    }
    let asked: Vec<String> = match params.get("ACCESS") {
        Some(Json::Array(items)) => items.iter().filter_map(text_of).collect(),
        Some(Json::Object(map)) => map.values().filter_map(text_of).collect(),
        Some(other) => text_of(&other).into_iter().collect(),
        None => Vec::new(),
    };
    let mine = held(call);
    Reply::new(Json::Bool(asked.iter().any(|a| mine.iter().any(|m| m == a.trim()))))
}

pub async fn profile(call: &Call<'_>) -> Result<Reply, BxError> {
    let user = &call.actor.user;
    let text = |name: &'static str| user.get(roster_core::AttrId::named(name)).as_text().unwrap_or_default().to_owned();
    let mut out = json!({
        "ID": user.id.to_string(),
        "ADMIN": user.is_admin,
        "NAME": text("name"),
        "LAST_NAME": text("last_name"),
        "PERSONAL_GENDER": text("personal_gender"),
        "TIME_ZONE": text("time_zone"),
    });
    let photo = call.users_json(std::slice::from_ref(user), &["PERSONAL_PHOTO"], &[], Flavor::Current).await?;
    if let Some(url) = photo.first().and_then(|p| p.get("PERSONAL_PHOTO")) {
        out["PERSONAL_PHOTO"] = url.clone();
    }
    Ok(Reply::new(out))
}
