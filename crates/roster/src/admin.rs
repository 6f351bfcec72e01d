//! Admin commands that work on the database directly: webhooks. A server running on the
//! same database sees the change at once (it reads credentials from the store).

use clap::Subcommand;
use roster_core::{Directory, Scopes, UserId, WebhookId};
use roster_server::DatabaseArgs;

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Add an inbound webhook and print its URL path (the code is shown only here).
    Add {
        #[command(flatten)]
        db: DatabaseArgs,
        /// The user the webhook acts as.
        #[arg(long)]
        user: i64,
        /// Comma list of scopes, e.g. user,department.
        #[arg(long, default_value = "user")]
        scope: String,
        /// Use this code instead of a generated one.
        #[arg(long)]
        code: Option<String>,
    },
    /// List webhooks: id, user, scopes, created (never the code).
    List {
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Delete a webhook.
    Delete {
        #[command(flatten)]
        db: DatabaseArgs,
        #[arg(long)]
        id: i64,
    },
}

fn open(db: &DatabaseArgs) -> anyhow::Result<Directory> {
    Ok(Directory::new(roster_store::open(&db.database_url)?))
}

pub async fn webhook(cmd: WebhookCommand) -> anyhow::Result<()> {
    match cmd {
        WebhookCommand::Add { db, user, scope, code } => {
            let user = UserId::new(user).ok_or_else(|| anyhow::anyhow!("--user must be a positive id"))?;
            let scopes = Scopes::parse(&scope).map_err(anyhow::Error::msg)?;
            if let Some(c) = &code {
                if c.len() < 8 || !c.chars().all(|ch| ch.is_ascii_alphanumeric()) {
                    anyhow::bail!("--code must be at least 8 letters and digits");
                }
            }
            let (id, code) = open(&db)?.add_webhook(user, scopes, code).await?;
            println!("/rest/{user}/{code}/");
            eprintln!("webhook {id} added");
        }
        WebhookCommand::List { db } => {
            println!("{:<6} {:<8} {:<40} created", "id", "user", "scopes");
            for h in open(&db)?.store().webhooks().await? {
                let created = chrono_like(h.created);
                println!("{:<6} {:<8} {:<40} {created}", h.id, h.user, h.scopes.to_list());
            }
        }
        WebhookCommand::Delete { db, id } => {
            let id = WebhookId::new(id).ok_or_else(|| anyhow::anyhow!("--id must be a positive id"))?;
            if !open(&db)?.store().delete_webhook(id).await? {
                anyhow::bail!("no webhook with id {id}");
            }
            println!("webhook {id} deleted");
        }
    }
    Ok(())
}

fn chrono_like(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).map_or_else(|| unix.to_string(), |t| t.to_rfc3339())
}

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Register an OAuth application; prints JSON {"client_id", "client_secret"} (the secret only here).
    Add {
        #[command(flatten)]
        db: DatabaseArgs,
        /// A name for people.
        #[arg(long)]
        name: String,
        /// Comma list of scopes, e.g. user,user.userfield.
        #[arg(long, default_value = "user")]
        scope: String,
        /// Only these users (comma list of ids) may use it; administrators always may.
        #[arg(long, value_delimiter = ',')]
        users: Option<Vec<i64>>,
    },
    /// List applications: id, client id, name, scopes (never the secret).
    List {
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue an access/refresh token pair for a user of an app; prints the OAuth JSON answer.
    Issue {
        #[command(flatten)]
        db: DatabaseArgs,
        /// The app's client_id.
        #[arg(long)]
        app: String,
        #[arg(long)]
        user: i64,
        /// Lifetime of the access token in seconds (default 3600).
        #[arg(long)]
        ttl: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum OauthCommand {
    /// Make a one-time authorization code (30 s) to exchange at /oauth/token/.
    Code {
        #[command(flatten)]
        db: DatabaseArgs,
        #[arg(long)]
        app: String,
        #[arg(long)]
        user: i64,
    },
}

fn user_id(raw: i64) -> anyhow::Result<UserId> {
    UserId::new(raw).ok_or_else(|| anyhow::anyhow!("--user must be a positive id"))
}

fn grant(e: roster_core::oauth::GrantError) -> anyhow::Error {
    anyhow::anyhow!("refused: {e}")
}

pub async fn app(cmd: AppCommand) -> anyhow::Result<()> {
    match cmd {
        AppCommand::Add { db, name, scope, users } => {
            let scopes = Scopes::parse(&scope).map_err(anyhow::Error::msg)?;
            let users = users.map(|list| list.into_iter().map(user_id).collect::<anyhow::Result<Vec<_>>>()).transpose()?;
            let (app, secret) = open(&db)?.add_app(&name, scopes, users).await?;
            println!("{}", serde_json::json!({"client_id": app.client_id, "client_secret": secret}));
        }
        AppCommand::List { db } => {
            println!("{:<6} {:<32} {:<24} scopes", "id", "client_id", "name");
            for a in open(&db)?.store().apps().await? {
                println!("{:<6} {:<32} {:<24} {}", a.id, a.client_id, a.name, a.scopes.to_list());
            }
        }
    }
    Ok(())
}

pub async fn token(cmd: TokenCommand) -> anyhow::Result<()> {
    let TokenCommand::Issue { db, app, user, ttl } = cmd;
    let issued = open(&db)?.issue_tokens(&app, user_id(user)?, ttl).await.map_err(grant)?;
    println!(
        "{}",
        serde_json::json!({
            "access_token": issued.access_token,
            "refresh_token": issued.refresh_token,
            "expires": issued.expires,
            "expires_in": issued.expires_in,
            "scope": issued.scopes.to_list(),
            "user_id": issued.user.get(),
            "client_id": issued.client_id,
        })
    );
    Ok(())
}

pub async fn oauth(cmd: OauthCommand) -> anyhow::Result<()> {
    let OauthCommand::Code { db, app, user } = cmd;
    let code = open(&db)?.authorization_code(&app, user_id(user)?).await.map_err(grant)?;
    println!("{code}");
    Ok(())
}
