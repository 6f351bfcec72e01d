//! Delivery of events to online handlers: a background loop claims due deliveries from
//! the durable queue, POSTs each handler the form-encoded body a portal sends (`event`,
//! `data[...]`, `ts`, `auth[...]`), and on failure retries with backoff (1 s, 2 s, 4 s ...
//! up to 5 minutes) for two hours. A handler that is down loses nothing.

use std::sync::{Arc, Weak};
use std::time::Duration;

use roster_core::events::{backoff, Delivery, GIVE_UP_AFTER};
use roster_core::UserId;
use serde_json::{json, Map, Value as Json};

use crate::fields::{user_json, Flavor, Visibility};
use crate::Bitrix;

/// How many deliveries one round claims, and how long a claim hides them from others.
const BATCH: u64 = 20;
const LEASE_SECS: i64 = 60;

/// Starts the delivery loop of a face; it ends when the face is dropped.
pub fn spawn(bx: &Arc<Bitrix>) {
    tokio::spawn(run(Arc::downgrade(bx)));
}

async fn run(face: Weak<Bitrix>) {
    let client = match reqwest::Client::builder().timeout(Duration::from_secs(10)).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "event delivery disabled: no HTTP client");
            return;
        }
    };
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let Some(bx) = face.upgrade() else { return };
        let base_url = bx.base_url_for_events();
        let now = chrono::Utc::now().timestamp();
        let due = match bx.dir.store().claim_deliveries(now, BATCH, LEASE_SECS).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the event queue");
                continue;
            }
        };
        for d in due {
            let delivered = deliver(&bx, &client, &base_url, &d).await;
            let now = chrono::Utc::now().timestamp();
            let retry = (!delivered && now - d.created < GIVE_UP_AFTER).then(|| now + backoff(d.failures + 1));
            if !delivered && retry.is_none() {
                tracing::warn!(handler = %d.binding.handler, event = %d.event, "event delivery given up");
            }
            if let Err(e) = bx.dir.store().finish_delivery(d.id, delivered, retry).await {
                tracing::warn!(error = %e, "cannot record an event delivery");
            }
        }
    }
}

async fn deliver(bx: &Bitrix, client: &reqwest::Client, base: &str, d: &Delivery) -> bool {
    let Some(body) = payload(bx, base, d).await else { return true };
    match client
        .post(&d.binding.handler)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
    {
        Ok(resp) if resp.status().is_success() => true,
        Ok(resp) => {
            tracing::debug!(status = %resp.status(), handler = %d.binding.handler, "event handler refused");
            false
        }
        Err(e) => {
            tracing::debug!(error = %e, handler = %d.binding.handler, "event handler unreachable");
            false
        }
    }
}

/// The form body; None when the subject is gone (nothing left to deliver).
async fn payload(bx: &Bitrix, base: &str, d: &Delivery) -> Option<String> {
    let store = bx.dir.store();
    let user = store.user(UserId::new(d.entity)?).await.ok()??;
    let app = store.app_by_id(d.binding.app).await.ok()??;
    if !roster_core::events::USER_EVENT_SCOPES.iter().any(|s| app.scopes.has(s)) {
        // The app lost its user scopes since binding: it may not see users.
        return None;
    }
    let vis = Visibility::of(&app.scopes);
    let refs = store.file_refs(user.values().iter().filter_map(file_of).collect()).await.unwrap_or_default();
    let url = |id| refs.iter().find(|r| r.id == id).map(|r| crate::files::url(base, r));
    let data = user_json(&user, vis.fields(), Flavor::List, &url);
    let domain = base.split("://").nth(1).unwrap_or(base).to_owned();
    let mut auth = json!({
        "domain": domain,
        "client_endpoint": format!("{base}/rest/"),
        "server_endpoint": format!("{base}/oauth/rest/"),
        "member_id": crate::oauth::member_id(&domain),
        "application_token": application_token(&app.secret_hash),
        "status": "L",
    });
    // The handler acts with the tokens of the `auth_type` user, else of the user whose
    // action raised the event (none when nobody did).
    if let Some(acting) = d.binding.auth_user.or(d.actor) {
        if let Ok(t) = bx.dir.issue_tokens(&app.client_id, acting, None).await {
            auth["access_token"] = json!(t.access_token);
            auth["expires"] = json!(t.expires.to_string());
            auth["expires_in"] = json!(t.expires_in.to_string());
            auth["scope"] = json!(t.scopes.to_list());
            auth["user_id"] = json!(acting.get().to_string());
        }
    }
    let mut form = Map::new();
    form.insert("event".into(), json!(d.event));
    form.insert("event_handler_id".into(), json!(d.binding.id.to_string()));
    form.insert("data".into(), data);
    form.insert("ts".into(), json!(chrono::Utc::now().timestamp().to_string()));
    form.insert("auth".into(), auth);
    Some(encode_form(&Json::Object(form)))
}

fn file_of(v: &roster_core::Value) -> Option<roster_core::FileId> {
    match v {
        roster_core::Value::File(f) => Some(*f),
        _ => None,
    }
}

/// A stable per-app token handlers can check events against (derived, not a secret's copy).
pub fn application_token(secret_hash: &str) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(format!("roster-app-token:{secret_hash}").as_bytes());
    d.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// PHP-style form encoding of nested values: `data[ID]=5&data[UF_DEPARTMENT][0]=1`.
pub fn encode_form(value: &Json) -> String {
    fn walk(prefix: &str, v: &Json, out: &mut form_urlencoded::Serializer<'_, String>) {
        match v {
            Json::Object(m) => {
                for (k, x) in m {
                    let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}[{k}]") };
                    walk(&key, x, out);
                }
            }
            Json::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(&format!("{prefix}[{i}]"), x, out);
                }
            }
            Json::Null => {
                out.append_pair(prefix, "");
            }
            Json::Bool(b) => {
                out.append_pair(prefix, if *b { "1" } else { "" });
            }
            Json::String(s) => {
                out.append_pair(prefix, s);
            }
            Json::Number(n) => {
                out.append_pair(prefix, &n.to_string());
            }
        }
    }
    let mut ser = form_urlencoded::Serializer::new(String::new());
    walk("", value, &mut ser);
    ser.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_nests_like_php() {
        let body =
            encode_form(&json!({"event": "ONUSERADD", "data": {"ID": "5", "UF_DEPARTMENT": [1, 2], "ACTIVE": true}}));
        assert_eq!(body, "event=ONUSERADD&data%5BID%5D=5&data%5BUF_DEPARTMENT%5D%5B0%5D=1&data%5BUF_DEPARTMENT%5D%5B1%5D=2&data%5BACTIVE%5D=1");
        let mut back = Map::new();
        crate::params::decode_form(body.as_bytes(), &mut back, &Default::default()).unwrap();
        assert_eq!(back["data"]["UF_DEPARTMENT"], json!(["1", "2"]));
    }
}
