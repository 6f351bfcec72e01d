//! `event.bind`, `event.unbind`, `event.get`, `events` and `event.offline.*` (spec 6):
//! application context only (a webhook gets 403 `WRONG_AUTH_TYPE`); offline events and
//! binding them are for administrators.

use axum::http::StatusCode;
use roster_core::events::{NewBinding, OfflineEvent, OfflineQuery, ALL_EVENTS, USER_EVENTS, USER_EVENT_SCOPES};
use roster_core::oauth::App;
use roster_core::{CoreError, StoreError, UserId};
use serde_json::{json, Value as Json};

use super::Call;
use crate::envelope::{iso, Reply};
use crate::error::BxError;
use crate::input::{int_of, text_of, truthy, Params};

fn app_of<'a>(call: &Call<'a>) -> Result<&'a App, BxError> {
    call.app.ok_or_else(|| {
        BxError::new(
            StatusCode::FORBIDDEN,
            "WRONG_AUTH_TYPE",
            "Access denied! Current authorization type is denied for this method",
        )
    })
}

fn admin(call: &Call<'_>) -> Result<(), BxError> {
    admin_because(call, "")
}

/// Administrators only; `why` completes the portal's "Access denied!" text.
fn admin_because(call: &Call<'_>, why: &str) -> Result<(), BxError> {
    if call.actor.is_admin() {
        Ok(())
    } else {
        let text = if why.is_empty() { "Access denied!".to_owned() } else { format!("Access denied! {why}") };
        Err(BxError::new(StatusCode::FORBIDDEN, "ACCESS_DENIED", text))
    }
}

fn store_error(e: StoreError) -> BxError {
    BxError::from_core(CoreError::from(e))
}

fn text(params: &Params, key: &str) -> String {
    params.get(key).and_then(|v| text_of(&v)).unwrap_or_default().trim().to_owned()
}

/// `event_type`: online (default) or offline; anything else is refused.
fn offline(params: &Params) -> Result<bool, BxError> {
    match text(params, "EVENT_TYPE").to_ascii_lowercase().as_str() {
        "" | "online" => Ok(false),
        "offline" => Ok(true),
        _ => Err(BxError::argument("Value must be one of {online|offline}", "EVENT_TYPE")),
    }
}

/// The event, if the app's scopes include it (spec 6.1: else `ERROR_EVENT_NOT_FOUND`).
fn event_of(app: &App, params: &Params) -> Result<String, BxError> {
    let event = text(params, "EVENT").to_uppercase();
    if event.is_empty() {
        return Err(BxError::argument("Event name is required", "EVENT"));
    }
    let visible = USER_EVENTS.contains(&event.as_str()) && USER_EVENT_SCOPES.iter().any(|s| app.scopes.has(s));
    if !visible {
        return Err(BxError::new(StatusCode::BAD_REQUEST, "ERROR_EVENT_NOT_FOUND", "Event not found"));
    }
    Ok(event)
}

/// A handler must be an absolute http or https URL.
fn check_handler(handler: &str) -> Result<(), BxError> {
    let Some((scheme, rest)) = handler.split_once("://") else {
        return Err(BxError::new(StatusCode::BAD_REQUEST, "ERROR_WRONG_HANDLER_URL", "Wrong handler URL"));
    };
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return Err(BxError::new(
            StatusCode::BAD_REQUEST,
            "ERROR_UNSUPPORTED_PROTOCOL",
            "Unsupported handler protocol",
        ));
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(BxError::new(StatusCode::BAD_REQUEST, "ERROR_WRONG_HANDLER_URL", "Wrong handler URL"));
    }
    Ok(())
}

pub async fn bind(call: &Call<'_>, params: &Params) -> Result<Reply, BxError> {
    let app = app_of(call)?;
    let offline = offline(params)?;
    let handler = text(params, "HANDLER");
    if !offline && handler.is_empty() {
        return Err(BxError::argument("Handler URL is required", "HANDLER"));
    }
    let event = event_of(app, params)?;
    if offline {
        admin_because(call, "Offline events binding requires administrator access rights")?;
    } else {
        check_handler(&handler)?;
    }
    let auth_user = params.get("AUTH_TYPE").and_then(|v| int_of(&v)).and_then(UserId::new);
    if auth_user.is_some_and(|u| u != call.actor.id()) {
        admin_because(call, "Event binding with AUTH_TYPE requires administrator access rights")?;
    }
    let binding =
        NewBinding { app: app.id, event, handler: if offline { String::new() } else { handler }, auth_user, offline };
    match call.bx.dir.store().bind_event(binding).await {
        Ok(_) => Ok(Reply::new(Json::Bool(true))),
        Err(StoreError::Taken(_)) => Err(BxError::core("Unable to set event handler: Handler already binded")),
        Err(e) => Err(store_error(e)),
    }
}

pub async fn unbind(call: &Call<'_>, params: &Params) -> Result<Reply, BxError> {
    let app = app_of(call)?;
    let event = text(params, "EVENT").to_uppercase();
    let handler = Some(text(params, "HANDLER")).filter(|h| !h.is_empty());
    let offline = offline(params)?;
    if offline {
        admin_because(call, "Offline events unbinding requires administrator access rights")?;
    }
    let count = call.bx.dir.store().unbind_event(app.id, &event, handler, offline).await.map_err(store_error)?;
    Ok(Reply::new(json!({"count": count})))
}

pub async fn get(call: &Call<'_>) -> Result<Reply, BxError> {
    let app = app_of(call)?;
    let list: Vec<Json> = call
        .bx
        .dir
        .store()
        .bindings(app.id)
        .await
        .map_err(store_error)?
        .into_iter()
        .map(|b| {
            json!({
                "event": b.event,
                "handler": b.handler,
                "auth_type": b.auth_user.map_or("0".to_owned(), |u| u.to_string()),
                "offline": i64::from(b.offline),
            })
        })
        .collect();
    Ok(Reply::new(Json::Array(list)))
}

pub fn names(call: &Call<'_>) -> Result<Reply, BxError> {
    app_of(call)?;
    Ok(Reply::new(Json::Array(ALL_EVENTS.iter().map(|e| json!(e)).collect())))
}

fn offline_json(e: &OfflineEvent, data: Json) -> Json {
    let at = chrono::DateTime::from_timestamp(e.created, 0).map(iso).unwrap_or_default();
    json!({
        "ID": e.id.to_string(),
        "TIMESTAMP_X": at,
        "EVENT_NAME": e.event,
        "EVENT_DATA": data,
        "EVENT_ADDITIONAL": {"user_id": "0"},
        "MESSAGE_ID": e.message_id,
        "ERROR": if e.error { "1" } else { "0" },
    })
}

pub async fn offline_get(call: &Call<'_>, params: &Params) -> Result<Reply, BxError> {
    offline_read(call, params, false).await
}

/// `event.offline.list`: the same events, read without reserving or removing them.
pub async fn offline_list(call: &Call<'_>, params: &Params) -> Result<Reply, BxError> {
    offline_read(call, params, true).await
}

async fn offline_read(call: &Call<'_>, params: &Params, peek: bool) -> Result<Reply, BxError> {
    let app = app_of(call)?;
    admin(call)?;
    let process_id = roster_core::credentials::random_hex(16);
    let query = OfflineQuery {
        app: app.id,
        limit: params.get("LIMIT").and_then(|v| int_of(&v)).filter(|l| *l > 0).map_or(50, |l| l.min(1000) as u64),
        clear: params.get("CLEAR").is_none_or(|v| truthy(&v)),
        process_id: process_id.clone(),
        errors: params.get("ERROR").is_some_and(|v| truthy(&v)),
        peek,
    };
    let events = call.bx.dir.store().take_offline_events(query).await.map_err(store_error)?;
    let mut out = Vec::with_capacity(events.len());
    for e in &events {
        out.push(offline_json(e, json!({"FIELDS": {"ID": e.entity.to_string()}})));
    }
    Ok(Reply::new(json!({"process_id": process_id, "events": out})))
}

fn message_ids(params: &Params) -> Option<Vec<String>> {
    match params.get("MESSAGE_ID").or_else(|| params.get("ID")) {
        Some(Json::Array(items)) => Some(items.iter().filter_map(text_of).collect()),
        Some(Json::Object(map)) => Some(map.values().filter_map(text_of).collect()),
        Some(other) => text_of(&other).map(|s| vec![s]),
        None => None,
    }
}

pub async fn offline_clear(call: &Call<'_>, params: &Params) -> Result<Reply, BxError> {
    let app = app_of(call)?;
    admin(call)?;
    let process = text(params, "PROCESS_ID");
    if process.is_empty() {
        return Err(BxError::argument("PROCESS_ID is required", "PROCESS_ID"));
    }
    call.bx.dir.store().clear_offline_events(app.id, &process, message_ids(params)).await.map_err(store_error)?;
    Ok(Reply::new(Json::Bool(true)))
}

pub async fn offline_error(call: &Call<'_>, params: &Params) -> Result<Reply, BxError> {
    let app = app_of(call)?;
    admin(call)?;
    let process = text(params, "PROCESS_ID");
    let ids = message_ids(params).unwrap_or_default();
    call.bx.dir.store().fail_offline_events(app.id, &process, ids).await.map_err(store_error)?;
    Ok(Reply::new(Json::Bool(true)))
}
