//! Crash safety of acknowledged writes: the real `roster` binary is loaded with
//! `user.update` and `user.add` from many connections, killed with SIGKILL at random
//! moments and restarted; every acknowledged write must be there afterwards, nothing
//! unacknowledged may be half-applied, and SQLite's integrity check must pass.
//! `ROSTER_CRASH_ROUNDS` sets the number of kills (default 3; the long run uses 20+).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use serde_json::{json, Value};

const CODE: &str = "crashtestcode1";
const WORKERS: usize = 32;
const USERS_PER_WORKER: usize = 4;

struct Server {
    child: Child,
    base: String,
}

fn start(db: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["serve", "--listen", "127.0.0.1:0", "--bootstrap-webhook", CODE, "--admin-password", "pw-crash-1"])
        .arg("--database-url")
        .arg(format!("sqlite://{}", db.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start roster");
    let stdout = child.stdout.take().expect("stdout");
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).expect("read listening line");
    // Keep draining stdout so the server never writes into a full pipe.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let addr = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    Server { child, base: format!("{addr}/rest/1/{CODE}/") }
}

/// What each worker knows: per user, the last acknowledged value and the one in flight.
#[derive(Default)]
struct Ledger {
    acked: HashMap<i64, u64>,
    in_flight: HashMap<i64, u64>,
    added: Vec<String>,
}

async fn post(client: &reqwest::Client, url: &str, body: Value) -> Option<Value> {
    let resp = match client.post(url).json(&body).send().await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("request to {url} failed: {e}");
            return None;
        }
    };
    let status = resp.status();
    if !status.is_success() {
        eprintln!("{url}: HTTP {status}: {}", resp.text().await.unwrap_or_default());
        return None;
    }
    resp.json().await.ok()
}

async fn worker(
    client: reqwest::Client,
    base: String,
    users: Vec<i64>,
    ledger: Arc<Mutex<Ledger>>,
    round: usize,
    w: usize,
) {
    let mut n: u64 = (round as u64) << 32;
    loop {
        for &id in &users {
            n += 1;
            ledger.lock().unwrap().in_flight.insert(id, n);
            match post(&client, &format!("{base}user.update"), json!({"ID": id, "WORK_PHONE": n.to_string()})).await {
                Some(v) if v["result"] == json!(true) => {
                    let mut l = ledger.lock().unwrap();
                    l.acked.insert(id, n);
                }
                _ => return,
            }
        }
        // The same users through `batch`, whose commands share one flush at the end.
        n += 1;
        let cmd: serde_json::Map<String, Value> =
            users.iter().map(|id| (format!("u{id}"), json!(format!("user.update?ID={id}&WORK_PHONE={n}")))).collect();
        for id in &users {
            ledger.lock().unwrap().in_flight.insert(*id, n);
        }
        match post(&client, &format!("{base}batch"), json!({"halt": 0, "cmd": cmd})).await {
            Some(v) if v["result"]["result_error"] == json!([]) => {
                let mut l = ledger.lock().unwrap();
                for id in &users {
                    l.acked.insert(*id, n);
                }
            }
            _ => return,
        }
        let email = format!("r{round}w{w}n{n}@crash.test");
        let body = json!({"EMAIL": email, "NAME": "C", "UF_DEPARTMENT": 1});
        match post(&client, &format!("{base}user.add"), body).await {
            Some(v) if v["result"].is_u64() => ledger.lock().unwrap().added.push(email),
            _ => return,
        }
    }
}

async fn seed(client: &reqwest::Client, base: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    for chunk in 0..(WORKERS * USERS_PER_WORKER).div_ceil(50) {
        let cmd: serde_json::Map<String, Value> = (0..50)
            .map(|i| (format!("c{i}"), json!(format!("user.add?EMAIL=seed{chunk}x{i}%40crash.test&UF_DEPARTMENT=1"))))
            .collect();
        let v = post(client, &format!("{base}batch"), json!({"halt": 1, "cmd": cmd})).await.expect("seed batch");
        for (_, id) in v["result"]["result"].as_object().expect("batch result") {
            ids.push(id.as_i64().expect("id"));
        }
    }
    ids.truncate(WORKERS * USERS_PER_WORKER);
    ids
}

async fn check(client: &reqwest::Client, base: &str, ledger: &Ledger) {
    for (id, acked) in &ledger.acked {
        let v = post(client, &format!("{base}user.get"), json!({"ID": id, "select": ["ID", "WORK_PHONE"]}))
            .await
            .expect("user.get after restart");
        let phone: u64 = v["result"][0]["WORK_PHONE"].as_str().and_then(|s| s.parse().ok()).expect("phone");
        let in_flight = ledger.in_flight.get(id).copied().unwrap_or(*acked);
        assert!(
            phone == *acked || phone == in_flight,
            "user {id}: stored {phone}, acknowledged {acked}, in flight {in_flight}"
        );
    }
    for email in &ledger.added {
        let v = post(client, &format!("{base}user.get"), json!({"FILTER": {"=EMAIL": email}, "select": ["ID"]}))
            .await
            .expect("user.get by email");
        assert_eq!(v["total"], json!(1), "acknowledged user.add of {email} is missing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    let rounds: usize = std::env::var("ROSTER_CRASH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("crash.db");
    let client = reqwest::Client::builder().pool_max_idle_per_host(WORKERS).build().expect("client");
    let mut server = start(&db);
    let ids = seed(&client, &server.base).await;
    let mut rng = rand::thread_rng();
    for round in 0..rounds {
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let tasks: Vec<_> = ids
            .chunks(USERS_PER_WORKER)
            .enumerate()
            .map(|(w, users)| {
                tokio::spawn(worker(client.clone(), server.base.clone(), users.to_vec(), ledger.clone(), round, w))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(rng.gen_range(150..700))).await;
        server.child.kill().expect("SIGKILL");
        let _ = server.child.wait();
        for t in tasks {
            let _ = t.await;
        }
        server = start(&db);
        // Every worker has stopped: take the ledger out of its lock before awaiting.
        let ledger = std::mem::take(&mut *ledger.lock().unwrap());
        assert!(!ledger.acked.is_empty(), "round {round}: no update was acknowledged before the kill");
        check(&client, &server.base, &ledger).await;
    }
    server.child.kill().expect("kill");
    let _ = server.child.wait();
    let conn = rusqlite::Connection::open(&db).expect("open db");
    let verdict: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("integrity_check");
    assert_eq!(verdict, "ok");
}
