//! The Bitrix24 client against a real Roster server: typed user methods, the raw call,
//! errors as `ApiError`, paging past 50 rows through batch, and `call_many` packing more
//! than 50 calls into batches of 50 with one outcome per call, in order.

mod common;

use roster_client::{Bitrix24, Call, ClientOptions, Error, Map};
use serde_json::{json, Value};

fn obj(v: Value) -> Map {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_user_methods() {
    let server = common::Roster::start().await;
    let b24 = server.client();
    let me = b24.user_current().await.unwrap();
    assert_eq!(me["ID"], json!("1"));
    let id = b24.user_add(obj(json!({"EMAIL": "ann@example.org", "NAME": "Ann", "UF_DEPARTMENT": [1]}))).await.unwrap();
    assert!(id > 1);
    b24.user_update(id, obj(json!({"LAST_NAME": "Lee", "WORK_POSITION": "Engineer"}))).await.unwrap();
    let ann = b24.user_get(id).await.unwrap().expect("user exists");
    assert_eq!((ann["NAME"].as_str(), ann["LAST_NAME"].as_str()), (Some("Ann"), Some("Lee")));
    assert!(b24.user_get(99_999).await.unwrap().is_none());
    let found = b24.user_find(obj(json!({"LAST_NAME": "Lee"}))).await.unwrap();
    assert_eq!(found.len(), 1);
    let searched = b24.user_search(obj(json!({"NAME": "Ann"}))).await.unwrap();
    assert_eq!(searched[0]["ID"], json!(id.to_string()));
    let fields = b24.user_fields().await.unwrap();
    assert!(fields.contains_key("EMAIL"));
    // The raw call: any method, the whole envelope.
    let env = b24.call("server.time", &Map::new()).await.unwrap();
    assert!(env.result.is_string() && env.time.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_api_errors_with_the_body() {
    let server = common::Roster::start().await;
    let b24 = server.client();
    let err = b24.call("user.frobnicate", &Map::new()).await.unwrap_err();
    let api = err.api().expect("an API error");
    assert_eq!((api.status, api.code.as_str()), (404, "ERROR_METHOD_NOT_FOUND"));
    assert_eq!(api.body["error"], json!("ERROR_METHOD_NOT_FOUND"));
    let bad = Bitrix24::webhook(&format!("{}/rest/1/wrongcode99/", server.base), ClientOptions::default()).unwrap();
    let err = bad.user_current().await.unwrap_err();
    assert_eq!(err.api().map(|a| a.code.as_str()), Some("NO_AUTH_FOUND"), "{err}");
    // send() hands back the reply as it came, error or not.
    let reply = bad.send("user.current", &Map::new()).await.unwrap();
    assert_eq!(reply.status, 401);
    // A 4xx is not retried.
    assert_eq!(reply.attempts, 1);
    let missing = b24.user_update(1, obj(json!({"EMAIL": "not-an-email"}))).await;
    assert!(matches!(missing, Err(Error::Api(_))), "{missing:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_calls_go_through_batches_and_lists_page_through() {
    let server = common::Roster::start().await;
    let b24 = server.client();
    let mut calls: Vec<Call> = (0..120)
        .map(|i| {
            Call::new(
                "user.add",
                obj(json!({"EMAIL": format!("bulk{i}@example.org"), "NAME": format!("Bulk{i}"), "UF_DEPARTMENT": [1]})),
            )
        })
        .collect();
    // One bad call in the middle: it fails alone, the others go on.
    calls[60] = Call::new("user.add", obj(json!({"EMAIL": "bulk1@example.org"})));
    let mut progress = Vec::new();
    let out = b24.call_many(calls, |n| progress.push(n)).await.unwrap();
    assert_eq!(progress, vec![50, 100, 120], "three batches");
    assert_eq!(out.len(), 120);
    assert!(out[60].is_err(), "duplicate e-mail fails: {:?}", out[60]);
    assert_eq!(out.iter().filter(|r| r.is_ok()).count(), 119);
    let ids: Vec<i64> = out.iter().filter_map(|r| r.as_ref().ok()?.as_i64()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "results come back in call order");
    // 120 users now exist: user.get pages of 50 are fetched and joined.
    let mut seen = Vec::new();
    let all = b24.list_with_progress("user.get", &Map::new(), |n, total| seen.push((n, total))).await.unwrap();
    assert_eq!(all.len(), 120);
    assert_eq!(seen.first(), Some(&(50, 120)));
    assert_eq!(seen.last(), Some(&(120, 120)));
    let mut all_ids: Vec<&str> = all.iter().filter_map(|u| u["ID"].as_str()).collect();
    all_ids.dedup();
    assert_eq!(all_ids.len(), 120, "no duplicates across pages");
    let found = b24.user_find(obj(json!({"%NAME": "Bulk1"}))).await.unwrap();
    assert_eq!(found.len(), 1 + 10 + 20, "Bulk1, Bulk10..19, Bulk100..119");
}
