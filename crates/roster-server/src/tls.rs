//! The HTTPS listener: a certificate from files or a fresh self-signed one (written as
//! PEM so clients can trust it), served with rustls next to the plain listener.
//! Requests that arrive here carry the `Secure` marker the Bitrix24 face checks.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use axum::{Extension, Router};
use axum_server::tls_rustls::RustlsConfig;
use axum_server::Handle;
use roster_bitrix24::Secure;

/// Where the certificate comes from.
pub enum CertSource {
    Files {
        cert: PathBuf,
        key: PathBuf,
    },
    /// Generate one for localhost and 127.0.0.1 and write it into this directory.
    SelfSigned {
        dir: PathBuf,
    },
}

/// A bound HTTPS listener, ready to serve.
pub struct TlsListener {
    pub addr: SocketAddr,
    /// The PEM file of a self-signed certificate, for clients to trust.
    pub certificate: Option<PathBuf>,
    /// The directory made for a self-signed certificate, removed at shutdown.
    made_dir: Option<PathBuf>,
    handle: Handle<SocketAddr>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Loads or makes the certificate, binds `addr` and starts serving `app` over TLS.
pub async fn start(addr: SocketAddr, source: CertSource, app: Router) -> anyhow::Result<TlsListener> {
    // rustls needs one process-wide crypto provider; a second install is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (config, certificate, made_dir) = match source {
        CertSource::Files { cert, key } => {
            let config = RustlsConfig::from_pem_file(&cert, &key)
                .await
                .with_context(|| format!("cannot load TLS certificate {} and key {}", cert.display(), key.display()))?;
            (config, None, None)
        }
        CertSource::SelfSigned { dir } => {
            let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .context("cannot make a self-signed certificate")?;
            let cert_pem = made.cert.pem();
            let key_pem = made.signing_key.serialize_pem();
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            let path = dir.join("roster-cert.pem");
            std::fs::write(&path, &cert_pem).with_context(|| format!("cannot write {}", path.display()))?;
            let config = RustlsConfig::from_pem(cert_pem.into_bytes(), key_pem.into_bytes())
                .await
                .context("cannot use the self-signed certificate")?;
            (config, Some(path), Some(dir))
        }
    };
    let handle: Handle<SocketAddr> = Handle::new();
    let app = app.layer(Extension(Secure));
    let server = tokio::spawn(
        axum_server::bind_rustls(addr, config)
            .handle(handle.clone())
            .serve(app.into_make_service_with_connect_info::<SocketAddr>()),
    );
    let addr = handle.listening().await.context("the HTTPS listener did not start")?;
    Ok(TlsListener { addr, certificate, made_dir, handle, server })
}

impl TlsListener {
    /// Stops accepting, lets requests in flight finish (up to 10 s), and waits.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.handle.graceful_shutdown(Some(Duration::from_secs(10)));
        let outcome = self.server.await.context("HTTPS listener task failed")?.context("HTTPS listener failed");
        if let Some(dir) = &self.made_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        outcome
    }
}
