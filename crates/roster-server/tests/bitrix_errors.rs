//! Bad input end to end (spec 1.2, 7): malformed JSON, invalid UTF-8, oversized bodies,
//! unknown fields, wrong credentials and odd values all get a Bitrix24 JSON error (or are
//! ignored), never axum's plain text and never a 5xx.

mod common;

use common::{Reply, Server, FORM_TYPE, JSON_TYPE};
use serde_json::{json, Value};

/// Asserts a portal-style JSON error with `status` (any code) and returns the code.
fn json_error(r: &Reply, status: u16) -> String {
    assert_eq!(r.status, status, "body: {}", r.text());
    assert_eq!(r.header("content-type"), JSON_TYPE, "body: {}", r.text());
    let code = r.json["error"].as_str().unwrap_or_else(|| panic!("no error code: {}", r.text()));
    assert!(r.json["error_description"].is_string(), "{}", r.text());
    assert!(r.json.get("time").is_none());
    code.to_owned()
}

#[tokio::test]
async fn malformed_json_is_a_json_error() {
    let s = common::start().await;
    let url = format!("{}user.update", s.hook);
    for body in [&b"{\"ID\": 1, \"NAME\":"[..], b"{ID: 1}", b"[1, 2]", b"\"text\"", b"{\"NAME\": \"\xff\"}"] {
        let r = s.post_raw(&url, "application/json", body.to_vec()).await;
        assert_eq!(json_error(&r, 400), "ERROR_ARGUMENT", "{}", String::from_utf8_lossy(body));
    }
    let deep = format!("{}{}", "{\"a\":".repeat(300), "}".repeat(300));
    json_error(&s.post_raw(&url, "application/json", deep).await, 400);
    // Nothing was changed by any of them.
    assert_ne!(s.user(1).await["NAME"], "");
}

#[tokio::test]
async fn invalid_utf8_in_form_or_query_is_a_json_error() {
    let s = common::start().await;
    let url = format!("{}user.get", s.hook);
    let utf8_error = |r: &Reply| {
        json_error(r, 400);
        assert!(r.json["error_description"].as_str().is_some_and(|d| d.contains("UTF-8")), "{}", r.text());
    };
    for body in [&b"NAME=%FF"[..], b"NAME=\xff\xfe", b"FILTER[%C3]=x"] {
        utf8_error(&s.post_raw(&url, FORM_TYPE, body.to_vec()).await);
    }
    utf8_error(&s.get(&format!("{url}?NAME=%FF")).await);
    // Multipart fields are text too.
    let mp = b"--xyz\r\nContent-Disposition: form-data; name=\"NAME\"\r\n\r\n\xff\r\n--xyz--\r\n".to_vec();
    utf8_error(&s.post_raw(&url, "multipart/form-data; boundary=xyz", mp).await);
}

#[tokio::test]
async fn body_larger_than_the_limit_is_413() {
    let s = common::start_opts(common::Options { max_body: 64 * 1024, ..Default::default() }).await;
    let body = format!("NAME={}", "a".repeat(64 * 1024));
    let r = s.post_form(&format!("{}user.get", s.hook), &body).await;
    json_error(&r, 413);
    // Just under the limit is fine.
    let body = format!("NAME={}", "a".repeat(60 * 1024));
    assert_eq!(s.post_form(&format!("{}user.get", s.hook), &body).await.ok(), &json!([]));
}

#[tokio::test]
async fn unknown_fields_are_ignored() {
    let s = common::start().await;
    let id = s.add_user("unknown@example.com", json!({"FOO": "bar", "UF_USR_NOPE": "x", "name": "Low"})).await;
    s.update(json!({"ID": id, "FOO": 1, "PASSWORD": "secret", "LOGIN": "other", "TIME_ZONE_OFFSET": 5, "NAME": "N"}))
        .await;
    let u = s.user(id).await;
    assert_eq!(u["NAME"], "N");
    for absent in ["FOO", "PASSWORD", "LOGIN", "TIME_ZONE_OFFSET", "UF_USR_NOPE"] {
        assert!(u.get(absent).is_none(), "{absent} leaked into {u}");
    }
    // The login is unchanged: aplogin by e-mail still finds the user.
    let hook = s.hook_for(id, "user").await;
    let code = hook.trim_end_matches('/').rsplit('/').next().unwrap_or_default().to_owned();
    let r = s.get(&format!("{}/rest/user.current?aplogin=unknown%40example.com&ap={code}", s.base)).await;
    assert_eq!(r.ok()["ID"], id.to_string());
}

#[tokio::test]
async fn wrong_credentials_are_no_auth_found() {
    let s = common::start().await;
    for path in [
        "/rest/1/wrongcode0000/user.get",
        "/rest/2/testcode1234/user.get",
        "/rest/0/testcode1234/user.get",
        "/rest/nobody/testcode1234/user.get",
        "/rest/99999999999999999999/testcode1234/user.get",
        "/rest/1/%FF%FE/user.get",
    ] {
        let r = s.get(&format!("{}{path}", s.base)).await;
        r.err(401, "NO_AUTH_FOUND", Some("Wrong authorization data"));
    }
    // A token that Roster does not issue is not accepted either.
    let r = s.send(s.client().get(format!("{}/rest/user.get", s.base)).bearer_auth("sometoken")).await;
    r.err(401, "NO_AUTH_FOUND", None);
    let r = s.get(&format!("{}/rest/user.get?auth=sometoken", s.base)).await;
    r.err(401, "NO_AUTH_FOUND", None);
}

async fn expect_method_not_found(s: &Server, path: &str) {
    let r = s.get(&format!("{}{path}", s.base)).await;
    assert_eq!(r.header("content-type"), JSON_TYPE, "{path}: status {}, body {:?}", r.status, r.text());
    r.err(404, "ERROR_METHOD_NOT_FOUND", Some("Method not found!"));
}

#[tokio::test]
async fn odd_paths_are_method_not_found() {
    let s = common::start().await;
    for path in ["/rest", "/rest/1/testcode1234/", "/rest/1/testcode1234/a/b/user.get", "/rest/%FF.json"] {
        expect_method_not_found(&s, path).await;
    }
}

/// The REST root with its slash is a REST URL too (spec 1.1): it must answer the portal's
/// JSON 404, not the router's empty one.
#[tokio::test]
async fn rest_root_with_slash_is_a_json_method_not_found() {
    let s = common::start().await;
    expect_method_not_found(&s, "/rest/").await;
}

/// Calls that must never crash the server: odd types, sizes and shapes.
async fn odd_calls(s: &Server) -> Vec<(&'static str, Value)> {
    let id = s.add_user("odd@example.com", json!({})).await;
    vec![
        ("user.get", json!({"FILTER": "ID=1"})),
        ("user.get", json!({"FILTER": [1, 2]})),
        ("user.get", json!({"FILTER": {"ID": {"a": [1, {"b": 2}]}}})),
        ("user.get", json!({"FILTER": {"><ID": [1]}, "select": 5})),
        ("user.get", json!({"FILTER": {"NAME": null, "LAST_NAME": true, "EMAIL": 1.5}})),
        ("user.get", json!({"start": "abc", "sort": ["ID"], "order": ["x"]})),
        ("user.get", json!({"start": 1e30})),
        ("user.get", json!({"start": "99999999999999999999999"})),
        ("user.get", json!({"ID": "99999999999999999999999"})),
        ("user.get", json!({"sort": "PERSONAL_PHOTO", "order": "DESC"})),
        ("user.get", json!({"FILTER": {"%": "x", "!": 1, "><": 2, "": 3}})),
        ("user.search", json!({"FIND": "%_\\'\"; DROP TABLE users; --"})),
        ("user.search", json!({"FIND": "x".repeat(10_000)})),
        ("user.update", json!({"ID": id, "PERSONAL_BIRTHDAY": "not a date"})),
        ("user.update", json!({"ID": id, "UF_DEPARTMENT": [999]})),
        ("user.update", json!({"ID": id, "UF_DEPARTMENT": [0]})),
        ("user.update", json!({"ID": id, "NAME": {"nested": true}})),
        ("user.update", json!({"ID": id, "PERSONAL_PHOTO": 5})),
        ("user.update", json!({"ID": id, "EMAIL": "not an email"})),
        ("user.update", json!({"ID": id, "EMAIL": "odd2@example.com", "ACTIVE": {"x": 1}})),
        ("user.update", json!({"ID": [id, 1], "NAME": "List"})),
        ("user.add", json!({"EMAIL": ["a@example.com"], "UF_DEPARTMENT": 1})),
        ("user.add", json!({"EMAIL": "z@example.com", "UF_DEPARTMENT": "abc"})),
        ("user.add", json!({"EMAIL": "y@example.com", "UF_DEPARTMENT": {"a": 1}})),
        ("department.get", json!({"ID": "x", "start": -5})),
        ("department.add", json!({"NAME": "", "PARENT": 999})),
        ("department.add", json!({"NAME": "Orphan", "PARENT": 999})),
        ("department.update", json!({"ID": 1, "PARENT": 1})),
        ("department.update", json!({"ID": 999, "NAME": "x"})),
        ("department.delete", json!({"ID": 1})),
        ("batch", json!({"cmd": "server.time"})),
        ("batch", json!({"cmd": {"a": "user.get?$result[", "b": "$result[a]", "c": "?", "d": ""}})),
        ("method.get", json!({"name": ["x"]})),
        ("user.access", json!({"ACCESS": {"x": {"y": 1}}})),
    ]
}

#[tokio::test]
async fn odd_values_never_fail_the_server() {
    let s = common::start().await;
    for (method, params) in odd_calls(&s).await {
        let r = s.call(method, params.clone()).await;
        assert!([200, 400, 403, 404].contains(&r.status), "{method} {params}: {} {}", r.status, r.text());
        assert_eq!(r.header("content-type"), JSON_TYPE, "{method} {params}");
        assert!(r.json.is_object(), "{method} {params}: {}", r.text());
        assert!(r.json.get("result").is_some() != r.json.get("error").is_some(), "{method}: {}", r.text());
    }
    // The directory still answers normally afterwards.
    assert_eq!(s.call("user.get", json!({"ID": 1})).await.ids(), vec![1]);
    assert_eq!(s.call("department.get", json!({"ID": 1})).await.ok()[0]["ID"], "1");
}

/// Large but well-formed lists (a sync tool's `@ID` of every known user, a long FIND)
/// must be answered, or refused with a 4xx; they must not surface as a 500 from SQL.
#[tokio::test]
async fn large_lists_are_answered_without_a_server_error() {
    let s = common::start().await;
    let many: Vec<i64> = (1..=40_000).collect();
    let words = vec!["ab"; 4_000].join(" ");
    let mut failed = Vec::new();
    for (what, method, params) in [
        ("@ID of 40000", "user.get", json!({"FILTER": {"@ID": many.clone()}})),
        ("UF_DEPARTMENT filter of 40000", "user.get", json!({"FILTER": {"UF_DEPARTMENT": many.clone()}})),
        ("FIND of 4000 words", "user.search", json!({"FIND": words})),
        ("NAME list of 40000", "user.get", json!({"FILTER": {"NAME": vec!["x%"; 40_000]}})),
        ("UF_DEPARTMENT update of 40000", "user.update", json!({"ID": 1, "UF_DEPARTMENT": many.clone()})),
        ("UF_DEPARTMENT add of 40000", "user.add", json!({"EMAIL": "big@example.com", "UF_DEPARTMENT": many.clone()})),
        ("department ID list of 40000", "department.get", json!({"ID": many})),
    ] {
        let r = s.send_unchecked(s.client().post(format!("{}{method}", s.hook)).json(&params)).await;
        assert_eq!(r.header("content-type"), JSON_TYPE);
        if r.status >= 500 {
            failed.push(format!("{what} ({method}): {} {}", r.status, r.text()));
        }
    }
    assert!(failed.is_empty(), "server errors:\n{}", failed.join("\n"));
}
