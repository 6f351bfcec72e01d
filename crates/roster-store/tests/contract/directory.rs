//! Contract cases for the rest of the directory: departments (CRUD, queries, missing
//! parents), webhooks, bootstrap (once only, also from two stores at once) and reopening
//! a database by its URL through `roster_store::open` and `open_async`.

use roster_core::credentials::NewWebhook;
use roster_core::{
    AttrId, Bootstrap, DepartmentId, DepartmentPatch, DepartmentQuery, NewDepartment, NewUser, Scopes, Store, UserId,
    UserPatch, Value,
};

use crate::fixtures::{all_departments, count, create, dept, load, outcome, patch, text};
use crate::harness::Env;

fn names(depts: &[roster_core::Department]) -> Vec<&str> {
    depts.iter().map(|d| d.name.as_str()).collect()
}

async fn query(s: &dyn Store, q: DepartmentQuery) -> Vec<String> {
    s.departments(&q).await.unwrap().into_iter().map(|d| d.name).collect()
}

pub async fn departments(env: Env) {
    let s = &*env.store;
    let root = dept(s, "Компания", 500, None).await;
    let head = UserId::new(7).unwrap();
    let nd = |name: &str, sort: i64, parent: DepartmentId, head: Option<UserId>| NewDepartment {
        name: name.into(),
        sort,
        parent: Some(parent),
        head,
    };
    let sales = s.create_department(nd("Продажи", 100, root, Some(head))).await.unwrap();
    let dev = s.create_department(nd("Разработка", 100, root, None)).await.unwrap();
    let zeta = s.create_department(nd("Zeta", 50, sales, None)).await.unwrap();
    let nowhere = DepartmentId::new(999_999).unwrap();
    let r = s.create_department(nd("Orphan", 1, nowhere, None)).await;
    assert_eq!(outcome(&r), Err("missing parent department".into()));

    let listed = all_departments(s).await;
    assert_eq!(names(&listed), ["Zeta", "Продажи", "Разработка", "Компания"], "by sort, then id");
    let got = listed.iter().find(|d| d.id == sales).unwrap();
    assert_eq!((got.sort, got.parent, got.head), (100, Some(root), Some(head)));

    let by = |f: fn(&mut DepartmentQuery)| {
        let mut q = DepartmentQuery::default();
        f(&mut q);
        q
    };
    assert_eq!(
        query(s, DepartmentQuery { id: Some(vec![dev, sales, nowhere]), ..by(|_| {}) }).await,
        ["Продажи", "Разработка"]
    );
    assert!(query(s, by(|q| q.id = Some(vec![]))).await.is_empty());
    assert_eq!(query(s, by(|q| q.name = Some("прод%".into()))).await, ["Продажи"]);
    assert_eq!(query(s, by(|q| q.name = Some("%А%".into()))).await, ["Продажи", "Разработка", "Компания"]);
    assert_eq!(query(s, by(|q| q.name = Some("z_ta".into()))).await, ["Zeta"]);
    assert_eq!(query(s, DepartmentQuery { parent: Some(root), ..by(|_| {}) }).await, ["Продажи", "Разработка"]);
    assert_eq!(query(s, DepartmentQuery { head: Some(head), ..by(|_| {}) }).await, ["Продажи"]);

    let change = DepartmentPatch { name: Some("Sales".into()), sort: Some(10), parent: Some(None), head: Some(None) };
    s.update_department(sales, change).await.unwrap();
    let got = all_departments(s).await.into_iter().find(|d| d.id == sales).unwrap();
    assert_eq!((got.name.as_str(), got.sort, got.parent, got.head), ("Sales", 10, None, None));
    s.update_department(sales, DepartmentPatch::default()).await.unwrap();

    let rename = DepartmentPatch { name: Some("x".into()), ..DepartmentPatch::default() };
    assert_eq!(outcome(&s.update_department(nowhere, rename).await), Err("missing department".into()));
    assert_eq!(
        outcome(&s.update_department(nowhere, DepartmentPatch::default()).await),
        Err("missing department".into())
    );
    let reparent = DepartmentPatch { parent: Some(Some(nowhere)), ..DepartmentPatch::default() };
    assert_eq!(outcome(&s.update_department(dev, reparent.clone()).await), Err("missing parent department".into()));
    assert_eq!(
        outcome(&s.update_department(nowhere, reparent).await),
        Err("missing parent department".into()),
        "the parent is checked first"
    );

    s.delete_department(sales).await.unwrap();
    let left = all_departments(s).await;
    assert_eq!(names(&left), ["Zeta", "Разработка", "Компания"]);
    assert_eq!((left[0].id, left[0].parent), (zeta, None), "children of a deleted department lose their parent");
    assert_eq!(outcome(&s.delete_department(sales).await), Err("missing department".into()));
}

fn hook(user: UserId, scopes: &str, code: &str) -> NewWebhook {
    NewWebhook { user, scopes: Scopes::parse(scopes).unwrap(), code_hash: code.into() }
}

pub async fn webhooks(env: Env) {
    let s = &*env.store;
    let a = create(s, "a", &[]).await;
    let b = create(s, "b", &[]).await;
    let h1 = s.create_webhook(hook(a, "user,department", "h1")).await.unwrap();
    let h2 = s.create_webhook(hook(b, "user", "h2")).await.unwrap();
    let h3 = s.create_webhook(hook(a, "user_basic", "h3")).await.unwrap();

    let all = s.webhooks().await.unwrap();
    assert_eq!(all.iter().map(|h| h.id).collect::<Vec<_>>(), [h1, h2, h3]);
    assert_eq!((all[0].user, all[0].scopes.to_list(), all[0].code_hash.as_str()), (a, "department,user".into(), "h1"));
    assert!(all[0].created > 1_600_000_000);
    let of_a = s.webhooks_of(a).await.unwrap();
    assert_eq!(of_a.iter().map(|h| h.id).collect::<Vec<_>>(), [h1, h3]);
    assert!(s.webhooks_of(UserId::new(999_999).unwrap()).await.unwrap().is_empty());

    assert!(s.delete_webhook(h1).await.unwrap());
    assert!(!s.delete_webhook(h1).await.unwrap());
    assert_eq!(s.webhooks().await.unwrap().iter().map(|h| h.id).collect::<Vec<_>>(), [h2, h3]);
}

fn bootstrap_set() -> Bootstrap {
    let mut p = patch(&[("name", text("Admin")), ("active", Value::Bool(true)), ("email", text(""))]);
    p.departments = Some(vec![DepartmentId::ROOT]);
    Bootstrap {
        admin: NewUser { login: "Admin".into(), password_hash: Some("$h".into()), is_admin: true, patch: p },
        root_department: NewDepartment { name: "Company".into(), sort: 500, parent: None, head: None },
        webhook: hook(UserId::ADMIN, "user,department", "code"),
        guest: None,
        memberships: vec![],
    }
}

pub async fn bootstrap_runs_once(env: Env) {
    let s = &*env.store;
    assert!(s.bootstrap(bootstrap_set()).await.unwrap());
    let admin = load(s, UserId::ADMIN).await;
    assert_eq!(
        (admin.login.as_str(), admin.is_admin, admin.departments.clone()),
        ("Admin", true, vec![DepartmentId::ROOT])
    );
    assert_eq!(names(&all_departments(s).await), ["Company"]);
    let hooks = s.webhooks().await.unwrap();
    assert_eq!((hooks.len(), hooks[0].user), (1, UserId::ADMIN));

    assert!(!s.bootstrap(bootstrap_set()).await.unwrap());
    assert_eq!((count(s).await, all_departments(s).await.len(), s.webhooks().await.unwrap().len()), (1, 1, 1));
}

pub async fn bootstrap_from_two_stores_at_once(env: Env) {
    let other = env.open_again().await;
    let (r1, r2) = tokio::join!(env.store.bootstrap(bootstrap_set()), other.bootstrap(bootstrap_set()));
    let mut made = vec![r1.unwrap(), r2.unwrap()];
    made.sort();
    assert_eq!(made, [false, true]);
    let s = &*env.store;
    assert_eq!((count(s).await, all_departments(s).await.len(), s.webhooks().await.unwrap().len()), (1, 1, 1));
}

pub async fn reopened_store_sees_acknowledged_writes(env: Env) {
    let id = create(&*env.store, "ivan", &[("name", text("Иван"))]).await;
    let mut p = UserPatch::default();
    p.set(AttrId::named("title"), text("written"));
    env.store.update_user(id, p).await.unwrap();
    let lazily = roster_store::open(&env.url).expect("open by URL");
    assert_eq!(load(&*lazily, id).await.get(AttrId::named("title")), &text("written"));
    let eagerly = env.open_again().await;
    assert_eq!(load(&*eagerly, id).await.get(AttrId::named("name")), &text("Иван"));
}
