//! A real Roster server for the client tests, started in-process on 127.0.0.1:0 over a
//! fresh SQLite database, with a known webhook code. Stopped when dropped.

#![allow(dead_code)]

use clap::Parser;
use roster_client::{Bitrix24, ClientOptions};
use tokio::sync::oneshot;

pub const CODE: &str = "clienttestcode1";

#[derive(Parser)]
struct Flags {
    #[command(flatten)]
    serve: roster_server::ServeConfig,
}

pub struct Roster {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// `http://127.0.0.1:PORT/rest/1/CODE/`
    pub webhook: String,
    /// `https://127.0.0.1:PORT` and the self-signed certificate's PEM, after `start_tls`.
    pub tls: Option<(String, std::path::PathBuf)>,
    tls_listener: Option<roster_server::tls::TlsListener>,
    stop: Option<oneshot::Sender<()>>,
    dir: tempfile::TempDir,
}

impl Roster {
    pub async fn start() -> Roster {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = format!("sqlite://{}/r.db", dir.path().display());
        let flags = Flags::parse_from([
            "roster",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &db,
            "--bootstrap-webhook",
            CODE,
            "--admin-password",
            "pw-client-tests-1",
        ]);
        let prepared = roster_server::prepare(&flags.serve).await.expect("prepare roster");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(roster_server::run(listener, prepared.app, async move {
            let _ = rx.await;
        }));
        let base = format!("http://{addr}");
        Roster { webhook: format!("{base}/rest/1/{CODE}/"), base, tls: None, tls_listener: None, stop: Some(tx), dir }
    }

    /// The same server with an HTTPS listener too, on a self-signed certificate for
    /// localhost and 127.0.0.1.
    pub async fn start_tls() -> Roster {
        let mut r = Roster::start().await;
        let db = format!("sqlite://{}/r.db", r.dir.path().display());
        let flags = Flags::parse_from(["roster", "--database-url", &db]);
        let app = roster_server::prepare(&flags.serve).await.expect("prepare").app;
        let source = roster_server::tls::CertSource::SelfSigned { dir: r.dir.path().join("tls") };
        let addr = "127.0.0.1:0".parse().expect("address");
        let listener = roster_server::tls::start(addr, source, app).await.expect("tls");
        let pem = listener.certificate.clone().expect("self-signed certificate file");
        r.tls = Some((format!("https://127.0.0.1:{}", listener.addr.port()), pem));
        r.tls_listener = Some(listener);
        r
    }

    pub fn client(&self) -> Bitrix24 {
        Bitrix24::webhook(&self.webhook, ClientOptions::default()).expect("client")
    }
}

impl Drop for Roster {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Options for fast tests: short backoff, given attempts and timeout.
pub fn quick(attempts: u32, timeout_ms: u64) -> ClientOptions {
    ClientOptions {
        attempts,
        timeout: std::time::Duration::from_millis(timeout_ms),
        backoff: roster_client::Backoff {
            base: std::time::Duration::from_millis(20),
            max: std::time::Duration::from_millis(200),
        },
        ..ClientOptions::default()
    }
}
