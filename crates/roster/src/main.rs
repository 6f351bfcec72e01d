//! The `roster` binary: `serve` runs the directory; `webhook add|list|delete` manage
//! inbound webhooks on the same database (also while a server runs on it); `bitrix24`,
//! `call`, `zabbix`, `user`, `users` and `completions` are client commands over
//! `roster-client`; `migrate` copies a directory between databases. Thin: all behaviour
//! lives in the library crates.

mod admin;
mod bitrix_cmd;
mod bulk;
mod bulk_io;
mod client_cmd;
mod conn;
mod migrate_cmd;

/// mimalloc: fewer cycles per small allocation than glibc's malloc under two busy threads.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use roster_server::ServeConfig;

#[derive(Debug, Parser)]
#[command(name = "roster", version, about = "A fast, self-hosted user directory with Bitrix24 and Zabbix APIs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (creates and migrates the database on first start).
    Serve(Box<ServeConfig>),
    /// Manage inbound webhooks.
    #[command(subcommand)]
    Webhook(admin::WebhookCommand),
    /// Manage OAuth applications.
    #[command(subcommand)]
    App(admin::AppCommand),
    /// Issue OAuth tokens directly.
    #[command(subcommand)]
    Token(admin::TokenCommand),
    /// OAuth authorization codes.
    #[command(subcommand)]
    Oauth(admin::OauthCommand),
    /// Show the audit log: who changed which user, field, group or credential, and how.
    Audit(admin::AuditArgs),
    /// OpenIntegrations-compatible Bitrix24 commands (`bitrix24 UpdateUser --url --userid --fields`).
    #[command(subcommand)]
    Bitrix24(bitrix_cmd::Bitrix24Command),
    /// Call any Bitrix24 method and print the JSON answer.
    Call(client_cmd::CallArgs),
    /// Zabbix JSON-RPC client commands.
    #[command(subcommand)]
    Zabbix(client_cmd::ZabbixCommand),
    /// Get, find, create and update one user with readable flags.
    #[command(subcommand)]
    User(client_cmd::UserCommand),
    /// Bulk import and export of users (CSV or JSON lines) through batch calls.
    #[command(subcommand)]
    Users(bulk::UsersCommand),
    /// Print a shell completion script.
    Completions(client_cmd::CompletionsArgs),
    /// Copy a whole directory to another database (SQLite <-> PostgreSQL), verified per table.
    Migrate(migrate_cmd::MigrateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(bitrix_cmd::canonical_args(std::env::args_os()));
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("ROSTER_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("roster: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Serve(config) => serve(*config).await,
            Command::Webhook(cmd) => admin::webhook(cmd).await,
            Command::App(cmd) => admin::app(cmd).await,
            Command::Token(cmd) => admin::token(cmd).await,
            Command::Oauth(cmd) => admin::oauth(cmd).await,
            Command::Audit(args) => admin::audit(args).await,
            Command::Bitrix24(cmd) => bitrix_cmd::run(cmd).await,
            Command::Call(args) => client_cmd::call(args).await,
            Command::Zabbix(cmd) => client_cmd::zabbix(cmd).await,
            Command::User(cmd) => client_cmd::user(cmd).await,
            Command::Users(cmd) => bulk::run(cmd).await,
            Command::Completions(args) => client_cmd::completions(&args, Cli::command()),
            Command::Migrate(args) => migrate_cmd::run(args).await,
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("roster: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    if config.tls_listen.is_none() && (config.require_https || config.tls_self_signed || config.tls_cert.is_some()) {
        anyhow::bail!("--require-https, --tls-self-signed and --tls-cert need --tls-listen ADDR");
    }
    let prepared = roster_server::prepare(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    say(&format!("listening on http://{addr}"));
    if let Some(made) = &prepared.bootstrap {
        if made.password_generated {
            say(&format!("administrator: login Admin, password {}", made.admin_password));
        }
        say(&format!("webhook: http://{addr}/rest/1/{}/", made.webhook_code));
    }
    let tls = match config.tls_listen {
        Some(tls_addr) => {
            let source = match (&config.tls_cert, &config.tls_key) {
                (Some(cert), Some(key)) => {
                    roster_server::tls::CertSource::Files { cert: cert.clone(), key: key.clone() }
                }
                _ if config.tls_self_signed => roster_server::tls::CertSource::SelfSigned {
                    dir: std::env::temp_dir().join(format!("roster-tls-{}", std::process::id())),
                },
                _ => anyhow::bail!("--tls-listen needs --tls-cert and --tls-key, or --tls-self-signed"),
            };
            let started = roster_server::tls::start(tls_addr, source, prepared.app.clone()).await?;
            say(&format!("listening on https://{}", started.addr));
            if let Some(path) = &started.certificate {
                say(&format!("certificate: {}", path.display()));
            }
            Some(started)
        }
        None => None,
    };
    roster_server::run_with(listener, prepared.app, &config, roster_server::shutdown_signal()).await?;
    if let Some(tls) = tls {
        tls.shutdown().await?;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Prints a line to stdout; a closed or broken stdout must not stop a running server.
fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}
