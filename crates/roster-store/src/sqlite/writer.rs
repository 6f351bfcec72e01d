//! The single writer thread and its group commit. Every write is a job; the thread takes
//! all jobs waiting, runs each inside its own savepoint of one transaction, commits once
//! (WAL + synchronous=FULL, so the commit is fsynced) and only then answers each job.
//! Many concurrent requests therefore share one fsync, and none is answered early.
//!
//! Jobs of a caller that defers flushes (a `batch`) may commit without fsync; such a caller
//! ends with a `sync` job whose flushed commit makes every earlier WAL frame durable.
//! Checkpoints run here, only after flushed commits, so an unflushed frame is never
//! copied into the database file.

use std::sync::mpsc;
use std::thread;

use roster_core::{StoreError, StoreResult};
use rusqlite::Connection;
use tokio::sync::oneshot;

/// Called after the commit with its outcome.
type Completion = Box<dyn FnOnce(StoreResult<()>) + Send>;
/// Runs inside the transaction; says whether its savepoint is kept.
type Job = Box<dyn FnOnce(&Connection) -> (bool, Completion) + Send>;

/// Most jobs folded into one transaction.
const MAX_GROUP: usize = 512;
/// WAL size past which a flushed commit is followed by a checkpoint.
const CHECKPOINT_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<(Job, bool)>,
}

impl Writer {
    pub(crate) fn start(conn: Connection, wal: std::path::PathBuf) -> StoreResult<Writer> {
        // Checkpoints are run by the writer itself (see `run`), never by a commit.
        conn.pragma_update(None, "wal_autocheckpoint", 0).map_err(|e| StoreError::Backend(e.to_string()))?;
        let (jobs, rx) = mpsc::channel::<(Job, bool)>();
        thread::Builder::new()
            .name("roster-sqlite-writer".into())
            .spawn(move || run(conn, rx, wal))
            .map_err(|e| StoreError::Backend(format!("cannot start writer thread: {e}")))?;
        Ok(Writer { jobs })
    }

    /// Runs `f` in the next group transaction; resolves once that transaction is durable,
    /// or only committed when the calling task defers flushes.
    pub(crate) async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let durable = !roster_core::store::sync_deferred();
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let outcome = f(conn);
            let keep = outcome.is_ok();
            let done: Completion = Box::new(move |commit| {
                let _ = tx.send(commit.and(outcome));
            });
            (keep, done)
        });
        self.jobs.send((job, durable)).map_err(|_| StoreError::Backend("writer thread has stopped".into()))?;
        rx.await.map_err(|_| StoreError::Backend("writer thread dropped a job".into()))?
    }

    /// A flushed commit: every frame committed before it is durable when it returns.
    pub(crate) async fn sync(&self) -> StoreResult<()> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            // A tiny write so the commit has a frame to flush (an empty commit flushes nothing).
            let wrote = conn
                .execute(
                    "INSERT INTO meta (key, value) VALUES ('last_sync', strftime('%s','now')) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [],
                )
                .map(|_| ())
                .map_err(|e| StoreError::Backend(e.to_string()));
            let keep = wrote.is_ok();
            let done: Completion = Box::new(move |commit| {
                let _ = tx.send(commit.and(wrote));
            });
            (keep, done)
        });
        self.jobs.send((job, true)).map_err(|_| StoreError::Backend("writer thread has stopped".into()))?;
        rx.await.map_err(|_| StoreError::Backend("writer thread dropped a job".into()))?
    }
}

fn run(conn: Connection, rx: mpsc::Receiver<(Job, bool)>, wal: std::path::PathBuf) {
    let mut group: Vec<Job> = Vec::with_capacity(MAX_GROUP);
    let mut done: Vec<Completion> = Vec::with_capacity(MAX_GROUP);
    let mut flushing = true;
    while let Ok((first, durable)) = rx.recv() {
        let mut any_durable = durable;
        group.push(first);
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok((job, durable)) => {
                    any_durable |= durable;
                    group.push(job);
                }
                Err(_) => break,
            }
        }
        // One flush covers the whole group: it is skipped only if no job needs it.
        if any_durable != flushing {
            let mode = if any_durable { "FULL" } else { "OFF" };
            if conn.pragma_update(None, "synchronous", mode).is_ok() {
                flushing = any_durable;
            }
        }
        let outcome = run_group(&conn, &mut group, &mut done);
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "group commit failed; {} writes refused", done.len());
        }
        for complete in done.drain(..) {
            complete(outcome.as_ref().map(|_| ()).map_err(|e| StoreError::Backend(e.to_string())));
        }
        if flushing && outcome.is_ok() {
            checkpoint_if_large(&conn, &wal);
        }
    }
}

/// Copies the WAL into the database once it has grown (after a flushed commit only, so
/// every frame it copies is already durable).
fn checkpoint_if_large(conn: &Connection, wal: &std::path::Path) {
    let size = std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0);
    if size > CHECKPOINT_BYTES {
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "checkpoint failed");
        }
    }
}

fn run_group(conn: &Connection, group: &mut Vec<Job>, done: &mut Vec<Completion>) -> rusqlite::Result<()> {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        // Nothing ran: answer every job with the failure.
        for job in group.drain(..) {
            let (_, complete) = job_refused(job);
            done.push(complete);
        }
        return Err(e);
    }
    let mut failed: Option<rusqlite::Error> = None;
    for job in group.drain(..) {
        if failed.is_some() {
            done.push(job_refused(job).1);
            continue;
        }
        if let Err(e) = conn.execute_batch("SAVEPOINT job") {
            failed = Some(e);
            done.push(job_refused(job).1);
            continue;
        }
        let (keep, complete) = job(conn);
        let end = if keep { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
        if let Err(e) = conn.execute_batch(end) {
            failed = Some(e);
        }
        done.push(complete);
    }
    if let Some(e) = failed {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(e);
    }
    conn.execute_batch("COMMIT").inspect_err(|_| {
        let _ = conn.execute_batch("ROLLBACK");
    })
}

/// A job that will not run: its completion gets the group's failure.
fn job_refused(job: Job) -> (bool, Completion) {
    drop(job);
    (false, Box::new(|_| {}))
}
