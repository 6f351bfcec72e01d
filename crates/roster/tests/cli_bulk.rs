//! `roster users import|export` against a real server: CSV and JSON-lines import creating
//! and updating by ID and EMAIL through batch, every failed row reported with its line and
//! reason (exit non-zero), --dry-run, export as CSV and JSON lines, and a closed stdout.

mod cli_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use cli_support::{roster, roster_in, Server};
use serde_json::{json, Value};

fn users(s: &Server) -> Vec<Value> {
    let r = roster(&["users", "export", "--url", &s.webhook, "--format", "jsonl"]);
    assert!(r.ok(), "{r:#?}");
    r.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn by_email<'a>(all: &'a [Value], email: &str) -> &'a Value {
    all.iter().find(|u| u["EMAIL"] == json!(email)).unwrap_or_else(|| panic!("{email} not found"))
}

#[test]
fn csv_import_creates_updates_and_reports_failures() {
    let s = Server::start();
    let csv = s.dir.path().join("people.csv");
    std::fs::write(&csv, "EMAIL,NAME,LAST_NAME,UF_DEPARTMENT\nann@example.org,Ann,Lee,1\nbob@example.org,Bob,\"Stone, Jr.\",1\ncid@example.org,Cid,,1\n").unwrap();
    let r = roster(&["users", "import", csv.to_str().unwrap(), "--url", &s.webhook]);
    assert!(r.ok(), "{r:#?}");
    assert!(r.stderr.contains("3 rows: 3 created, 0 updated, 0 failed"), "{r:#?}");
    let all = users(&s);
    assert_eq!(all.len(), 4);
    assert_eq!(by_email(&all, "bob@example.org")["LAST_NAME"], json!("Stone, Jr."));
    let ann_id = by_email(&all, "ann@example.org")["ID"].as_str().unwrap().to_string();
    // Second file: update by ID, update by EMAIL, a new user, and three failing rows.
    let second = format!(
        "ID,EMAIL,NAME,WORK_POSITION,UF_DEPARTMENT\n{ann_id},,Anna,Lead,\n,bob@example.org,,Driver,\n,dan@example.org,Dan,,1\n424242,,Ghost,,\n,not-an-email,Eve,,1\n,,Nobody,Nowhere,\n"
    );
    let report = s.dir.path().join("report.jsonl");
    let r = roster_in(
        &["users", "import", "-", "--format", "csv", "--url", &s.webhook, "--report", report.to_str().unwrap()],
        Some(&second),
    );
    assert_ne!(r.code, 0, "failures make the exit code non-zero");
    assert!(r.stderr.contains("6 rows: 1 created, 2 updated, 3 failed"), "{}", r.stderr);
    for line in ["line 5 ", "line 6 ", "line 7 "] {
        assert!(r.stderr.contains(line), "{line} missing: {}", r.stderr);
    }
    assert!(r.stderr.contains("3 of 6 rows failed"));
    let all = users(&s);
    let ann = by_email(&all, "ann@example.org");
    assert_eq!(
        (ann["NAME"].as_str(), ann["WORK_POSITION"].as_str(), ann["LAST_NAME"].as_str()),
        (Some("Anna"), Some("Lead"), Some("Lee"))
    );
    assert_eq!(by_email(&all, "bob@example.org")["WORK_POSITION"], json!("Driver"));
    assert_eq!(by_email(&all, "dan@example.org")["NAME"], json!("Dan"));
    let lines: Vec<Value> =
        std::fs::read_to_string(&report).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let actions: Vec<&str> = lines.iter().map(|l| l["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["updated", "updated", "created", "failed", "failed", "failed"]);
    assert!(lines[3]["error"].as_str().unwrap().contains("user.update"), "{:?}", lines[3]);
    assert!(lines[4]["error"].as_str().unwrap().contains("user.add"), "{:?}", lines[4]);
    assert_eq!(lines[5]["error"], json!("no ID or EMAIL"));
}

#[test]
fn jsonl_import_dry_run_and_bad_lines() {
    let s = Server::start();
    let input = "{\"EMAIL\": \"j1@example.org\", \"NAME\": \"J1\", \"UF_DEPARTMENT\": [1]}\n\n{not json}\n[1, 2]\n{\"email\": \"j2@example.org\", \"name\": \"J2\", \"UF_DEPARTMENT\": [1]}\n";
    let file = s.dir.path().join("people.jsonl");
    std::fs::write(&file, input).unwrap();
    let dry = roster(&["users", "import", file.to_str().unwrap(), "--url", &s.webhook, "--dry-run"]);
    assert_ne!(dry.code, 0, "two unreadable lines: {dry:#?}");
    assert_eq!(dry.stdout.lines().count(), 2, "the plan: {dry:#?}");
    assert!(dry.stderr.contains("4 rows: 2 would be created, 0 would be updated, 2 failed"), "{}", dry.stderr);
    assert!(
        dry.stderr.contains("line 3 ")
            && dry.stderr.contains("bad JSON")
            && dry.stderr.contains("line 4 ")
            && dry.stderr.contains("not a JSON object")
    );
    assert_eq!(users(&s).len(), 1, "a dry run changes nothing");
    let r = roster(&["users", "import", file.to_str().unwrap(), "--url", &s.webhook]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("2 created"), "{}", r.stderr);
    assert_eq!(by_email(&users(&s), "j2@example.org")["NAME"], json!("J2"), "lower-case keys are field codes too");
}

#[test]
fn export_csv_and_a_closed_stdout() {
    let s = Server::start();
    let mut jsonl = String::new();
    for i in 0..130 {
        jsonl.push_str(&format!("{}\n", json!({"EMAIL": format!("u{i}@example.org"), "NAME": format!("U{i}"), "PERSONAL_NOTES": "x".repeat(400), "UF_DEPARTMENT": [1]})));
    }
    let r = roster_in(&["users", "import", "-", "--url", &s.webhook], Some(&jsonl));
    assert!(r.ok(), "{r:#?}");
    let csv = roster(&["users", "export", "--url", &s.webhook, "--columns", "ID,EMAIL,NAME,UF_DEPARTMENT"]);
    assert!(csv.ok(), "{csv:#?}");
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(lines[0], "ID,EMAIL,NAME,UF_DEPARTMENT");
    assert_eq!(lines.len(), 1 + 131, "every user across three pages");
    assert!(lines[1].starts_with("1,") && lines[1].ends_with(",[1]"), "{}", lines[1]);
    assert!(csv.stderr.contains("exported 131 users"));
    // Round trip: the export imports back as updates by ID.
    let back = roster_in(&["users", "import", "-", "--format", "csv", "--url", &s.webhook], Some(&csv.stdout));
    assert!(back.ok() && back.stderr.contains("131 updated"), "{back:#?}");
    // A reader that stops early: no error, no panic.
    let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["users", "export", "--url", &s.webhook, "--format", "jsonl"])
        .env("ROSTER_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(first.contains("\"ID\""));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "a closed pipe is not an error: {stderr}");
    assert!(!stderr.contains("panicked") && !stderr.to_lowercase().contains("broken pipe"), "{stderr}");
}
