//! The SQLite WAL under a stream of writes: the checkpointer copies it into the database
//! while writes go on, the WAL starts over (it does not grow without bound), and every
//! write is there, in a sound file, after the store is reopened.

use std::path::Path;

use roster_core::{AttrId, NewUser, Store, UserId, UserPatch, Value};
use roster_store::SqliteStore;

/// Frames the WAL holds, from its index header (`mxFrame`, native byte order at byte 16).
fn wal_frames(db: &Path) -> u32 {
    let shm = std::fs::read(db.with_extension("db-shm")).expect("read -shm");
    u32::from_ne_bytes(shm[16..20].try_into().unwrap())
}

fn named(login: &str) -> NewUser {
    NewUser { login: login.to_owned(), password_hash: None, is_admin: false, patch: UserPatch::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wal_is_copied_and_starts_over_under_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("roster.db");
    let store = SqliteStore::open(&db).unwrap();
    let mut ids: Vec<UserId> = Vec::new();
    for i in 0..200 {
        ids.push(store.create_user(named(&format!("u{i}"))).await.unwrap());
    }
    // About 40 MB of frames: notes of 2 KB on 200 users, 32 writers at a time.
    let note = |round: usize, i: usize| format!("{round:06}-{i:04}-{}", "x".repeat(2000));
    let (mut peak, mut last, mut restarts) = (0, 0, 0);
    let mut sample = |frames: u32| {
        peak = peak.max(frames);
        if frames < last {
            restarts += 1;
        }
        last = frames;
    };
    for round in 0..60 {
        let mut tasks = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let (store, id, text) = (store.clone(), *id, note(round, i));
            tasks.push(tokio::spawn(async move {
                let mut p = UserPatch::default();
                p.set(AttrId::named("personal_notes"), Value::Text(text));
                store.update_user(id, p).await
            }));
            if tasks.len() == 32 {
                for t in tasks.drain(..) {
                    t.await.unwrap().unwrap();
                }
                sample(wal_frames(&db));
            }
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
    }
    // 12,000 writes of 2 KB and more: about 10,000 frames of 4 KB went through the WAL.
    assert!(restarts >= 2, "the WAL started over while writes went on ({restarts} times)");
    assert!(peak < 8192, "the WAL stayed near its 16 MB threshold ({peak} frames at most)");
    drop(store);

    let store = SqliteStore::open(&db).unwrap();
    for (i, id) in ids.iter().enumerate() {
        let user = store.user(*id).await.unwrap().unwrap();
        assert_eq!(user.get(AttrId::named("personal_notes")), &Value::Text(note(59, i)), "user {i}");
    }
    let check = rusqlite::Connection::open(&db).unwrap();
    let ok: String = check.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok");
}
