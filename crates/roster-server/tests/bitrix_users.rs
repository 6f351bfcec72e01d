//! Reading users end to end (spec 2.0-2.4, 4.3): the output shape of `user.get`, filter
//! prefixes and sources, `sort`/`order`, `select`, pages of 50, `user.search` quick
//! search, `user.current`, `user.fields`, extranet visibility and the user scopes.

mod common;

use common::Server;
use serde_json::{json, Value};

/// Admin (1) plus Ivan Smirnov, Ivy Blacksmith and Olga Petrova, in that id order.
async fn with_people() -> (Server, [i64; 3]) {
    let s = common::start().await;
    let people = [
        ("ivan@example.com", "Ivan", "Smirnov"),
        ("ivy@example.com", "Ivy", "Blacksmith"),
        ("olga@example.com", "Olga", "Petrova"),
    ];
    let mut ids = [0; 3];
    for (slot, (email, name, last)) in ids.iter_mut().zip(people) {
        *slot = s.add_user(email, json!({"NAME": name, "LAST_NAME": last})).await;
    }
    (s, ids)
}

/// Asserts that `method` with `params` returns exactly the users `expected`, in order.
async fn expect_ids(s: &Server, method: &str, params: Value, expected: &[i64]) {
    let r = s.call(method, params.clone()).await;
    assert_eq!(r.ids(), expected, "{method} {params}");
}

#[tokio::test]
async fn get_output_shape() {
    let s = common::start().await;
    let id = s.add_user("shape@example.com", json!({"NAME": "Shape", "WORK_POSITION": ""})).await;
    let r = s.call("user.get", json!({"ID": id})).await;
    let u = &r.ok()[0];
    assert_eq!(u["ID"], id.to_string());
    assert_eq!(u["ACTIVE"], json!(true));
    assert_eq!(u["IS_ONLINE"], "N");
    assert_eq!(u["UF_DEPARTMENT"], json!([1]));
    assert_eq!(u["USER_TYPE"], "employee");
    assert_eq!(u["TIMESTAMP_X"], json!({}), "an ORM date object, as portals emit it");
    assert_eq!(u["EMAIL"], "shape@example.com");
    assert_eq!(u["WORK_POSITION"], "", "empty strings are kept");
    assert!(common::is_iso(u["DATE_REGISTER"].as_str().unwrap_or_default()), "{u}");
    assert!(u["DATE_REGISTER"].as_str().unwrap_or_default().ends_with("T00:00:00+00:00"));
    for absent in ["XML_ID", "PERSONAL_PHONE", "SECOND_NAME", "PERSONAL_PHOTO", "LAST_ACTIVITY_DATE", "TIME_ZONE_OFFSET"] {
        assert!(u.get(absent).is_none(), "NULL field {absent} should be omitted: {u}");
    }
    let keys: Vec<&str> = u.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
    assert_eq!(keys.first(), Some(&"ID"));
    assert_eq!(keys.last(), Some(&"USER_TYPE"));
    assert_eq!(r.json["total"], 1);
    assert!(r.json.get("next").is_none());
}

#[tokio::test]
async fn filter_prefixes() {
    let (s, [ivan, ivy, olga]) = with_people().await;
    let cases: Vec<(Value, Vec<i64>)> = vec![
        (json!({">ID": ivan}), vec![ivy, olga]),
        (json!({">=ID": ivan}), vec![ivan, ivy, olga]),
        (json!({"<ID": ivy}), vec![1, ivan]),
        (json!({"<=ID": ivy}), vec![1, ivan, ivy]),
        (json!({"!ID": ivan}), vec![1, ivy, olga]),
        (json!({"@ID": [ivan, olga]}), vec![ivan, olga]),
        (json!({"ID": [ivan, olga]}), vec![ivan, olga]),
        (json!({"NAME": "Iv%"}), vec![ivan, ivy]),
        (json!({"NAME": "iv%"}), vec![ivan, ivy]),
        (json!({"NAME": "ivan"}), vec![ivan]),
        (json!({"NAME": "%g%"}), vec![olga]),
        (json!({"!NAME": "Iv%"}), vec![1, olga]),
        (json!({"%LAST_NAME": "smi"}), vec![ivan, ivy]),
        (json!({"!%LAST_NAME": "smi"}), vec![1, olga]),
        (json!({"=EMAIL": "olga@example.com"}), vec![olga]),
        (json!({"=NAME": ["Ivy", "Olga"]}), vec![ivy, olga]),
        (json!({"!=%NAME": "Ivan"}), vec![1, ivan, ivy, olga]),
        (json!({"!%=NAME": "Ivan"}), vec![1, ivan, ivy, olga]),
        (json!({"NO_SUCH_FIELD": "x"}), vec![1, ivan, ivy, olga]),
        (json!({"ACTIVE": "Y"}), vec![1, ivan, ivy, olga]),
        (json!({"USER_TYPE": "extranet"}), vec![]),
        (json!({"PERSONAL_BIRTHDAY": "not a date"}), vec![]),
    ];
    for (filter, expected) in cases {
        expect_ids(&s, "user.get", json!({"FILTER": filter}), &expected).await;
    }
}

#[tokio::test]
async fn filter_sources_top_level_filter_and_lower_case() {
    let (s, [_, _, olga]) = with_people().await;
    for params in [
        json!({"NAME": "Olga"}),
        json!({"name": "Olga", "sort": "ID", "order": "DESC", "select": ["ID"]}),
        json!({"FILTER": {"NAME": "Olga"}}),
        json!({"filter": {"name": "Olga"}}),
        // With FILTER present, the top-level keys are not filters.
        json!({"filter": {"NAME": "Olga"}, "ID": 1}),
    ] {
        expect_ids(&s, "user.get", params, &[olga]).await;
    }
    let r = s.post_form(&format!("{}user.get", s.hook), "filter[NAME]=Olga").await;
    assert_eq!(r.ids(), vec![olga]);
}

#[tokio::test]
async fn sort_and_order() {
    let (s, [ivan, ivy, olga]) = with_people().await;
    let desc = vec![olga, ivy, ivan, 1];
    expect_ids(&s, "user.get", json!({"sort": "ID", "order": "DESC"}), &desc).await;
    expect_ids(&s, "user.get", json!({"SORT": "ID", "ORDER": "desc"}), &desc).await;
    expect_ids(&s, "user.get", json!({"order": {"ID": "DESC"}}), &desc).await;
    expect_ids(&s, "user.get", json!({"sort": "LAST_NAME", "order": "ASC"}), &[1, ivy, olga, ivan]).await;
    expect_ids(&s, "user.get", json!({"order": {"NAME": "DESC"}}), &[olga, ivy, ivan, 1]).await;
    // `sort` alone is not enough: ID ASC.
    expect_ids(&s, "user.get", json!({"sort": "NAME"}), &[1, ivan, ivy, olga]).await;
}

#[tokio::test]
async fn select_keeps_canonical_order_and_skips_unknown() {
    let s = common::start().await;
    let r = s.call("user.get", json!({"ID": 1, "select": ["USER_TYPE", "NAME", "NOPE", "ID"]})).await;
    let keys: Vec<String> = r.ok()[0].as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
    assert_eq!(keys, ["ID", "NAME", "USER_TYPE"]);
    let r = s.call("user.get", json!({"ID": 1, "SELECT": ["UF_*"]})).await;
    assert!(r.ok()[0].as_object().is_some_and(|o| o.keys().all(|k| k.starts_with("UF_"))), "{}", r.text());
    let all = s.call("user.get", json!({"ID": 1})).await;
    let star = s.call("user.get", json!({"ID": 1, "select": ["*"]})).await;
    assert_eq!(all.ok(), star.ok());
}

#[tokio::test]
async fn pagination_in_pages_of_fifty() {
    let s = common::start().await;
    let specs: Vec<Value> =
        (0..120).map(|i| json!({"EMAIL": format!("p{i}@example.com"), "UF_DEPARTMENT": 1, "NAME": format!("P{i}")})).collect();
    let ids = s.add_users(&specs).await;
    assert_eq!(ids.len(), 120);
    let page = |start: Value| s.call("user.get", json!({"start": start}));

    let r = page(json!(0)).await;
    assert_eq!(r.ids().len(), 50);
    assert_eq!((r.json["total"].clone(), r.json["next"].clone()), (json!(121), json!(50)));
    let r = page(json!("50")).await;
    assert_eq!(r.ids()[0], ids[49]);
    assert_eq!(r.json["next"], 100);
    let r = page(json!(100)).await;
    assert_eq!(r.ids().len(), 21);
    assert_eq!(r.json["total"], 121);
    assert!(r.json.get("next").is_none(), "no next on the last page: {}", r.json["next"]);
    // `start` is an offset, not a page index.
    let r = page(json!(10)).await;
    assert_eq!((r.ids()[0], r.json["next"].clone()), (ids[9], json!(60)));
    // -1: no count, so neither total nor next.
    let r = page(json!(-1)).await;
    assert_eq!(r.ids().len(), 50);
    assert!(r.json.get("total").is_none() && r.json.get("next").is_none(), "{}", r.text());
    // An empty result has no total key.
    let r = s.call("user.get", json!({"ID": 99999})).await;
    assert_eq!(r.ok(), &json!([]));
    assert!(r.json.get("total").is_none() && r.json.get("next").is_none(), "{}", r.text());
    let r = page(json!(500)).await;
    assert_eq!(r.ok(), &json!([]));
    assert!(r.json.get("total").is_none());
}

#[tokio::test]
async fn search_by_find_and_by_name_fields() {
    let s = common::start().await;
    let ivan_ru = s.add_user("ivan.ru@example.com", json!({"NAME": "Иван", "LAST_NAME": "Петров"})).await;
    let ivan = s.add_user("ivan@example.com", json!({"NAME": "Ivan", "LAST_NAME": "Smith"})).await;
    let olga = s.add_user("olga@example.com", json!({"NAME": "Olga", "WORK_POSITION": "Engineer"})).await;
    let cases: Vec<(Value, Vec<i64>)> = vec![
        (json!({"FIND": "ив"}), vec![ivan_ru]),
        (json!({"FIND": "ИВА"}), vec![ivan_ru]),
        (json!({"FIND": "пет"}), vec![ivan_ru]),
        (json!({"FIND": "iva"}), vec![ivan]),
        (json!({"FIND": "IVAN sm"}), vec![ivan]),
        (json!({"FIND": "ivan zz"}), vec![]),
        (json!({"FIND": "eng"}), vec![olga]),
        (json!({"FIND": olga.to_string()}), vec![olga]),
        (json!({"FIND": "comp"}), vec![1, ivan_ru, ivan, olga]),
        (json!({"FIND": "mith"}), vec![]),
        (json!({"NAME": "Ol"}), vec![olga]),
        (json!({"LAST_NAME": "пет"}), vec![ivan_ru]),
        (json!({"NAME": "iv", "LAST_NAME": "sm"}), vec![ivan]),
        (json!({"UF_DEPARTMENT_NAME": "Comp"}), vec![1, ivan_ru, ivan, olga]),
    ];
    for (filter, expected) in cases {
        expect_ids(&s, "user.search", json!({"FILTER": filter.clone()}), &expected).await;
        expect_ids(&s, "user.search", filter, &expected).await;
    }
}

#[tokio::test]
async fn current_user_and_its_date_strings() {
    let s = common::start().await;
    let r = s.call("user.current", json!({})).await;
    let me = r.ok();
    assert_eq!((me["ID"].as_str(), me["NAME"].as_str(), me["ACTIVE"].as_bool()), (Some("1"), Some("Admin"), Some(true)));
    let ts = me["TIMESTAMP_X"].as_str().unwrap_or_else(|| panic!("TIMESTAMP_X is not a string: {me}"));
    let b = ts.as_bytes();
    let shape_ok = b.len() == 19
        && [2, 5].iter().all(|&i| b[i] == b'.')
        && b[10] == b' '
        && [13, 16].iter().all(|&i| b[i] == b':')
        && b.iter().enumerate().all(|(i, c)| [2, 5, 10, 13, 16].contains(&i) || c.is_ascii_digit());
    assert!(shape_ok, "TIMESTAMP_X is not DD.MM.YYYY HH:MM:SS: {ts}");
}

#[tokio::test]
async fn fields_labels_per_scope() {
    let s = common::start().await;
    let r = s.call("user.fields", json!({})).await;
    let f = r.ok();
    for (code, label) in [
        ("ID", "ID"),
        ("NAME", "First Name"),
        ("EMAIL", "E-Mail"),
        ("UF_DEPARTMENT", "Units"),
        ("PERSONAL_BIRTHDAY", "Date of Birth"),
        ("TIME_ZONE", "TIME_ZONE"),
        ("USER_TYPE", "USER_TYPE"),
    ] {
        assert_eq!(f[code], label, "{code}");
    }
    let hook = s.hook_for(1, "user_brief").await;
    let brief = s.call_as(&hook, "user.fields", json!({})).await;
    assert!(brief.ok().get("EMAIL").is_none() && brief.ok().get("NAME").is_some(), "{}", brief.text());
}

#[tokio::test]
async fn extranet_users_are_hidden_without_admin_mode() {
    let s = common::start().await;
    let (plain, hook) = s.plain_user("plain@example.com", "Plain").await;
    let ext = s.call("user.add", json!({"EMAIL": "ext@example.com", "EXTRANET": "Y", "SONET_GROUP_ID": 1})).await;
    let ext = ext.ok().as_i64().expect("id");

    let seen = s.call_as(&hook, "user.get", json!({})).await.ids();
    assert_eq!(seen, vec![1, plain]);
    assert_eq!(s.call_as(&hook, "user.get", json!({"ID": ext})).await.ok(), &json!([]));
    expect_ids(&s, "user.get", json!({"ADMIN_MODE": "Y"}), &[1, plain, ext]).await;
    expect_ids(&s, "user.get", json!({"ADMIN_MODE": true, "USER_TYPE": "extranet"}), &[ext]).await;
    // ADMIN_MODE from a non-admin changes nothing.
    assert_eq!(s.call_as(&hook, "user.get", json!({"ADMIN_MODE": "Y"})).await.ids(), vec![1, plain]);

    // The extranet user sees only themselves.
    let ext_hook = s.hook_for(ext, "user").await;
    assert_eq!(s.call_as(&ext_hook, "user.get", json!({})).await.ids(), vec![ext]);
    assert_eq!(s.call_as(&ext_hook, "user.get", json!({"ID": 1})).await.ok(), &json!([]));
}

#[tokio::test]
async fn limited_scopes_get_a_bare_insufficient_scope_on_writes() {
    let s = common::start().await;
    let want = json!({
        "error": "insufficient_scope",
        "error_description": "The request requires higher privileges than provided by the access token"
    });
    for scope in ["user_basic", "user_brief"] {
        let hook = s.hook_for(1, scope).await;
        for (method, params) in [
            ("user.update", json!({"ID": 1, "NAME": "Nope"})),
            ("user.add", json!({"EMAIL": "x@example.com", "UF_DEPARTMENT": 1})),
        ] {
            let r = s.call_as(&hook, method, params).await;
            assert_eq!(r.status, 200, "{scope} {method}: {}", r.text());
            assert_eq!(r.json, want, "{scope} {method}");
        }
        // Reading still works in the limited scope.
        assert_eq!(s.call_as(&hook, "user.get", json!({})).await.ids(), vec![1]);
    }
    assert_eq!(s.user(1).await["NAME"], "Admin");
}

#[tokio::test]
async fn department_only_webhook_cannot_read_users() {
    let s = common::start().await;
    let hook = s.hook_for(1, "department").await;
    for method in ["user.get", "user.search", "user.current", "user.fields", "user.update"] {
        let r = s.call_as(&hook, method, json!({"ID": 1})).await;
        r.err(403, "insufficient_scope", None);
    }
    s.call_as(&hook, "department.get", json!({})).await.ok();
}

#[tokio::test]
async fn limited_scopes_narrow_the_fields() {
    let s = common::start().await;
    let id = s
        .add_user("scoped@example.com", json!({"NAME": "Scoped", "WORK_PHONE": "123", "PERSONAL_WWW": "w"}))
        .await;
    let brief = s.hook_for(1, "user_brief").await;
    let r = s.call_as(&brief, "user.get", json!({"ID": id})).await;
    let u = &r.ok()[0];
    assert_eq!(u["NAME"], "Scoped");
    for hidden in ["EMAIL", "WORK_PHONE", "PERSONAL_WWW", "LAST_LOGIN"] {
        assert!(u.get(hidden).is_none(), "user_brief sees {hidden}: {u}");
    }
    // A filter on a field the scope cannot see is ignored.
    let r = s.call_as(&brief, "user.get", json!({"FILTER": {"EMAIL": "nobody@example.com"}})).await;
    assert_eq!(r.ids(), vec![1, id]);

    let basic = s.hook_for(1, "user_basic").await;
    let r = s.call_as(&basic, "user.get", json!({"ID": id})).await;
    let u = &r.ok()[0];
    assert_eq!((u["EMAIL"].as_str(), u["WORK_PHONE"].as_str()), (Some("scoped@example.com"), Some("123")));
    assert!(u.get("PERSONAL_WWW").is_none() && u.get("LAST_LOGIN").is_none(), "{u}");
}
