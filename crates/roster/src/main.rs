//! The `roster` binary: `serve` runs the directory; `webhook add|list|delete` manage
//! inbound webhooks on the same database (also while a server runs on it). Thin: all
//! behaviour lives in the library crates.

mod admin;

/// mimalloc: fewer cycles per small allocation than glibc's malloc under two busy threads.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ROSTER_LOG").unwrap_or_else(|_| "info".into()),
        )
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
    roster_server::run(listener, prepared.app, roster_server::shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Prints a line to stdout; a closed or broken stdout must not stop a running server.
fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}
