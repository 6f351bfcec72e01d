//! Durability across a restart: everything written before a graceful shutdown is there
//! after a new server opens the same SQLite file, old webhooks keep working, and the
//! bootstrap (admin, webhook code) runs only on an empty database.

mod common;

use common::{Options, Server};
use serde_json::json;

/// Writes a user, a department, a photo and a webhook; returns (user id, dept id, hook path).
async fn write_some(s: &Server) -> (i64, i64, String) {
    let dept = s.call("department.add", json!({"NAME": "Durable"})).await.ok().as_i64().expect("dept");
    let id = s.add_user("kept@example.com", json!({"NAME": "Kept", "UF_DEPARTMENT": [1, dept]})).await;
    let photo = common::b64(common::TINY_PNG);
    s.update(json!({"ID": id, "PERSONAL_BIRTHDAY": "1980-02-29", "PERSONAL_PHOTO": ["p.png", photo]})).await;
    let hook = s.hook_for(id, "user").await;
    let path = hook.trim_start_matches(&s.base).to_owned();
    (id, dept, path)
}

#[tokio::test]
async fn data_and_webhooks_survive_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = common::start_in(dir.path(), Options::default()).await;
    let (id, dept, path) = write_some(&first).await;
    let before = first.user(id).await;
    first.stop().await;

    let opts = Options {
        bootstrap_webhook: "secondcode5678".into(),
        admin_password: "other-pass".into(),
        ..Default::default()
    };
    let second = common::start_in(dir.path(), opts).await;
    let mut after = second.user(id).await;
    // The photo URL names the new server's port; the rest is identical.
    let url = after["PERSONAL_PHOTO"].as_str().expect("photo kept").to_owned();
    assert!(url.starts_with(&second.base), "{url}");
    after["PERSONAL_PHOTO"] = before["PERSONAL_PHOTO"].clone();
    assert_eq!(after, before);
    assert_eq!(after["PERSONAL_BIRTHDAY"], "1980-02-29T00:00:00+00:00");
    let fetched = second.client().get(&url).send().await.expect("photo").bytes().await.expect("bytes");
    assert_eq!(fetched.as_ref(), common::TINY_PNG);
    let r = second.call("department.get", json!({"ID": dept})).await;
    assert_eq!(r.ok()[0]["NAME"], "Durable");

    // The old bootstrap webhook and the user's webhook still work; the new code does not.
    assert_eq!(second.call("user.current", json!({})).await.ok()["ID"], "1");
    let user_hook = format!("{}{path}", second.base);
    assert_eq!(second.call_as(&user_hook, "user.current", json!({})).await.ok()["ID"], id.to_string());
    let fresh = format!("{}/rest/1/secondcode5678/", second.base);
    second.call_as(&fresh, "user.current", json!({})).await.err(401, "NO_AUTH_FOUND", None);
    assert_eq!(second.call("user.get", json!({})).await.ids(), vec![1, id]);
    second.stop().await;
}

#[tokio::test]
async fn writes_acknowledged_just_before_shutdown_are_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = common::start_in(dir.path(), Options::default()).await;
    let specs: Vec<_> = (0..30).map(|i| json!({"EMAIL": format!("late{i}@example.com"), "UF_DEPARTMENT": 1})).collect();
    let ids = first.add_users(&specs).await;
    first.update(json!({"ID": ids[29], "NAME": "Last"})).await;
    first.stop().await;
    let second = common::start_in(dir.path(), Options::default()).await;
    let r = second.call("user.get", json!({"start": 0})).await;
    assert_eq!(r.json["total"], 31);
    assert_eq!(second.user(ids[29]).await["NAME"], "Last");
}
