//! The JSON-RPC envelope over a real socket (spec section 2): content types, OPTIONS and
//! CORS, parse and request errors, batches and notifications, id types, method names in
//! any case, prefixes before `api_jsonrpc.php`, and PHP's output escaping.

mod common;

use serde_json::{json, Value};

#[tokio::test]
async fn content_type_options_and_cors() {
    let s = common::start("6.0.14").await;
    let body = json!({"jsonrpc": "2.0", "method": "apiinfo.version", "params": {}, "id": 1}).to_string();
    for ct in [None, Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("Application/JSON")] {
        let r = s.post_raw("/api_jsonrpc.php", ct, body.clone(), None).await;
        assert_eq!((r.status, r.bytes.len()), (412, 0), "{ct:?}");
        assert_eq!(r.header("access-control-allow-origin"), "*");
    }
    for ct in ["application/json-rpc", "application/json", "application/jsonrequest", "application/json; charset=utf-8"]
    {
        let r = s.post_raw("/api_jsonrpc.php", Some(ct), body.clone(), None).await;
        assert_eq!(r.status, 200, "{ct}");
        assert_eq!(r.json, json!({"jsonrpc": "2.0", "result": "6.0.14", "id": 1}));
        assert_eq!(r.header("content-type"), "application/json");
        assert_eq!(r.header("access-control-allow-headers"), "Content-Type");
        assert_eq!(r.header("access-control-allow-methods"), "POST");
        assert_eq!(r.header("access-control-max-age"), "1000");
    }
    let client = reqwest::Client::new();
    let r = client.request(reqwest::Method::OPTIONS, &s.url).send().await.expect("options");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap_or("")), Some("*"));
    assert!(r.bytes().await.expect("body").is_empty());
    // The HTTP method is not checked: a GET with the right header is an empty body.
    let r = client.get(&s.url).header("content-type", "application/json-rpc").send().await.expect("get");
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"]["code"], -32700);
    s.stop().await;
}

#[tokio::test]
async fn any_prefix_before_api_jsonrpc_php() {
    let s = common::start("7.0.0").await;
    let body = json!({"jsonrpc": "2.0", "method": "apiinfo.version", "params": [], "id": "x"}).to_string();
    for path in ["/api_jsonrpc.php", "/zabbix/api_jsonrpc.php", "/a/b/api_jsonrpc.php"] {
        let r = s.post_raw(path, Some("application/json-rpc"), body.clone(), None).await;
        assert_eq!(r.json, json!({"jsonrpc": "2.0", "result": "7.0.0", "id": "x"}), "{path}");
    }
    let r = s.post_raw("/zabbix/other.php", Some("application/json-rpc"), body, None).await;
    assert_eq!(r.status, 404);
    s.stop().await;
}

#[tokio::test]
async fn parse_errors_and_invalid_requests() {
    let s = common::start("6.0.14").await;
    let parse = json!({"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error",
        "data": "Invalid JSON. An error occurred on the server while parsing the JSON text."}, "id": null});
    for body in ["", "{", "{\"a\":}", "nul"] {
        let r = s.post_raw("/api_jsonrpc.php", Some("application/json-rpc"), body.to_owned(), None).await;
        assert_eq!(r.json, parse, "{body:?}");
    }
    let invalid = json!({"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid request.",
        "data": "The received JSON is not a valid JSON-RPC request."}, "id": null});
    for body in ["[]", "{}", "0", "\"abc\"", "true", "null", "5"] {
        let r = s.post_raw("/api_jsonrpc.php", Some("application/json-rpc"), body.to_owned(), None).await;
        assert_eq!(r.json, invalid, "{body:?}");
    }
    s.stop().await;
}

#[tokio::test]
async fn batches_notifications_and_ids() {
    let s = common::start("6.0.14").await;
    let call = |id: Value| json!({"jsonrpc": "2.0", "method": "apiinfo.version", "params": [], "id": id});
    let note = json!({"jsonrpc": "2.0", "method": "apiinfo.version", "params": []});
    // Ids come back with their JSON type; a batch answers in order, skipping notifications.
    let r = s
        .post(&json!([call(json!("abc")), note.clone(), call(json!(1.5)), call(json!(7)), call(Value::Null), 5]))
        .await;
    let ids: Vec<Value> = r.json.as_array().expect("list").iter().map(|a| a["id"].clone()).collect();
    assert_eq!(ids, vec![json!("abc"), json!(1.5), json!(7), Value::Null, Value::Null]);
    assert!(r.text().contains("\"id\":1.5"), "{}", r.text());
    assert_eq!(r.json[4]["error"]["data"], "Invalid parameter \"/\": an array is expected.");
    // A single notification, and a batch of notifications only: empty bodies.
    let r = s.post(&note).await;
    assert_eq!((r.status, r.bytes.len()), (200, 0));
    let r = s.post(&json!([note.clone(), {"jsonrpc": "2.0", "method": "user.get", "params": {}}])).await;
    assert_eq!((r.status, r.bytes.len()), (200, 0));
    // Envelope errors are answered even without an id.
    let r = s.post(&json!({"jsonrpc": "1.0", "method": "apiinfo.version", "params": []})).await;
    assert_eq!(r.json["error"]["data"], "Invalid parameter \"/jsonrpc\": value must be \"2.0\".");
    assert_eq!(r.json["id"], Value::Null);
    s.stop().await;
}

#[tokio::test]
async fn method_names_are_case_insensitive() {
    let s = common::start("6.0.14").await;
    let r = s.call("APIINFO.Version", json!([]), None).await;
    assert_eq!(r["result"], "6.0.14");
    let admin = s.admin().await;
    let r = s.call("User.Get", json!({"output": ["username"], "userids": "1"}), Some(&admin)).await;
    assert_eq!(r["result"], json!([{"username": "Admin"}]));
    s.stop().await;
}

#[tokio::test]
async fn output_is_php_json_encode() {
    let s = common::start("6.0.14").await;
    let admin = s.admin().await;
    let id = s
        .create_user(
            &admin,
            json!({"username": "j\u{f6}rg", "name": "J\u{f6}rg/\u{1F600}", "roleid": 1, "usrgrps": [{"usrgrpid": 12}]}),
        )
        .await;
    let body = json!({"jsonrpc": "2.0", "method": "user.get", "params": {"output": ["name"], "userids": id}, "auth": admin, "id": 1});
    let r = s.post(&body).await;
    assert_eq!(r.text(), r#"{"jsonrpc":"2.0","result":[{"name":"J\u00f6rg/\ud83d\ude00"}],"id":1}"#);
    s.stop().await;
}
