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
//! with its own connection copies frames into the database file while the writer goes
//! on. The WAL can only start over at a moment when every frame has been copied and no
//! write is under way, which costs the writer a pause (copying the last frames and an
//! fsync of the database file). So after each pass the checkpointer looks at what was
//! written meanwhile: if little ([`TAIL_BYTES`]), the writer copies that tail after its
//! next commit and the WAL starts over; if less than the pass copied, another pass
//! follows at once (a small directory, where pages repeat, catches up and stays in a
//! 16 MB ring); if not, the next pass waits for another [`CHECKPOINT_BYTES`] (a large
//! directory, where every change is a new page, copies in the background while the WAL
//! grows). A growing WAL starts
//! over once the writer has had no work for [`QUIET`], or, under a load that never
//! stops, at [`CHECKPOINT_HARD_BYTES`] (as PostgreSQL's `max_wal_size`). Readers only
//! search the frames not yet copied, so a long WAL does not slow them. Pauses that
//! turn out long (over [`TAIL_PAUSE`] on average, where the disk is slow to write
//! scattered pages) stop tails for [`NO_TAILS_FOR`] while many writers wait at a time; with
//! one or two writers a pause holds back almost no one, and the ring keeps each fsync
//! short (a growing WAL file makes every fsync also write the file's new size). The WAL's content is read from its index (the `-shm`
//! file's header); the WAL file keeps its largest size (no truncation, which on some
//! file systems discards blocks synchronously) until the database is closed.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

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
const CHECKPOINT_HARD_BYTES: u64 = 1024 * 1024 * 1024;
/// How long the writer must have been without work to start the WAL over.
const QUIET: Duration = Duration::from_millis(20);
/// How often the checkpointer looks at the WAL's growth between passes.
const POLL: Duration = Duration::from_millis(5);
/// At most this much written during a checkpoint pass leaves the tail to the writer.
const TAIL_BYTES: u64 = 512 * 1024;

/// Pauses to start the WAL over longer than this (on average) stop tails for [`NO_TAILS_FOR`].
const TAIL_PAUSE: Duration = Duration::from_millis(20);
const NO_TAILS_FOR: Duration = Duration::from_secs(30);
/// Average group size under which pauses are taken whatever they cost.
const FEW_WRITERS: f64 = 3.0;

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
        let tails_off = Arc::new(AtomicBool::new(false));
        let off = tails_off.clone();
        let watched = WalMeter::new(&wal);
        spawn(
            "roster-sqlite-checkpoint",
            Box::new(move || checkpointer(checkpoint_conn, asleep, shared, off, watched)),
        )?;
        let failed = Arc::new(AtomicBool::new(false));
        let (flushes, pending) = mpsc::channel::<Vec<Completion>>();
        let flusher = Flusher { wal: wal.clone(), file: None, failed: failed.clone() };
        spawn("roster-sqlite-flush", Box::new(move || flusher.run(pending)))?;
        let checkpoints = Checkpoints {
            meter: WalMeter::new(&wal),
            state,
            wake,
            no_tails_until: None,
            tails_off,
            pause_avg: Duration::ZERO,
            group_avg: 0.0,
        };
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
    fn run(mut self, rx: mpsc::Receiver<(Job, bool)>) {
        let mut group: Vec<Job> = Vec::with_capacity(MAX_GROUP);
        loop {
            let next = if self.checkpoints.copying() {
                match rx.recv_timeout(QUIET) {
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        self.checkpoints.start_over(&self.conn);
                        continue;
                    }
                    other => other.ok(),
                }
            } else {
                rx.recv().ok()
            };
            let Some((first, durable)) = next else { break };
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
            self.checkpoints.note_group(group.len());
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
            None => match File::open(&self.wal) {
                Ok(file) => self.file.insert(file),
                // No WAL file: no frame was written, so nothing waits for the disk.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(flush_error(&self.wal, e)),
            },
        };
        file.sync_data().map_err(|e| flush_error(&self.wal, e))
    }
}

fn flush_error(wal: &Path, e: std::io::Error) -> StoreError {
    StoreError::Backend(format!("cannot flush {}: {e}", wal.display()))
}

/// The writer's side of checkpointing.
struct Checkpoints {
    meter: WalMeter,
    /// Set when pauses ran long: no tails until then.
    no_tails_until: Option<Instant>,
    /// What [`Checkpoints::tails_allowed`] last decided, for the checkpointer: while set, it
    /// copies in steps of [`CHECKPOINT_BYTES`] and leaves no tails.
    tails_off: Arc<AtomicBool>,
    /// Moving average of the writer's group sizes.
    group_avg: f64,
    /// Moving average of the writer's pauses (halved per pause), so one slow fsync does not count.
    pause_avg: Duration,
    state: Arc<AtomicU8>,
    wake: mpsc::SyncSender<()>,
}

impl Checkpoints {
    fn copying(&self) -> bool {
        self.state.load(Ordering::Acquire) != IDLE
    }

    /// Called by the writer between transactions: starts the checkpointer once the WAL
    /// has grown, and starts the WAL over at the hard cap.
    fn after_commit(&mut self, conn: &Connection) {
        let size = self.meter.bytes();
        let tails = self.tails_allowed();
        if self.state.load(Ordering::Acquire) == TAIL_DUE {
            if tails {
                self.start_over(conn);
            } else {
                // Copy on in the background; the WAL starts over when the writer is quiet.
                self.state.store(COPYING, Ordering::Release);
                self.wake_checkpointer();
            }
        } else if self.copying() {
            if size > CHECKPOINT_HARD_BYTES {
                self.start_over(conn);
            }
        } else if size > CHECKPOINT_BYTES {
            self.state.store(COPYING, Ordering::Release);
            self.wake_checkpointer();
        }
    }

    fn wake_checkpointer(&self) {
        // A full channel already holds a wake-up; a closed one means no checkpointer.
        if let Err(mpsc::TrySendError::Disconnected(())) = self.wake.try_send(()) {
            self.state.store(IDLE, Ordering::Release);
        }
    }

    /// Copies the frames the checkpointer has not reached, with no write under way, so
    /// the next transaction starts the WAL over. The checkpoint fsyncs the WAL before it
    /// copies (synchronous=NORMAL), so a frame the flusher has not reached yet is made
    /// durable first, and the database file after.
    fn start_over(&mut self, conn: &Connection) {
        let started = Instant::now();
        passive_checkpoint(conn);
        self.pause_avg = (self.pause_avg + started.elapsed()) / 2;
        if self.pause_avg > TAIL_PAUSE && self.group_avg >= FEW_WRITERS {
            self.no_tails_until = Some(Instant::now() + NO_TAILS_FOR);
            self.pause_avg = Duration::ZERO;
        }
        self.state.store(IDLE, Ordering::Release);
    }

    /// Keeps a moving average of group sizes: how many writers a pause would hold back.
    fn note_group(&mut self, jobs: usize) {
        self.group_avg = (self.group_avg * 7.0 + jobs as f64) / 8.0;
    }

    /// Whether the writer takes the tail the checkpointer left: not for a while after long
    /// pauses, unless writes come one or two at a time (a pause then holds back almost no
    /// one, and the WAL stays a ring, which keeps each fsync short).
    fn tails_allowed(&mut self) -> bool {
        if self.no_tails_until.is_some_and(|until| Instant::now() >= until) {
            self.no_tails_until = None;
        }
        let allowed = self.no_tails_until.is_none() || self.group_avg < FEW_WRITERS;
        self.tails_off.store(!allowed, Ordering::Release);
        allowed
    }
}

/// Reads how much the WAL holds from its index header (the `-shm` file: `szPage` at byte
/// 14, `mxFrame` at byte 16, native byte order), as frames times frame size.
struct WalMeter {
    shm: PathBuf,
    file: Option<File>,
}

impl WalMeter {
    /// `wal` is `<db>-wal`; the index is `<db>-shm`.
    fn new(wal: &Path) -> WalMeter {
        use std::os::unix::ffi::{OsStrExt, OsStringExt};
        let mut shm = wal.as_os_str().as_bytes().to_vec();
        if shm.ends_with(b"-wal") {
            shm.truncate(shm.len() - 4);
        }
        shm.extend_from_slice(b"-shm");
        WalMeter { shm: PathBuf::from(std::ffi::OsString::from_vec(shm)), file: None }
    }

    fn bytes(&mut self) -> u64 {
        use std::os::unix::fs::FileExt;
        if self.file.is_none() {
            self.file = File::open(&self.shm).ok();
        }
        let mut header = [0u8; 20];
        match &self.file {
            Some(f) if f.read_exact_at(&mut header, 0).is_ok() => {
                let page = match u16::from_ne_bytes([header[14], header[15]]) {
                    1 => 65_536,
                    n => u64::from(n),
                };
                let frames = u64::from(u32::from_ne_bytes([header[16], header[17], header[18], header[19]]));
                frames * (page + 24)
            }
            _ => 0,
        }
    }
}

fn passive_checkpoint(conn: &Connection) {
    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        tracing::warn!(error = %e, "checkpoint failed");
    }
}

/// The checkpointer thread: copies the WAL into the database, pass after pass, until
/// little was written during a pass (then the writer copies the tail) or the writer has
/// started the WAL over.
fn checkpointer(
    conn: Connection,
    wake: mpsc::Receiver<()>,
    state: Arc<AtomicU8>,
    tails_off: Arc<AtomicBool>,
    mut wal: WalMeter,
) {
    while wake.recv().is_ok() {
        let (mut next_pass, mut copied) = (0, u64::MAX);
        while state.load(Ordering::Acquire) == COPYING {
            let before = wal.bytes();
            if before < next_pass {
                thread::sleep(POLL);
                continue;
            }
            passive_checkpoint(&conn);
            let grown = wal.bytes().saturating_sub(before);
            if tails_off.load(Ordering::Acquire) {
                // No tails for now: copy each time another step has been written.
                next_pass = before + grown + CHECKPOINT_BYTES;
            } else if grown <= TAIL_BYTES {
                // Only a CAS: the writer may have started the WAL over meanwhile.
                let _ = state.compare_exchange(COPYING, TAIL_DUE, Ordering::AcqRel, Ordering::Acquire);
            } else if grown < copied {
                // Catching up: copy what came meanwhile at once (each pass shorter).
                next_pass = 0;
            } else {
                // Not catching up (every change a new page): let pages repeat before the
                // next pass, and let the WAL grow until the writer is quiet.
                next_pass = before + grown + CHECKPOINT_BYTES;
            }
            copied = grown;
        }
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
