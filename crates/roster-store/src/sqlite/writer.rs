//! The single writer thread, its group commit and the flusher behind it.
//!
//! Every write is a job. The writer takes all jobs waiting, runs each inside its own
//! savepoint of one transaction and commits once. The commit writes the WAL frames but
//! does not wait for the disk: the group's answers go to the flusher thread, which
//! fsyncs the WAL file and only then answers them. Meanwhile the writer already runs the
//! next group, so one fsync covers every group committed while the previous fsync ran,
//! and no job is answered before its frames are on disk. (Readers may see a committed
//! group a fraction of a millisecond before its fsync ends; it is never answered before.)
//!
//! The writer's connection uses `synchronous=NORMAL`: SQLite then fsyncs the WAL before a
//! checkpoint copies frames, the database file after it, and the WAL header when the WAL
//! starts over, which is what keeps the file sound after a power cut; the flusher adds
//! the fsync per commit that NORMAL leaves out.
//!
//! Jobs of a caller that defers flushes (a `batch`) are answered once committed; such a
//! caller ends with a `sync` job, which the flusher answers after an fsync that covers
//! every frame written before it.
//!
//! Checkpoints: once the WAL has grown past [`CHECKPOINT_BYTES`], a checkpointer thread
//! with its own connection copies frames into the database file, pass after pass, while
//! the writer goes on. The WAL can only start over at a moment when every frame has been
//! copied and no write is under way, which costs the writer a short pause (copying the
//! last frames and an fsync of the database file); it takes that pause once it has had
//! no work for [`QUIET`], or, under a load that never stops, once the WAL has reached
//! [`CHECKPOINT_HARD_BYTES`] (as PostgreSQL's `max_wal_size`). Readers only search the
//! frames not yet copied, so a long WAL does not slow them. `journal_size_limit`
//! truncates the WAL file back to the threshold when it starts over, which keeps the file
//! size a measure of its content.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;

use roster_core::{StoreError, StoreResult};
use rusqlite::Connection;
use tokio::sync::oneshot;

/// Called once the job's commit is durable (or has failed) with the outcome.
type Completion = Box<dyn FnOnce(StoreResult<()>) + Send>;
/// Runs inside the transaction; says whether its savepoint is kept.
type Job = Box<dyn FnOnce(&Connection) -> (bool, Completion) + Send>;

/// Most jobs folded into one transaction.
const MAX_GROUP: usize = 512;
/// WAL size past which the checkpointer is started.
const CHECKPOINT_BYTES: u64 = 16 * 1024 * 1024;
/// WAL size past which the writer starts the WAL over even under load.
const CHECKPOINT_HARD_BYTES: u64 = 4 * CHECKPOINT_BYTES;

/// Page cache of the writer's connection, in KiB.
const WRITER_CACHE_KIB: i64 = 32 * 1024;

/// Checkpoint states shared by the writer and the checkpointer.
const IDLE: u8 = 0;
const COPYING: u8 = 1;
const TAIL_DUE: u8 = 2;

#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<(Job, bool)>,
}

impl Writer {
    /// Starts the writer on `conn`, the checkpointer on `checkpoint_conn` (both on the
    /// database whose WAL is `wal`) and the flusher.
    pub(crate) fn start(conn: Connection, checkpoint_conn: Connection, wal: PathBuf) -> StoreResult<Writer> {
        let backend = |e: rusqlite::Error| StoreError::Backend(e.to_string());
        // The flusher fsyncs each commit; SQLite keeps the checkpoint and WAL-restart syncs.
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(backend)?;
        // Checkpoints are run by the writer and the checkpointer, never by a commit.
        conn.pragma_update(None, "wal_autocheckpoint", 0).map_err(backend)?;
        conn.pragma_update(None, "journal_size_limit", CHECKPOINT_BYTES as i64).map_err(backend)?;
        // Every write reads the pages it changes: keep more of them than the default 2 MB.
        conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB).map_err(backend)?;
        checkpoint_conn.pragma_update(None, "wal_autocheckpoint", 0).map_err(backend)?;
        let spawn = |name: &str, body: Box<dyn FnOnce() + Send>| {
            thread::Builder::new()
                .name(name.into())
                .spawn(body)
                .map(|_| ())
                .map_err(|e| StoreError::Backend(format!("cannot start {name} thread: {e}")))
        };
        let state = Arc::new(AtomicU8::new(IDLE));
        let (wake, asleep) = mpsc::sync_channel::<()>(1);
        let shared = state.clone();
        spawn("roster-sqlite-checkpoint", Box::new(move || checkpointer(checkpoint_conn, asleep, shared)))?;
        let failed = Arc::new(AtomicBool::new(false));
        let (flushes, pending) = mpsc::channel::<Vec<Completion>>();
        let flusher = Flusher { wal: wal.clone(), file: None, failed: failed.clone() };
        spawn("roster-sqlite-flush", Box::new(move || flusher.run(pending)))?;
        let checkpoints = Checkpoints { wal, state, wake };
        let (jobs, rx) = mpsc::channel::<(Job, bool)>();
        let writer = WriterLoop { conn, checkpoints, flushes, failed };
        spawn("roster-sqlite-writer", Box::new(move || writer.run(rx)))?;
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

    /// Resolves once every frame committed before it is durable.
    pub(crate) async fn sync(&self) -> StoreResult<()> {
        self.write(|_| Ok(())).await
    }
}

struct WriterLoop {
    conn: Connection,
    checkpoints: Checkpoints,
    /// Answers of committed groups, to the flusher.
    flushes: mpsc::Sender<Vec<Completion>>,
    /// Set by the flusher when an fsync failed: nothing more is written.
    failed: Arc<AtomicBool>,
}

impl WriterLoop {
    fn run(self, rx: mpsc::Receiver<(Job, bool)>) {
        let mut group: Vec<Job> = Vec::with_capacity(MAX_GROUP);
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
            let mut done = Vec::with_capacity(group.len());
            let outcome = if self.failed.load(Ordering::Acquire) {
                refuse_all(&mut group, &mut done);
                Err("the database could not be flushed to disk; writes are refused".to_owned())
            } else {
                run_group(&self.conn, &mut group, &mut done).map_err(|e| e.to_string())
            };
            match outcome {
                // One fsync covers the whole group: it is skipped only if no job needs it.
                Ok(()) if any_durable => {
                    if let Err(mpsc::SendError(done)) = self.flushes.send(done) {
                        complete(done, Err(StoreError::Backend("flush thread has stopped".into())));
                    }
                }
                Ok(()) => complete(done, Ok(())),
                Err(message) => {
                    tracing::error!(error = %message, "group commit failed; {} writes refused", done.len());
                    complete(done, Err(StoreError::Backend(message)));
                }
            }
            self.checkpoints.after_commit(&self.conn);
        }
    }
}

fn complete(done: Vec<Completion>, outcome: StoreResult<()>) {
    for job in done {
        job(outcome.as_ref().map(|_| ()).map_err(|e| StoreError::Backend(e.to_string())));
    }
}

/// Fsyncs the WAL after commits and answers their jobs.
struct Flusher {
    wal: PathBuf,
    /// Opened at the first flush (the WAL exists once something was committed).
    file: Option<File>,
    failed: Arc<AtomicBool>,
}

impl Flusher {
    fn run(mut self, pending: mpsc::Receiver<Vec<Completion>>) {
        while let Ok(first) = pending.recv() {
            let mut waiting = first;
            // Every group committed so far is covered by this one fsync.
            while let Ok(more) = pending.try_recv() {
                waiting.extend(more);
            }
            let outcome = self.flush();
            if let Err(e) = &outcome {
                // What the kernel did with the unflushed pages is unknown: stop writing.
                self.failed.store(true, Ordering::Release);
                tracing::error!(error = %e, "fsync of the WAL failed; writes are refused from now on");
            }
            complete(waiting, outcome);
        }
    }

    fn flush(&mut self) -> StoreResult<()> {
        let file = match &self.file {
            Some(file) => file,
            None => self.file.insert(File::open(&self.wal).map_err(|e| flush_error(&self.wal, e))?),
        };
        file.sync_data().map_err(|e| flush_error(&self.wal, e))
    }
}

fn flush_error(wal: &Path, e: std::io::Error) -> StoreError {
    StoreError::Backend(format!("cannot flush {}: {e}", wal.display()))
}

/// The writer's side of checkpointing.
struct Checkpoints {
    wal: PathBuf,
    state: Arc<AtomicU8>,
    wake: mpsc::SyncSender<()>,
}

impl Checkpoints {
    /// Called by the writer between transactions: starts the checkpointer once the WAL
    /// has grown; copies the tail once the checkpointer has copied the bulk.
    fn after_commit(&self, conn: &Connection) {
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
    if let Err(e) = run_cached(conn, "BEGIN IMMEDIATE") {
        // Nothing ran: answer every job with the failure.
        refuse_all(group, done);
        return Err(e);
    }
    let mut failed: Option<rusqlite::Error> = None;
    for job in group.drain(..) {
        if failed.is_some() {
            done.push(job_refused(job));
            continue;
        }
        if let Err(e) = run_cached(conn, "SAVEPOINT job") {
            failed = Some(e);
            done.push(job_refused(job));
            continue;
        }
        let (keep, complete) = job(conn);
        let end =
            if keep { run_cached(conn, "RELEASE job") } else { conn.execute_batch("ROLLBACK TO job; RELEASE job") };
        if let Err(e) = end {
            failed = Some(e);
        }
        done.push(complete);
    }
    if let Some(e) = failed {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(e);
    }
    run_cached(conn, "COMMIT").inspect_err(|_| {
        let _ = conn.execute_batch("ROLLBACK");
    })
}

/// Runs a fixed statement from the connection's statement cache (no parse per job).
fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn refuse_all(group: &mut Vec<Job>, done: &mut Vec<Completion>) {
    for job in group.drain(..) {
        done.push(job_refused(job));
    }
}

/// A job that will not run: dropping it drops its answer channel, so its caller gets
/// "writer thread dropped a job"; the completion left in its place does nothing.
fn job_refused(job: Job) -> Completion {
    drop(job);
    Box::new(|_| {})
}
