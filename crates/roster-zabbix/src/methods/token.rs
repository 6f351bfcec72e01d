//! API tokens: `token.create/get/update/delete/generate`. A token is created without a
//! secret; `generate` makes a new 64-hex secret, shows it once and stores its SHA-256
//! digest. Users manage their own tokens; super admins anyone's.

use roster_core::credentials::hash_secret;
use roster_core::{ApiToken, ApiTokenPatch, NewApiToken, StoreError, TokenId, TokenQuery, UserId};
use serde_json::{json, Map, Value as Json};

use super::listing::{by_ids, finish, Row};
use super::user_get::texts;
use super::Call;
use crate::auth::new_token;
use crate::error::{ZbxError, ZbxResult};
use crate::validate::{self, as_object, check_unexpected, invalid, missing, sub};

fn token_json(t: &ApiToken) -> Map<String, Json> {
    let v = json!({
        "tokenid": t.id.to_string(),
        "name": t.name,
        "description": t.description,
        "userid": t.user.to_string(),
        "lastaccess": t.lastaccess.to_string(),
        "status": t.status.to_string(),
        "expires_at": t.expires_at.to_string(),
        "created_at": t.created_at.to_string(),
        "creator_userid": t.creator.map_or_else(|| "0".to_owned(), |c| c.to_string()),
    });
    v.as_object().cloned().unwrap_or_default()
}

/// Tokens the caller may see and change.
async fn visible(call: &Call<'_>) -> ZbxResult<Vec<ApiToken>> {
    let caller = call.caller()?;
    let users = (!caller.is_super_admin()).then(|| vec![caller.id()]);
    Ok(call.store().api_tokens(&TokenQuery { ids: None, users }).await?)
}

pub async fn get(call: &Call<'_>, params: &Json) -> ZbxResult<Json> {
    let opts = as_object(params).unwrap_or_default();
    let mut tokens = visible(call).await?;
    if let Some(secret) = opts.get("token").and_then(Json::as_str) {
        let Some((t, _)) = call.store().api_token_access(&hash_secret(secret)).await? else {
            return finish(Vec::new(), &opts, "tokenid", &[]);
        };
        tokens.retain(|x| x.id == t.id);
    }
    let mut rows: Vec<Row> = tokens.iter().map(|t| Row { fields: token_json(t), extra: Map::new() }).collect();
    by_ids(&mut rows, &opts, "tokenids", "tokenid");
    by_ids(&mut rows, &opts, "userids", "userid");
    finish(rows, &opts, "tokenid", &["tokenid", "name", "lastaccess", "status", "expires_at", "created_at"])
}

pub async fn create(call: &Call<'_>, params: &Json) -> ZbxResult<Json> {
    let caller = call.caller()?;
    let list = validate::objects(params, "/").map_err(ZbxError::params)?;
    let mut news: Vec<NewApiToken> = Vec::with_capacity(list.len());
    for (index, obj) in &list {
        let path = format!("/{index}");
        let t = new_token_input(obj, &path, caller.id()).map_err(ZbxError::params)?;
        if news.iter().any(|n| n.user == t.user && n.name == t.name) {
            return Err(ZbxError::params(invalid(
                &path,
                &format!("value (userid, name)=({}, {}) already exists", t.user, t.name),
            )));
        }
        news.push(t);
    }
    for t in &news {
        if t.user != caller.id() && !caller.is_super_admin() {
            return Err(ZbxError::no_permissions());
        }
        if call.store().user(t.user).await?.is_none() {
            return Err(ZbxError::params(format!("User with ID \"{}\" is not available.", t.user)));
        }
        let existing = call.store().api_tokens(&TokenQuery { ids: None, users: Some(vec![t.user]) }).await?;
        if existing.iter().any(|e| e.name == t.name) {
            return Err(ZbxError::params(format!(
                "API token \"{}\" already exists for userid \"{}\".",
                t.name, t.user
            )));
        }
    }
    let ids = call.store().create_api_tokens(news).await.map_err(|e| match e {
        StoreError::Taken(_) => ZbxError::params("API token already exists."),
        other => ZbxError::from(other),
    })?;
    let made = ids.iter().map(|i| (Some(i.get()), String::new())).collect();
    call.record(roster_core::audit::ACTION_ADD, roster_core::audit::RESOURCE_API_TOKEN, made).await;
    Ok(json!({ "tokenids": ids.iter().map(|i| i.to_string()).collect::<Vec<_>>() }))
}

fn new_token_input(obj: &Map<String, Json>, path: &str, caller: UserId) -> validate::VResult<NewApiToken> {
    check_unexpected(obj, &["name", "description", "userid", "status", "expires_at"], path)?;
    let name = validate::string(
        obj.get("name").ok_or_else(|| missing(path, "name"))?,
        &sub(path, "name"),
        true,
        Some(64),
        None,
    )?;
    let description = obj
        .get("description")
        .map(|v| validate::string(v, &sub(path, "description"), false, Some(65535), None))
        .transpose()?
        .unwrap_or_default();
    let user = match obj.get("userid") {
        Some(v) => validate::id(v, &sub(path, "userid"))?.parse().ok().and_then(UserId::new).unwrap_or(caller),
        None => caller,
    };
    let status =
        obj.get("status").map(|v| validate::int32(v, &sub(path, "status"), Some("0,1"))).transpose()?.unwrap_or(0);
    let expires_at = obj
        .get("expires_at")
        .map(|v| validate::int32(v, &sub(path, "expires_at"), Some("0:2147483647")))
        .transpose()?
        .unwrap_or(0);
    Ok(NewApiToken { name, description, user, status, expires_at, creator: caller })
}

/// The token ids of `params` (a list, or an object read as its values), all visible.
async fn owned_ids(call: &Call<'_>, params: &Json) -> ZbxResult<Vec<TokenId>> {
    let ids = validate::ids(params, "/").map_err(ZbxError::params)?;
    let tokens = visible(call).await?;
    ids.iter()
        .map(|id| tokens.iter().find(|t| t.id.to_string() == *id).map(|t| t.id).ok_or_else(ZbxError::no_permissions))
        .collect()
}

pub async fn generate(call: &Call<'_>, params: &Json) -> ZbxResult<Json> {
    let ids = owned_ids(call, params).await?;
    let secrets: Vec<(TokenId, String)> = ids.iter().map(|id| (*id, new_token())).collect();
    call.store().set_api_token_secrets(secrets.iter().map(|(id, s)| (*id, hash_secret(s))).collect()).await?;
    let renewed = ids.iter().map(|i| (Some(i.get()), String::new())).collect();
    call.record(roster_core::audit::ACTION_UPDATE, roster_core::audit::RESOURCE_API_TOKEN, renewed).await;
    Ok(Json::Array(secrets.into_iter().map(|(id, s)| json!({"tokenid": id.to_string(), "token": s})).collect()))
}

pub async fn delete(call: &Call<'_>, params: &Json) -> ZbxResult<Json> {
    let ids = owned_ids(call, params).await?;
    call.store().delete_api_tokens(ids.clone()).await?;
    let gone = ids.iter().map(|i| (Some(i.get()), String::new())).collect();
    call.record(roster_core::audit::ACTION_DELETE, roster_core::audit::RESOURCE_API_TOKEN, gone).await;
    Ok(json!({ "tokenids": ids.iter().map(|i| i.to_string()).collect::<Vec<_>>() }))
}

pub async fn update(call: &Call<'_>, params: &Json) -> ZbxResult<Json> {
    let list = validate::objects(params, "/").map_err(ZbxError::params)?;
    let tokens = visible(call).await?;
    let mut patches = Vec::with_capacity(list.len());
    for (index, obj) in &list {
        let path = format!("/{index}");
        let parsed = (|| -> validate::VResult<(String, ApiTokenPatch)> {
            check_unexpected(obj, &["tokenid", "name", "description", "status", "expires_at"], &path)?;
            let id =
                validate::id(obj.get("tokenid").ok_or_else(|| missing(&path, "tokenid"))?, &sub(&path, "tokenid"))?;
            let text = |k: &str, not_empty: bool, len: usize| {
                obj.get(k).map(|v| validate::string(v, &sub(&path, k), not_empty, Some(len), None)).transpose()
            };
            let int =
                |k: &str, rule: &str| obj.get(k).map(|v| validate::int32(v, &sub(&path, k), Some(rule))).transpose();
            Ok((
                id,
                ApiTokenPatch {
                    name: text("name", true, 64)?,
                    description: text("description", false, 65535)?,
                    status: int("status", "0,1")?,
                    expires_at: int("expires_at", "0:2147483647")?,
                },
            ))
        })()
        .map_err(ZbxError::params)?;
        let token = tokens.iter().find(|t| t.id.to_string() == parsed.0).ok_or_else(ZbxError::no_permissions)?;
        patches.push((token.id, parsed.1));
    }
    let ids: Vec<String> = patches.iter().map(|(id, _)| id.to_string()).collect();
    call.store().update_api_tokens(patches).await.map_err(|e| match e {
        StoreError::Taken(_) => ZbxError::params("API token with this name already exists."),
        other => ZbxError::from(other),
    })?;
    let changed = ids.iter().map(|i| (i.parse().ok(), String::new())).collect();
    call.record(roster_core::audit::ACTION_UPDATE, roster_core::audit::RESOURCE_API_TOKEN, changed).await;
    let _ = texts;
    Ok(json!({ "tokenids": ids }))
}
