//! Contract case for the limits shared by every server on one database: SQLite offers
//! none (each process keeps its own); PostgreSQL's leaky bucket admits up to the burst,
//! refuses without filling, drains with time and is one bucket for two stores; operating
//! time adds up across stores in minute rows that stop counting 600 s after their first call.

use crate::harness::Env;

pub async fn shared_limits(env: Env) {
    let Some(limits) = env.store.shared_limits() else {
        assert!(env.url.starts_with("sqlite"), "only SQLite keeps limits per process");
        return;
    };
    let other = env.open_again().await;
    let twin = other.shared_limits().expect("the same backend shares limits");
    let t = 1_000_000.0;
    let mut admitted = 0;
    for i in 0..8 {
        let (a, b) = tokio::join!(limits.admit("webhook:1", 1.0, 5.0, t), twin.admit("webhook:1", 1.0, 5.0, t));
        admitted += usize::from(a.unwrap()) + usize::from(b.unwrap());
        assert!(i > 0 || admitted == 2);
    }
    assert_eq!(admitted, 5, "one burst for both stores");
    // Refused requests did not fill the bucket: one second drains exactly one place.
    assert!(limits.admit("webhook:1", 1.0, 5.0, t + 1.0).await.unwrap());
    assert!(!twin.admit("webhook:1", 1.0, 5.0, t + 1.0).await.unwrap());
    assert!(limits.admit("webhook:2", 1.0, 5.0, t + 1.0).await.unwrap(), "buckets are per key");
    // A server whose clock is behind neither drains nor overfills the bucket.
    for _ in 0..4 {
        assert!(twin.admit("webhook:1", 1.0, 5.0, t + 10.0).await.unwrap());
    }
    assert!(limits.admit("webhook:1", 1.0, 5.0, t + 9.0).await.unwrap());
    assert!(!limits.admit("webhook:1", 1.0, 5.0, t + 9.0).await.unwrap());

    let key = "webhook:1:user.get";
    let empty = limits.operating(key, t).await.unwrap();
    assert_eq!((empty.seconds, empty.oldest), (0.0, None));
    let u = limits.add_operating(key, t, 0.5).await.unwrap();
    assert_eq!((u.seconds, u.oldest), (0.5, Some(t)));
    let u = twin.add_operating(key, t + 10.0, 0.25).await.unwrap();
    assert_eq!((u.seconds, u.oldest), (0.75, Some(t)), "same minute, same row");
    let u = limits.add_operating(key, t + 70.0, 1.0).await.unwrap();
    assert_eq!((u.seconds, u.oldest), (1.75, Some(t)));
    let later = twin.operating(key, t + 600.0).await.unwrap();
    assert_eq!((later.seconds, later.oldest), (1.0, Some(t + 70.0)), "the first minute expired");
    let u = limits.add_operating(key, t + 680.0, 2.0).await.unwrap();
    assert_eq!((u.seconds, u.oldest), (2.0, Some(t + 680.0)));
    assert_eq!(limits.operating("webhook:1:user.add", t).await.unwrap().seconds, 0.0);
}
