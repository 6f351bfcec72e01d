//! End-to-end tests of [`super::run`] against a throwaway keep-alive HTTP/1.1
//! server built on a bare tokio `TcpListener`: it answers every request with
//! one fixed JSON body and counts the requests it saw.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{run, Config};
use crate::cli::{Face, Scenario};
use crate::plan::Plan;
use crate::target::parse_target;

/// Starts the fake server; returns its port and its request counter.
async fn fake_server(status: &'static str, body: &'static str) -> (u16, Arc<AtomicU64>) {
    fake_server_with(status, body, false).await
}

/// Like [`fake_server`]; with `close` it answers `connection: close` and
/// hangs up after every response.
async fn fake_server_with(status: &'static str, body: &'static str, close: bool) -> (u16, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(AtomicU64::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(serve(sock, status, body, close, counter.clone()));
        }
    });
    (port, seen)
}

async fn serve(mut sock: TcpStream, status: &str, body: &str, close: bool, seen: Arc<AtomicU64>) {
    let conn = if close { "close" } else { "keep-alive" };
    let reply = format!(
        "HTTP/1.1 {status}\r\nconnection: {conn}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        // Serve every complete request already buffered.
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize =
                head.lines().find_map(|l| l.strip_prefix("content-length:")).map_or(0, |v| v.trim().parse().unwrap());
            if buf.len() < end + 4 + len {
                break;
            }
            buf.drain(..end + 4 + len);
            seen.fetch_add(1, Ordering::Relaxed);
            if sock.write_all(reply.as_bytes()).await.is_err() || close {
                return;
            }
        }
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn config(port: u16, face: Face, scenario: Scenario, total: Option<u64>) -> Config {
    let url = match face {
        Face::Bitrix24 => format!("http://127.0.0.1:{port}/rest/1/code/"),
        Face::Zabbix => format!("http://localhost:{port}/api_jsonrpc.php"),
    };
    let target = parse_target(&url).unwrap();
    let plan = Plan::new(face, scenario, &target, Some("t"), (1, 1000), "user1").unwrap();
    Config {
        target,
        plan,
        connections: 4,
        warmup: Duration::from_millis(100),
        duration: Duration::from_millis(500),
        total,
    }
}

#[tokio::test]
async fn update_runs_without_errors() {
    let (port, seen) = fake_server("200 OK", r#"{"result":true,"time":{}}"#).await;
    let r = run(config(port, Face::Bitrix24, Scenario::Update, None)).await.unwrap();
    assert!(r.ok > 0, "no requests completed");
    assert_eq!(r.errors, 0, "{:?}", r.error_samples);
    assert_eq!(r.latencies_ns.len() as u64, r.ok);
    assert_eq!(r.updates, r.ok);
    assert_eq!(r.measured, Duration::from_millis(500));
    // Warm-up requests reached the server but were not counted.
    assert!(seen.load(Ordering::Relaxed) > r.ok);
}

#[tokio::test]
async fn zabbix_get_runs_without_errors() {
    let (port, _) = fake_server("200 OK", r#"{"jsonrpc":"2.0","result":[],"id":1}"#).await;
    let r = run(config(port, Face::Zabbix, Scenario::Get, None)).await.unwrap();
    assert!(r.ok > 0);
    assert_eq!(r.errors, 0, "{:?}", r.error_samples);
}

#[tokio::test]
async fn batch_total_sends_exact_calls() {
    let body = r#"{"result":{"result":{},"result_error":[],"result_total":[]}}"#;
    let (port, seen) = fake_server("200 OK", body).await;
    let mut cfg = config(port, Face::Bitrix24, Scenario::Batch, Some(1025));
    cfg.warmup = Duration::ZERO;
    let r = run(cfg).await.unwrap();
    assert_eq!(r.ok, 21, "{:?}", r.error_samples);
    assert_eq!(r.errors, 0);
    assert_eq!(r.updates, 1025);
    assert_eq!(seen.load(Ordering::Relaxed), 21);
    assert!(r.measured > Duration::ZERO);
}

#[tokio::test]
async fn errors_are_counted_and_sampled() {
    let (port, _) = fake_server("400 Bad Request", r#"{"error":"INVALID"}"#).await;
    let r = run(config(port, Face::Bitrix24, Scenario::Update, None)).await.unwrap();
    assert_eq!(r.ok, 0);
    assert!(r.errors > 0);
    assert_eq!(r.error_samples, [r#"HTTP 400: {"error":"INVALID"}"#]);
}

#[tokio::test]
async fn server_closing_connections_is_not_an_error() {
    let (port, _) = fake_server_with("200 OK", r#"{"result":true}"#, true).await;
    let r = run(config(port, Face::Bitrix24, Scenario::Update, None)).await.unwrap();
    assert!(r.ok > 0);
    assert_eq!(r.errors, 0, "{:?}", r.error_samples);
}

#[tokio::test]
async fn refused_connection_is_an_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let err = run(config(port, Face::Bitrix24, Scenario::Update, None)).await.unwrap_err();
    assert!(format!("{err:#}").contains("cannot connect"), "{err:#}");
}
