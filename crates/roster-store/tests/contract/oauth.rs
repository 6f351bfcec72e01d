//! Contract cases for OAuth storage: applications (taken client ids, lookups), token
//! pairs (rotation: the old refresh digest works once, the old access digest lives on),
//! expired pairs dropped on the way, and authorization codes that work once, also when
//! two stores (two servers) redeem one code at the same moment.

use roster_core::oauth::{NewApp, TokenRecord};
use roster_core::{Scopes, Store, UserId};

use crate::fixtures::{create, outcome};
use crate::harness::Env;

pub fn app(client_id: &str, users: Option<Vec<UserId>>) -> NewApp {
    NewApp {
        client_id: client_id.into(),
        secret_hash: format!("secret-of-{client_id}"),
        name: format!("App {client_id}"),
        scopes: Scopes::parse("user,department").unwrap(),
        users,
    }
}

pub fn pair(app: i64, user: UserId, tag: &str, expires: i64) -> TokenRecord {
    TokenRecord {
        app,
        user,
        access_hash: format!("access-{tag}"),
        refresh_hash: format!("refresh-{tag}"),
        access_expires: expires,
        refresh_expires: expires + 1000,
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub async fn apps(env: Env) {
    let s = &*env.store;
    let u = create(s, "ivan", &[]).await;
    let a = s.create_app(app("local.a", None)).await.unwrap();
    let b = s.create_app(app("local.b", Some(vec![u, UserId::ADMIN]))).await.unwrap();
    assert!(b > a);
    assert_eq!(outcome(&s.create_app(app("local.a", None)).await), Err("taken client_id".into()));
    let all = s.apps().await.unwrap();
    assert_eq!(all.iter().map(|x| x.id).collect::<Vec<_>>(), [a, b]);
    let found = s.app_by_client_id("local.b").await.unwrap().unwrap();
    assert_eq!(
        (found.id, found.name.as_str(), found.secret_hash.as_str(), found.active),
        (b, "App local.b", "secret-of-local.b", true)
    );
    assert_eq!(found.users, Some(vec![u, UserId::ADMIN]));
    assert_eq!(found.scopes.to_list(), "department,user");
    assert!(found.created > 1_600_000_000);
    assert_eq!(s.app_by_id(a).await.unwrap().unwrap().users, None);
    assert!(s.app_by_id(999).await.unwrap().is_none());
    assert!(s.app_by_client_id("nope").await.unwrap().is_none());
}

pub async fn tokens_rotate(env: Env) {
    let s = &*env.store;
    let u = create(s, "ivan", &[]).await;
    let a = s.create_app(app("local.a", None)).await.unwrap();
    let first = pair(a, u, "1", now() + 3600);
    s.save_token(first.clone(), None).await.unwrap();
    assert_eq!(s.token_by_access("access-1").await.unwrap(), Some(first.clone()));
    assert_eq!(s.token_by_refresh("refresh-1").await.unwrap(), Some(first.clone()));

    let second = pair(a, u, "2", now() + 3600);
    s.save_token(second.clone(), Some("refresh-1".into())).await.unwrap();
    assert!(s.token_by_refresh("refresh-1").await.unwrap().is_none(), "a refresh works once");
    let old = s.token_by_access("access-1").await.unwrap().unwrap();
    assert_eq!((old.refresh_hash.as_str(), old.refresh_expires), ("revoked:access-1", 0));
    assert_eq!(s.token_by_refresh("refresh-2").await.unwrap(), Some(second));
    let again = s.save_token(pair(a, u, "3", now()), Some("refresh-1".into())).await;
    assert_eq!(outcome(&again), Err("missing token".into()));
    assert!(s.token_by_access("access-3").await.unwrap().is_none(), "the failed save kept nothing");

    // A pair that can no longer be used at all goes when the same user and app get another.
    let stale = TokenRecord { refresh_expires: now() - 10, ..pair(a, u, "old", now() - 10) };
    s.save_token(stale, None).await.unwrap();
    s.save_token(pair(a, u, "4", now() + 3600), None).await.unwrap();
    assert!(s.token_by_access("access-old").await.unwrap().is_none());
    assert!(s.token_by_access("access-1").await.unwrap().is_some(), "still valid, kept");
}

pub async fn codes_work_once(env: Env) {
    let s = &*env.store;
    let u = create(s, "ivan", &[]).await;
    let a = s.create_app(app("local.a", None)).await.unwrap();
    s.save_auth_code("code-1".into(), a, u, 1234).await.unwrap();
    assert_eq!(s.take_auth_code("code-1").await.unwrap(), Some((a, u, 1234)));
    assert_eq!(s.take_auth_code("code-1").await.unwrap(), None);
    assert_eq!(s.take_auth_code("never").await.unwrap(), None);

    let other = env.open_again().await;
    for i in 0..5 {
        let code = format!("race-{i}");
        s.save_auth_code(code.clone(), a, u, 99).await.unwrap();
        let (x, y) = tokio::join!(s.take_auth_code(&code), other.take_auth_code(&code));
        let taken = [x.unwrap(), y.unwrap()].iter().filter(|t| t.is_some()).count();
        assert_eq!(taken, 1, "exactly one redeemer of {code}");
    }
}

/// Tokens made through one store work through another (as on a second server).
pub async fn tokens_are_shared(env: Env) {
    let other: std::sync::Arc<dyn Store> = env.open_again().await;
    let u = create(&*env.store, "ivan", &[]).await;
    let a = env.store.create_app(app("local.a", None)).await.unwrap();
    env.store.save_token(pair(a, u, "x", now() + 60), None).await.unwrap();
    assert_eq!(other.token_by_access("access-x").await.unwrap().map(|t| t.user), Some(u));
    assert_eq!(other.app_by_client_id("local.a").await.unwrap().map(|x| x.id), Some(a));
}
