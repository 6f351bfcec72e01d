//! `user.update` and `user.add` end to end (seed 001, spec 2.5-2.6): partial updates,
//! flags, dates, photos, departments, who may change whom, and the add-time checks and
//! errors. Reads back through `user.get`; permissions use real non-admin webhooks.

mod common;

use base64::Engine;
use common::{Server, TINY_PNG};
use serde_json::{json, Value};

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

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
    // The seed's form: flat JSON, ID as a number; also the FIELDS wrapper some clients send.
    s.update(json!({"ID": id.to_string(), "FIELDS": {"LAST_NAME": "Ivanova"}})).await;
    let after = s.user(id).await;
    assert_eq!((after["NAME"].as_str(), after["LAST_NAME"].as_str()), (Some("Olya"), Some("Ivanova")));
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
    s.call_as(&hook, "user.update", json!({"ID": other, "NAME": "Hacked"})).await.denied();
    s.call_as(&hook, "user.update", json!({"ID": 1, "NAME": "Hacked"})).await.denied();
    assert_eq!(s.user(other).await["NAME"], "Other");
    assert_eq!(s.user(1).await["NAME"], "Admin");
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

#[tokio::test]
async fn add_returns_an_integer_id_of_an_active_employee() {
    let s = common::start().await;
    let r = s.call("user.add", json!({"EMAIL": " new@example.com ", "UF_DEPARTMENT": [1], "NAME": "New"})).await;
    let id = r.ok().as_i64().expect("integer id");
    assert!(r.text().contains(&format!("\"result\":{id},")), "{}", r.text());
    let u = s.user(id).await;
    assert_eq!(u["EMAIL"], "new@example.com", "e-mail is trimmed");
    assert_eq!(u["ACTIVE"], json!(true));
    assert_eq!(u["USER_TYPE"], "employee");
    assert_eq!(u["UF_DEPARTMENT"], json!([1]));
    // Read-only fields are stripped, unknown ones ignored.
    let id2 = s.add_user("ro@example.com", json!({"DATE_REGISTER": "2001-01-01", "IS_ONLINE": "Y", "FOO": 1})).await;
    let u = s.user(id2).await;
    assert_ne!(u["DATE_REGISTER"], "2001-01-01T00:00:00+00:00");
    assert_eq!(u["IS_ONLINE"], "N");
}

#[tokio::test]
async fn add_refuses_missing_or_invalid_email() {
    let s = common::start().await;
    for params in [
        json!({"UF_DEPARTMENT": 1}),
        json!({"EMAIL": "", "UF_DEPARTMENT": 1}),
        json!({"EMAIL": "not-an-email", "UF_DEPARTMENT": 1}),
        json!({"EMAIL": "a@b", "UF_DEPARTMENT": 1}),
        json!({"EMAIL": "two words@example.com", "UF_DEPARTMENT": 1}),
    ] {
        s.call("user.add", params).await.argument("wrong_email", "");
    }
}

#[tokio::test]
async fn add_needs_a_department_or_extranet_with_a_group() {
    let s = common::start().await;
    s.call("user.add", json!({"EMAIL": "nodept@example.com"})).await.argument("no_extranet_field", "");
    s.call("user.add", json!({"EMAIL": "nodept@example.com", "UF_DEPARTMENT": []}))
        .await
        .argument("no_extranet_field", "");
    s.call("user.add", json!({"EMAIL": "ext@example.com", "EXTRANET": "Y"}))
        .await
        .argument("no_sonet_group_for_extranet", "");
    let id = s
        .add_user("ext@example.com", json!({"EXTRANET": "Y", "SONET_GROUP_ID": [1], "UF_DEPARTMENT": 1}))
        .await;
    let u = s.user(id).await;
    assert_eq!((u["USER_TYPE"].as_str(), u["UF_DEPARTMENT"].clone()), (Some("extranet"), json!([])));
}

#[tokio::test]
async fn add_requires_string_personal_and_work_fields() {
    let s = common::start().await;
    for field in ["WORK_PHONE", "PERSONAL_MOBILE"] {
        let params = json!({"EMAIL": "typed@example.com", "UF_DEPARTMENT": 1, field: 5551234});
        s.call("user.add", params).await.argument("invalid_type_field", field);
    }
    // user.update does not check types: the number is stored as text.
    let id = s.add_user("typed@example.com", json!({})).await;
    s.update(json!({"ID": id, "WORK_PHONE": 5551234})).await;
    assert_eq!(s.user(id).await["WORK_PHONE"], "5551234");
}

#[tokio::test]
async fn add_refuses_a_duplicate_email() {
    let s = common::start().await;
    s.add_user("dup@example.com", json!({})).await;
    for email in ["dup@example.com", "DUP@Example.com"] {
        let r = s.call("user.add", json!({"EMAIL": email, "UF_DEPARTMENT": 1})).await;
        r.err(400, "ERROR_ARGUMENT", None);
        assert_eq!(r.json["argument"], "");
    }
    assert_eq!(s.call("user.get", json!({})).await.ids().len(), 2);
}
