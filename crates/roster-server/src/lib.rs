//! Roster's server wiring: opens the store, bootstraps an empty directory, builds the
//! router of every face, and runs it on a listener until a shutdown future resolves.
//! `main` and the tests both go through [`start`] and [`run`].

pub mod config;
pub mod serve;
pub mod tls;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use roster_bitrix24::operating::OperatingConfig;
use roster_bitrix24::{Bitrix, BitrixConfig};
use roster_core::{BootstrapReport, Directory};
use roster_zabbix::{Zabbix, ZabbixConfig};
use tokio::net::TcpListener;

pub use config::{DatabaseArgs, ServeConfig, DEFAULT_DATABASE_URL};

/// A directory opened and ready to serve.
pub struct Prepared {
    pub app: Router,
    /// What bootstrap made on an empty database (to be printed once), else None.
    pub bootstrap: Option<BootstrapReport>,
}

/// Opens the database named in `config`, migrates and bootstraps it, and builds the app.
pub async fn prepare(config: &ServeConfig) -> anyhow::Result<Prepared> {
    let store = roster_store::open(&config.database.database_url)
        .with_context(|| format!("cannot open database {}", config.database.database_url))?;
    let dir = Directory::new(store);
    let bootstrap = dir
        .bootstrap(config.admin_password.clone(), config.bootstrap_webhook.clone())
        .await
        .context("bootstrap of an empty directory failed")?;
    let bx = BitrixConfig {
        max_body: config.max_body,
        public_url: config.public_url.clone(),
        operating: OperatingConfig { limit: config.operating_limit, min_call: config.operating_min_call },
        default_language: config.default_language.to_ascii_lowercase(),
        require_https: config.require_https,
        rate_limit: config.rate_limit.0,
        files: roster_bitrix24::input::FileLimits {
            max_bytes: config.max_file_size,
            max_pixels: config.max_image_pixels,
        },
        max_batch: config.max_batch,
        max_depth: config.max_depth,
        request_timeout: std::time::Duration::from_secs(config.request_timeout.max(1)),
        auth_guard: roster_bitrix24::guard::GuardConfig {
            max_failures: config.auth_failures.max(1),
            window: std::time::Duration::from_secs(60),
        },
    };
    let zbx = ZabbixConfig {
        version: config.zabbix_version,
        max_body: config.max_body,
        request_timeout: std::time::Duration::from_secs(config.request_timeout.max(1)),
    };
    let app = app_with(dir, bx, zbx);
    Ok(Prepared { app, bootstrap })
}

/// The router of every face over one directory (the Zabbix face with its defaults).
pub fn app(dir: Directory, bitrix: BitrixConfig) -> Router {
    app_with(dir, bitrix, ZabbixConfig::default())
}

/// The router of every face over one directory: Bitrix24 under `/rest/...`, Zabbix on
/// any path ending in `api_jsonrpc.php`.
pub fn app_with(dir: Directory, bitrix: BitrixConfig, zabbix: ZabbixConfig) -> Router {
    let zbx = Arc::new(Zabbix::new(dir.clone(), zabbix));
    let bx = Arc::new(Bitrix::new(dir, bitrix));
    roster_bitrix24::delivery::spawn(&bx);
    roster_bitrix24::router(bx).merge(roster_zabbix::router(zbx))
}

/// Serves `app` on `listener` until `shutdown` resolves, then finishes in-flight requests
/// (default connection limits; see [`serve::serve`]).
pub async fn run(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve::serve(listener, app, serve::ConnLimits::default(), shutdown).await
}

/// Like [`run`], with the connection limits of `config`.
pub async fn run_with(
    listener: TcpListener,
    app: Router,
    config: &ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let limits = serve::ConnLimits {
        max_connections: config.max_connections,
        header_timeout: std::time::Duration::from_secs(config.header_timeout.max(1)),
    };
    serve::serve(listener, app, limits, shutdown).await
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
