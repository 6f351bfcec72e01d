//! Retry, timeout, proxy, TLS and request shapes against deliberately failing local
//! endpoints, a real local proxy and Roster's HTTPS listener: 503 then 200 is retried,
//! QUERY_LIMIT_EXCEEDED and 429 are waited out (Retry-After honoured), 4xx is not retried,
//! a silent server times out per attempt, requests go through an HTTP proxy with their
//! Proxy-Authorization, and a self-signed certificate is refused unless trusted.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use roster_client::testing::{Answer, FakeServer, TestProxy};
use roster_client::{Bitrix24, Error, Map, Proxy, Tls};
use serde_json::json;

fn ok() -> Answer {
    Answer::json(200, json!({"result": true, "time": {"operating": 0}}))
}

fn hook(fake: &FakeServer) -> String {
    format!("{}/rest/1/secretcode/", fake.url())
}

#[tokio::test]
async fn retries_5xx_then_succeeds() {
    let fake =
        FakeServer::start(|n, _| if n < 2 { Answer::Send(503, vec![], "<html>busy</html>".into()) } else { ok() })
            .await;
    let b24 = Bitrix24::webhook(&hook(&fake), common::quick(3, 2000)).unwrap();
    let reply = b24.send("user.update", &Map::new()).await.unwrap();
    assert_eq!((reply.status, reply.attempts), (200, 3));
    assert_eq!(fake.recorded().len(), 3);
    // With fewer attempts the last 503 comes back as it is.
    let fake = FakeServer::start(|_, _| {
        Answer::json(503, json!({"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}))
    })
    .await;
    let b24 = Bitrix24::webhook(&hook(&fake), common::quick(2, 2000)).unwrap();
    let err = b24.call("user.get", &Map::new()).await.unwrap_err();
    assert_eq!(err.api().map(|a| (a.status, a.code.as_str())), Some((503, "QUERY_LIMIT_EXCEEDED")));
    assert_eq!(fake.recorded().len(), 2, "attempts are attempts in all");
}

#[tokio::test]
async fn rate_limit_answers_are_waited_out() {
    // QUERY_LIMIT_EXCEEDED with HTTP 200 (bitrix24-rest's case) and 429 with Retry-After.
    let fake = FakeServer::start(|n, _| match n {
        0 => Answer::json(200, json!({"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"})),
        1 => Answer::Send(
            429,
            vec![("retry-after".into(), "0.3".into())],
            json!({"error": "OPERATION_TIME_LIMIT"}).to_string(),
        ),
        _ => ok(),
    })
    .await;
    let mut opts = common::quick(5, 2000);
    opts.backoff.max = Duration::from_secs(2);
    let b24 = Bitrix24::webhook(&hook(&fake), opts).unwrap();
    let t = Instant::now();
    let env = b24.call("user.get", &Map::new()).await.unwrap();
    assert_eq!(env.result, json!(true));
    assert!(t.elapsed() >= Duration::from_millis(300), "Retry-After was honoured: {:?}", t.elapsed());
    assert_eq!(fake.recorded().len(), 3);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let fake =
        FakeServer::start(|_, _| Answer::json(400, json!({"error": "ERROR_CORE", "error_description": "bad"}))).await;
    let b24 = Bitrix24::webhook(&hook(&fake), common::quick(5, 2000)).unwrap();
    let err = b24.call("user.update", &Map::new()).await.unwrap_err();
    assert_eq!(err.to_string(), "user.update: ERROR_CORE: bad (HTTP 400)");
    assert_eq!(fake.recorded().len(), 1);
}

#[tokio::test]
async fn a_silent_server_times_out_on_every_attempt() {
    let fake = FakeServer::start(|_, _| Answer::Never).await;
    let b24 = Bitrix24::webhook(&hook(&fake), common::quick(2, 300)).unwrap();
    let t = Instant::now();
    let err = b24.call("user.get", &Map::new()).await.unwrap_err();
    let took = t.elapsed();
    assert!(matches!(err, Error::Timeout { attempts: 2, .. }), "{err:?}");
    assert!(took >= Duration::from_millis(600) && took < Duration::from_secs(3), "{took:?}");
    assert!(!err.to_string().contains("secretcode"), "the webhook secret is masked: {err}");
    assert_eq!(fake.recorded().len(), 2);
    // A refused connection is a transport error after the attempts.
    let port = fake.addr.port();
    drop(fake);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let b24 = Bitrix24::webhook(&format!("http://127.0.0.1:{port}/rest/1/x/"), common::quick(2, 300)).unwrap();
    assert!(matches!(
        b24.call("user.get", &Map::new()).await,
        Err(Error::Transport { attempts: 2, .. } | Error::Timeout { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_go_through_an_http_proxy_with_credentials() {
    let server = common::Roster::start().await;
    // user:pa ss → Basic dXNlcjpwYSBzcw==
    let proxy = TestProxy::start(Some("Basic dXNlcjpwYSBzcw==".into())).await;
    let mut opts = common::quick(1, 5000);
    opts.proxy = Some(Proxy::parse(&format!("http://user:pa%20ss@{}", proxy.addr)).unwrap());
    let b24 = Bitrix24::webhook(&server.webhook, opts).unwrap();
    assert_eq!(b24.user_current().await.unwrap()["ID"], json!("1"));
    assert_eq!(b24.user_get(1).await.unwrap().unwrap()["ID"], json!("1"));
    assert!(proxy.connections.load(Ordering::SeqCst) >= 1);
    let seen = proxy.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen[0].0.starts_with("POST http://127.0.0.1:") && seen[0].0.ends_with("/user.current"), "{seen:?}");
    assert!(seen.iter().all(|(_, auth)| auth.as_deref() == Some("Basic dXNlcjpwYSBzcw==")));
    // Wrong credentials: the proxy's 407 comes back (not retried, not JSON).
    let mut opts = common::quick(1, 5000);
    opts.proxy = Some(Proxy::parse(&format!("http://user:wrong@{}", proxy.addr)).unwrap());
    let b24 = Bitrix24::webhook(&server.webhook, opts).unwrap();
    let err = b24.user_current().await.unwrap_err();
    assert!(matches!(err, Error::NotJson { status: 407, .. }), "{err:?}");
}

#[tokio::test]
async fn https_goes_through_the_proxy_as_connect_and_socks_is_accepted() {
    let proxy = TestProxy::start(None).await;
    let mut opts = common::quick(1, 3000);
    opts.proxy = Some(Proxy::parse(&proxy.url()).unwrap());
    // Nothing speaks TLS behind it; what matters is the CONNECT the client sent.
    let b24 = Bitrix24::oauth("https://portal.invalid:8443", "tok", opts).unwrap();
    assert!(b24.call("user.current", &Map::new()).await.is_err());
    let seen = proxy.seen.lock().unwrap().clone();
    assert_eq!(seen.first().map(|s| s.0.as_str()), Some("CONNECT portal.invalid:8443"));
    let mut opts = common::quick(1, 3000);
    opts.proxy = Some(Proxy::parse("socks5h://u:p@127.0.0.1:1").unwrap());
    let b24 = Bitrix24::webhook("http://127.0.0.1:9/rest/1/c/", opts).unwrap();
    assert!(matches!(b24.call("user.get", &Map::new()).await, Err(Error::Transport { .. })));
}

#[tokio::test]
async fn token_mode_request_shape() {
    let fake = FakeServer::start(|_, _| ok()).await;
    let b24 = Bitrix24::connect(&fake.url(), Some("a5b00469"), common::quick(1, 2000)).unwrap();
    let call = roster_client::oint::update_user(
        "3766",
        &serde_json::from_value(json!({"EMAIL": "e@example.org", "NAME": "Oleg"})).unwrap(),
    );
    b24.send(&call.method, &call.params).await.unwrap();
    let r = &fake.recorded()[0];
    assert_eq!((r.method.as_str(), r.target.as_str()), ("POST", "/rest/user.update"));
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        r#"{"auth":"a5b00469","EMAIL":"e@example.org","NAME":"Oleg","ID":"3766"}"#
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.header("accept-encoding").is_some_and(|v| v.contains("gzip")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_verification_and_its_options() {
    let server = common::Roster::start_tls().await;
    let (https, pem) = server.tls.clone().unwrap();
    let hook = format!("{https}/rest/1/{}/", common::CODE);
    let strict = Bitrix24::webhook(&hook, common::quick(1, 5000)).unwrap();
    let err = strict.user_current().await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "an unknown certificate is refused: {err:?}");
    let mut opts = common::quick(1, 5000);
    opts.tls = Tls { accept_invalid_certs: true, ..Tls::default() };
    let insecure = Bitrix24::webhook(&hook, opts).unwrap();
    assert_eq!(insecure.user_current().await.unwrap()["ID"], json!("1"));
    let mut opts = common::quick(1, 5000);
    opts.tls.ca_certs_pem = vec![std::fs::read(&pem).unwrap()];
    let trusted = Bitrix24::webhook(&hook.replace("127.0.0.1", "localhost"), opts.clone()).unwrap();
    assert_eq!(trusted.user_current().await.unwrap()["ID"], json!("1"));
    // The same, tunnelled through a proxy.
    let proxy = TestProxy::start(None).await;
    opts.proxy = Some(Proxy::parse(&proxy.url()).unwrap());
    let tunnelled = Bitrix24::webhook(&hook, opts).unwrap();
    assert_eq!(tunnelled.user_get(1).await.unwrap().unwrap()["ID"], json!("1"));
    let seen = proxy.seen.lock().unwrap().clone();
    assert!(seen[0].0.starts_with("CONNECT 127.0.0.1:"), "{seen:?}");
    let mut opts = common::quick(1, 5000);
    opts.tls.ca_certs_pem = vec![b"not a certificate".to_vec()];
    assert!(matches!(Bitrix24::webhook(&hook, opts), Err(Error::Config(_))));
}
