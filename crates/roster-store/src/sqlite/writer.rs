//! The single writer thread and its group commit. Every write is a job; the thread takes
//! all jobs waiting, runs each inside its own savepoint of one transaction, commits once
//! (WAL + synchronous=FULL, so the commit is fsynced) and only then answers each job.
//! Many concurrent requests therefore share one fsync, and none is answered early.
//!
//! Jobs of a caller that defers flushes (a `batch`) may commit without fsync; such a caller
//! ends with a `sync` job whose flushed commit makes every earlier WAL frame durable.
//!
//! Checkpoints: once the WAL has grown past [`CHECKPOINT_BYTES`], a checkpointer thread
//! with its own connection (synchronous=FULL, so the WAL is fsynced before any frame is
//! copied, and the database file after) copies the bulk while the writer goes on; then
//! the writer copies the short tail itself after a flushed commit, so its next
//! transaction can start the WAL over. `journal_size_limit` truncates the WAL file back
//! to the threshold at that restart, which keeps the file size a measure of its content.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{mpsc, Arc};
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
/// WAL size past which the checkpointer is started.
const CHECKPOINT_BYTES: u64 = 16 * 1024 * 1024;
/// WAL size past which the writer checkpoints itself, whatever the checkpointer does.
const CHECKPOINT_HARD_BYTES: u64 = 4 * CHECKPOINT_BYTES;

/// Checkpoint states shared by the writer and the checkpointer.
const IDLE: u8 = 0;
const COPYING: u8 = 1;
const TAIL_DUE: u8 = 2;

#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<(Job, bool)>,
}

impl Writer {
    /// Starts the writer on `conn` and the checkpointer on `checkpoint_conn` (both on the
    /// database whose WAL is `wal`).
    pub(crate) fn start(conn: Connection, checkpoint_conn: Connection, wal: PathBuf) -> StoreResult<Writer> {
        let backend = |e: rusqlite::Error| StoreError::Backend(e.to_string());
        // Checkpoints are run by the writer and the checkpointer (see `run`), never by a commit.
        conn.pragma_update(None, "wal_autocheckpoint", 0).map_err(backend)?;
        conn.pragma_update(None, "journal_size_limit", CHECKPOINT_BYTES as i64).map_err(backend)?;
        checkpoint_conn.pragma_update(None, "wal_autocheckpoint", 0).map_err(backend)?;
        let state = Arc::new(AtomicU8::new(IDLE));
        let (wake, asleep) = mpsc::sync_channel::<()>(1);
        let shared = state.clone();
        thread::Builder::new()
            .name("roster-sqlite-checkpoint".into())
            .spawn(move || checkpointer(checkpoint_conn, asleep, shared))
            .map_err(|e| StoreError::Backend(format!("cannot start checkpoint thread: {e}")))?;
        let checkpoints = Checkpoints { wal, state, wake };
        let (jobs, rx) = mpsc::channel::<(Job, bool)>();
        thread::Builder::new()
            .name("roster-sqlite-writer".into())
            .spawn(move || run(conn, rx, checkpoints))
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

fn run(conn: Connection, rx: mpsc::Receiver<(Job, bool)>, checkpoints: Checkpoints) {
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
            checkpoints.after_flushed_commit(&conn);
        }
    }
}

/// The writer's side of checkpointing.
struct Checkpoints {
    wal: PathBuf,
    state: Arc<AtomicU8>,
    wake: mpsc::SyncSender<()>,
}

impl Checkpoints {
    /// Called after a flushed commit only, so every frame a checkpoint here copies is
    /// already durable.
    fn after_flushed_commit(&self, conn: &Connection) {
        match self.state.load(Ordering::Acquire) {
            TAIL_DUE => {
                passive_checkpoint(conn);
                self.state.store(IDLE, Ordering::Release);
            }
            state => {
                let size = wal_size(&self.wal);
                if size > CHECKPOINT_HARD_BYTES {
                    // The checkpointer cannot keep up: copy here, holding writes back.
                    passive_checkpoint(conn);
                } else if state == IDLE && size > CHECKPOINT_BYTES {
                    self.state.store(COPYING, Ordering::Release);
                    if self.wake.try_send(()).is_err() {
                        self.state.store(IDLE, Ordering::Release);
                    }
                }
            }
        }
    }
}

fn wal_size(wal: &Path) -> u64 {
    std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0)
}

fn passive_checkpoint(conn: &Connection) {
    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        tracing::warn!(error = %e, "checkpoint failed");
    }
}

/// The checkpointer thread: copies the WAL's bulk into the database while the writer
/// goes on, then leaves the tail to the writer.
fn checkpointer(conn: Connection, wake: mpsc::Receiver<()>, state: Arc<AtomicU8>) {
    while wake.recv().is_ok() {
        passive_checkpoint(&conn);
        state.store(TAIL_DUE, Ordering::Release);
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
        if let Err(e) = run_cached(conn, "SAVEPOINT job") {
            failed = Some(e);
            done.push(job_refused(job).1);
            continue;
        }
        let (keep, complete) = job(conn);
        let end = if keep { run_cached(conn, "RELEASE job") } else { conn.execute_batch("ROLLBACK TO job; RELEASE job") };
        if let Err(e) = end {
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

/// Runs a fixed statement from the connection's statement cache (no parse per job).
fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// A job that will not run: its completion gets the group's failure.
fn job_refused(job: Job) -> (bool, Completion) {
    drop(job);
    (false, Box::new(|_| {}))
}
