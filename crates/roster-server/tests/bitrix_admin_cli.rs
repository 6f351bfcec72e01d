//! The real `roster` binary: `webhook add|list|delete` on the database of a running
//! server (changes take effect at once), and `roster serve` as a subprocess that prints
//! its address and exits cleanly on SIGTERM. Needs `cargo build -p roster` first.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

/// `target/debug/roster` of this workspace.
fn roster_bin() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/roster");
    assert!(path.exists(), "{} is missing: run `cargo build -p roster` before these tests", path.display());
    path
}

/// Runs `roster webhook <args> --database-url <db>`; asserts success and returns stdout.
fn webhook(db_url: &str, args: &[&str]) -> String {
    let out: Output = Command::new(roster_bin())
        .arg("webhook")
        .args(args)
        .args(["--database-url", db_url])
        .env("ROSTER_LOG", "warn")
        .output()
        .expect("run roster");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "roster webhook {args:?} failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[tokio::test]
async fn webhook_add_list_delete_act_on_a_running_server() {
    let s = common::start().await;
    let code = "abcdefgh123";
    let printed = webhook(&s.db_url, &["add", "--user", "1", "--scope", "user", "--code", code]);
    assert_eq!(printed.trim(), format!("/rest/1/{code}/"));

    // The running server accepts it at once, with the scope given.
    let hook = format!("{}{}", s.base, printed.trim());
    assert_eq!(s.call_as(&hook, "user.current", json!({})).await.ok()["ID"], "1");
    assert_eq!(s.call_as(&hook, "scope", json!({})).await.ok(), &json!(["user"]));
    s.call_as(&hook, "department.get", json!({})).await.err(403, "insufficient_scope", None);

    let listing = webhook(&s.db_url, &["list"]);
    assert!(!listing.contains(code), "the code must never be listed: {listing}");
    assert!(!listing.contains(common::BOOT_CODE), "{listing}");
    let row = listing
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cols| cols.get(2) == Some(&"user"))
        .unwrap_or_else(|| panic!("no row with scope user in: {listing}"));
    assert_eq!(row[1], "1", "{listing}");
    let id = row[0].to_owned();

    let deleted = webhook(&s.db_url, &["delete", "--id", &id]);
    assert!(deleted.contains(&id), "{deleted}");
    let r = s.call_as(&hook, "user.current", json!({})).await;
    r.err(401, "NO_AUTH_FOUND", Some("Wrong authorization data"));
    // The bootstrap webhook is untouched.
    s.call("user.current", json!({})).await.ok();
}

#[tokio::test]
async fn webhook_add_refuses_bad_input() {
    let s = common::start().await;
    for args in [
        &["add", "--user", "1", "--scope", "crm"][..],
        &["add", "--user", "0"],
        &["add", "--user", "1", "--code", "short"],
        &["add", "--user", "999"],
        &["delete", "--id", "999"],
    ] {
        let out = Command::new(roster_bin())
            .arg("webhook")
            .args(args)
            .args(["--database-url", &s.db_url])
            .env("ROSTER_LOG", "warn")
            .output()
            .expect("run roster");
        assert!(!out.status.success(), "roster webhook {args:?} should fail");
        assert!(!out.stderr.is_empty(), "roster webhook {args:?} gave no reason");
    }
}

#[tokio::test]
async fn serve_prints_its_address_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db_url = format!("sqlite://{}", dir.path().join("serve.db").display());
    let mut child = tokio::process::Command::new(roster_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &db_url])
        .args(["--admin-password", "pw-123456", "--bootstrap-webhook", "servecode123"])
        .env("ROSTER_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn roster serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("no output in time")
        .expect("read stdout")
        .expect("stdout closed");
    let base = first.strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line: {first}"));
    let port: u16 = base.strip_prefix("http://127.0.0.1:").and_then(|p| p.parse().ok()).expect("port");
    assert_ne!(port, 0);

    // It serves (and has installed its signal handlers by the time it answers).
    let url = format!("{base}/rest/1/servecode123/user.current");
    let resp = reqwest::get(&url).await.expect("request");
    assert_eq!(resp.status().as_u16(), 200);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["result"]["ID"], "1");

    let pid = child.id().expect("pid").to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("roster serve did not stop on SIGTERM")
        .expect("wait");
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
}
