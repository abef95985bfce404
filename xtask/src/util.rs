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

/// Runs a command with its output shown as it comes; when it fails, the error carries the
/// last `lines` lines of that output (stdout and stderr as they arrived), so a summary
/// printed after many steps still ends with the cause.
pub(crate) fn cmd_keeping_tail(command: &mut Command, lines: usize) -> Result<()> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start {command:?}"))?;
    let tail = Arc::new(Mutex::new(VecDeque::with_capacity(lines)));
    let copy = |stream: Box<dyn Read + Send>, to_stdout: bool| {
        let tail = Arc::clone(&tail);
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if to_stdout {
                    println!("{line}");
                } else {
                    eprintln!("{line}");
                }
                let mut tail = tail.lock().unwrap_or_else(PoisonError::into_inner);
                if tail.len() == lines {
                    tail.pop_front();
                }
                tail.push_back(line);
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
        let tail = tail.lock().unwrap_or_else(PoisonError::into_inner);
        let tail: Vec<&str> = tail.iter().map(String::as_str).collect();
        bail!(
            "{command:?} failed ({status}); its output ended:\n{}",
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
        assert!(message.contains("\n47\n"), "{message}");
        assert!(!message.contains("\n45\n"), "{message}");
    }
}
