//! Running commands from xtask with their output shown.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{bail, Context, Result};

/// The repository root (xtask's parent folder), whatever the current directory.
pub(crate) fn repo_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// Runs a command with inherited output; fails when it fails.
pub(crate) fn cmd(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("could not start {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}

/// What a failed command's error repeats of its output: the lines that name a failure
/// (a test's panic, `FAILED`, an `error:`), which a long run prints long before its end, and
/// the last lines.
#[derive(Default)]
struct Kept {
    failures: Vec<String>,
    tail: VecDeque<String>,
}

/// Most failure lines kept.
const MOST_FAILURE_LINES: usize = 30;

impl Kept {
    fn keep(&mut self, line: String, lines: usize) {
        let names_a_failure = line.contains("panicked at")
            || line.contains("FAILED")
            || line.trim_start().starts_with("error");
        if names_a_failure && self.failures.len() < MOST_FAILURE_LINES {
            self.failures.push(line.clone());
        }
        if self.tail.len() == lines {
            self.tail.pop_front();
        }
        self.tail.push_back(line);
    }
}

/// Runs a command with its output shown as it comes; when it fails, the error carries the
/// lines of that output that name a failure and its last `lines` lines (stdout and stderr as
/// they arrived), so a summary printed after many steps still ends with the cause.
pub(crate) fn cmd_keeping_tail(command: &mut Command, lines: usize) -> Result<()> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start {command:?}"))?;
    let kept = Arc::new(Mutex::new(Kept::default()));
    let copy = |stream: Box<dyn Read + Send>, to_stdout: bool| {
        let kept = Arc::clone(&kept);
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if to_stdout {
                    println!("{line}");
                } else {
                    eprintln!("{line}");
                }
                let mut kept = kept.lock().unwrap_or_else(PoisonError::into_inner);
                kept.keep(line, lines);
            }
        })
    };
    let readers = [
        child.stdout.take().map(|s| copy(Box::new(s), true)),
        child.stderr.take().map(|s| copy(Box::new(s), false)),
    ];
    let status = child.wait()?;
    for reader in readers.into_iter().flatten() {
        let _ = reader.join();
    }
    if !status.success() {
        let kept = kept.lock().unwrap_or_else(PoisonError::into_inner);
        let tail: Vec<&str> = kept.tail.iter().map(String::as_str).collect();
        bail!(
            "{command:?} failed ({status}); the lines of its output that name a failure:\n{}\n\
             and its last lines:\n{}",
            kept.failures.join("\n"),
            tail.join("\n")
        );
    }
    Ok(())
}

/// Runs a command and returns its stdout.
pub(crate) fn output_of(command: &mut Command) -> Result<String> {
    let out = command
        .stderr(Stdio::null())
        .output()
        .with_context(|| format!("could not start {command:?}"))?;
    if !out.status.success() {
        bail!("{command:?} failed ({})", out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `name` is on PATH.
pub(crate) fn has_command(name: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_command_s_error_ends_with_the_last_lines_of_its_output() {
        let error = cmd_keeping_tail(
            Command::new("sh").args(["-c", "(seq 1 50; echo the cause) >&2; exit 3"]),
            5,
        )
        .expect_err("the command exits with 3");
        let message = format!("{error:#}");
        assert!(message.ends_with("the cause"), "{message}");
        assert!(
            message.contains("failure:\n\n"),
            "no line named a failure: {message}"
        );
        assert!(message.contains("\n47\n"), "{message}");
        assert!(!message.contains("\n45\n"), "{message}");
    }

    #[test]
    fn a_failure_printed_long_before_the_end_is_repeated() {
        let error = cmd_keeping_tail(
            Command::new("sh").args(["-c", "echo 'test a_ride ... FAILED'; seq 1 50; exit 101"]),
            5,
        )
        .expect_err("the command exits with 101");
        let message = format!("{error:#}");
        assert!(message.contains("test a_ride ... FAILED"), "{message}");
        assert!(message.ends_with("50"), "{message}");
    }
}
