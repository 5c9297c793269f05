//! Who is running an execution: host name, pid, and a process identity that survives pid
//! reuse (boot id + the process start time from /proc).

use std::fs;

/// This machine's host name, as recorded in `etl_ejecuciones.host`.
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown".to_string();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// A string that identifies one process for as long as this machine stays up:
/// `"<boot id>:<start time in clock ticks>"`. `None` where /proc is unavailable.
pub fn process_identity(pid: u32) -> Option<String> {
    let boot_id = fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
    let after_name = &stat[stat.rfind(')')? + 1..];
    // Fields from 3 on; the start time is field 22, i.e. index 19 here.
    let start_ticks = after_name.split_whitespace().nth(19)?;
    Some(format!("{}:{}", boot_id.trim(), start_ticks))
}

/// The PostgreSQL session an execution was started on: its backend's pid and start (as
/// microseconds since 1970, UTC). Recorded as `proceso_id` = `pg:<pid>:<start>`, so that a
/// runner on any host can tell whether the session, and so the runner, is still there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionIdentity {
    pub pid: i64,
    pub started_us: i64,
}

impl SessionIdentity {
    const PREFIX: &str = "pg:";

    pub fn parse(text: &str) -> Option<SessionIdentity> {
        let (pid, started) = text.strip_prefix(Self::PREFIX)?.split_once(':')?;
        Some(SessionIdentity {
            pid: pid.parse().ok()?,
            started_us: started.parse().ok()?,
        })
    }
}

impl std::fmt::Display for SessionIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}:{}", Self::PREFIX, self.pid, self.started_us)
    }
}

pub fn current_pid() -> u32 {
    std::process::id()
}

/// What we know about the process that wrote an `en_proceso` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Same host, and that exact process is still running.
    Alive,
    /// Same host, and the pid is gone or now belongs to another process.
    Dead,
    /// Another host, or no pid recorded: only age can tell.
    Unknown,
}

pub fn liveness(
    row_host: Option<&str>,
    row_pid: Option<i64>,
    row_identity: Option<&str>,
    this_host: &str,
) -> Liveness {
    let (Some(host), Some(pid)) = (row_host, row_pid) else {
        return Liveness::Unknown;
    };
    if host != this_host || pid <= 0 {
        return Liveness::Unknown;
    }
    let Ok(pid) = u32::try_from(pid) else {
        return Liveness::Unknown;
    };
    match (process_identity(pid), row_identity) {
        (None, _) => {
            if std::path::Path::new("/proc/self/stat").exists() {
                Liveness::Dead
            } else {
                Liveness::Unknown
            }
        }
        (Some(now), Some(recorded)) if now == recorded => Liveness::Alive,
        (Some(_), Some(_)) => Liveness::Dead,
        // A pid without a recorded identity (an older row): it is alive as far as we can tell.
        (Some(_), None) => Liveness::Alive,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_identity_reads_back_and_a_process_identity_is_not_one() {
        let id = SessionIdentity {
            pid: 4242,
            started_us: 1_764_000_000_123_456,
        };
        assert_eq!(id.to_string(), "pg:4242:1764000000123456");
        assert_eq!(SessionIdentity::parse(&id.to_string()), Some(id));
        assert_eq!(SessionIdentity::parse("0b1c-boot-id:123456"), None);
        assert_eq!(SessionIdentity::parse("pg:x:1"), None);
    }

    #[test]
    fn this_process_is_alive_and_a_reused_pid_is_dead() {
        let host = host_name();
        let pid = current_pid();
        let identity = process_identity(pid).expect("linux /proc");
        assert_eq!(
            liveness(Some(&host), Some(pid as i64), Some(&identity), &host),
            Liveness::Alive
        );
        assert_eq!(
            liveness(Some(&host), Some(pid as i64), Some("other-boot:1"), &host),
            Liveness::Dead
        );
        assert_eq!(
            liveness(
                Some("another-host"),
                Some(pid as i64),
                Some(&identity),
                &host
            ),
            Liveness::Unknown
        );
    }

    #[test]
    fn a_pid_that_does_not_exist_is_dead() {
        let host = host_name();
        // Above the kernel's pid_max limit (4194304), so never a live process.
        assert_eq!(
            liveness(Some(&host), Some(99_999_999), Some("x:1"), &host),
            Liveness::Dead
        );
    }
}
