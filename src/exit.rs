//! Exit codes: one table (docs/exit-codes.md), mapped from typed errors in one function.

use std::process::ExitCode;

use crate::config::ConfigError;
use crate::etl::run::RunError;
use crate::etl::runlock::RunLockError;
use crate::klk::InvalidOptions;
use crate::tracker::TrackerError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// A run or recovery finished with some store failed.
    SomeFailed = 1,
    /// Usage or configuration error.
    Usage = 2,
    /// Database busy or unusable.
    Database = 3,
    /// The source API was unreachable for every store.
    ApiUnreachable = 4,
    /// A check found problems (e.g. `gaps --check`).
    CheckFailed = 5,
    /// A file klk-etl was asked to write could not be written, or a port not listened on.
    Io = 6,
    /// An error klk-etl does not classify: a defect (report it with the message).
    Internal = 70,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

/// A usage error found after parsing (reversed dates, an unknown store, a missing `--yes`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// A file the command was asked to write (`--textfile`, `completions --dir`), or a port to
/// listen on, that the system refused.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {target}: {source}")]
pub struct IoError {
    pub action: &'static str,
    pub target: String,
    #[source]
    pub source: std::io::Error,
}

impl IoError {
    pub fn write(path: &std::path::Path, source: std::io::Error) -> IoError {
        IoError {
            action: "write",
            target: path.display().to_string(),
            source,
        }
    }
}

/// Every error a command can end with, as the first cause of the chain that klk-etl knows.
enum Failure<'a> {
    Usage(&'a UsageError),
    Config(&'a ConfigError),
    Tracker(&'a TrackerError),
    Run(&'a RunError),
    RunLock(&'a RunLockError),
    ClientOptions,
    Database,
    Io,
    Output,
    Unclassified,
}

fn failure_of(err: &anyhow::Error) -> Failure<'_> {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<UsageError>() {
            return Failure::Usage(e);
        }
        if let Some(e) = cause.downcast_ref::<ConfigError>() {
            return Failure::Config(e);
        }
        if let Some(e) = cause.downcast_ref::<TrackerError>() {
            return Failure::Tracker(e);
        }
        if let Some(e) = cause.downcast_ref::<RunError>() {
            return Failure::Run(e);
        }
        if let Some(e) = cause.downcast_ref::<RunLockError>() {
            return Failure::RunLock(e);
        }
        if cause.is::<InvalidOptions>() {
            return Failure::ClientOptions;
        }
        if cause.is::<duckdb::Error>() {
            return Failure::Database;
        }
        if cause.is::<IoError>() {
            return Failure::Io;
        }
        if cause.is::<std::io::Error>() {
            return Failure::Output;
        }
    }
    Failure::Unclassified
}

/// The exit code of an error: one exhaustive match over every error type and variant, so a
/// new one cannot be added without deciding its code (docs/exit-codes.md).
pub fn exit_code_for(err: &anyhow::Error) -> Exit {
    match failure_of(err) {
        Failure::Usage(UsageError(_)) => Exit::Usage,
        Failure::Config(
            ConfigError::Read { .. } | ConfigError::Parse { .. } | ConfigError::Invalid(_),
        ) => Exit::Usage,
        Failure::Tracker(tracker) => tracker_exit(tracker),
        Failure::Run(RunError::Lock(lock)) => run_lock_exit(lock),
        Failure::Run(RunError::Tracker(tracker)) => tracker_exit(tracker),
        Failure::Run(RunError::Client(_)) => Exit::Usage,
        Failure::RunLock(lock) => run_lock_exit(lock),
        Failure::ClientOptions => Exit::Usage,
        Failure::Database => Exit::Database,
        Failure::Io | Failure::Output => Exit::Io,
        Failure::Unclassified => Exit::Internal,
    }
}

fn tracker_exit(err: &TrackerError) -> Exit {
    match err {
        TrackerError::Busy { .. }
        | TrackerError::Unusable { .. }
        | TrackerError::TooNew { .. }
        | TrackerError::Sql(_)
        | TrackerError::Server { .. }
        | TrackerError::Postgres(_)
        | TrackerError::RunnersBusy { .. }
        | TrackerError::Unexpected(_) => Exit::Database,
        // Finished elsewhere meanwhile: the run goes on; the window's outcome is reported.
        TrackerError::NotInProgress { .. } | TrackerError::NoSuchExecution(_) => Exit::SomeFailed,
    }
}

fn run_lock_exit(err: &RunLockError) -> Exit {
    match err {
        RunLockError::Busy { .. } | RunLockError::Io { .. } => Exit::Database,
    }
}

/// `klk-etl gaps | head -1`: the reader went away; that is not an error.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes on one line, without repeating a cause already in the message.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let part = crate::tracker::one_line(&cause.to_string());
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_error_has_its_code_and_an_unknown_one_is_internal() {
        let io = || std::io::Error::other("disk full");
        let cases: Vec<(anyhow::Error, Exit)> = vec![
            (UsageError("x".into()).into(), Exit::Usage),
            (ConfigError::Invalid("x".into()).into(), Exit::Usage),
            (
                TrackerError::Unusable {
                    path: "x".into(),
                    detail: "y".into(),
                }
                .into(),
                Exit::Database,
            ),
            (TrackerError::NoSuchExecution(1).into(), Exit::SomeFailed),
            (
                RunError::Tracker(TrackerError::NoSuchExecution(1)).into(),
                Exit::SomeFailed,
            ),
            (
                IoError::write(std::path::Path::new("/x"), io()).into(),
                Exit::Io,
            ),
            (anyhow::Error::new(io()).context("writing stdout"), Exit::Io),
            (
                anyhow::anyhow!("something nobody classified"),
                Exit::Internal,
            ),
        ];
        for (err, expected) in cases {
            assert_eq!(exit_code_for(&err), expected, "{err:#}");
        }
    }
}
