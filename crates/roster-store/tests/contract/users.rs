//! Contract cases for users and files: create, read, patch, versions, taken logins and
//! e-mails, missing users, department membership, uploads, batches and concurrent writers.

use chrono::NaiveDate;
use roster_core::query::Cond;
use roster_core::{Change, DepartmentId, FileId, FileUpload, NewUser, UserId, UserPatch, UserType, Value};

use crate::fixtures::{attr, count, create, dept, ids, load, new_user, on, outcome, patch, text};
use crate::harness::Env;

fn missing_user() -> UserId {
    UserId::new(999_999).unwrap()
}

pub async fn create_and_read(env: Env) {
    let s = &*env.store;
    let d = dept(s, "Sales", 100, None).await;
    let birthday = NaiveDate::from_ymd_opt(1990, 5, 1).unwrap();
    let mut p = patch(&[
        ("name", text("Иван")),
        ("active", Value::Bool(true)),
        ("personal_birthday", Value::Date(birthday)),
        ("last_login", Value::DateTime(1_700_000_000)),
    ]);
    p.departments = Some(vec![d]);
    let new = NewUser { login: "Ivan".into(), password_hash: Some("$hash".into()), is_admin: true, patch: p };
    let id = s.create_user(new).await.unwrap();

    let u = load(s, id).await;
    assert_eq!((u.login.as_str(), u.is_admin, u.version), ("Ivan", true, 1));
    assert_eq!(u.get(attr("name")), &text("Иван"));
    assert!(u.is_active());
    assert_eq!(u.get(attr("personal_birthday")), &Value::Date(birthday));
    assert_eq!(u.get(attr("last_login")), &Value::DateTime(1_700_000_000));
    assert_eq!(u.get(attr("email")), &Value::Null);
    assert!(matches!(u.get(attr("date_register")), Value::DateTime(t) if *t > 1_600_000_000));
    assert!(matches!(u.get(attr("timestamp_x")), Value::DateTime(_)));
    assert_eq!((u.departments.clone(), u.user_type()), (vec![d], UserType::Employee));

    assert_eq!(s.user(missing_user()).await.unwrap(), None);
    assert_eq!(s.password_of("iVAN").await.unwrap(), Some((id, Some("$hash".into()))));
    assert_eq!(s.password_of("nobody").await.unwrap(), None);
    assert_eq!(ids(s, vec![]).await, vec![id]);
}

pub async fn update_changes_only_what_is_listed(env: Env) {
    let s = &*env.store;
    let id = create(s, "olga", &[("name", text("Ольга")), ("last_name", text("Иванова"))]).await;
    s.update_user(id, patch(&[("name", text("Оля"))])).await.unwrap();
    let u = load(s, id).await;
    assert_eq!((u.get(attr("name")), u.get(attr("last_name")), u.version), (&text("Оля"), &text("Иванова"), 2));

    s.update_user(id, patch(&[("last_name", Value::Null)])).await.unwrap();
    assert_eq!(load(s, id).await.get(attr("last_name")), &Value::Null);
    assert_eq!(ids(s, vec![on("last_name", roster_core::Op::StartsWith, &["ив"])]).await, vec![]);

    let rename = UserPatch { login: Some("Olga.P".into()), ..UserPatch::default() };
    s.update_user(id, rename).await.unwrap();
    let u = load(s, id).await;
    assert_eq!((u.login.as_str(), u.get(attr("name")), u.version), ("Olga.P", &text("Оля"), 4));
    assert_eq!(s.password_of("olga.p").await.unwrap().map(|(i, _)| i), Some(id));
    assert_eq!(s.password_of("olga").await.unwrap(), None);
}

pub async fn missing_user_is_reported(env: Env) {
    let s = &*env.store;
    let cases = [
        patch(&[("name", text("x"))]),
        UserPatch::default(),
        UserPatch { expected_version: Some(1), ..patch(&[("name", text("x"))]) },
        UserPatch { departments: Some(vec![]), ..UserPatch::default() },
    ];
    for p in cases {
        let r = s.update_user(missing_user(), p.clone()).await;
        assert_eq!(outcome(&r), Err("missing user".into()), "{p:?}");
    }
}

pub async fn stale_version_conflicts(env: Env) {
    let s = &*env.store;
    let id = create(s, "ivan", &[("name", text("A"))]).await;
    let at = |v: i64, name: &str| UserPatch { expected_version: Some(v), ..patch(&[("name", text(name))]) };
    s.update_user(id, at(1, "B")).await.unwrap();
    let r = s.update_user(id, at(1, "C")).await;
    assert_eq!(outcome(&r), Err("version conflict".into()));
    assert_eq!(load(s, id).await.get(attr("name")), &text("B"));
    s.update_user(id, at(2, "D")).await.unwrap();
    let u = load(s, id).await;
    assert_eq!((u.get(attr("name")), u.version), (&text("D"), 3));
}

pub async fn logins_are_unique_ignoring_case(env: Env) {
    let s = &*env.store;
    let ivan = create(s, "Ivan", &[]).await;
    let r = s.create_user(new_user("IVAN", &[("name", text("second"))])).await;
    assert_eq!(outcome(&r), Err("taken login".into()));
    assert_eq!(count(s).await, 1, "a refused user leaves nothing behind");

    let olga = create(s, "olga", &[("name", text("Ольга"))]).await;
    let steal = UserPatch { login: Some("iVaN".into()), ..patch(&[("name", text("changed"))]) };
    assert_eq!(outcome(&s.update_user(olga, steal).await), Err("taken login".into()));
    assert_eq!(load(s, olga).await.get(attr("name")), &text("Ольга"));

    let recase = UserPatch { login: Some("IVAN".into()), ..UserPatch::default() };
    s.update_user(ivan, recase).await.unwrap();
    assert_eq!(load(s, ivan).await.login, "IVAN");
}

pub async fn emails_are_unique_ignoring_case(env: Env) {
    let s = &*env.store;
    let a = create(s, "a", &[("email", text("Ann@Example.ru"))]).await;
    let r = s.create_user(new_user("b", &[("email", text("ann@example.RU"))])).await;
    assert_eq!(outcome(&r), Err("taken email".into()));
    assert_eq!(count(s).await, 1);

    // Empty e-mails may repeat.
    let b = create(s, "b", &[("email", text(""))]).await;
    create(s, "c", &[("email", text(""))]).await;
    let r = s.update_user(b, patch(&[("email", text("ANN@example.ru"))])).await;
    assert_eq!(outcome(&r), Err("taken email".into()));
    s.update_user(a, patch(&[("email", text("ann@example.ru"))])).await.unwrap();
    assert_eq!(load(s, a).await.get(attr("email")), &text("ann@example.ru"));
}

pub async fn department_membership(env: Env) {
    let s = &*env.store;
    let d1 = dept(s, "One", 1, None).await;
    let d2 = dept(s, "Two", 2, None).await;
    let mut p = patch(&[("name", text("Ivan"))]);
    p.departments = Some(vec![d2, d1, d2]);
    let id =
        s.create_user(NewUser { login: "ivan".into(), password_hash: None, is_admin: false, patch: p }).await.unwrap();
    assert_eq!(load(s, id).await.departments, vec![d1, d2]);

    s.update_user(id, UserPatch { departments: Some(vec![]), ..UserPatch::default() }).await.unwrap();
    let u = load(s, id).await;
    assert_eq!((u.departments.len(), u.user_type(), u.version), (0, UserType::Extranet, 2));

    let nowhere = DepartmentId::new(999_999).unwrap();
    let bad = UserPatch { departments: Some(vec![d1, nowhere]), ..patch(&[("name", text("changed"))]) };
    assert_eq!(outcome(&s.update_user(id, bad.clone()).await), Err("missing department".into()));
    let u = load(s, id).await;
    assert_eq!((u.departments.len(), u.get(attr("name")), u.version), (0, &text("Ivan"), 2), "rolled back");

    let r = s.create_user(NewUser { login: "olga".into(), password_hash: None, is_admin: false, patch: bad }).await;
    assert_eq!(outcome(&r), Err("missing department".into()));
    assert_eq!(count(s).await, 1);

    s.update_user(id, UserPatch { departments: Some(vec![d1, d2]), ..UserPatch::default() }).await.unwrap();
    s.delete_department(d1).await.unwrap();
    assert_eq!(load(s, id).await.departments, vec![d2]);
}

fn upload(name: &str, data: &[u8]) -> Change {
    Change::Upload(FileUpload { name: name.into(), content_type: "image/png".into(), data: data.to_vec() })
}

fn photo_of(u: &roster_core::User) -> FileId {
    match u.get(attr("personal_photo")) {
        Value::File(f) => *f,
        other => panic!("no photo: {other:?}"),
    }
}

pub async fn upload_replaces_and_deletes_the_old_file(env: Env) {
    let s = &*env.store;
    let id = create(s, "ivan", &[]).await;
    let put = |c: Change, version: Option<i64>| UserPatch {
        attrs: vec![(attr("personal_photo"), c)],
        expected_version: version,
        ..UserPatch::default()
    };
    s.update_user(id, put(upload("a.png", b"first"), None)).await.unwrap();
    let fa = photo_of(&load(s, id).await);
    let stored = s.file(fa).await.unwrap().expect("stored file");
    assert_eq!(
        (stored.name.as_str(), stored.content_type.as_str(), &stored.data[..]),
        ("a.png", "image/png", &b"first"[..])
    );
    assert_eq!(stored.key.len(), 20);
    let refs = s.file_refs(vec![fa, FileId::new(999_999).unwrap()]).await.unwrap();
    assert_eq!(
        refs.iter().map(|r| (r.id, r.name.as_str(), r.key.as_str())).collect::<Vec<_>>(),
        vec![(fa, "a.png", stored.key.as_str())]
    );
    assert!(s.file_refs(vec![]).await.unwrap().is_empty());

    s.update_user(id, put(upload("b.png", b"second"), None)).await.unwrap();
    let fb = photo_of(&load(s, id).await);
    assert_ne!(fa, fb);
    assert_eq!(s.file(fa).await.unwrap(), None, "the replaced file is deleted");
    assert_eq!(s.file(fb).await.unwrap().map(|f| f.data), Some(b"second".to_vec()));

    // A refused upload stores nothing and keeps the old file.
    let r = s.update_user(id, put(upload("c.png", b"third"), Some(1))).await;
    assert_eq!(outcome(&r), Err("version conflict".into()));
    assert_eq!(photo_of(&load(s, id).await), fb);
    assert!(s.file(fb).await.unwrap().is_some());

    s.update_user(id, put(Change::Set(Value::Null), None)).await.unwrap();
    assert_eq!(load(s, id).await.get(attr("personal_photo")), &Value::Null);
    assert_eq!(s.file(fb).await.unwrap(), None);
}

pub async fn batch_patches_succeed_or_fail_alone(env: Env) {
    let s = &*env.store;
    let a = create(s, "a", &[("name", text("A"))]).await;
    let b = create(s, "b", &[("name", text("B"))]).await;
    let c = create(s, "c", &[("name", text("C"))]).await;
    let nowhere = DepartmentId::new(999_999).unwrap();
    let batch = vec![
        (a, patch(&[("name", text("A2"))])),
        (missing_user(), patch(&[("name", text("X"))])),
        (b, UserPatch { login: Some("A".into()), ..patch(&[("name", text("B-lost"))]) }),
        (c, UserPatch { expected_version: Some(7), ..patch(&[("name", text("C-lost"))]) }),
        (c, patch(&[("name", text("C2"))])),
        (b, UserPatch { departments: Some(vec![nowhere]), ..patch(&[("name", text("B-lost"))]) }),
        (b, patch(&[("title", text("after failures"))])),
    ];
    let results: Vec<_> = s.update_users(batch).await.unwrap().iter().map(outcome).collect();
    let expected: Vec<Result<(), String>> = vec![
        Ok(()),
        Err("missing user".into()),
        Err("taken login".into()),
        Err("version conflict".into()),
        Ok(()),
        Err("missing department".into()),
        Ok(()),
    ];
    assert_eq!(results, expected);
    let (ua, ub, uc) = (load(s, a).await, load(s, b).await, load(s, c).await);
    assert_eq!((ua.get(attr("name")), ua.version), (&text("A2"), 2));
    assert_eq!(
        (ub.login.as_str(), ub.get(attr("name")), ub.get(attr("title")), ub.version),
        ("b", &text("B"), &text("after failures"), 2)
    );
    assert_eq!((uc.get(attr("name")), uc.version), (&text("C2"), 2));
    assert!(ub.departments.is_empty());
    assert!(s.update_users(vec![]).await.unwrap().is_empty());
}

pub async fn concurrent_writers(env: Env) {
    let s = &*env.store;
    let id = create(s, "ivan", &[]).await;
    for round in 0..3 {
        let (n, t) = (format!("name {round}"), format!("title {round}"));
        let (r1, r2) = tokio::join!(
            s.update_user(id, patch(&[("name", text(&n))])),
            s.update_user(id, patch(&[("title", text(&t))]))
        );
        r1.unwrap();
        r2.unwrap();
        let u = load(s, id).await;
        assert_eq!((u.get(attr("name")), u.get(attr("title"))), (&text(&n), &text(&t)), "both columns survive");
    }
    assert_eq!(load(s, id).await.version, 7);

    let at = |name: &str| UserPatch { expected_version: Some(7), ..patch(&[("name", text(name))]) };
    let (r1, r2) = tokio::join!(s.update_user(id, at("x")), s.update_user(id, at("y")));
    let mut got = vec![outcome(&r1), outcome(&r2)];
    got.sort();
    assert_eq!(got, vec![Ok(()), Err("version conflict".into())]);

    let (r1, r2) = tokio::join!(s.create_user(new_user("twin", &[])), s.create_user(new_user("TWIN", &[])));
    let mut got = vec![outcome(&r1), outcome(&r2)];
    got.sort();
    assert_eq!(got, vec![Ok(()), Err("taken login".into())]);

    let (r1, r2) = tokio::join!(
        s.create_user(new_user("m1", &[("email", text("same@x.ru"))])),
        s.create_user(new_user("m2", &[("email", text("SAME@x.ru"))]))
    );
    let mut got = vec![outcome(&r1), outcome(&r2)];
    got.sort();
    assert_eq!(got, vec![Ok(()), Err("taken email".into())]);
    assert_eq!(ids(s, vec![Cond::Login { op: roster_core::Op::Like, values: vec!["m_".into()] }]).await.len(), 1);
}
