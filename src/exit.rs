//! Exit codes: one table (docs/exit-codes.md), mapped from typed errors in one function.

use std::process::ExitCode;

use crate::config::ConfigError;
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

pub fn exit_code_for(err: &anyhow::Error) -> Exit {
    err.chain().find_map(classify).unwrap_or(Exit::SomeFailed)
}

fn classify(cause: &(dyn std::error::Error + 'static)) -> Option<Exit> {
    use crate::etl::run::RunError;
    if cause.is::<UsageError>() || cause.is::<ConfigError>() {
        return Some(Exit::Usage);
    }
    if let Some(tracker) = cause.downcast_ref::<TrackerError>() {
        return Some(tracker_exit(tracker));
    }
    if let Some(run) = cause.downcast_ref::<RunError>() {
        return Some(match run {
            RunError::Lock(_) => Exit::Database,
            RunError::Tracker(tracker) => tracker_exit(tracker),
            RunError::Client(_) => Exit::Usage,
        });
    }
    if cause.is::<duckdb::Error>() || cause.is::<crate::etl::runlock::RunLockError>() {
        return Some(Exit::Database);
    }
    if cause.is::<crate::klk::InvalidOptions>() {
        return Some(Exit::Usage);
    }
    None
}

fn tracker_exit(err: &TrackerError) -> Exit {
    match err {
        TrackerError::NotInProgress { .. } | TrackerError::NoSuchExecution(_) => Exit::SomeFailed,
        _ => Exit::Database,
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
