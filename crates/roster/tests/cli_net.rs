//! The advanced network options against deliberately failing local endpoints and a real
//! local proxy: --retries counts attempts in all, --timeout ends a silent request, --proxy
//! (URL or oint's structure) carries the request and its Proxy-Authorization.

mod cli_support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use cli_support::{roster_async, Server};
use roster_client::testing::{Answer, FakeServer, TestProxy};
use serde_json::json;

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_are_attempts_in_all() {
    let busy = json!({"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"});
    let b = busy.clone();
    let fake = FakeServer::start(move |n, _| {
        if n % 3 < 2 {
            Answer::json(503, b.clone())
        } else {
            Answer::json(200, json!({"result": true, "time": {}}))
        }
    })
    .await;
    let url = format!("{}/rest/1/code/", fake.url());
    let r =
        roster_async(args(&["bitrix24", "GetCurrentUser", "--url", &url, "--retries", "3", "--backoff", "0.01"])).await;
    assert!(r.ok(), "{r:#?}");
    assert_eq!(fake.recorded().len(), 3);
    // Next round: 503, 503 with only two attempts: the last answer is printed, exit non-zero.
    let r = roster_async(args(&[
        "bitrix24",
        "GetCurrentUser",
        "--url",
        &url,
        "--retries",
        "2",
        "--backoff",
        "0.01",
        "--adv-response",
    ]))
    .await;
    assert_ne!(r.code, 0);
    assert_eq!(r.json()["code"], json!(503));
    assert_eq!(r.json()["body"], busy);
    assert!(r.stderr.contains("QUERY_LIMIT_EXCEEDED"), "{r:#?}");
    assert_eq!(fake.recorded().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_ends_a_silent_request() {
    let fake = FakeServer::start(|_, _| Answer::Never).await;
    let url = format!("{}/rest/1/code/", fake.url());
    let t = Instant::now();
    let r =
        roster_async(args(&["bitrix24", "GetCurrentUser", "--url", &url, "--timeout", "0.5", "--retries", "1"])).await;
    let took = t.elapsed();
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("no answer from") && r.stderr.contains("/rest/1/***/user.current"), "{r:#?}");
    assert!(took >= Duration::from_millis(500) && took < Duration::from_secs(5), "{took:?}");
    assert_eq!(fake.recorded().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_carries_the_request_and_its_credentials() {
    let s = tokio::task::spawn_blocking(Server::start).await.unwrap();
    let proxy = TestProxy::start(Some("Basic YWxpY2U6czNjcmV0".into())).await; // alice:s3cret
    let url_form = format!("http://alice:s3cret@{}", proxy.addr);
    let r =
        roster_async(args(&["bitrix24", "GetUser", "--url", &s.webhook, "--userid", "1", "--proxy", &url_form])).await;
    assert!(r.ok(), "{r:#?}");
    assert_eq!(r.json()["result"][0]["ID"], json!("1"));
    let oint_form = format!(
        "{{'Protocol':'http','Host':'127.0.0.1','Port':{},'User':'alice','Password':'s3cret'}}",
        proxy.addr.port()
    );
    let r = roster_async(args(&["call", "user.current", "--url", &s.webhook, "--proxy", &oint_form])).await;
    assert!(r.ok(), "{r:#?}");
    assert_eq!(proxy.connections.load(Ordering::SeqCst), 2);
    let seen = proxy.seen.lock().unwrap().clone();
    assert!(
        seen.iter().all(|(line, auth)| line.starts_with("POST http://127.0.0.1:")
            && auth.as_deref() == Some("Basic YWxpY2U6czNjcmV0")),
        "{seen:?}"
    );
    let bad = format!("http://alice:nope@{}", proxy.addr);
    let r = roster_async(args(&["call", "user.current", "--url", &s.webhook, "--proxy", &bad])).await;
    assert!(r.code != 0 && r.stderr.contains("407"), "{r:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_proxy_flags_are_checked_before_sending() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let url = "https://127.0.0.1:9/rest/1/code/";
    let r = roster_async(args(&["call", "server.time", "--url", url, "--ca-cert", junk.to_str().unwrap()])).await;
    assert!(r.code != 0 && r.stderr.contains("CA certificate"), "{r:#?}");
    let r = roster_async(args(&["call", "server.time", "--url", url, "--proxy", "ftp://h:21"])).await;
    assert!(r.code != 0 && r.stderr.contains("proxy scheme"), "{r:#?}");
    let r = roster_async(args(&["call", "server.time", "--url", url, "--rate", "fast"])).await;
    assert!(r.code != 0 && r.stderr.contains("rate"), "{r:#?}");
}
