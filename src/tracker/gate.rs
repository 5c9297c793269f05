//! Fairness between the readers and the writers of one database file.
//!
//! DuckDB lets several processes read a file together or one process write it, and refuses a
//! writer while any reader has it open. Readers that overlap (dashboards, monitoring checks
//! polling every second) can keep it open for ever, and a writer retrying with backoff only
//! gets in when its retry happens to fall in a free moment: it starves.
//!
//! The gate is an advisory lock on a file next to the database (`<database>.gate`). A writer
//! that finds the database busy takes the gate exclusively and keeps it while it retries; a
//! reader takes it shared for the moment of its open only. So while a writer waits, no new
//! reader gets in: the readers in flight finish, the writer opens, releases the gate, and the
//! readers wait for its (short) write phase as before. The kernel releases the gate when a
//! process ends, however it ends.
//!
//! A writer that keeps the file across many phases (a long run of fast answers) would keep
//! readers out for its whole length: readers that found the file held say they wait on a
//! second file (`<database>.waiting`), and such a writer lets them in between two phases.
//!
//! The gate is best effort, never a reason to fail: readers never create it (a reader of a
//! database in a read-only directory, or of a file that is not a database, leaves no file
//! behind), and a writer that cannot create or lock it retries without it.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often a process waiting at the gate looks again.
const POLL: Duration = Duration::from_millis(10);

/// `<database>.gate`.
pub fn gate_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".gate");
    PathBuf::from(name)
}

/// `<database>.waiting`: readers that found the database held say so here (see
/// [`announce_waiting_reader`]).
pub fn waiting_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".waiting");
    PathBuf::from(name)
}

/// A reader that found the database held by a writer, while it retries: takes
/// `<database>.waiting` shared, so that a writer that keeps the file across many write
/// phases (a long `run`) can see someone waits and let them in ([`readers_waiting`]). Like
/// the gate, only a writer creates the file; `None` when there is none.
pub fn announce_waiting_reader(database: &Path) -> Option<GateGuard> {
    let file = File::open(waiting_path(database)).ok()?;
    // The writer's look is a momentary exclusive try: wait that out.
    let deadline = Instant::now() + Duration::from_millis(100);
    match lock_until(&file, LockMode::Shared, deadline, Duration::from_millis(1)) {
        Ok(true) => Some(GateGuard { _file: file }),
        _ => None,
    }
}

/// Whether a reader waits for the database (holds `<database>.waiting`). A writer's look:
/// creates the file if needed, so that readers can announce themselves from now on.
pub fn readers_waiting(database: &Path) -> bool {
    let path = waiting_path(database);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .or_else(|_| File::open(&path));
    let Ok(file) = file else {
        return false;
    };
    matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
}

/// Held while alive (closing the file releases the lock).
#[derive(Debug)]
pub struct GateGuard {
    _file: File,
}

/// The gate stayed closed until the deadline: a writer was waiting for the database.
#[derive(Debug)]
pub struct GateClosed;

/// A reader, before opening the database: waits while a writer waits. `Ok(None)` when there
/// is no usable gate (none was ever needed, or it cannot be opened): the reader goes ahead.
pub fn enter_shared(database: &Path, deadline: Instant) -> Result<Option<GateGuard>, GateClosed> {
    let path = gate_path(database);
    let Ok(file) = File::open(&path) else {
        return Ok(None);
    };
    wait_for(file, deadline, LockMode::Shared)
}

/// A writer that found the database busy: creates the gate if needed and takes it
/// exclusively, so that no new reader opens the file while the writer waits for the readers
/// in flight. `Ok(None)` when the gate cannot be created or locked (a read-only directory, a
/// file system without locks): the writer retries without it.
pub fn enter_exclusive(
    database: &Path,
    deadline: Instant,
) -> Result<Option<GateGuard>, GateClosed> {
    let path = gate_path(database);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .or_else(|_| File::open(&path));
    let Ok(file) = file else {
        return Ok(None);
    };
    wait_for(file, deadline, LockMode::Exclusive)
}

fn wait_for(
    file: File,
    deadline: Instant,
    mode: LockMode,
) -> Result<Option<GateGuard>, GateClosed> {
    match lock_until(&file, mode, deadline, POLL) {
        Ok(true) => Ok(Some(GateGuard { _file: file })),
        Ok(false) => Err(GateClosed),
        // No locks here (e.g. some network file systems): no gate.
        Err(_) => Ok(None),
    }
}

/// Shared (readers) or exclusive (a writer, a run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    Shared,
    Exclusive,
}

/// Waits for an advisory lock on `file` (`flock` on Linux, so every klk-etl agrees) until
/// `deadline`, trying again every `poll`. `Ok(false)`: another holder kept it until the
/// deadline. `Err`: the file cannot be locked at all (a file system without locks). Also the
/// run lock's wait.
pub fn lock_until(
    file: &File,
    mode: LockMode,
    deadline: Instant,
    poll: Duration,
) -> std::io::Result<bool> {
    loop {
        let attempt = match mode {
            LockMode::Shared => file.try_lock_shared(),
            LockMode::Exclusive => file.try_lock(),
        };
        match attempt {
            Ok(()) => return Ok(true),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(err)) => return Err(err),
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(false);
        }
        std::thread::sleep(poll.min(deadline - now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiting_writer_closes_the_gate_to_new_readers_only() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("klk.duckdb");
        let soon = || Instant::now() + Duration::from_millis(50);
        // No gate yet: readers go ahead and create nothing.
        assert!(enter_shared(&db, soon()).unwrap().is_none());
        assert!(!gate_path(&db).exists());
        // Readers share it; a writer waits for them.
        let writer = enter_exclusive(&db, soon()).unwrap().unwrap();
        assert!(enter_shared(&db, soon()).is_err());
        drop(writer);
        let reader = enter_shared(&db, soon()).unwrap().unwrap();
        assert!(enter_shared(&db, soon()).unwrap().is_some());
        assert!(enter_exclusive(&db, soon()).is_err());
        drop(reader);
        assert!(enter_exclusive(&db, soon()).unwrap().is_some());
    }

    #[test]
    fn a_writer_sees_a_reader_waiting_only_while_it_waits() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("x.duckdb");
        // No file yet: a reader cannot announce itself, the writer's look creates the file.
        assert!(announce_waiting_reader(&database).is_none());
        assert!(!readers_waiting(&database));
        let reader = announce_waiting_reader(&database).expect("the file exists now");
        let other = announce_waiting_reader(&database).expect("readers share it");
        assert!(readers_waiting(&database));
        drop(reader);
        assert!(readers_waiting(&database));
        drop(other);
        assert!(!readers_waiting(&database));
    }

    #[test]
    fn a_gate_that_cannot_be_created_is_no_gate() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("missing/klk.duckdb");
        let soon = Instant::now() + Duration::from_millis(50);
        assert!(enter_exclusive(&db, soon).unwrap().is_none());
        assert!(enter_shared(&db, soon).unwrap().is_none());
    }
}
