//! `user.add` end to end (spec 2.5): the integer id, e-mail, department and extranet
//! rules, the add-only type check, duplicates, and concurrent writes through the
//! group-committing store (one e-mail race, many parallel updates).

mod common;

use common::{b64, Reply, TINY_PNG};
use serde_json::{json, Value};

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
    let id = s.add_user("ext@example.com", json!({"EXTRANET": "Y", "SONET_GROUP_ID": [1], "UF_DEPARTMENT": 1})).await;
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
    // The documented quirk: WORK_LOGO matches WORK_ and cannot be uploaded by user.add.
    let params = json!({"EMAIL": "typed@example.com", "UF_DEPARTMENT": 1, "WORK_LOGO": ["l.png", b64(TINY_PNG)]});
    s.call("user.add", params).await.argument("invalid_type_field", "WORK_LOGO");
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
        r.argument("A user with this email already exists", "");
    }
    assert_eq!(s.call("user.get", json!({})).await.ids().len(), 2);
}

#[tokio::test]
async fn concurrent_adds_of_one_email_create_one_user() {
    let s = common::start().await;
    let calls = (0..16)
        .map(|i| s.call("user.add", json!({"EMAIL": "race@example.com", "UF_DEPARTMENT": 1, "NAME": format!("R{i}")})));
    let replies = futures_join(calls).await;
    let created = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(created, 1, "{:?}", replies.iter().map(Reply::text).collect::<Vec<_>>());
    for r in replies.iter().filter(|r| r.status != 200) {
        r.argument("A user with this email already exists", "");
    }
    let r = s.call("user.get", json!({"EMAIL": "race@example.com"})).await;
    assert_eq!(r.ids().len(), 1);
}

#[tokio::test]
async fn concurrent_updates_of_different_users_all_land() {
    let s = common::start().await;
    let specs: Vec<Value> =
        (0..20).map(|i| json!({"EMAIL": format!("c{i}@example.com"), "UF_DEPARTMENT": 1})).collect();
    let ids = s.add_users(&specs).await;
    let calls = ids.iter().map(|id| s.call("user.update", json!({"ID": id, "WORK_POSITION": format!("pos{id}")})));
    for r in futures_join(calls).await {
        assert_eq!(r.ok(), &json!(true));
    }
    let r = s.call("user.get", json!({"FILTER": {"%WORK_POSITION": "pos"}, "select": ["ID", "WORK_POSITION"]})).await;
    for u in r.ok().as_array().into_iter().flatten() {
        assert_eq!(u["WORK_POSITION"], format!("pos{}", u["ID"].as_str().unwrap_or_default()));
    }
    assert_eq!(r.ids(), ids);
}

/// Runs futures concurrently on this task and collects their outputs in order.
async fn futures_join<F: std::future::Future<Output = Reply>>(futs: impl Iterator<Item = F>) -> Vec<Reply> {
    let mut set = Vec::new();
    for f in futs {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<Reply>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, fut) in out.iter_mut().zip(set.iter_mut()) {
            if slot.is_none() {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}
