//! Moving house: `roster migrate` copies a directory with rows in every table (users with
//! photos, departments whose parent comes later, custom fields and values, webhooks, apps,
//! tokens, codes, events, Zabbix groups, media, sessions, API tokens, settings, the audit
//! log) from SQLite to a fresh PostgreSQL database and on to a new SQLite file. Every table
//! verifies with the same checksum on each hop; the copies serve the same users; ids go on
//! after the source's (a deleted user's id is not handed out again); a target that already
//! holds users is refused.

mod pg_support;

use std::collections::BTreeMap;
use std::sync::Arc;

use pg_support::{roster, roster_ok, PgDb, Serve, ADMIN_PASSWORD, CODE};
use roster_core::audit::{AuditContext, NewAuditRecord, ACTION_ADD};
use roster_core::events::NewBinding;
use roster_core::oauth::{NewApp, TokenRecord};
use roster_core::userfields::ItemChange;
use roster_core::{
    AttrId, Change, CustomChange, CustomValue, DepartmentPatch, Directory, FieldType, FileUpload, GroupId, MediaTypeId,
    MediaWrite, NewAccount, NewApiToken, NewDepartment, NewUser, NewUserField, NewUserGroup, Scopes, Session, Store,
    UserId, UserPatch, Value,
};
use serde_json::{json, Value as Json};

const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d,
    0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

fn user(login: &str, values: &[(&'static str, Value)]) -> NewUser {
    let mut patch = UserPatch::default();
    for (name, v) in values {
        patch.set(AttrId::named(name), v.clone());
    }
    NewUser { login: login.into(), password_hash: None, is_admin: false, patch }
}

/// A directory with at least one row in every table; returns the id of a deleted user.
async fn fill(s: Arc<dyn Store>) -> i64 {
    let dir = Directory::new(s.clone());
    dir.bootstrap(Some(ADMIN_PASSWORD.into()), Some(CODE.into())).await.expect("bootstrap");
    let dept = |name: &str| NewDepartment { name: name.into(), sort: 100, parent: None, head: None };
    let child = s.create_department(dept("Отдел продаж")).await.unwrap();
    let parent = s.create_department(dept("Коммерция")).await.unwrap();
    let to_parent =
        DepartmentPatch { parent: Some(Some(parent)), head: Some(Some(UserId::ADMIN)), ..Default::default() };
    s.update_department(child, to_parent).await.unwrap();

    let mut field = NewUserField {
        name: "UF_USR_LEVEL".into(),
        type_id: FieldType::Enumeration,
        xml_id: None,
        sort: 100,
        multiple: false,
        mandatory: false,
        show_filter: "N".into(),
        show_in_list: true,
        edit_in_list: true,
        is_searchable: false,
        settings: json!({"DISPLAY": "LIST"}),
        labels: Default::default(),
        items: vec![],
    };
    field.items = ["junior", "senior"]
        .iter()
        .map(|v| ItemChange { id: None, value: Some((*v).into()), sort: None, def: None, xml_id: None, delete: false })
        .collect();
    let level = s.create_user_field(field).await.unwrap();
    let app = NewApp {
        client_id: "local.migrate".into(),
        secret_hash: "digest".into(),
        name: "Mover".into(),
        scopes: Scopes::parse("user").unwrap(),
        users: None,
    };
    let app = s.create_app(app).await.unwrap();
    for (handler, offline) in [("https://hooks.example/add", false), ("", true)] {
        let b = NewBinding { app, event: "ONUSERADD".into(), handler: handler.into(), auth_user: None, offline };
        s.bind_event(b).await.unwrap();
    }

    let mut ivan = user("ivan@example.com", &[("name", Value::Text("Иван".into())), ("active", Value::Bool(true))]);
    ivan.patch.set(AttrId::named("email"), Value::Text("ivan@example.com".into()));
    ivan.patch
        .set(AttrId::named("personal_birthday"), Value::Date(chrono::NaiveDate::from_ymd_opt(1990, 5, 1).unwrap()));
    ivan.patch.attrs.push((
        AttrId::named("personal_photo"),
        Change::Upload(FileUpload { name: "me.png".into(), content_type: "image/png".into(), data: PNG.to_vec() }),
    ));
    ivan.patch.departments = Some(vec![child, parent]);
    ivan.patch.custom.push((level, CustomChange::Set(vec![CustomValue::number(2.0, "2")])));
    ivan.patch.emit = vec!["ONUSERADD"];
    let ivan = s.create_user(ivan).await.unwrap();
    s.save_token(
        TokenRecord {
            app,
            user: ivan,
            access_hash: "a1".into(),
            refresh_hash: "r1".into(),
            access_expires: 4_000_000_000,
            refresh_expires: 4_100_000_000,
        },
        None,
    )
    .await
    .unwrap();
    s.save_auth_code("c1".into(), app, ivan, 4_000_000_000).await.unwrap();

    let media = MediaWrite {
        id: None,
        mediatype: MediaTypeId::new(1).unwrap(),
        sendto: vec!["ops@example.com".into()],
        active: 0,
        severity: 63,
        period: "1-7,00:00-24:00".into(),
    };
    let mut ops = user("ops", &[("roleid", Value::Int(2)), ("active", Value::Bool(true))]);
    ops.password_hash = Some(roster_core::credentials::hash_password("Ops-Secret-2024!").unwrap());
    let made = s.create_accounts(vec![NewAccount { user: ops, groups: vec![GroupId::INTERNAL], medias: vec![media] }]);
    let ops = made.await.unwrap()[0];
    let group =
        NewUserGroup { name: "Operators".into(), gui_access: 0, users_status: 0, debug_mode: 0, users: vec![ops] };
    s.create_user_groups(vec![group]).await.unwrap();
    s.login_succeeded(Session { hash: "f".repeat(64), user: ops, lastaccess: 1_700_000_000, active: true })
        .await
        .unwrap();
    let token = NewApiToken {
        name: "deploy".into(),
        description: "CI".into(),
        user: ops,
        status: 0,
        expires_at: 0,
        creator: UserId::ADMIN,
    };
    s.create_api_tokens(vec![token]).await.unwrap();
    s.set_settings(vec![("passwd_min_length".into(), "10".into())]).await.unwrap();
    let ctx = AuditContext::new(Some(UserId::ADMIN), "cli", "127.0.0.1");
    s.append_audit(vec![NewAuditRecord::new(&ctx, ACTION_ADD, 1001, Some(1), "hook")]).await.unwrap();

    // A deleted user's audit history lives on in `audit_heads`.
    let gone = s.create_user(user("gone", &[])).await.unwrap();
    s.append_audit(vec![NewAuditRecord::new(&ctx, ACTION_ADD, 0, Some(gone.get()), "gone")]).await.unwrap();
    s.delete_users(vec![gone]).await.unwrap();
    gone.get()
}

/// `roster migrate` must succeed; its table as table -> (rows, checksum), every line ok.
fn migrate(from: &str, to: &str) -> BTreeMap<String, (u64, String)> {
    let out = roster_ok(&["migrate", "--from", from, "--to", to]);
    let mut tables = BTreeMap::new();
    for line in out.lines().skip(1) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols.len(), 4, "unexpected line {line:?}");
        assert_eq!(cols[3], "yes", "{line}");
        tables.insert(cols[0].to_owned(), (cols[1].parse().expect("rows"), cols[2].to_owned()));
    }
    tables
}

async fn user_get(s: &Serve) -> Json {
    let url = format!("{}user.get", s.hook());
    let body: Json = reqwest::Client::new()
        .post(url)
        .json(&json!({"ADMIN_MODE": "Y", "SORT": "ID"}))
        .send()
        .await
        .expect("user.get")
        .json()
        .await
        .expect("JSON");
    assert!(body["result"].is_array(), "{body}");
    // File URLs name the server that answers; the rest must be the same everywhere.
    let text = json!({"result": body["result"], "total": body["total"]}).to_string();
    serde_json::from_str(&text.replace(&s.base, "BASE")).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_postgres_and_back_keeps_every_table() {
    let Some(db) = PgDb::create() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let (source, back) = (tmp.path().join("source.db"), tmp.path().join("back.db"));
    let source_url = format!("sqlite://{}", source.display());
    let gone = fill(Arc::new(roster_store::SqliteStore::open(&source).expect("open source"))).await;

    let there = migrate(&source_url, &db.url);
    assert_eq!(there.len(), 24, "one line per table: {there:?}");
    let empty: Vec<&String> = there.iter().filter(|(_, (rows, _))| *rows == 0).map(|(t, _)| t).collect();
    assert!(empty.is_empty(), "the test directory should fill every table: {empty:?} are empty");
    let back_url = format!("sqlite://{}", back.display());
    let and_back = migrate(&db.url, &back_url);
    assert_eq!(there, and_back, "the same checksums on both hops");

    let (ok, _, stderr) = roster(&["migrate", "--from", &back_url, "--to", &db.url]);
    assert!(!ok && stderr.contains("already holds users"), "{stderr}");
    let (ok, _, stderr) = roster(&["migrate", "--from", "sqlite:///nowhere/x.db", "--to", &back_url]);
    assert!(!ok && stderr.contains("no SQLite database"), "{stderr}");

    // Each copy serves the same users as the source, to the same webhook code.
    let original = Serve::start(&source_url, &[]);
    let expected = user_get(&original).await;
    drop(original);
    assert!(expected["total"].as_i64() >= Some(3), "{expected}");
    for url in [&db.url, &back_url] {
        let copy = Serve::start(url, &[]);
        assert_eq!(user_get(&copy).await, expected, "user.get on the copy at {url}");
        let add = json!({"EMAIL": "new@example.com", "UF_DEPARTMENT": 1});
        let r: Json = reqwest::Client::new()
            .post(format!("{}user.add", copy.hook()))
            .json(&add)
            .send()
            .await
            .expect("user.add")
            .json()
            .await
            .expect("JSON");
        assert_eq!(r["result"].as_i64(), Some(gone + 1), "ids go on after the source's: {r}");
    }
}
