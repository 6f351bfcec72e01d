//! Every phase at one directory size: fresh database, bootstrap start and stop,
//! bulk seed, the measured restart (start to ready), the load phases through
//! roster-load, and peak memory last. A failing phase becomes a failed row and
//! the others go on; the server is always stopped and the temp dir removed.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rand::Rng;
use serde_json::Value;

use super::cli::Phase;
use super::db::{Db, IdRange};
use super::http::{self, ZabbixFace};
use super::load::{LoadNumbers, LoadSpec};
use super::output::{thousands, Row, Status};
use super::pg::Pg;
use super::server::{Launch, Server};
use super::Ctx;

/// Longest a server start may take (to its first successful call).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Drops a PostgreSQL database when the run of a size ends, however it ends.
struct Cleanup<'a>(&'a Db);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.0.cleanup() {
            eprintln!("roster-bench: warning: {e:#}");
        }
    }
}

fn secret() -> String {
    let mut rng = rand::thread_rng();
    (0..32).map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0')).collect()
}

/// Runs every selected phase at `n` users, pushing rows as they are measured.
pub fn run_size(ctx: &Ctx, n: u64, rows: &mut Vec<Row>) -> Result<()> {
    let tmp = tempfile::Builder::new().prefix("roster-bench-").tempdir()?;
    let db = match &ctx.args.database_url {
        Some(url) => Db::Postgres(Box::new(Pg::new(url)?)),
        None => Db::Sqlite(tmp.path().join("roster.db")),
    };
    db.recreate()?;
    let _cleanup = Cleanup(&db);
    let launch = Launch {
        bin: ctx.roster_bin.clone(),
        database_url: db.url(),
        webhook_code: secret(),
        admin_password: secret(),
        log: tmp.path().join("server.log"),
        timeout: ctx.timeout.min(START_TIMEOUT),
    };
    let mut push = |row: Row| {
        ctx.progress(&row);
        rows.push(row);
    };
    Server::start(&launch, &ctx.abort).context("first start (bootstrap) failed")?.stop()?;
    let t0 = Instant::now();
    let ids = db.seed(n, &ctx.abort)?;
    let seed_s = t0.elapsed().as_secs_f64();
    let mut row = Row::new(n, "seed", format!("seed users (direct {})", db.backend()));
    row.extra.insert("seconds".into(), seed_s.into());
    push(row.with_result(Status::Ok, format!("{seed_s:.2} s, ids {}..={}", ids.first, ids.last)));

    let mut server = Server::start(&launch, &ctx.abort).context("restart on the seeded database failed")?;
    if ctx.phases.contains(&Phase::Ready) {
        let t = server.times;
        let (listen_ms, ready_ms) = (t.listening.as_secs_f64() * 1e3, t.ready.as_secs_f64() * 1e3);
        let mut row = Row::new(n, "ready", "start to ready");
        row.extra.insert("listening_ms".into(), listen_ms.into());
        row.extra.insert("ready_ms".into(), ready_ms.into());
        let text = format!("{ready_ms:.0} ms (listening after {listen_ms:.0} ms)");
        push(row.with_result(Status::Ok, text));
    }
    let runner = ctx.runner(tmp.path());
    let bitrix = format!("http://{}/rest/1/{}/", server.addr, launch.webhook_code);
    let zabbix_url = format!("http://{}/api_jsonrpc.php", server.addr);
    let mut zabbix: Option<Result<ZabbixFace, String>> = None;
    for &phase in &ctx.phases {
        ctx.abort.check()?;
        let spec = |face, scenario, connections| LoadSpec {
            face,
            scenario,
            url: bitrix.clone(),
            token: None,
            connections,
            ids,
            find: None,
            total: None,
        };
        let (label, spec) = match phase {
            Phase::Machine | Phase::Ready | Phase::Memory => continue,
            Phase::Get => ("user.get FILTER EMAIL", spec("bitrix24", "get", ctx.args.read_connections)),
            Phase::Search => {
                let mut s = spec("bitrix24", "search", ctx.args.read_connections);
                s.find = Some("Name{id}");
                ("user.search FIND Name{i}", s)
            }
            Phase::Update1 => ("user.update (Bitrix24)", spec("bitrix24", "update", 1)),
            Phase::Update64 => ("user.update (Bitrix24)", spec("bitrix24", "update", 64)),
            Phase::Batch => {
                let mut s = spec("bitrix24", "batch", ctx.args.batch_connections);
                s.total = Some(ctx.args.batch_total);
                ("batch of 50 user.update", s)
            }
            Phase::Zabbix1 | Phase::Zabbix64 => {
                let label = "user.update (Zabbix JSON-RPC)";
                let face = zabbix.get_or_insert_with(|| zabbix_face(&server, &launch, ids));
                let session = match face {
                    Ok(ZabbixFace::Session(s)) => s.as_str(),
                    Ok(ZabbixFace::Absent(why)) => {
                        push(Row::new(n, phase.name(), label).with_result(Status::Skipped, format!("skipped: {why}")));
                        continue;
                    }
                    Err(e) => {
                        push(Row::new(n, phase.name(), label).with_result(Status::Failed, format!("failed: {e}")));
                        continue;
                    }
                };
                let conns = if phase == Phase::Zabbix1 { 1 } else { 64 };
                let mut s = spec("zabbix", "update", conns);
                s.url = zabbix_url.clone();
                s.token = Some(session);
                (label, s)
            }
        };
        let mut runs = Vec::with_capacity(ctx.args.repeat);
        let mut failure = None;
        for run in 0..ctx.args.repeat {
            let tag = format!("{}-{n}-{run}", phase.name());
            match runner.run(&spec, &tag, &ctx.abort) {
                Ok(numbers) => runs.push(numbers),
                Err(e) => {
                    ctx.abort.check()?;
                    failure = Some(e);
                    break;
                }
            }
        }
        let row = match (failure, median_run(runs)) {
            (None, Some((numbers, rates))) => {
                let mut row = load_row(n, phase, label, &spec, &numbers);
                if rates.len() > 1 {
                    note_runs(&mut row, &rates);
                }
                row
            }
            (e, _) => {
                let why = e.map_or_else(|| "no run".to_owned(), |e| format!("{e:#}"));
                Row::new(n, phase.name(), label).with_result(Status::Failed, format!("failed: {why}"))
            }
        };
        push(row);
        if let Err(e) = server.check_running() {
            return Err(e.context(format!("the server died during {}", phase.name())));
        }
    }
    if ctx.phases.contains(&Phase::Memory) {
        let kib = server.vm_hwm_kib()?;
        let mut row = Row::new(n, "memory", "peak RSS of the server (VmHWM)");
        row.extra.insert("vm_hwm_kib".into(), kib.into());
        push(row.with_result(Status::Ok, format!("{:.1} MiB", kib as f64 / 1024.0)));
    }
    server.stop()?;
    Ok(())
}

fn zabbix_face(server: &Server, launch: &Launch, ids: IdRange) -> Result<ZabbixFace, String> {
    http::zabbix_login(server.addr, &launch.admin_password, ids.first).map_err(|e| format!("{e:#}"))
}

/// The run with the median rate (the lower middle one of an even count), with every
/// run's rate in the order they ran; errors of all runs count.
fn median_run(runs: Vec<LoadNumbers>) -> Option<(LoadNumbers, Vec<f64>)> {
    let rates: Vec<f64> = runs.iter().map(|r| r.rps).collect();
    let errors: u64 = runs.iter().map(|r| r.errors).sum();
    let mut sorted = runs;
    sorted.sort_by(|a, b| a.rps.total_cmp(&b.rps));
    let samples: Vec<String> = sorted.iter().flat_map(|r| r.samples.clone()).collect();
    let mid = sorted.len().checked_sub(1)? / 2;
    let mut median = sorted.swap_remove(mid);
    (median.errors, median.samples) = (errors, samples);
    Some((median, rates))
}

fn note_runs(row: &mut Row, rates: &[f64]) {
    row.extra.insert("runs_rps".into(), Value::from(rates.to_vec()));
    let list: Vec<String> = rates.iter().map(|r| thousands(*r)).collect();
    let note = format!("median of {} runs ({}/s)", rates.len(), list.join(", "));
    row.result = if row.result.is_empty() { note } else { format!("{}; {note}", row.result) };
}

fn load_row(n: u64, phase: Phase, label: &str, spec: &LoadSpec, x: &LoadNumbers) -> Row {
    let mut row = Row::new(n, phase.name(), label);
    row.connections = Some(spec.connections);
    row.rps = Some(x.rps);
    row.p50_ms = Some(x.p50_ms);
    row.p99_ms = Some(x.p99_ms);
    row.errors = x.errors;
    row.extra.insert("requests".into(), x.requests.into());
    let mut result = String::new();
    if let (Some(total), Some(wall), Some(ups)) = (spec.total, x.wall_s, x.updates_per_s) {
        row.extra.insert("updates".into(), total.into());
        row.extra.insert("wall_s".into(), wall.into());
        row.extra.insert("updates_per_s".into(), ups.into());
        result = format!("{} updates in {wall:.2} s ({} updates/s)", thousands(total as f64), thousands(ups));
    }
    if x.errors > 0 {
        let first = x.samples.first().map_or("", String::as_str);
        row.extra.insert("error_samples".into(), Value::from(x.samples.clone()));
        result = format!("{result} {} errors, e.g. {first}", x.errors).trim().to_string();
        row.status = Status::Failed;
    }
    row.result = result;
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(rps: f64, errors: u64) -> LoadNumbers {
        let samples = (0..errors).map(|i| format!("e{rps}-{i}")).collect();
        LoadNumbers { rps, errors, samples, ..LoadNumbers::default() }
    }

    #[test]
    fn the_median_run_is_reported_with_every_rate() {
        let (m, rates) = median_run(vec![numbers(300.0, 0), numbers(100.0, 1), numbers(200.0, 0)]).unwrap();
        assert_eq!((m.rps, m.errors, rates), (200.0, 1, vec![300.0, 100.0, 200.0]));
        assert_eq!(m.samples, ["e100-0"]);
        let (m, _) = median_run(vec![numbers(2.0, 0), numbers(1.0, 0)]).unwrap();
        assert_eq!(m.rps, 1.0, "the lower middle of an even count");
        assert!(median_run(Vec::new()).is_none());
        let mut row = Row::new(10, "update-64", "x").with_result(Status::Ok, "a");
        note_runs(&mut row, &[1500.0, 1200.4]);
        assert_eq!(row.result, "a; median of 2 runs (1,500, 1,200/s)");
        assert_eq!(row.extra["runs_rps"], serde_json::json!([1500.0, 1200.4]));
    }
}
