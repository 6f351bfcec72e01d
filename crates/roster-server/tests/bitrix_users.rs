//! Reading users end to end (spec 2.0, 2.3, 2.4, 4.3): the output shape of `user.get`,
//! `user.current` and its date strings, `user.fields` labels, extranet visibility and
//! `ADMIN_MODE`, and what the limited user scopes may read and write.

mod common;

use serde_json::json;

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
    for absent in
        ["XML_ID", "PERSONAL_PHONE", "SECOND_NAME", "PERSONAL_PHOTO", "LAST_ACTIVITY_DATE", "TIME_ZONE_OFFSET"]
    {
        assert!(u.get(absent).is_none(), "NULL field {absent} should be omitted: {u}");
    }
    let keys: Vec<&str> = u.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
    assert_eq!(keys.first(), Some(&"ID"));
    assert_eq!(keys.last(), Some(&"USER_TYPE"));
    assert_eq!(r.json["total"], 1);
    assert!(r.json.get("next").is_none());
}

#[tokio::test]
async fn current_user_and_its_date_strings() {
    let s = common::start().await;
    let listed = s.user(1).await;
    let r = s.call("user.current", json!({})).await;
    let me = r.ok();
    assert_eq!((me["ID"].as_str(), me["ACTIVE"].as_bool()), (Some("1"), Some(true)));
    assert_eq!(
        (&me["NAME"], &me["EMAIL"], &me["UF_DEPARTMENT"]),
        (&listed["NAME"], &listed["EMAIL"], &listed["UF_DEPARTMENT"])
    );
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
    s.expect_ids("user.get", json!({"ADMIN_MODE": "Y"}), &[1, plain, ext]).await;
    s.expect_ids("user.get", json!({"ADMIN_MODE": true, "USER_TYPE": "extranet"}), &[ext]).await;
    s.expect_ids("user.get", json!({"ADMIN_MODE": 1, "HAS_DEPARTAMENT": "Y"}), &[1, plain]).await;
    // Without ADMIN_MODE even an administrator does not list extranet users.
    s.expect_ids("user.get", json!({}), &[1, plain]).await;
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
    let admin_name = s.user(1).await["NAME"].clone();
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
    assert_eq!(s.user(1).await["NAME"], admin_name);
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
    let id =
        s.add_user("scoped@example.com", json!({"NAME": "Scoped", "WORK_PHONE": "123", "PERSONAL_WWW": "w"})).await;
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
