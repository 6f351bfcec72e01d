//! Contract cases for the Zabbix tables: the seeded roles, groups and media types (ids
//! continue after the seeds), bootstrap memberships and guest, groups and memberships,
//! accounts written all or nothing, sessions and logins, API tokens, settings, and
//! deleting users with everything hanging off them.

use roster_core::{
    AccountWrite, Bootstrap, DepartmentPatch, GroupId, MediaTypeId, MediaWrite, NewAccount, NewApiToken, NewUserGroup,
    RoleId, Session, Store, TokenId, TokenQuery, UserGroupPatch, UserId, Value,
};

use crate::fixtures::{attr, create, dept, load, new_user, outcome, text};
use crate::harness::Env;

fn group(name: &str, users: Vec<UserId>) -> NewUserGroup {
    NewUserGroup { name: name.into(), gui_access: 0, users_status: 0, debug_mode: 0, users }
}

fn media(kind: i64, to: &str) -> MediaWrite {
    MediaWrite {
        id: None,
        mediatype: MediaTypeId::new(kind).unwrap(),
        sendto: to.split(',').map(str::to_owned).collect(),
        active: 0,
        severity: 63,
        period: "1-7,00:00-24:00".into(),
    }
}

fn account(login: &str, groups: &[i64], medias: Vec<MediaWrite>) -> NewAccount {
    let mut user = new_user(login, &[("roleid", Value::Int(1))]);
    user.password_hash = Some("$pw".into());
    NewAccount { user, groups: groups.iter().map(|g| GroupId::new(*g).unwrap()).collect(), medias }
}

fn token(name: &str, user: UserId) -> NewApiToken {
    NewApiToken { name: name.into(), description: String::new(), user, status: 0, expires_at: 0, creator: user }
}

async fn groups_of(s: &dyn Store, u: UserId) -> Vec<i64> {
    let m = s.memberships(Some(vec![u]), None).await.unwrap();
    m.iter().map(|(_, g)| g.get()).collect()
}

pub async fn seeds_and_bootstrap(env: Env) {
    let s = &*env.store;
    let roles = s.roles(None).await.unwrap();
    let names: Vec<(i64, &str)> = roles.iter().map(|r| (r.id.get(), r.name.as_str())).collect();
    assert_eq!(names, [(1, "User role"), (2, "Admin role"), (3, "Super admin role"), (4, "Guest role")]);
    assert!(roles[2].readonly && roles[2].grants_admin());
    let groups = s.user_groups(None).await.unwrap();
    assert_eq!(groups.iter().map(|g| g.id.get()).collect::<Vec<_>>(), [7, 8, 9, 11, 12, 13]);
    assert_eq!((groups[2].users_status, groups[4].gui_access), (1, 3));
    let types = s.media_types(Some(vec![MediaTypeId::new(3).unwrap()])).await.unwrap();
    assert_eq!((types[0].name.as_str(), types[0].kind), ("SMS", 2));
    assert_eq!(s.media_types(None).await.unwrap().len(), 21);
    assert!(s.roles(Some(vec![])).await.unwrap().is_empty());

    let mut admin = new_user("Admin", &[("roleid", Value::Int(3))]);
    admin.is_admin = true;
    let data = Bootstrap {
        admin,
        root_department: roster_core::NewDepartment { name: "Company".into(), sort: 500, parent: None, head: None },
        webhook: roster_core::credentials::NewWebhook {
            user: UserId::ADMIN,
            scopes: roster_core::Scopes::parse("user").unwrap(),
            code_hash: "h".into(),
        },
        guest: Some(new_user("guest", &[("roleid", Value::Int(4))])),
        memberships: vec![
            (UserId::ADMIN, GroupId::ADMINISTRATORS),
            (UserId::ADMIN, GroupId::INTERNAL),
            (UserId::GUEST, GroupId::GUESTS),
            (UserId::GUEST, GroupId::GUESTS),
        ],
    };
    assert!(s.bootstrap(data).await.unwrap());
    assert_eq!(load(s, UserId::GUEST).await.login, "guest");
    let all = s.memberships(None, None).await.unwrap();
    let pairs: Vec<(i64, i64)> = all.iter().map(|(u, g)| (u.get(), g.get())).collect();
    assert_eq!(pairs, [(1, 7), (1, 13), (2, 8)]);
    let by_group = s.memberships(None, Some(vec![GroupId::GUESTS])).await.unwrap();
    assert_eq!(by_group, [(UserId::GUEST, GroupId::GUESTS)]);
    let access = s.access(UserId::ADMIN).await.unwrap().unwrap();
    assert!(access.is_super_admin());
    assert_eq!(access.groups.iter().map(|g| g.id.get()).collect::<Vec<_>>(), [7, 13]);

    let made = s.create_user_groups(vec![group("Ops", vec![UserId::ADMIN])]).await.unwrap();
    assert_eq!(made[0].get(), 14, "ids continue after the seeds");
}

pub async fn groups(env: Env) {
    let s = &*env.store;
    let (a, b) = (create(s, "a", &[]).await, create(s, "b", &[]).await);
    let ids = s.create_user_groups(vec![group("Ops", vec![a]), group("Dev", vec![a, b])]).await.unwrap();
    let dup = s.create_user_groups(vec![group("QA", vec![]), group("Ops", vec![])]).await;
    assert_eq!(outcome(&dup), Err("taken user group".into()));
    assert_eq!(s.user_groups(None).await.unwrap().len(), 8, "QA went with the failed call");
    let ghost = s.create_user_groups(vec![group("Ghosts", vec![UserId::new(999).unwrap()])]).await;
    assert_eq!(outcome(&ghost), Err("missing user".into()));

    let patch = UserGroupPatch {
        name: Some("Operations".into()),
        debug_mode: Some(1),
        users: Some(vec![b]),
        ..Default::default()
    };
    s.update_user_groups(vec![(ids[0], patch)]).await.unwrap();
    let g = s.user_groups(Some(vec![ids[0]])).await.unwrap();
    assert_eq!((g[0].name.as_str(), g[0].debug_mode), ("Operations", 1));
    assert_eq!(groups_of(s, a).await, [ids[1].get()]);
    assert_eq!(groups_of(s, b).await, [ids[0].get(), ids[1].get()]);
    let taken = UserGroupPatch { name: Some("Dev".into()), ..Default::default() };
    assert_eq!(outcome(&s.update_user_groups(vec![(ids[0], taken)]).await), Err("taken user group".into()));
    let gone = GroupId::new(999).unwrap();
    let missing = s.update_user_groups(vec![(gone, UserGroupPatch::default())]).await;
    assert_eq!(outcome(&missing), Err("missing user group".into()));

    assert_eq!(outcome(&s.delete_user_groups(vec![ids[0], gone]).await), Err("missing user group".into()));
    assert_eq!(s.user_groups(Some(vec![ids[0]])).await.unwrap().len(), 1, "all or nothing");
    s.delete_user_groups(vec![ids[0]]).await.unwrap();
    assert_eq!(groups_of(s, b).await, [ids[1].get()], "memberships go with the group");
}

pub async fn accounts(env: Env) {
    let s = &*env.store;
    let made =
        s.create_accounts(vec![account("zed", &[13, 7], vec![media(1, "z@x.ru"), media(3, "+1,+2")])]).await.unwrap();
    let z = made[0];
    assert_eq!(groups_of(s, z).await, [7, 13]);
    let medias = s.medias_of(vec![z]).await.unwrap();
    assert_eq!(
        medias.iter().map(|m| m.sendto.clone()).collect::<Vec<_>>(),
        [vec!["z@x.ru".to_owned()], vec!["+1".into(), "+2".into()]]
    );
    assert_eq!(s.password_of("ZED").await.unwrap(), Some((z, Some("$pw".into()))));

    let bad_group = s.create_accounts(vec![account("one", &[13], vec![]), account("two", &[999], vec![])]).await;
    assert_eq!(outcome(&bad_group), Err("missing user group".into()));
    assert!(s.password_of("one").await.unwrap().is_none(), "the whole call is undone");
    let bad_media = s.create_accounts(vec![account("three", &[13], vec![media(999, "x")])]).await;
    assert_eq!(outcome(&bad_media), Err("missing media type".into()));
    let taken = s.create_accounts(vec![account("Zed", &[], vec![])]).await;
    assert_eq!(outcome(&taken), Err("taken login".into()));

    let session = |hash: &str| Session { hash: hash.into(), user: z, lastaccess: 100, active: true };
    s.login_succeeded(session("s1")).await.unwrap();
    s.login_succeeded(session("s2")).await.unwrap();
    let mut w = AccountWrite::new(z);
    w.patch.set(attr("name"), text("Zed"));
    w.password_hash = Some(Some("$new".into()));
    w.is_admin = Some(true);
    w.groups = Some(vec![GroupId::INTERNAL]);
    let keep = roster_core::MediaWrite { id: Some(medias[1].id), ..media(3, "+3") };
    w.medias = Some(vec![keep, media(4, "html@x.ru")]);
    w.end_sessions = true;
    w.keep_session = Some("s2".into());
    s.update_accounts(vec![w]).await.unwrap();
    let u = load(s, z).await;
    assert_eq!((u.get(attr("name")), u.is_admin, u.version), (&text("Zed"), true, 2));
    assert_eq!(s.password_of("zed").await.unwrap().unwrap().1.as_deref(), Some("$new"));
    assert_eq!(groups_of(s, z).await, [13]);
    let after = s.medias_of(vec![z]).await.unwrap();
    assert_eq!(
        after.iter().map(|m| (m.mediatype.get(), m.sendto.join(","))).collect::<Vec<_>>(),
        [(3, "+3".into()), (4, "html@x.ru".into())]
    );
    assert_eq!(after[0].id, medias[1].id, "updated in place");
    let (s1, s2) = (s.session_access("s1").await.unwrap().unwrap(), s.session_access("s2").await.unwrap().unwrap());
    assert_eq!((s1.0.active, s2.0.active, s2.1.user.id), (false, true, z));

    let mut two = AccountWrite::new(z);
    two.patch.set(attr("name"), text("lost"));
    let mut missing = AccountWrite::new(UserId::new(999).unwrap());
    missing.groups = Some(vec![]);
    assert_eq!(outcome(&s.update_accounts(vec![two, missing]).await), Err("missing user".into()));
    assert_eq!(load(s, z).await.get(attr("name")), &text("Zed"), "all or nothing");
}

pub async fn sessions_and_logins(env: Env) {
    let s = &*env.store;
    let u = create(s, "ivan", &[("roleid", Value::Int(2))]).await;
    s.login_failed(u, "10.0.0.1".into(), 500).await.unwrap();
    s.login_failed(u, "10.0.0.2".into(), 600).await.unwrap();
    let a = load(s, u).await;
    assert_eq!(
        (a.get(attr("attempt_failed")), a.get(attr("attempt_ip")), a.get(attr("attempt_clock"))),
        (&Value::Int(2), &text("10.0.0.2"), &Value::Int(600))
    );
    s.login_succeeded(Session { hash: "h1".into(), user: u, lastaccess: 700, active: true }).await.unwrap();
    let (session, access) = s.session_access("h1").await.unwrap().unwrap();
    assert_eq!((session.lastaccess, session.active, access.user_type()), (700, true, 2));
    assert_eq!(access.user.get(attr("attempt_failed")), &Value::Int(0));
    assert_eq!(access.user.get(attr("last_login")), &Value::DateTime(700));
    assert!(s.end_session("h1").await.unwrap());
    assert!(!s.end_session("h1").await.unwrap());
    assert!(!s.session_access("h1").await.unwrap().unwrap().0.active);
    assert!(s.session_access("none").await.unwrap().is_none());
    assert_eq!(s.access(UserId::new(999).unwrap()).await.unwrap(), None);
    assert_eq!(s.access(u).await.unwrap().unwrap().role.map(|r| r.id), RoleId::new(2));
}

pub async fn api_tokens(env: Env) {
    let s = &*env.store;
    let (a, b) = (create(s, "a", &[]).await, create(s, "b", &[]).await);
    let ids = s.create_api_tokens(vec![token("t1", a), token("t2", a), token("t1", b)]).await.unwrap();
    assert_eq!(
        outcome(&s.create_api_tokens(vec![token("t3", a), token("t1", a)]).await),
        Err("taken token name".into())
    );
    assert_eq!(
        outcome(&s.create_api_tokens(vec![token("t", UserId::new(999).unwrap())]).await),
        Err("missing user".into())
    );
    let all = s.api_tokens(&TokenQuery::default()).await.unwrap();
    assert_eq!(all.iter().map(|t| t.id).collect::<Vec<_>>(), ids, "t3 went with its call");
    let of_a = s.api_tokens(&TokenQuery { ids: None, users: Some(vec![a]) }).await.unwrap();
    assert_eq!((of_a.len(), of_a[0].generated, of_a[0].creator), (2, false, Some(a)));
    assert!(of_a[0].created_at > 1_600_000_000);

    s.set_api_token_secrets(vec![(ids[0], "digest".into())]).await.unwrap();
    let (t, access) = s.api_token_access("digest").await.unwrap().unwrap();
    assert_eq!((t.id, t.generated, access.user.id), (ids[0], true, a));
    assert!(s.api_token_access("other").await.unwrap().is_none());
    let gone = TokenId::new(999).unwrap();
    assert_eq!(outcome(&s.set_api_token_secrets(vec![(gone, "x".into())]).await), Err("missing token".into()));

    let rename = roster_core::ApiTokenPatch { name: Some("t2".into()), ..Default::default() };
    assert_eq!(outcome(&s.update_api_tokens(vec![(ids[0], rename)]).await), Err("taken token name".into()));
    let p = roster_core::ApiTokenPatch {
        description: Some("d".into()),
        status: Some(1),
        expires_at: Some(5),
        ..Default::default()
    };
    s.update_api_tokens(vec![(ids[0], p), (gone, Default::default())]).await.unwrap();
    let missing =
        s.update_api_tokens(vec![(gone, roster_core::ApiTokenPatch { status: Some(1), ..Default::default() })]).await;
    assert_eq!(outcome(&missing), Err("missing token".into()));
    s.touch_api_token(ids[0], 4242).await.unwrap();
    let t = &s.api_tokens(&TokenQuery { ids: Some(vec![ids[0]]), users: None }).await.unwrap()[0];
    assert_eq!((t.description.as_str(), t.status, t.expires_at, t.lastaccess), ("d", 1, 5, 4242));

    assert_eq!(outcome(&s.delete_api_tokens(vec![ids[1], gone]).await), Err("missing token".into()));
    s.delete_api_tokens(vec![ids[1]]).await.unwrap();
    assert_eq!(s.api_tokens(&TokenQuery::default()).await.unwrap().len(), 2);
}

pub async fn settings(env: Env) {
    let s = &*env.store;
    assert_eq!(s.settings().await.unwrap().get("login_attempts"), "5");
    s.set_settings(vec![("login_attempts".into(), "3".into()), ("b".into(), "1".into()), ("a".into(), "2".into())])
        .await
        .unwrap();
    s.set_settings(vec![("login_attempts".into(), "4".into())]).await.unwrap();
    let got = s.settings().await.unwrap();
    let keys: Vec<&str> = got.0.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["a", "b", "login_attempts"]);
    assert_eq!(got.int("login_attempts"), 4);
}

pub async fn delete_users(env: Env) {
    let s = &*env.store;
    let photo = roster_core::FileUpload { name: "p.png".into(), content_type: "image/png".into(), data: vec![1, 2, 3] };
    let mut p = roster_core::UserPatch::default();
    p.attrs.push((attr("personal_photo"), roster_core::Change::Upload(photo)));
    let made = s.create_accounts(vec![account("gone", &[13], vec![media(1, "g@x.ru")])]).await.unwrap();
    let (u, keep) = (made[0], create(s, "keep", &[]).await);
    s.update_user(u, p).await.unwrap();
    let file = match load(s, u).await.get(attr("personal_photo")) {
        Value::File(f) => *f,
        other => panic!("no photo: {other:?}"),
    };
    let d = dept(s, "Sales", 1, None).await;
    s.update_department(d, DepartmentPatch { head: Some(Some(u)), ..Default::default() }).await.unwrap();
    s.login_succeeded(Session { hash: "sx".into(), user: u, lastaccess: 1, active: true }).await.unwrap();
    s.create_api_tokens(vec![token("t", u)]).await.unwrap();

    let ghost = UserId::new(999).unwrap();
    assert_eq!(outcome(&s.delete_users(vec![u, ghost]).await), Err("missing user".into()));
    assert!(s.user(u).await.unwrap().is_some(), "all or nothing");
    s.delete_users(vec![u]).await.unwrap();
    assert!(s.user(u).await.unwrap().is_none());
    assert!(s.file(file).await.unwrap().is_none());
    assert!(s.session_access("sx").await.unwrap().is_none());
    assert!(s.medias_of(vec![u]).await.unwrap().is_empty());
    assert!(s.memberships(Some(vec![u]), None).await.unwrap().is_empty());
    assert!(s.api_tokens(&TokenQuery::default()).await.unwrap().is_empty());
    let depts = s.departments(&Default::default()).await.unwrap();
    assert_eq!(depts[0].head, None);
    assert!(s.user(keep).await.unwrap().is_some());
}
