//! `user.get` and `user.search` queries end to end (spec 2.1-2.2): filter prefixes and
//! sources, date filters, `sort`/`order`, `select`, pages of 50 by `start`, and the
//! quick search by `FIND` or name fields (Cyrillic, case-insensitive, by id).

mod common;

use common::Server;
use serde_json::{json, Value};

/// Admin (1, renamed "Admin" with an empty last name) plus Ivan Smirnov, Ivy Blacksmith
/// and Olga Petrova, in that id order.
async fn with_people() -> (Server, [i64; 3]) {
    let s = common::start().await;
    s.update(json!({"ID": 1, "NAME": "Admin", "LAST_NAME": ""})).await;
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

#[tokio::test]
async fn filter_prefixes() {
    let (s, [ivan, ivy, olga]) = with_people().await;
    let cases: Vec<(Value, Vec<i64>)> = vec![
        (json!({">ID": ivan}), vec![ivy, olga]),
        (json!({">=ID": ivan}), vec![ivan, ivy, olga]),
        (json!({"<ID": ivy}), vec![1, ivan]),
        (json!({"<=ID": ivy}), vec![1, ivan, ivy]),
        (json!({"!ID": ivan}), vec![1, ivy, olga]),
        (json!({"><ID": [ivan, ivy]}), vec![ivan, ivy]),
        (json!({"!@ID": [1, ivan]}), vec![ivy, olga]),
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
        (json!({"ACTIVE": "N"}), vec![]),
        (json!({"NAME": ""}), vec![]),
        (json!({"SECOND_NAME": ""}), vec![1, ivan, ivy, olga]),
        (json!({"NAME_SEARCH": "olg"}), vec![olga]),
        (json!({"IS_ONLINE": "Y"}), vec![]),
        (json!({"HAS_DEPARTAMENT": "Y"}), vec![1, ivan, ivy, olga]),
        (json!({"USER_TYPE": "extranet"}), vec![]),
        (json!({"PERSONAL_BIRTHDAY": "not a date"}), vec![]),
    ];
    for (filter, expected) in cases {
        s.expect_ids("user.get", json!({"FILTER": filter}), &expected).await;
    }
}

#[tokio::test]
async fn date_filters() {
    let (s, [ivan, ivy, olga]) = with_people().await;
    s.update(json!({"ID": ivan, "PERSONAL_BIRTHDAY": "1990-05-17"})).await;
    s.update(json!({"ID": ivy, "PERSONAL_BIRTHDAY": "1985-01-02"})).await;
    let all = vec![1, ivan, ivy, olga];
    let cases: Vec<(Value, Vec<i64>)> = vec![
        (json!({"PERSONAL_BIRTHDAY": "1990-05-17"}), vec![ivan]),
        (json!({"PERSONAL_BIRTHDAY": "17.05.1990"}), vec![ivan]),
        (json!({">PERSONAL_BIRTHDAY": "1986-01-01"}), vec![ivan]),
        (json!({"<=PERSONAL_BIRTHDAY": "1990-05-17"}), vec![ivan, ivy]),
        (json!({">=DATE_REGISTER": "2000-01-01"}), all.clone()),
        (json!({"<DATE_REGISTER": "2000-01-01T00:00:00+00:00"}), vec![]),
        (json!({">TIMESTAMP_X": "01.01.2000 00:00:00"}), all.clone()),
        (json!({">TIMESTAMP_X": "2999-01-01"}), vec![]),
        (json!({">=TIMESTAMP_X": "yesterday-ish"}), vec![]),
    ];
    for (filter, expected) in cases {
        s.expect_ids("user.get", json!({"FILTER": filter}), &expected).await;
    }
    s.expect_ids(
        "user.get",
        json!({"sort": "PERSONAL_BIRTHDAY", "order": "DESC", "FILTER": {"@ID": [ivan, ivy]}}),
        &[ivan, ivy],
    )
    .await;
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
        s.expect_ids("user.get", params, &[olga]).await;
    }
    let r = s.post_form(&format!("{}user.get", s.hook), "filter[NAME]=Olga").await;
    assert_eq!(r.ids(), vec![olga]);
}

#[tokio::test]
async fn sort_and_order() {
    let (s, [ivan, ivy, olga]) = with_people().await;
    let desc = vec![olga, ivy, ivan, 1];
    s.expect_ids("user.get", json!({"sort": "ID", "order": "DESC"}), &desc).await;
    s.expect_ids("user.get", json!({"SORT": "ID", "ORDER": "desc"}), &desc).await;
    s.expect_ids("user.get", json!({"order": {"ID": "DESC"}}), &desc).await;
    s.expect_ids("user.get", json!({"sort": "LAST_NAME", "order": "ASC"}), &[1, ivy, olga, ivan]).await;
    s.expect_ids("user.get", json!({"order": {"NAME": "DESC"}}), &[olga, ivy, ivan, 1]).await;
    // `sort` alone is not enough: ID ASC.
    s.expect_ids("user.get", json!({"sort": "NAME"}), &[1, ivan, ivy, olga]).await;
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
    let specs: Vec<Value> = (0..120)
        .map(|i| json!({"EMAIL": format!("p{i}@example.com"), "UF_DEPARTMENT": 1, "NAME": format!("P{i}")}))
        .collect();
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
    // -1: no count, so `total: 0` (spec 2.1) and no next.
    let r = page(json!(-1)).await;
    assert_eq!(r.ids().len(), 50);
    assert_eq!(r.json["total"], 0, "{}", r.text());
    assert!(r.json.get("next").is_none(), "{}", r.text());
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
        (json!({"FIND": "olga", "ACTIVE": "Y"}), vec![olga]),
        (json!({"FIND": "olga", "ACTIVE": "N"}), vec![]),
    ];
    for (filter, expected) in cases {
        s.expect_ids("user.search", json!({"FILTER": filter.clone()}), &expected).await;
        s.expect_ids("user.search", filter, &expected).await;
    }
}

/// Spec 2.2: a FIND word matches `ID = intval(word)`, so "12abc" finds user 12 as PHP does.
#[tokio::test]
async fn search_find_word_matches_the_id_by_intval() {
    let s = common::start().await;
    let id = s.add_user("intval@example.com", json!({"NAME": "Nina"})).await;
    s.expect_ids("user.search", json!({"FIND": id.to_string()}), &[id]).await;
    s.expect_ids("user.search", json!({"FIND": format!("{id}abc")}), &[id]).await;
}
