//! `user.userfield.add/update/list/delete/file.get` (seed 003, spec 3): custom field
//! definitions, administrators only. Errors carry an empty code: `Access denied.` (no
//! such field or no right) and `ID is not defined or invalid`, as the seed lists them.

use axum::http::StatusCode;
use roster_core::userfields::{
    check_name, expand_label, labels_for_add, labels_for_update, normalise_items, normalise_name, settings, ItemChange,
    LABEL_KEYS,
};
use roster_core::{CoreError, EnumItemId, FieldId, FieldType, FileId, NewUserField, UserField, UserFieldPatch, UserId};
use serde_json::{json, Map, Value as Json};

use super::Call;
use crate::envelope::Reply;
use crate::error::BxError;
use crate::input::{int_of, text_of, truthy, Params};
use roster_core::audit::{ACTION_ADD, ACTION_DELETE, ACTION_UPDATE, RESOURCE_USER_FIELD};

fn blank(description: &str) -> BxError {
    BxError::new(StatusCode::BAD_REQUEST, "", description)
}

fn access_denied() -> BxError {
    blank("Access denied.")
}

fn admin_only(call: &Call<'_>) -> Result<(), BxError> {
    if call.actor.is_admin() {
        Ok(())
    } else {
        Err(access_denied())
    }
}

/// `fields` (any case) as an object with upper-cased keys.
fn fields_param(params: &Params) -> Map<String, Json> {
    match params.get("FIELDS") {
        Some(Json::Object(m)) => m.into_iter().map(|(k, v)| (k.to_ascii_uppercase(), v)).collect(),
        _ => Map::new(),
    }
}

fn yes(v: Option<&Json>) -> Option<bool> {
    v.map(truthy)
}

fn show_filter(v: Option<&Json>, type_id: FieldType) -> Option<String> {
    v.map(|v| match (truthy(v), type_id) {
        (false, _) => "N".to_owned(),
        (true, FieldType::Employee) => "I".to_owned(),
        (true, _) => "E".to_owned(),
    })
}

fn items(v: Option<&Json>) -> Vec<ItemChange> {
    let list: Vec<Json> = match v {
        Some(Json::Array(a)) => a.clone(),
        Some(Json::Object(m)) => m.values().cloned().collect(),
        _ => Vec::new(),
    };
    list.iter()
        .filter_map(|item| {
            let o = item.as_object()?;
            let get = |k: &str| o.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)).map(|(_, v)| v);
            Some(ItemChange {
                id: get("ID").and_then(int_of).and_then(EnumItemId::new),
                value: get("VALUE").and_then(text_of),
                sort: get("SORT").and_then(int_of).filter(|s| *s > 0),
                def: get("DEF").map(truthy),
                xml_id: get("XML_ID").and_then(text_of).filter(|s| !s.is_empty()),
                delete: get("DEL").is_some_and(truthy),
            })
        })
        .collect()
}

fn core_error(e: CoreError) -> BxError {
    match e {
        CoreError::AccessDenied | CoreError::NotFound(_) => access_denied(),
        CoreError::Invalid(msg) => BxError::core(msg),
        other => other.into(),
    }
}

pub async fn add(call: &Call<'_>, params: &Params) -> Result<Reply, BxError> {
    admin_only(call)?;
    let f = fields_param(params);
    let type_code = f.get("USER_TYPE_ID").and_then(text_of).unwrap_or_default().trim().to_lowercase();
    let raw_name = f.get("FIELD_NAME").and_then(text_of).unwrap_or_default();
    let mut missing = Vec::new();
    if type_code.is_empty() {
        missing.push("The 'USER_TYPE_ID' field is not found.");
    }
    if raw_name.trim().is_empty() {
        missing.push("The 'FIELD_NAME' field is not found.");
    }
    if !missing.is_empty() {
        return Err(blank(&missing.join("\n")));
    }
    let type_id =
        FieldType::parse(&type_code).ok_or_else(|| BxError::core(format!("Invalid user type ID \"{type_code}\".")))?;
    let name = normalise_name(&raw_name);
    check_name(&name).map_err(BxError::core)?;
    let given = f.get("SETTINGS").and_then(Json::as_object).cloned().unwrap_or_default();
    let settings = settings(type_id, &given, &Map::new()).map_err(BxError::core)?;
    let multiple = type_id != FieldType::Boolean && f.get("MULTIPLE").is_some_and(truthy);
    let mut items = if type_id == FieldType::Enumeration { items(f.get("LIST")) } else { Vec::new() };
    items.retain(|i| i.value.as_deref().is_some_and(|v| !v.is_empty()) && i.id.is_none());
    normalise_items(&mut items, multiple);
    let field = NewUserField {
        labels: labels_for_add(&f, &name),
        name,
        type_id,
        xml_id: f.get("XML_ID").and_then(text_of),
        sort: f.get("SORT").and_then(int_of).filter(|s| *s > 0).unwrap_or(100),
        multiple,
        mandatory: yes(f.get("MANDATORY")).unwrap_or(false),
        show_filter: show_filter(f.get("SHOW_FILTER"), type_id).unwrap_or_else(|| "N".into()),
        show_in_list: yes(f.get("SHOW_IN_LIST")).unwrap_or(true),
        edit_in_list: yes(f.get("EDIT_IN_LIST")).unwrap_or(true),
        is_searchable: yes(f.get("IS_SEARCHABLE")).unwrap_or(false),
        settings,
        items,
    };
    let name = field.name.clone();
    match call.bx.dir.add_user_field(call.actor, field).await {
        Ok(id) => {
            call.record(
                ACTION_ADD,
                RESOURCE_USER_FIELD,
                Some(id.get()),
                &name,
                json!({"userfield.type": ["add", type_code]}),
            )
            .await;
            Ok(Reply::new(json!(id.get())))
        }
        Err(CoreError::Taken(_)) => Err(BxError::core(format!("Field {name} for USER object already exists"))),
        Err(e) => Err(core_error(e)),
    }
}

/// The `id` parameter, or the seed's error.
fn id_param(params: &Params) -> Result<FieldId, BxError> {
    params
        .get("ID")
        .and_then(|v| int_of(&v))
        .and_then(FieldId::new)
        .ok_or_else(|| blank("ID is not defined or invalid"))
}

async fn find(call: &Call<'_>, id: FieldId) -> Result<UserField, BxError> {
    let fields = call.bx.dir.user_fields().await?;
    fields.into_iter().find(|f| f.id == id && f.name.starts_with("UF_USR_")).ok_or_else(access_denied)
}

pub async fn update(call: &Call<'_>, params: &Params) -> Result<Reply, BxError> {
    admin_only(call)?;
    let id = id_param(params)?;
    let stored = find(call, id).await?;
    let f = fields_param(params);
    let mut labels = labels_for_update(&f);
    // The seed: LABEL fills every label not given (every language).
    if let Some(label) = f.get("LABEL").and_then(text_of).filter(|s| !s.is_empty()) {
        for key in LABEL_KEYS {
            let entry = labels.entry((*key).to_owned()).or_insert_with(|| expand_label(None, &label));
            if f.get(*key).is_some_and(Json::is_object) {
                for (lang, text) in expand_label(None, &label) {
                    let given = f.get(*key).and_then(|m| m.get(&lang)).is_some();
                    if !given {
                        entry.insert(lang, text);
                    }
                }
            }
        }
    }
    let settings = match f.get("SETTINGS").and_then(Json::as_object) {
        Some(given) => {
            let base = stored.settings.as_object().cloned().unwrap_or_default();
            Some(settings(stored.type_id, given, &base).map_err(BxError::core)?)
        }
        None => None,
    };
    let mut changes = if stored.type_id == FieldType::Enumeration { items(f.get("LIST")) } else { Vec::new() };
    if !stored.multiple && changes.iter().any(|i| i.def == Some(true) && !i.delete) {
        // One default only: the first new default clears the others.
        let first = changes.iter().position(|i| i.def == Some(true) && !i.delete);
        for (n, c) in changes.iter_mut().enumerate() {
            c.def = Some(Some(n) == first);
        }
        for item in &stored.items {
            if !changes.iter().any(|c| c.id == Some(item.id)) && item.def {
                changes.push(ItemChange {
                    id: Some(item.id),
                    value: None,
                    sort: None,
                    def: Some(false),
                    xml_id: None,
                    delete: false,
                });
            }
        }
    }
    let patch = UserFieldPatch {
        xml_id: f.get("XML_ID").map(text_of),
        sort: f.get("SORT").and_then(int_of).map(|s| if s > 0 { s } else { 100 }),
        mandatory: yes(f.get("MANDATORY")),
        show_filter: show_filter(f.get("SHOW_FILTER"), stored.type_id),
        show_in_list: yes(f.get("SHOW_IN_LIST")),
        edit_in_list: yes(f.get("EDIT_IN_LIST")),
        is_searchable: yes(f.get("IS_SEARCHABLE")),
        settings,
        labels,
        items: changes,
    };
    let details = json!({"userfield": ["update", Json::Object(f.clone())]});
    call.bx.dir.update_user_field(call.actor, id, patch).await.map_err(core_error)?;
    call.record(ACTION_UPDATE, RESOURCE_USER_FIELD, Some(id.get()), &stored.name, details).await;
    Ok(Reply::new(Json::Bool(true)))
}

pub async fn delete(call: &Call<'_>, params: &Params) -> Result<Reply, BxError> {
    admin_only(call)?;
    let id = id_param(params)?;
    let stored = find(call, id).await?;
    call.bx.dir.delete_user_field(call.actor, id).await.map_err(core_error)?;
    call.record(ACTION_DELETE, RESOURCE_USER_FIELD, Some(id.get()), &stored.name, json!({})).await;
    Ok(Reply::new(Json::Bool(true)))
}

fn yn(b: bool) -> Json {
    json!(if b { "Y" } else { "N" })
}

/// A field as `user.userfield.list` shows it: strings except SETTINGS, LIST and labels.
pub fn field_json(f: &UserField) -> Json {
    let mut o = Map::new();
    o.insert("ID".into(), json!(f.id.to_string()));
    o.insert("ENTITY_ID".into(), json!("USER"));
    o.insert("FIELD_NAME".into(), json!(f.name));
    o.insert("USER_TYPE_ID".into(), json!(f.type_id.code()));
    o.insert("XML_ID".into(), f.xml_id.clone().map_or(Json::Null, Json::String));
    o.insert("SORT".into(), json!(f.sort.to_string()));
    o.insert("MULTIPLE".into(), yn(f.multiple));
    o.insert("MANDATORY".into(), yn(f.mandatory));
    o.insert("SHOW_FILTER".into(), json!(f.show_filter));
    o.insert("SHOW_IN_LIST".into(), yn(f.show_in_list));
    o.insert("EDIT_IN_LIST".into(), yn(f.edit_in_list));
    o.insert("IS_SEARCHABLE".into(), yn(f.is_searchable));
    o.insert("SETTINGS".into(), f.settings.clone());
    for key in LABEL_KEYS {
        let texts: Map<String, Json> =
            f.labels.get(*key).map(|m| m.iter().map(|(l, t)| (l.clone(), json!(t))).collect()).unwrap_or_default();
        o.insert((*key).to_owned(), Json::Object(texts));
    }
    if f.type_id == FieldType::Enumeration {
        let list: Vec<Json> = f
            .items
            .iter()
            .map(|i| json!({"ID": i.id.to_string(), "SORT": i.sort.to_string(), "VALUE": i.value, "DEF": yn(i.def), "XML_ID": i.xml_id}))
            .collect();
        o.insert("LIST".into(), Json::Array(list));
    }
    Json::Object(o)
}

pub async fn list(call: &Call<'_>, params: &Params) -> Result<Reply, BxError> {
    admin_only(call)?;
    let fields = call.bx.dir.user_fields().await?;
    let mut items: Vec<Json> = fields.iter().filter(|f| f.name.starts_with("UF_USR_")).map(field_json).collect();
    if let Some(Json::Object(filter)) = params.get("FILTER") {
        for (key, want) in filter {
            let key = key.trim_start_matches('=').to_ascii_uppercase();
            let want = text_of(&want).unwrap_or_default();
            items.retain(|i| i.get(&key).and_then(text_of).is_some_and(|have| have.eq_ignore_ascii_case(&want)));
        }
    }
    if let Some(Json::Object(order)) = params.get("ORDER") {
        if let Some((key, dir)) = order.iter().next() {
            let key = key.to_ascii_uppercase();
            let desc = text_of(dir).is_some_and(|d| d.eq_ignore_ascii_case("desc"));
            let numeric = matches!(key.as_str(), "ID" | "SORT");
            items.sort_by(|a, b| {
                let (x, y) = (
                    a.get(&key).and_then(text_of).unwrap_or_default(),
                    b.get(&key).and_then(text_of).unwrap_or_default(),
                );
                let ord =
                    if numeric { x.parse::<i64>().unwrap_or(0).cmp(&y.parse::<i64>().unwrap_or(0)) } else { x.cmp(&y) };
                if desc {
                    ord.reverse()
                } else {
                    ord
                }
            });
        }
    }
    let total = items.len() as u64;
    Ok(Reply { total: Some(total), ..Reply::new(Json::Array(items)) })
}

/// `user.userfield.file.get`: the raw bytes of a file held in a user's file field.
pub async fn file_get(call: &Call<'_>, params: &Params) -> Result<Reply, BxError> {
    let user = params.get("ID").and_then(|v| int_of(&v)).and_then(UserId::new).ok_or_else(access_denied)?;
    let field_name = params.get("FIELD").and_then(|v| text_of(&v)).unwrap_or_default().to_uppercase();
    let file = params.get("VALUE").and_then(|v| int_of(&v)).and_then(FileId::new).ok_or_else(access_denied)?;
    admin_only(call)?;
    let fields = call.bx.dir.user_fields().await?;
    let field =
        fields.iter().find(|f| f.name == field_name && f.type_id == FieldType::File).ok_or_else(access_denied)?;
    let holder = call.bx.dir.user(user).await?.ok_or_else(access_denied)?;
    let held = holder.custom(field.id).iter().any(|v| v.text == file.to_string());
    if !held {
        return Err(access_denied());
    }
    let stored =
        call.bx.dir.store().file(file).await.map_err(|e| BxError::from_core(e.into()))?.ok_or_else(access_denied)?;
    Ok(Reply { raw: Some((stored.content_type, stored.data)), ..Reply::new(Json::Null) })
}
