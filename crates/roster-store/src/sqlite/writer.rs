//! The single writer thread and its group commit. Every write is a job; the thread takes
//! all jobs waiting, runs each inside its own savepoint of one transaction, commits once
//! (WAL + synchronous=FULL, so the commit is fsynced) and only then answers each job.
//! Many concurrent requests therefore share one fsync, and none is answered early.

use std::sync::mpsc;
use std::thread;

use rusqlite::Connection;
use roster_core::{StoreError, StoreResult};
use tokio::sync::oneshot;

/// Called after the commit with its outcome.
type Completion = Box<dyn FnOnce(StoreResult<()>) + Send>;
/// Runs inside the transaction; says whether its savepoint is kept.
type Job = Box<dyn FnOnce(&Connection) -> (bool, Completion) + Send>;

/// Most jobs folded into one transaction.
const MAX_GROUP: usize = 512;

#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    pub(crate) fn start(conn: Connection) -> StoreResult<Writer> {
        let (jobs, rx) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name("roster-sqlite-writer".into())
            .spawn(move || run(conn, rx))
            .map_err(|e| StoreError::Backend(format!("cannot start writer thread: {e}")))?;
        Ok(Writer { jobs })
    }

    /// Runs `f` in the next group transaction; resolves once that transaction is durable.
    pub(crate) async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let outcome = f(conn);
            let keep = outcome.is_ok();
            let done: Completion = Box::new(move |commit| {
                let _ = tx.send(commit.and(outcome));
            });
            (keep, done)
        });
        self.jobs.send(job).map_err(|_| StoreError::Backend("writer thread has stopped".into()))?;
        rx.await.map_err(|_| StoreError::Backend("writer thread dropped a job".into()))?
    }
}

fn run(conn: Connection, rx: mpsc::Receiver<Job>) {
    let mut group: Vec<Job> = Vec::with_capacity(MAX_GROUP);
    let mut done: Vec<Completion> = Vec::with_capacity(MAX_GROUP);
    while let Ok(first) = rx.recv() {
        group.push(first);
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let outcome = run_group(&conn, &mut group, &mut done);
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "group commit failed; {} writes refused", done.len());
        }
        for complete in done.drain(..) {
            complete(outcome.as_ref().map(|_| ()).map_err(|e| StoreError::Backend(e.to_string())));
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
