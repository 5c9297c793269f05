//! Running an operator's shell command (an alert command, a hook) within a time limit: it
//! runs in its own process group, and when the time is up (or the run is interrupted) the
//! whole group gets SIGTERM, then SIGKILL. Nothing it leaves behind (a grandchild holding
//! its output open) can keep klk-etl waiting.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a command gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(2);
/// How much of its output is kept for the message.
const TAIL_BYTES: usize = 4096;

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Bounded<'a> {
    /// Run with `sh -c`.
    pub command: &'a str,
    pub env: &'a [(String, String)],
    /// Written to its stdin (then closed); without it stdin is empty.
    pub stdin: Option<&'a [u8]>,
    pub timeout: Duration,
    /// Set by SIGINT/SIGTERM: the command is stopped like a timeout.
    pub interrupt: Option<&'a AtomicBool>,
}

/// Why it did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// It could not start.
    Spawn(String),
    /// It ended with a non-zero status or a signal; the last line it wrote to stderr (or
    /// stdout), if any.
    Exit {
        status: String,
        output: String,
    },
    /// Stopped after the timeout.
    TimedOut(Duration),
    Interrupted,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Spawn(why) => write!(f, "could not start: {why}"),
            Failure::Exit { status, output } if output.is_empty() => write!(f, "{status}"),
            Failure::Exit { status, output } => write!(f, "{status}: {output}"),
            Failure::TimedOut(after) => write!(
                f,
                "timed out after {} (stopped)",
                crate::duration::format_duration(*after)
            ),
            Failure::Interrupted => write!(f, "interrupted (stopped)"),
        }
    }
}

/// Runs `bounded`; `Ok` when it exits 0.
pub fn run(bounded: &Bounded) -> Result<(), Failure> {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(bounded.command)
        .envs(bounded.env.iter().map(|(k, v)| (k, v)))
        .stdin(if bounded.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so that a timeout stops what it started too.
        .process_group(0);
    let mut child = command.spawn().map_err(|e| Failure::Spawn(e.to_string()))?;
    let started = Instant::now();
    if let (Some(input), Some(mut stdin)) = (bounded.stdin, child.stdin.take()) {
        let input = input.to_vec();
        // A command that does not read its stdin must not block us.
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let (tails_tx, tails_rx) = mpsc::channel();
    for (which, pipe) in [
        (
            0,
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ),
        (
            1,
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ),
    ] {
        if let Some(pipe) = pipe {
            let tx = tails_tx.clone();
            std::thread::spawn(move || {
                let _ = tx.send((which, read_tail(pipe)));
            });
        }
    }
    drop(tails_tx);
    let pgid = i32::try_from(child.id()).unwrap_or(0);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) => {}
            Err(e) => break Err(Failure::Spawn(e.to_string())),
        }
        let interrupted = bounded
            .interrupt
            .is_some_and(|flag| flag.load(Ordering::SeqCst));
        if interrupted || started.elapsed() >= bounded.timeout {
            stop_group(pgid, &mut child);
            break Err(if interrupted {
                Failure::Interrupted
            } else {
                Failure::TimedOut(bounded.timeout)
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let status = status?;
    if status.success() {
        return Ok(());
    }
    // The output so far; a grandchild that keeps a pipe open is not waited for.
    let mut tails = [String::new(), String::new()];
    let wait_until = Instant::now() + Duration::from_millis(200);
    while let Some(left) = wait_until.checked_duration_since(Instant::now()) {
        match tails_rx.recv_timeout(left) {
            Ok((which, tail)) => tails[which] = tail,
            Err(_) => break,
        }
    }
    let output = if tails[1].is_empty() {
        &tails[0]
    } else {
        &tails[1]
    };
    Err(Failure::Exit {
        status: describe_status(&status),
        output: output.clone(),
    })
}

fn stop_group(pgid: i32, child: &mut std::process::Child) {
    if pgid > 0 {
        // SAFETY: kill(2) on our own child's process group; no memory is involved.
        unsafe { libc::kill(-pgid, libc::SIGTERM) };
    }
    let until = Instant::now() + GRACE;
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if pgid > 0 {
        // SAFETY: as above; whatever is left of the group is killed.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn describe_status(status: &std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => status.to_string(),
    }
}

/// The last non-empty line of what `pipe` carries (at most [`TAIL_BYTES`] are kept).
fn read_tail(mut pipe: Box<dyn Read + Send>) -> String {
    let mut tail: Vec<u8> = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = pipe.read(&mut buf) {
        if n == 0 {
            break;
        }
        tail.extend_from_slice(&buf[..n]);
        if tail.len() > TAIL_BYTES {
            tail.drain(..tail.len() - TAIL_BYTES);
        }
    }
    let text = String::from_utf8_lossy(&tail);
    let line = text
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or_default();
    line.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounded(command: &str, timeout_ms: u64) -> Bounded<'_> {
        Bounded {
            command,
            env: &[],
            stdin: None,
            timeout: Duration::from_millis(timeout_ms),
            interrupt: None,
        }
    }

    #[test]
    fn success_failure_and_its_last_line() {
        assert_eq!(run(&bounded("true", 5000)), Ok(()));
        let failed = run(&bounded(
            "echo first >&2; echo 'the reason' >&2; exit 3",
            5000,
        ));
        assert_eq!(
            failed,
            Err(Failure::Exit {
                status: "exit status 3".to_string(),
                output: "the reason".to_string()
            })
        );
    }

    #[test]
    fn a_hung_command_and_what_it_started_are_stopped_at_the_timeout() {
        let started = Instant::now();
        // A background grandchild keeps stdout open: it must not keep us waiting either.
        let result = run(&bounded("sleep 30 & sleep 30", 300));
        assert_eq!(result, Err(Failure::TimedOut(Duration::from_millis(300))));
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn stdin_and_environment_reach_the_command() {
        let env = [("KLK_TEST_VALUE".to_string(), "42".to_string())];
        let result = run(&Bounded {
            command: "read line; test \"$line\" = hello && test \"$KLK_TEST_VALUE\" = 42",
            env: &env,
            stdin: Some(b"hello\n"),
            timeout: Duration::from_secs(5),
            interrupt: None,
        });
        assert_eq!(result, Ok(()));
    }
}
