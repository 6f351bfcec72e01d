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
            let dir = open(&db)?;
            let (id, code) = dir.add_webhook(user, scopes, code).await?;
            record(&dir, roster_core::audit::ACTION_ADD, roster_core::audit::RESOURCE_WEBHOOK, id.get(), "").await;
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
            let dir = open(&db)?;
            if !dir.store().delete_webhook(id).await? {
                anyhow::bail!("no webhook with id {id}");
            }
            record(&dir, roster_core::audit::ACTION_DELETE, roster_core::audit::RESOURCE_WEBHOOK, id.get(), "").await;
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
            let users =
                users.map(|list| list.into_iter().map(user_id).collect::<anyhow::Result<Vec<_>>>()).transpose()?;
            let dir = open(&db)?;
            let (app, secret) = dir.add_app(&name, scopes, users).await?;
            record(&dir, roster_core::audit::ACTION_ADD, roster_core::audit::RESOURCE_APP, app.id, &app.client_id)
                .await;
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

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    /// Most records to show (newest first).
    #[arg(long, default_value_t = 50)]
    limit: u64,
    /// Only changes made by this user.
    #[arg(long)]
    actor: Option<i64>,
    /// Only changes of this resource id (a user id, with --resource-type 0).
    #[arg(long)]
    resource_id: Option<i64>,
    /// Only this resource type (0 user, 14 user group, 45 API token, 1001 webhook, 1002 app, 1003 user field).
    #[arg(long)]
    resource_type: Option<i64>,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

/// Records a change made from the command line.
async fn record(dir: &Directory, action: i64, resource_type: i64, id: i64, name: &str) {
    let ctx = roster_core::audit::AuditContext::new(None, "cli", "");
    dir.audit(vec![roster_core::audit::NewAuditRecord::new(&ctx, action, resource_type, Some(id), name)]).await;
}

/// `roster audit`: the audit log, newest first.
pub async fn audit(args: AuditArgs) -> anyhow::Result<()> {
    let query = roster_core::audit::AuditQuery {
        actors: args.actor.map(|a| vec![a]),
        resource_ids: args.resource_id.map(|r| vec![r]),
        resource_types: args.resource_type.map(|t| vec![t]),
        limit: Some(args.limit),
        ..Default::default()
    };
    let records = open(&args.db)?.store().audit_log(query).await?;
    if !args.json {
        println!(
            "{:<20} {:<9} {:<12} {:<7} {:<10} {:<20} details",
            "time", "face", "actor", "action", "resource", "name"
        );
    }
    for r in records {
        let when = chrono_like(r.clock);
        if args.json {
            println!(
                "{}",
                serde_json::json!({
                    "id": r.id, "clock": r.clock, "time": when, "face": r.face, "actor": r.actor.map(|a| a.get()),
                    "actor_name": r.actor_name, "ip": r.ip, "action": r.action, "resource_type": r.resource_type,
                    "resource_id": r.resource_id, "resource_name": r.resource_name, "details": r.details,
                })
            );
        } else {
            let actor = r.actor.map_or_else(|| "-".to_owned(), |a| format!("{a}:{}", r.actor_name));
            let resource = format!("{}#{}", r.resource_type, r.resource_id.unwrap_or(0));
            println!(
                "{when:<20} {:<9} {actor:<12} {:<7} {resource:<10} {:<20} {}",
                r.face, r.action, r.resource_name, r.details
            );
        }
    }
    Ok(())
}
