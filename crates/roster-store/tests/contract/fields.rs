//! Contract cases for custom user fields: definitions (order, taken names, label merges,
//! enumeration items), values written with the user (text, numbers, files added and
//! removed), `Cond::Custom` filters (negations match users without values), and the
//! rollback of a whole write when one value names a missing field.

use std::collections::BTreeMap;

use roster_core::query::{Cond, Op};
use roster_core::userfields::ItemChange;
use roster_core::{
    CustomChange, CustomValue, FieldId, FieldType, FileId, FileUpload, NewUserField, Store, UserFieldPatch, UserId,
    UserPatch,
};
use serde_json::json;

use crate::fixtures::{attr, create, ids, load, outcome, patch, text};
use crate::harness::Env;

pub fn field(name: &str, type_id: FieldType, sort: i64) -> NewUserField {
    let mut labels = BTreeMap::new();
    labels.insert("EDIT_FORM_LABEL".to_owned(), BTreeMap::from([("en".to_owned(), format!("{name} label"))]));
    NewUserField {
        name: name.into(),
        type_id,
        xml_id: None,
        sort,
        multiple: false,
        mandatory: false,
        show_filter: "N".into(),
        show_in_list: true,
        edit_in_list: true,
        is_searchable: false,
        settings: json!({"SIZE": 20}),
        labels,
        items: Vec::new(),
    }
}

fn item(value: &str, sort: i64) -> ItemChange {
    ItemChange { id: None, value: Some(value.into()), sort: Some(sort), def: None, xml_id: None, delete: false }
}

/// A patch that sets custom values.
pub fn values(set: &[(FieldId, Vec<CustomValue>)]) -> UserPatch {
    let mut p = UserPatch::default();
    for (f, v) in set {
        p.custom.push((*f, CustomChange::Set(v.clone())));
    }
    p
}

fn upload(name: &str) -> FileUpload {
    FileUpload { name: name.into(), content_type: "text/plain".into(), data: name.as_bytes().to_vec() }
}

pub async fn field_definitions(env: Env) {
    let s = &*env.store;
    assert!(s.user_fields().await.unwrap().is_empty());
    let b = s.create_user_field(field("UF_USR_B", FieldType::String, 200)).await.unwrap();
    let mut e = field("UF_USR_E", FieldType::Enumeration, 100);
    e.items = vec![item("two", 20), item("one", 10), item("", 5)];
    let e = s.create_user_field(e).await.unwrap();
    let a = s.create_user_field(field("UF_USR_A", FieldType::Integer, 200)).await.unwrap();
    let dup = s.create_user_field(field("UF_USR_A", FieldType::String, 1)).await;
    assert_eq!(outcome(&dup), Err("taken field".into()));

    let all = s.user_fields().await.unwrap();
    assert_eq!(all.iter().map(|f| f.id).collect::<Vec<_>>(), [e, b, a]);
    let enumeration = &all[0];
    assert_eq!(
        enumeration.items.iter().map(|i| i.value.as_str()).collect::<Vec<_>>(),
        ["one", "two"],
        "items by sort; an item without a value is skipped"
    );
    assert_eq!(enumeration.items[0].xml_id.len(), 32);
    assert_eq!((all[1].settings.clone(), all[1].type_id), (json!({"SIZE": 20}), FieldType::String));
    assert_eq!(all[1].label("EDIT_FORM_LABEL", "de"), "UF_USR_B label");

    let (one, two) = (enumeration.items[0].id, enumeration.items[1].id);
    let mut labels = BTreeMap::new();
    labels.insert("HELP_MESSAGE".to_owned(), BTreeMap::from([("en".to_owned(), "help".to_owned())]));
    let p = UserFieldPatch {
        sort: Some(300),
        mandatory: Some(true),
        xml_id: Some(Some("X".into())),
        settings: Some(json!({"DISPLAY": "LIST"})),
        labels,
        items: vec![
            ItemChange { id: Some(one), value: None, sort: Some(30), def: Some(true), xml_id: None, delete: false },
            ItemChange { id: Some(two), value: None, sort: None, def: None, xml_id: None, delete: true },
            item("three", 1),
        ],
        ..UserFieldPatch::default()
    };
    s.update_user_field(e, p).await.unwrap();
    let all = s.user_fields().await.unwrap();
    let changed = all.iter().find(|f| f.id == e).unwrap();
    assert_eq!((changed.sort, changed.mandatory, changed.xml_id.as_deref()), (300, true, Some("X")));
    assert_eq!(changed.settings, json!({"DISPLAY": "LIST"}));
    assert_eq!(changed.label("EDIT_FORM_LABEL", "en"), "UF_USR_E label", "other labels kept");
    assert_eq!(changed.label("HELP_MESSAGE", "en"), "help");
    let items: Vec<(&str, i64, bool)> = changed.items.iter().map(|i| (i.value.as_str(), i.sort, i.def)).collect();
    assert_eq!(items, [("three", 1, false), ("one", 30, true)]);
    assert_eq!(all.last().unwrap().id, e, "sort 300 comes last");

    let gone = FieldId::new(999_999).unwrap();
    let missing = s.update_user_field(gone, UserFieldPatch::default()).await;
    assert_eq!(outcome(&missing), Err("missing field".into()));
    assert_eq!(outcome(&s.delete_user_field(gone).await), Err("missing field".into()));
    s.delete_user_field(b).await.unwrap();
    let left: Vec<FieldId> = s.user_fields().await.unwrap().iter().map(|f| f.id).collect();
    assert_eq!(left, [a, e]);
}

pub async fn custom_values_and_filters(env: Env) {
    let s = &*env.store;
    let city = s.create_user_field(field("UF_USR_CITY", FieldType::String, 1)).await.unwrap();
    let mut tags = field("UF_USR_TAGS", FieldType::String, 2);
    tags.multiple = true;
    let tags = s.create_user_field(tags).await.unwrap();
    let size = s.create_user_field(field("UF_USR_SIZE", FieldType::Double, 3)).await.unwrap();
    let t = CustomValue::text;
    let n = |x: f64| CustomValue::number(x, x.to_string());

    let ivan = create(s, "ivan", &[]).await;
    let mut p = values(&[(city, vec![t("Москва")]), (size, vec![n(10.5)]), (tags, vec![t("b"), t("a")])]);
    p.set(attr("name"), text("Ivan"));
    s.update_user(ivan, p).await.unwrap();
    let olga = create(s, "olga", &[]).await;
    s.update_user(olga, values(&[(city, vec![t("Минск")]), (size, vec![n(9.0)])])).await.unwrap();
    let anna = create(s, "anna", &[]).await;

    let u = load(s, ivan).await;
    assert_eq!(u.custom(city), [t("Москва")]);
    assert_eq!(u.custom(tags), [t("b"), t("a")], "values keep their order");
    assert_eq!(u.custom(size), [n(10.5)]);
    assert_eq!(u.custom.iter().map(|(f, _)| *f).collect::<Vec<_>>(), [city, tags, size]);
    assert_eq!(u.version, 2);
    assert!(load(s, anna).await.custom.is_empty());

    let on = |field, numeric, op, vals: Vec<CustomValue>| Cond::Custom { field, numeric, op, values: vals };
    assert_eq!(ids(s, vec![on(city, false, Op::Eq, vec![t("Москва")])]).await, [ivan]);
    assert_eq!(ids(s, vec![on(city, false, Op::Like, vec![t("м%")])]).await, [ivan, olga]);
    assert_eq!(ids(s, vec![on(city, false, Op::Contains, vec![t("ИНС")])]).await, [olga]);
    assert_eq!(ids(s, vec![on(city, false, Op::Ne, vec![t("Москва")])]).await, [olga, anna]);
    assert_eq!(ids(s, vec![on(city, false, Op::NotLike, vec![t("%ск%")])]).await, [anna]);
    assert_eq!(ids(s, vec![on(city, false, Op::IsEmpty, vec![])]).await, [anna]);
    assert_eq!(ids(s, vec![on(city, false, Op::NotEmpty, vec![])]).await, [ivan, olga]);
    assert_eq!(ids(s, vec![on(city, false, Op::Gt, vec![t("Минск")])]).await, [ivan], "byte order");
    assert_eq!(ids(s, vec![on(tags, false, Op::Eq, vec![t("a")])]).await, [ivan]);
    assert_eq!(ids(s, vec![on(size, true, Op::Gt, vec![n(9.5)])]).await, [ivan]);
    assert_eq!(ids(s, vec![on(size, true, Op::Le, vec![n(10.5)])]).await, [ivan, olga]);
    assert_eq!(ids(s, vec![on(size, true, Op::Between, vec![n(8.0), n(9.0)])]).await, [olga]);
    assert_eq!(ids(s, vec![on(size, true, Op::Like, vec![n(9.0)])]).await, [olga], "LIKE of a number is =");
    assert_eq!(ids(s, vec![on(size, true, Op::Ne, vec![n(9.0)])]).await, [ivan, anna]);
    assert_eq!(ids(s, vec![on(size, true, Op::Eq, vec![t("x")])]).await, Vec::<UserId>::new());

    // Replacing with an empty list clears; a missing field fails the whole write.
    s.update_user(ivan, values(&[(tags, vec![])])).await.unwrap();
    assert!(load(s, ivan).await.custom(tags).is_empty());
    let mut bad = values(&[(city, vec![t("Казань")]), (FieldId::new(999_999).unwrap(), vec![t("x")])]);
    bad.set(attr("name"), text("changed"));
    assert_eq!(outcome(&s.update_user(ivan, bad).await), Err("missing field".into()));
    let u = load(s, ivan).await;
    assert_eq!((u.get(attr("name")), u.custom(city)), (&text("Ivan"), &[t("Москва")][..]));
    let mut created = crate::fixtures::new_user("new", &[]);
    created.patch = values(&[(FieldId::new(999_999).unwrap(), vec![t("x")])]);
    assert_eq!(outcome(&s.create_user(created).await), Err("missing field".into()));
    assert!(s.password_of("new").await.unwrap().is_none(), "nothing of the failed create is kept");

    s.delete_user_field(city).await.unwrap();
    assert!(load(s, olga).await.custom(city).is_empty());
    assert_eq!(load(s, olga).await.custom(size), [n(9.0)]);
}

pub async fn file_values(env: Env) {
    let s = &*env.store;
    let docs = s.create_user_field(field("UF_USR_DOCS", FieldType::File, 1)).await.unwrap();
    let id = create(s, "ivan", &[]).await;
    let files = |add: Vec<FileUpload>, remove: Vec<FileId>, replace: bool| {
        let mut p = UserPatch::default();
        p.custom.push((docs, CustomChange::Files { add, remove, replace }));
        p
    };
    let stored = |u: &roster_core::User| -> Vec<FileId> {
        u.custom(docs).iter().map(|v| FileId::new(v.text.parse().unwrap()).unwrap()).collect()
    };
    s.update_user(id, files(vec![upload("a"), upload("b")], vec![], false)).await.unwrap();
    let first = stored(&load(s, id).await);
    assert_eq!(first.len(), 2);
    assert_eq!(load(s, id).await.custom(docs)[0].num, Some(first[0].get() as f64));
    assert_eq!(s.file(first[1]).await.unwrap().unwrap().data, b"b");

    s.update_user(id, files(vec![upload("c")], vec![first[0]], false)).await.unwrap();
    let second = stored(&load(s, id).await);
    assert_eq!((second.len(), second[0]), (2, first[1]), "b kept, c added");
    assert!(s.file(first[0]).await.unwrap().is_none(), "a removed with its value");

    s.update_user(id, files(vec![upload("d")], vec![], true)).await.unwrap();
    let third = stored(&load(s, id).await);
    assert_eq!(third.len(), 1);
    for old in &second {
        assert!(s.file(*old).await.unwrap().is_none(), "replace removes every old file");
    }
    s.delete_user_field(docs).await.unwrap();
    assert!(s.file(third[0]).await.unwrap().is_none(), "a deleted file field takes its files");
}

/// Fields defined through one store are seen by another at once (as a second server).
pub async fn fields_are_shared(env: Env) {
    let other = env.open_again().await;
    let f = env.store.create_user_field(field("UF_USR_X", FieldType::String, 1)).await.unwrap();
    let seen: Vec<FieldId> = other.user_fields().await.unwrap().iter().map(|x| x.id).collect();
    assert_eq!(seen, [f]);
    let id = create(&*other, "ivan", &[]).await;
    other.update_user(id, values(&[(f, vec![CustomValue::text("v")])])).await.unwrap();
    assert_eq!(load(&*env.store, id).await.custom(f), [CustomValue::text("v")]);
    let s: &dyn Store = &*env.store;
    assert_eq!(patch(&[]).custom.len(), 0);
    assert_eq!(s.user_fields().await.unwrap().len(), 1);
}
