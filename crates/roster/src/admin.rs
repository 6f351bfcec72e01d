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
