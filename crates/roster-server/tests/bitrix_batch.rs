//! `batch` end to end (spec 2.8): commands as a map or a list, `$result[...]`
//! references, `halt`, the 50-command limit, refused nested batch, empty sections as
//! `[]`, result order, per-command `time`, scope re-checks and form double-encoding.

mod common;

use common::{assert_time, enc, Server};
use serde_json::{json, Value};

/// Runs a batch as the administrator and returns its `result` object (the five sections).
async fn batch(s: &Server, params: Value) -> Value {
    let r = s.call("batch", params).await;
    r.ok().clone()
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

const NOT_FOUND: &str = "Method not found!";

#[tokio::test]
async fn commands_as_a_map() {
    let s = common::start().await;
    let res = batch(&s, json!({"cmd": {"me": "user.current", "t": "server.time", "u": "user.get?ID=1"}})).await;
    assert_eq!(res["result"]["me"]["ID"], "1");
    assert!(common::is_iso(res["result"]["t"].as_str().unwrap_or_default()));
    assert_eq!(common::ids_of(&res["result"]["u"]), vec![1]);
    assert_eq!(res["result_total"], json!({"u": 1}));
    assert_eq!(res["result_error"], json!([]));
    assert_eq!(res["result_next"], json!([]));
    assert_eq!(keys(&res["result_time"]), ["me", "t", "u"]);
    for key in ["me", "t", "u"] {
        assert_time(&res["result_time"][key]);
    }
}

#[tokio::test]
async fn commands_as_a_list() {
    let s = common::start().await;
    let res = batch(&s, json!({"cmd": ["user.current", "server.time", "user.get?ID=1"]})).await;
    let list = res["result"].as_array().unwrap_or_else(|| panic!("result is not a list: {res}"));
    assert_eq!(list.len(), 3, "{res}");
    assert_eq!(list[0]["ID"], "1");
    assert_eq!(res["result_time"].as_array().map(Vec::len), Some(3), "{res}");
    assert_eq!(res["result_total"], json!({"2": 1}));
    // A non-string item is skipped; the others keep their list positions as keys.
    let res = batch(&s, json!({"cmd": ["user.current", 17, "server.time"]})).await;
    assert_eq!(keys(&res["result"]), ["0", "2"]);
}

#[tokio::test]
async fn result_references_feed_later_commands() {
    let s = common::start().await;
    let res = batch(
        &s,
        json!({"cmd": {
            "new": "user.add?EMAIL=ref%40example.com&UF_DEPARTMENT=1&NAME=Ref",
            "get": "user.get?ID=$result[new]",
            "again": "user.get?ID=$result[get][0][ID]&select[]=NAME&select[]=ID",
            "dept": "department.get?ID=$result[get][0][UF_DEPARTMENT][0]",
            "text": "user.update?ID=$result[new]&LAST_NAME=Id-$result[get][0][ID]-end",
            "depts": "user.update?ID=$result[new]&UF_DEPARTMENT=$result[get][0][UF_DEPARTMENT]",
            "count": "user.get?ID=$total[get]&select[]=ID",
            "missing": "user.get?ID=$result[nope][0][ID]"
        }}),
    )
    .await;
    let id = res["result"]["new"].as_i64().expect("new id");
    assert_eq!(common::ids_of(&res["result"]["get"]), vec![id]);
    assert_eq!(res["result"]["again"], json!([{"ID": id.to_string(), "NAME": "Ref"}]));
    assert_eq!(res["result"]["dept"][0]["ID"], "1");
    assert_eq!(res["result"]["text"], json!(true));
    assert_eq!(res["result"]["depts"], json!(true), "a whole-value reference passes the list: {res}");
    assert_eq!(res["result"]["count"], json!([{"ID": "1"}]));
    assert_eq!(s.user(id).await["LAST_NAME"], format!("Id-{id}-end"));
    // An unresolvable reference stays literal text and matches nothing.
    assert_eq!(res["result"]["missing"], json!([]));
}

#[tokio::test]
async fn halt_stops_after_the_first_error() {
    let s = common::start().await;
    let cmd = json!({"a": "server.time", "b": "user.nope", "c": "user.current"});
    let res = batch(&s, json!({"halt": 1, "cmd": cmd.clone()})).await;
    assert_eq!(keys(&res["result"]), ["a"]);
    assert_eq!(res["result_error"], json!({"b": {"error": "ERROR_METHOD_NOT_FOUND", "error_description": NOT_FOUND}}));
    for halt in [json!(0), json!("N"), json!(false)] {
        let res = batch(&s, json!({"halt": halt, "cmd": cmd.clone()})).await;
        assert_eq!(keys(&res["result"]), ["a", "c"], "halt={halt}");
        assert_eq!(keys(&res["result_error"]), ["b"]);
    }
    // Default: no halt.
    let res = batch(&s, json!({"cmd": cmd})).await;
    assert_eq!(keys(&res["result"]), ["a", "c"]);
}

#[tokio::test]
async fn at_most_fifty_commands() {
    let s = common::start().await;
    let cmd: Vec<String> = (0..51).map(|_| "server.time".to_owned()).collect();
    let r = s.call("batch", json!({"cmd": cmd})).await;
    let res = r.ok();
    assert_eq!(res["result"].as_array().map(Vec::len), Some(50));
    assert_eq!(
        res["result_error"],
        json!({"50": {"error": "ERROR_BATCH_LENGTH_EXCEEDED", "error_description": "Max batch length exceeded"}})
    );
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn nested_batch_is_refused() {
    let s = common::start().await;
    let res =
        batch(&s, json!({"cmd": {"inner": "batch?cmd[x]=server.time", "Inner2": "BATCH", "ok": "server.time"}})).await;
    let refused = json!({"error": "ERROR_BATCH_METHOD_NOT_ALLOWED", "error_description": "Method is not allowed for batch usage"});
    assert_eq!(res["result_error"], json!({"inner": refused.clone(), "Inner2": refused}));
    assert_eq!(keys(&res["result"]), ["ok"]);
}

#[tokio::test]
async fn empty_sections_are_empty_lists() {
    let s = common::start().await;
    let r = s.call("batch", json!({"cmd": {"t": "server.time"}})).await;
    for section in ["result_error", "result_total", "result_next"] {
        assert_eq!(r.ok()[section], json!([]), "{section}");
    }
    assert!(r.text().contains(r#""result_error":[]"#), "{}", r.text());
    let r = s.call("batch", json!({"cmd": {}})).await;
    let all_empty = json!({"result": [], "result_error": [], "result_total": [], "result_next": [], "result_time": []});
    assert_eq!(r.ok(), &all_empty);
}

#[tokio::test]
async fn results_keep_command_order_and_pages() {
    let s = common::start().await;
    let specs: Vec<Value> =
        (0..55).map(|i| json!({"EMAIL": format!("b{i}@example.com"), "UF_DEPARTMENT": 1})).collect();
    s.add_users(&specs).await;
    let res =
        batch(&s, json!({"cmd": {"z": "server.time", "a": "user.get", "m": "user.get?start=50", "b": "profile"}}))
            .await;
    assert_eq!(keys(&res["result"]), ["z", "a", "m", "b"]);
    assert_eq!(keys(&res["result_time"]), ["z", "a", "m", "b"]);
    assert_eq!(res["result_total"], json!({"a": 56, "m": 56}));
    assert_eq!(res["result_next"], json!({"a": 50}));
    assert_eq!(res["result"]["m"].as_array().map(Vec::len), Some(6));
}

#[tokio::test]
async fn form_encoded_batch_with_double_encoding() {
    let s = common::start().await;
    let inner = format!("user.get?{}", ["FILTER[ID]=1", "select[]=ID"].join("&"));
    let body = format!("halt=0&cmd[one]={}&cmd[two]={}", enc(&inner), enc("server.time"));
    let r = s.post_form(&format!("{}batch", s.hook), &body).await;
    let res = r.ok();
    assert_eq!(res["result"]["one"], json!([{"ID": "1"}]));
    assert!(res["result"]["two"].is_string());
    // Same through GET.
    let r = s.get(&format!("{}batch?{body}", s.hook)).await;
    assert_eq!(r.ok()["result"]["one"], json!([{"ID": "1"}]));
}

#[tokio::test]
async fn sub_calls_run_with_the_callers_identity_and_scope() {
    let s = common::start().await;
    let (id, hook) = s.plain_user("sub@example.com", "Sub").await;
    let r = s
        .call_as(
            &hook,
            "batch",
            json!({"cmd": {"me": "user.current", "dept": "department.get", "add": "user.add?EMAIL=x%40example.com&UF_DEPARTMENT=1"}}),
        )
        .await;
    let res = r.ok();
    assert_eq!(res["result"]["me"]["ID"], id.to_string());
    assert_eq!(res["result_error"]["dept"], json!({"error": "insufficient_scope", "error_description": ""}));
    assert_eq!(res["result_error"]["add"], json!({"error": "ERROR_CORE", "error_description": "access_denied"}));
}
