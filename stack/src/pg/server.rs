//! Where the PostgreSQL binaries are and which OS user runs them: `initdb` and pg_auto_failover
//! refuse to run as root, so as root every server command goes through `runuser -u postgres`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context, Result};

use crate::process::run;

/// The OS user that runs servers when we are root.
pub const SERVER_USER: &str = "postgres";

/// Directory with the PostgreSQL server binaries (`pg_config --bindir`, else Debian's path).
pub fn bin_dir() -> Result<PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    let found = DIR.get_or_init(|| {
        let from_pg_config = Command::new("pg_config")
            .arg("--bindir")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
            .filter(|dir| dir.join("initdb").exists());
        from_pg_config.or_else(|| {
            let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path().join("bin"))
                .filter(|dir| dir.join("initdb").exists())
                .collect();
            candidates.sort();
            candidates.pop()
        })
    });
    found.clone().context(
        "PostgreSQL server binaries not found (no initdb): run `cargo xtask bootstrap`, \
         or install the `postgresql` package",
    )
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| {
        Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false)
    })
}

/// A command for a server binary of [`bin_dir`], run as [`SERVER_USER`] when we are root.
pub fn server_command(binary: &str) -> Result<Command> {
    Ok(command_as_server_user(&bin_dir()?.join(binary), &[]))
}

/// A command for `program` with `env` set, run as [`SERVER_USER`] when we are root. The
/// variables go through `env` on the command line: `runuser` resets part of the environment.
pub fn command_as_server_user(program: &Path, env: &[(String, String)]) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", SERVER_USER, "--", "env"]);
        command.args(env.iter().map(|(k, v)| format!("{k}={v}")));
        command.arg(program);
        command
    } else {
        let mut command = Command::new(program);
        command.envs(env.iter().map(|(k, v)| (k, v)));
        command
    }
}

/// Makes a directory the server user's (as root); a no-op otherwise.
pub fn hand_to_server_user(dir: &Path) -> Result<()> {
    if !is_root() {
        return Ok(());
    }
    run(
        "chown",
        Command::new("chown")
            .arg(format!("{SERVER_USER}:"))
            .arg(dir),
    )?;
    Ok(())
}

/// Makes a whole tree the server user's (as root); a no-op otherwise.
pub fn hand_tree_to_server_user(dir: &Path) -> Result<()> {
    if !is_root() {
        return Ok(());
    }
    run(
        "chown -R",
        Command::new("chown")
            .arg("-R")
            .arg(format!("{SERVER_USER}:"))
            .arg(dir),
    )?;
    Ok(())
}
