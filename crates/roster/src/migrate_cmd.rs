//! `roster migrate --from URL --to URL`: copies a whole directory between databases
//! (SQLite to PostgreSQL and back) with `roster_store::migrate`, then prints one line per
//! table: rows copied, the checksum both sides agree on (or both when they do not), ok.
//! Fails (exit 1) when the target already holds users or any table does not match.

use clap::Args;

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The directory to copy: sqlite://PATH or postgres://USER@HOST:PORT/DB.
    #[arg(long)]
    pub from: String,
    /// Where to copy it: a new SQLite file or an empty PostgreSQL database.
    #[arg(long)]
    pub to: String,
}

pub async fn run(args: MigrateArgs) -> anyhow::Result<()> {
    let report = roster_store::migrate(&args.from, &args.to)
        .await
        .map_err(|e| anyhow::anyhow!("migration from {} to {} failed: {e}", args.from, args.to))?;
    println!("{:<18} {:>9} {:<64} ok", "table", "rows", "checksum (SHA-256)");
    for t in &report.tables {
        let checksum = match t.source_checksum == t.target_checksum {
            true => t.source_checksum.clone(),
            false => format!("{} (source) {} (target)", t.source_checksum, t.target_checksum),
        };
        let rows = match (t.rows == t.copied, t.rows == t.target_rows) {
            (true, true) => t.rows.to_string(),
            _ => format!("{}/{}/{}", t.rows, t.copied, t.target_rows),
        };
        let ok = if t.ok() { "yes" } else { "NO" };
        println!("{:<18} {rows:>9} {checksum:<64} {ok}", t.table);
    }
    let total: u64 = report.tables.iter().map(|t| t.rows).sum();
    if !report.ok() {
        anyhow::bail!("the copy does not match its source (see the tables marked NO)");
    }
    eprintln!("{} tables, {total} rows copied and verified", report.tables.len());
    Ok(())
}
