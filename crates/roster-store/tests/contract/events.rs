//! Contract cases for events: bindings (taken, unbound by handler or all), deliveries
//! queued by the user write itself (and not at all when it fails), claims hidden for the
//! lease, retries and completion, offline events (peek, reserve, clear, fail), and claims
//! from two stores at once that never hand one delivery to both.

use roster_core::events::{NewBinding, OfflineQuery};
use roster_core::{Store, UserId};

use crate::fixtures::{create, new_user, outcome};
use crate::harness::Env;
use crate::oauth::app;

fn binding(app: i64, handler: &str, offline: bool, auth: Option<UserId>) -> NewBinding {
    NewBinding { app, event: "ONUSERADD".into(), handler: handler.into(), auth_user: auth, offline }
}

/// Creates a user whose write raises ONUSERADD, caused by `actor`.
async fn add_with_event(s: &dyn Store, login: &str, actor: Option<UserId>) -> Result<UserId, String> {
    let mut u = new_user(login, &[]);
    u.patch.emit = vec!["ONUSERADD"];
    u.patch.actor = actor;
    let r = s.create_user(u).await;
    outcome(&r).map(|()| r.unwrap())
}

fn offline(app: i64, clear: bool, peek: bool, errors: bool) -> OfflineQuery {
    OfflineQuery { app, limit: 10, clear, process_id: "proc-1".into(), errors, peek }
}

pub async fn bindings(env: Env) {
    let s = &*env.store;
    let a = s.create_app(app("local.a", None)).await.unwrap();
    let b1 = s.bind_event(binding(a, "https://h/1", false, Some(UserId::ADMIN))).await.unwrap();
    let b2 = s.bind_event(binding(a, "https://h/2", false, None)).await.unwrap();
    let b3 = s.bind_event(binding(a, "", true, None)).await.unwrap();
    let dup = s.bind_event(binding(a, "https://h/1", false, None)).await;
    assert_eq!(outcome(&dup), Err("taken binding".into()));
    let orphan = s.bind_event(binding(9999, "https://h/1", false, None)).await;
    assert_eq!(outcome(&orphan), Err("taken binding".into()), "as SQLite reports any violation");
    let all = s.bindings(a).await.unwrap();
    assert_eq!(all.iter().map(|b| b.id).collect::<Vec<_>>(), [b1, b2, b3]);
    assert_eq!((all[0].auth_user, all[0].offline, all[2].offline), (Some(UserId::ADMIN), false, true));
    assert!(all[0].created > 1_600_000_000 && all[0].event == "ONUSERADD");

    assert_eq!(s.unbind_event(a, "ONUSERADD", Some("https://h/2".into()), false).await.unwrap(), 1);
    assert_eq!(s.unbind_event(a, "ONUSERADD", Some("https://h/2".into()), false).await.unwrap(), 0);
    assert_eq!(s.unbind_event(a, "ONUSERADD", None, true).await.unwrap(), 1);
    assert_eq!(s.bindings(a).await.unwrap().iter().map(|b| b.id).collect::<Vec<_>>(), [b1]);
    assert!(s.bindings(9999).await.unwrap().is_empty());
}

pub async fn deliveries(env: Env) {
    let s = &*env.store;
    let a = s.create_app(app("local.a", None)).await.unwrap();
    let b1 = s.bind_event(binding(a, "https://h/1", false, None)).await.unwrap();
    s.bind_event(binding(a, "https://h/2", false, None)).await.unwrap();
    let u = add_with_event(s, "ivan", Some(UserId::ADMIN)).await.unwrap();
    assert_eq!(add_with_event(s, "IVAN", None).await, Err("taken login".into()));

    let now = chrono::Utc::now().timestamp();
    let claimed = s.claim_deliveries(now, 10, 60).await.unwrap();
    assert_eq!(claimed.len(), 2, "one per online binding, none for the failed write");
    let d = &claimed[0];
    assert_eq!((d.binding.id, d.entity, d.actor, d.failures), (b1, u.get(), Some(UserId::ADMIN), 0));
    assert_eq!((d.event.as_str(), d.binding.handler.as_str()), ("ONUSERADD", "https://h/1"));
    assert!(claimed[0].id < claimed[1].id);
    assert!(s.claim_deliveries(now + 59, 10, 60).await.unwrap().is_empty(), "leased");

    s.finish_delivery(claimed[0].id, false, Some(now + 5)).await.unwrap();
    s.finish_delivery(claimed[1].id, true, None).await.unwrap();
    let again = s.claim_deliveries(now + 5, 1, 60).await.unwrap();
    assert_eq!((again.len(), again[0].id, again[0].failures), (1, claimed[0].id, 1));
    s.finish_delivery(again[0].id, false, None).await.unwrap();
    assert!(s.claim_deliveries(now + 10_000, 10, 60).await.unwrap().is_empty(), "given up");
}

pub async fn offline_events(env: Env) {
    let s = &*env.store;
    let a = s.create_app(app("local.a", None)).await.unwrap();
    let other = s.create_app(app("local.b", None)).await.unwrap();
    s.bind_event(binding(a, "", true, None)).await.unwrap();
    let users = [
        add_with_event(s, "u1", None).await.unwrap(),
        add_with_event(s, "u2", None).await.unwrap(),
        add_with_event(s, "u3", None).await.unwrap(),
    ];
    assert!(s.take_offline_events(offline(other, false, false, false)).await.unwrap().is_empty());

    let peeked = s.take_offline_events(offline(a, false, true, false)).await.unwrap();
    let entities: Vec<i64> = peeked.iter().map(|e| e.entity).collect();
    assert_eq!(entities, users.iter().map(|u| u.get()).collect::<Vec<_>>());
    assert!(peeked.iter().all(|e| e.process_id.is_none() && !e.error && e.message_id.len() == 32));

    let mut two = offline(a, false, false, false);
    two.limit = 2;
    let reserved = s.take_offline_events(two).await.unwrap();
    assert_eq!(reserved.len(), 2);
    let left = s.take_offline_events(offline(a, false, true, false)).await.unwrap();
    assert_eq!(left.iter().map(|e| e.entity).collect::<Vec<_>>(), [users[2].get()], "reserved are hidden");

    let ids = vec![reserved[0].message_id.clone()];
    assert_eq!(s.fail_offline_events(a, "proc-1", ids).await.unwrap(), 1);
    assert_eq!(s.fail_offline_events(a, "proc-1", vec![]).await.unwrap(), 0);
    let failed = s.take_offline_events(offline(a, false, true, true)).await.unwrap();
    assert_eq!((failed.len(), failed[0].entity, failed[0].error), (1, users[0].get(), true));
    assert_eq!(s.clear_offline_events(a, "other", None).await.unwrap(), 0);
    assert_eq!(s.clear_offline_events(a, "proc-1", None).await.unwrap(), 1, "u2 was still reserved");

    let cleared = s.take_offline_events(offline(a, true, false, false)).await.unwrap();
    assert_eq!(cleared.iter().map(|e| e.entity).collect::<Vec<_>>(), [users[2].get()]);
    assert!(s.take_offline_events(offline(a, false, true, false)).await.unwrap().is_empty());
    let only_failed = s.take_offline_events(offline(a, true, false, true)).await.unwrap();
    assert_eq!(only_failed.len(), 1);
    assert!(s.take_offline_events(offline(a, false, true, true)).await.unwrap().is_empty());
}

pub async fn claims_from_two_stores(env: Env) {
    let s = &*env.store;
    let other = env.open_again().await;
    let a = s.create_app(app("local.a", None)).await.unwrap();
    s.bind_event(binding(a, "https://h/1", false, None)).await.unwrap();
    for i in 0..20 {
        add_with_event(s, &format!("u{i}"), None).await.unwrap();
    }
    let now = chrono::Utc::now().timestamp();
    let mut seen = Vec::new();
    for _ in 0..4 {
        let (x, y) = tokio::join!(s.claim_deliveries(now, 3, 60), other.claim_deliveries(now, 3, 60));
        seen.extend(x.unwrap().into_iter().map(|d| d.id));
        seen.extend(y.unwrap().into_iter().map(|d| d.id));
    }
    let claimed = seen.len();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!((claimed, seen.len()), (20, 20), "every delivery claimed exactly once");
    let _ = create(s, "no-event", &[]).await;
    assert!(s.claim_deliveries(now + 60, 50, 60).await.unwrap().len() == 20);
}
