//! `user.update` end to end (seed 001, spec 2.6): only the fields sent change, flags,
//! dates, photos (JSON and multipart), departments, and who may change whom. Reads back
//! through `user.get`; permissions use real non-admin webhooks.

mod common;

use common::{b64, Server, TINY_PNG};
use serde_json::{json, Value};

/// A server with one plain employee (with a `user` webhook).
async fn with_plain() -> (Server, i64, String) {
    let s = common::start().await;
    let (id, hook) = s.plain_user("pat@example.com", "Pat").await;
    (s, id, hook)
}

#[tokio::test]
async fn update_changes_only_the_fields_sent() {
    let s = common::start().await;
    let id = s
        .add_user("olga@example.com", json!({"NAME": "Olga", "LAST_NAME": "Petrova", "WORK_POSITION": "Engineer"}))
        .await;
    let before = s.user(id).await;
    s.update(json!({"ID": id, "NAME": "Olya"})).await;
    let after = s.user(id).await;
    assert_eq!(after["NAME"], "Olya");
    for key in ["LAST_NAME", "WORK_POSITION", "EMAIL", "ACTIVE", "UF_DEPARTMENT", "DATE_REGISTER"] {
        assert_eq!(after[key], before[key], "{key} changed");
    }
    // ID as a string, and the FIELDS wrapper some clients send.
    s.update(json!({"ID": id.to_string(), "FIELDS": {"LAST_NAME": "Ivanova"}})).await;
    let after = s.user(id).await;
    assert_eq!((after["NAME"].as_str(), after["LAST_NAME"].as_str()), (Some("Olya"), Some("Ivanova")));
    // EMAIL can be changed; a NULL value clears a field (the key disappears).
    s.update(json!({"ID": id, "EMAIL": "olya@example.com", "WORK_POSITION": null})).await;
    let after = s.user(id).await;
    assert_eq!(after["EMAIL"], "olya@example.com");
    assert!(after.get("WORK_POSITION").is_none(), "{after}");
}

#[tokio::test]
async fn update_active_flag_values() {
    let s = common::start().await;
    let id = s.add_user("flag@example.com", json!({})).await;
    // "False"/"false" mean N: Roster's documented choice (PHP would say Y).
    let cases: [(Value, bool); 8] = [
        (json!("N"), false),
        (json!("Y"), true),
        (json!("False"), false),
        (json!(true), true),
        (json!("false"), false),
        (json!(1), true),
        (json!(false), false),
        (json!("1"), true),
    ];
    for (value, expected) in cases {
        s.update(json!({"ID": id, "ACTIVE": value})).await;
        assert_eq!(s.user(id).await["ACTIVE"], json!(expected), "ACTIVE={value}");
    }
    // Form-encoded flags are strings.
    let r = s.post_form(&format!("{}user.update", s.hook), &format!("ID={id}&ACTIVE=N")).await;
    assert_eq!(r.ok(), &json!(true));
    assert_eq!(s.user(id).await["ACTIVE"], json!(false));
}

#[tokio::test]
async fn update_birthday_iso_in_midnight_out() {
    let s = common::start().await;
    let id = s.add_user("bday@example.com", json!({})).await;
    assert_eq!(s.user(id).await["PERSONAL_BIRTHDAY"], "", "unset date is an empty string");
    for input in ["1990-05-17", "1990-05-17T10:00:00+03:00", "17.05.1990"] {
        s.update(json!({"ID": id, "PERSONAL_BIRTHDAY": input})).await;
        assert_eq!(s.user(id).await["PERSONAL_BIRTHDAY"], "1990-05-17T00:00:00+00:00", "{input}");
    }
    s.update(json!({"ID": id, "PERSONAL_BIRTHDAY": ""})).await;
    assert_eq!(s.user(id).await["PERSONAL_BIRTHDAY"], "");
}

#[tokio::test]
async fn update_photo_round_trip_and_delete() {
    let s = common::start().await;
    let id = s.add_user("photo@example.com", json!({})).await;
    assert!(s.user(id).await.get("PERSONAL_PHOTO").is_none());
    s.update(json!({"ID": id, "PERSONAL_PHOTO": ["me.png", b64(TINY_PNG)]})).await;
    let url = s.user(id).await["PERSONAL_PHOTO"].as_str().expect("photo URL").to_owned();
    assert!(url.starts_with(&format!("{}/", s.base)), "not absolute: {url}");

    let resp = s.client().get(&url).send().await.expect("fetch photo");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "image/png");
    assert_eq!(resp.bytes().await.expect("bytes").as_ref(), TINY_PNG);

    // profile and user.current carry the same URL.
    let hook = s.hook_for(id, "user").await;
    assert_eq!(s.call_as(&hook, "profile", json!({})).await.ok()["PERSONAL_PHOTO"], url.as_str());
    assert_eq!(s.call_as(&hook, "user.current", json!({})).await.ok()["PERSONAL_PHOTO"], url.as_str());

    // An empty value deletes the photo; the key disappears and the old URL is gone.
    s.update(json!({"ID": id, "PERSONAL_PHOTO": ""})).await;
    assert!(s.user(id).await.get("PERSONAL_PHOTO").is_none());
    let gone = s.client().get(&url).send().await.expect("fetch photo");
    assert_eq!(gone.status().as_u16(), 404);
}

/// Sets a photo from `upload` and returns its URL's file name.
async fn photo_name(s: &Server, id: i64, upload: Value) -> String {
    s.update(json!({"ID": id, "PERSONAL_PHOTO": upload})).await;
    let url = s.user(id).await["PERSONAL_PHOTO"].as_str().expect("photo URL").to_owned();
    let resp = s.client().get(&url).send().await.expect("fetch photo");
    assert_eq!(resp.bytes().await.expect("bytes").as_ref(), TINY_PNG, "{url}");
    url.rsplit('/').next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn photo_names_and_the_other_ways_to_delete() {
    let s = common::start().await;
    let id = s.add_user("names@example.com", json!({"PERSONAL_PHOTO": ["first.png", b64(TINY_PNG)]})).await;
    assert!(s.user(id).await["PERSONAL_PHOTO"].as_str().is_some_and(|u| u.ends_with("/first.png")));
    // An empty file name gets a random 32-character one.
    let random = photo_name(&s, id, json!(["", b64(TINY_PNG)])).await;
    assert_eq!(random.len(), 32, "{random}");
    let unicode = photo_name(&s, id, json!(["фото.png", b64(TINY_PNG)])).await;
    assert!(unicode.ends_with(".png"), "{unicode}");
    for delete in [json!("false"), json!(["x.png", ""]), json!(null)] {
        photo_name(&s, id, json!(["again.png", b64(TINY_PNG)])).await;
        s.update(json!({"ID": id, "PERSONAL_PHOTO": delete.clone()})).await;
        assert!(s.user(id).await.get("PERSONAL_PHOTO").is_none(), "not deleted by {delete}");
    }
}

/// Sends `user.update` as multipart/form-data (ID, NAME and a PERSONAL_PHOTO file part)
/// with `boundary`, and checks that both the text fields and the photo landed.
async fn multipart_update(s: &Server, boundary: &str) {
    let id = s.add_user(&format!("{}@example.com", boundary.to_lowercase()), json!({})).await;
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"ID\"\r\n\r\n{id}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"NAME\"\r\n\r\nMulti\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"PERSONAL_PHOTO\"; filename=\"m.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(TINY_PNG);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let ctype = format!("multipart/form-data; boundary={boundary}");
    let r = s.post_raw(&format!("{}user.update", s.hook), &ctype, body).await;
    assert_eq!(r.ok(), &json!(true), "boundary {boundary}");
    let u = s.user(id).await;
    assert_eq!(u["NAME"], "Multi");
    let url = u["PERSONAL_PHOTO"].as_str().expect("photo URL");
    let fetched = s.client().get(url).send().await.expect("fetch").bytes().await.expect("bytes");
    assert_eq!(fetched.as_ref(), TINY_PNG);
}

#[tokio::test]
async fn multipart_upload_sets_the_photo() {
    let s = common::start().await;
    multipart_update(&s, "lowercase0boundary").await;
}

/// Boundaries are case-sensitive (RFC 2046); browsers send mixed-case ones
/// (`----WebKitFormBoundaryAbC...`), so they must be used exactly as given.
#[tokio::test]
async fn multipart_boundary_keeps_its_case() {
    let s = common::start().await;
    multipart_update(&s, "----WebKitFormBoundary7MA4YWxkTrZu0gW").await;
}

#[tokio::test]
async fn update_photo_with_broken_base64_is_an_argument_error() {
    let s = common::start().await;
    let id = s.add_user("broken@example.com", json!({})).await;
    let r = s.call("user.update", json!({"ID": id, "PERSONAL_PHOTO": ["x.png", "!!not*base64!!"]})).await;
    r.err(400, "ERROR_ARGUMENT", None);
    assert!(s.user(id).await.get("PERSONAL_PHOTO").is_none());
}

#[tokio::test]
async fn update_departments_scalar_or_list() {
    let s = common::start().await;
    let dept = s.call("department.add", json!({"NAME": "Sales", "PARENT": 1})).await.ok().as_i64().expect("id");
    let id = s.add_user("dept@example.com", json!({})).await;
    s.update(json!({"ID": id, "UF_DEPARTMENT": dept.to_string()})).await;
    assert_eq!(s.user(id).await["UF_DEPARTMENT"], json!([dept]));
    s.update(json!({"ID": id, "UF_DEPARTMENT": [1, dept]})).await;
    assert_eq!(s.user(id).await["UF_DEPARTMENT"], json!([1, dept]));
    let r = s.post_form(&format!("{}user.update", s.hook), &format!("ID={id}&UF_DEPARTMENT[]={dept}")).await;
    assert_eq!(r.ok(), &json!(true));
    assert_eq!(s.user(id).await["UF_DEPARTMENT"], json!([dept]));
}

#[tokio::test]
async fn plain_user_updates_self_without_active_or_departments() {
    let (s, id, hook) = with_plain().await;
    let r = s
        .call_as(&hook, "user.update", json!({"ID": id, "NAME": "Patricia", "ACTIVE": "N", "UF_DEPARTMENT": [2, 3]}))
        .await;
    assert_eq!(r.ok(), &json!(true));
    let me = s.user(id).await;
    assert_eq!(me["NAME"], "Patricia");
    assert_eq!(me["ACTIVE"], json!(true));
    assert_eq!(me["UF_DEPARTMENT"], json!([1]));
}

#[tokio::test]
async fn plain_user_cannot_update_others_or_add_users() {
    let (s, _, hook) = with_plain().await;
    let other = s.add_user("other@example.com", json!({"NAME": "Other"})).await;
    let admin_name = s.user(1).await["NAME"].clone();
    s.call_as(&hook, "user.update", json!({"ID": other, "NAME": "Hacked"})).await.denied();
    s.call_as(&hook, "user.update", json!({"ID": 1, "NAME": "Hacked"})).await.denied();
    assert_eq!(s.user(other).await["NAME"], "Other");
    assert_eq!(s.user(1).await["NAME"], admin_name);
    s.call_as(&hook, "user.add", json!({"EMAIL": "new@example.com", "UF_DEPARTMENT": 1})).await.denied();
}

#[tokio::test]
async fn unknown_or_missing_id_is_access_denied() {
    let s = common::start().await;
    for params in [
        json!({"ID": 9999, "NAME": "x"}),
        json!({"NAME": "x"}),
        json!({"ID": 0, "NAME": "x"}),
        json!({"ID": -3, "NAME": "x"}),
        json!({"ID": "abc", "NAME": "x"}),
        json!({"ID": 9999}),
    ] {
        s.call("user.update", params).await.denied();
    }
}

#[tokio::test]
async fn deactivated_users_webhook_is_refused() {
    let (s, id, hook) = with_plain().await;
    assert_eq!(s.call_as(&hook, "user.current", json!({})).await.ok()["ID"], id.to_string());
    s.update(json!({"ID": id, "ACTIVE": "N"})).await;
    let r = s.call_as(&hook, "user.current", json!({})).await;
    r.err(403, "INVALID_CREDENTIALS", Some("Invalid request credentials"));
    s.update(json!({"ID": id, "ACTIVE": "Y"})).await;
    s.call_as(&hook, "user.current", json!({})).await.ok();
}
