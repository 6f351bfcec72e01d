//! Bitrix24 transport over a real socket (spec 1.1-1.5): URL forms, format suffixes,
//! method-name case, GET/POST/form/JSON parameters and their merge, `aplogin`/`ap`,
//! the `time` object, portal headers and PHP-style JSON escaping.

mod common;

use common::{assert_time, enc, now_unix, Server, BOOT_CODE, JSON_TYPE};
use serde_json::json;

/// Two extra users so that filters have something to tell apart.
async fn with_users() -> (Server, i64, i64) {
    let s = common::start().await;
    let a = s.add_user("ann@example.com", json!({"NAME": "Ann"})).await;
    let z = s.add_user("zed@example.com", json!({"NAME": "Zed"})).await;
    (s, a, z)
}

#[tokio::test]
async fn webhook_url_with_and_without_trailing_slash() {
    let s = common::start().await;
    for url in [format!("{}user.current", s.hook), format!("{}user.current/", s.hook)] {
        let r = s.get(&url).await;
        assert_eq!(r.ok()["ID"], "1", "{url}");
    }
}

#[tokio::test]
async fn json_and_xml_suffixes() {
    let s = common::start().await;
    let r = s.get(&format!("{}user.current.json", s.hook)).await;
    assert_eq!(r.ok()["ID"], "1");

    let r = s.get(&format!("{}user.current.xml", s.hook)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), "text/xml; charset=utf-8");
    let body = r.text();
    assert!(body.starts_with("<?xml"), "{body}");
    assert!(body.contains("<response><result>"), "{body}");
    assert!(body.contains("<ID>1</ID>"), "{body}");
    // `true` renders as 1, `false` as an empty element, list items as <item>.
    assert!(body.contains("<ACTIVE>1</ACTIVE>"), "{body}");
    assert!(body.contains("<UF_DEPARTMENT><item>1</item></UF_DEPARTMENT>"), "{body}");
    let off = s.add_user("off@example.com", json!({"ACTIVE": "N", "NAME": "<b>&"})).await;
    let r = s.get(&format!("{}user.get.xml?ID={off}", s.hook)).await;
    assert!(r.text().contains("<ACTIVE></ACTIVE>"), "{}", r.text());
    assert!(r.text().contains("<NAME>&lt;b&gt;&amp;</NAME>"), "{}", r.text());
    assert!(body.contains("<time>") && body.contains("<operating_reset_at>"), "{body}");

    // Errors follow the suffix too.
    let r = s.get(&format!("{}user.nope.xml", s.hook)).await;
    assert_eq!(r.status, 404);
    assert!(r.text().contains("<error>ERROR_METHOD_NOT_FOUND</error>"), "{}", r.text());
}

#[tokio::test]
async fn method_names_are_case_insensitive() {
    let s = common::start().await;
    for method in ["User.Get", "USER.GET", "user.GET.json"] {
        let r = s.get(&format!("{}{method}?ID=1", s.hook)).await;
        assert_eq!(r.ids(), vec![1], "{method}");
    }
}

#[tokio::test]
async fn get_with_query_and_other_verbs() {
    let (s, a, z) = with_users().await;
    let r = s.get(&format!("{}user.get?ID={a}", s.hook)).await;
    assert_eq!(r.ids(), vec![a]);
    let r = s.get(&format!("{}user.get?FILTER[ID]={z}", s.hook)).await;
    assert_eq!(r.ids(), vec![z]);
    // The verb is not significant.
    for verb in [reqwest::Method::PUT, reqwest::Method::DELETE] {
        let r = s.send(s.client().request(verb.clone(), format!("{}user.get?ID={z}", s.hook))).await;
        assert_eq!(r.ids(), vec![z], "{verb}");
    }
}

#[tokio::test]
async fn post_json_body() {
    let (s, a, _) = with_users().await;
    let r = s.call("user.get", json!({"FILTER": {"ID": a}})).await;
    assert_eq!(r.ids(), vec![a]);
    // JSON types survive: a numeric ID list.
    let r = s.call("user.get", json!({"FILTER": {"@ID": [1, a]}})).await;
    assert_eq!(r.ids(), vec![1, a]);
}

#[tokio::test]
async fn post_form_with_php_nested_keys() {
    let (s, _, z) = with_users().await;
    let body = format!("FILTER[NAME]={}&select[]=ID&select[]=NAME", enc("Ze%"));
    let r = s.post_form(&format!("{}user.get", s.hook), &body).await;
    assert_eq!(r.ok(), &json!([{"ID": z.to_string(), "NAME": "Zed"}]));

    // `a[0][b]` style keys (a PHP list of maps) reach the method too.
    let r = s.post_form(&format!("{}user.get", s.hook), &format!("FILTER[@ID][0]={z}&FILTER[@ID][1]=1")).await;
    assert_eq!(r.ids(), vec![1, z]);
}

#[tokio::test]
async fn query_and_body_merge_and_body_wins() {
    let (s, a, z) = with_users().await;
    // `select` only in the query, `ID` in both: the body's ID wins, the query's select stays.
    let url = format!("{}user.get?ID={a}&select[]=ID", s.hook);
    let r = s.post_json(&url, &json!({"ID": z})).await;
    assert_eq!(r.ok(), &json!([{"ID": z.to_string()}]));
    let r = s.post_form(&url, &format!("ID={z}")).await;
    assert_eq!(r.ok(), &json!([{"ID": z.to_string()}]));
    // Only the top-level key is replaced: the body's FILTER is not merged with the query's.
    let url = format!("{}user.get?FILTER[NAME]=Zed", s.hook);
    let r = s.post_json(&url, &json!({"FILTER": {"ID": a}})).await;
    assert_eq!(r.ids(), vec![a]);
    // Any other content type is read as a URL-encoded body.
    let r = s.post_raw(&format!("{}user.get", s.hook), "text/plain", format!("ID={z}")).await;
    assert_eq!(r.ids(), vec![z]);
}

#[tokio::test]
async fn aplogin_and_ap_parameters_authenticate() {
    let s = common::start().await;
    let root = format!("{}/rest/user.current", s.base);
    let r = s.get(&format!("{root}?aplogin=1&ap={BOOT_CODE}")).await;
    assert_eq!(r.ok()["ID"], "1");
    let r = s.post_json(&root, &json!({"aplogin": "1", "ap": BOOT_CODE})).await;
    assert_eq!(r.ok()["ID"], "1");
    let r = s.post_form(&format!("{}/rest/user.get/", s.base), &format!("aplogin=1&ap={BOOT_CODE}&ID=1")).await;
    assert_eq!(r.ids(), vec![1]);
    // Path credentials win over same-named parameters.
    let r = s.post_form(&format!("{}user.current", s.hook), "aplogin=2&ap=wrongcode999").await;
    assert_eq!(r.ok()["ID"], "1");
    // `aplogin` may also be the login of an active user.
    let r = s.get(&format!("{root}?aplogin=Admin&ap={BOOT_CODE}")).await;
    assert_eq!(r.ok()["ID"], "1");

    let r = s.get(&format!("{root}?aplogin=1&ap=wrongcode999")).await;
    r.err(401, "NO_AUTH_FOUND", Some("Wrong authorization data"));
    let r = s.get(&root).await;
    r.err(401, "NO_AUTH_FOUND", Some("Wrong authorization data"));
}

#[tokio::test]
async fn missing_user_id_or_unknown_method_is_method_not_found() {
    let s = common::start().await;
    for url in [
        format!("{}/rest/{BOOT_CODE}/user.get", s.base),
        format!("{}/rest/{BOOT_CODE}/user.get/", s.base),
        format!("{}user.nope", s.hook),
        format!("{}user.get.php", s.hook),
    ] {
        let r = s.get(&url).await;
        r.err(404, "ERROR_METHOD_NOT_FOUND", Some("Method not found!"));
    }
}

#[tokio::test]
async fn time_object_on_every_success() {
    let s = common::start().await;
    for (method, params) in [
        ("user.current", json!({})),
        ("user.get", json!({})),
        ("server.time", json!({})),
        ("profile", json!({})),
        ("batch", json!({"cmd": {"t": "server.time"}})),
    ] {
        let r = s.call(method, params).await;
        r.ok();
        let time = &r.json["time"];
        assert_eq!(time.as_object().map(|o| o.len()), Some(8), "{method}: {time}");
        let reset = time["operating_reset_at"].as_i64().expect("integer");
        assert!((reset - (now_unix() + 600)).abs() <= 5, "{method}: {reset}");
        let start = time["start"].as_f64().unwrap_or_default();
        let finish = time["finish"].as_f64().unwrap_or_default();
        let duration = time["duration"].as_f64().unwrap_or_default();
        assert!((finish - start - duration).abs() < 1e-3, "{method}: {time}");
        // Calls of 0.1 s or less are not counted.
        assert_eq!(time["operating"].as_f64(), Some(0.0), "{method}: {time}");
    }
}

#[tokio::test]
async fn portal_headers_on_success_and_error() {
    let s = common::start().await;
    let ok = s.get(&format!("{}server.time", s.hook)).await;
    let bad = s.get(&format!("{}/rest/1/nothing0000/server.time", s.base)).await;
    let missing = s.get(&format!("{}user.nope", s.hook)).await;
    for r in [&ok, &bad, &missing] {
        assert_eq!(r.header("content-type"), JSON_TYPE, "{}", r.text());
        assert_eq!(r.header("access-control-allow-origin"), "*");
        assert_eq!(r.header("x-content-type-options"), "nosniff");
        assert_eq!(r.header("access-control-allow-headers"), "origin, content-type, accept");
    }
    assert!(common::is_iso(ok.ok().as_str().unwrap_or_default()));
}

#[tokio::test]
async fn json_output_uses_php_escaping() {
    let s = common::start().await;
    let name = "a'<>&/\"Ж";
    s.update(json!({"ID": 1, "NAME": name})).await;
    let r = s.get(&format!("{}user.get?ID=1&select[]=NAME", s.hook)).await;
    let raw = r.text();
    assert!(raw.contains(r#""NAME":"a\u0027\u003C\u003E\u0026\/\u0022Ж""#), "{raw}");
    // Non-ASCII stays raw UTF-8 and the value decodes back unchanged.
    assert_eq!(r.ok()[0]["NAME"], name);
}

#[tokio::test]
async fn sdk_parameters_are_not_filters() {
    let (s, _, _) = with_users().await;
    let all = s.get(&format!("{}user.get", s.hook)).await.ids();
    assert_eq!(all.len(), 3);
    let url = format!("{}user.get?bx24_request_id=abc123&__order=5&bx24_sdk_ver=1", s.hook);
    assert_eq!(s.get(&url).await.ids(), all);
    let r = s.call("user.get", json!({"bx24_request_id": "2", "__order": "ID", "auth": "ignored"})).await;
    assert_eq!(r.ids(), all);
}

#[tokio::test]
async fn start_is_read_in_lower_case_only() {
    let (s, _, _) = with_users().await;
    let r = s.call("user.get", json!({"start": 1})).await;
    assert_eq!(r.ids().len(), 2);
    let r = s.call("user.get", json!({"START": 1})).await;
    assert_eq!(r.ids().len(), 3);
    assert_time(&r.json["time"]);
}
