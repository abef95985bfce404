//! The `pg_autoctl` program (Debian's `pg-auto-failover-cli`): where it is, and how it runs
//! here — as the server user, reaching PostgreSQL over TCP on 127.0.0.1, with its
//! configuration, state and pid files under the group's own folder (not the server user's
//! home), so a throwaway group leaves nothing behind and two groups never meet.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::pg::bin_dir;
use crate::pg::server::command_as_server_user;
use crate::process::{run, ManagedChild};

/// The Debian packages that bring pg_auto_failover for the PostgreSQL here.
pub const PACKAGES: [&str; 2] = ["pg-auto-failover-cli", "postgresql-15-auto-failover"];

/// The `pg_autoctl` binary, if installed.
pub(super) fn program() -> Result<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .chain(bin_dir().ok())
        .map(|dir| dir.join("pg_autoctl"))
        .find(|path| path.exists());
    on_path.with_context(|| {
        format!(
            "pg_autoctl not found: run `cargo xtask bootstrap`, or install {}",
            PACKAGES.join(" and ")
        )
    })
}

/// Whether pg_auto_failover can run: the program and the monitor's extension.
pub fn is_installed() -> bool {
    let share = Command::new("pg_config")
        .arg("--sharedir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let extension = share.is_some_and(|dir| dir.join("extension/pgautofailover.control").exists());
    program().is_ok() && extension
}

/// `pg_autoctl` for one group: its environment, and the commands the stack runs.
#[derive(Debug, Clone)]
pub(super) struct Autoctl {
    program: PathBuf,
    env: Vec<(String, String)>,
    config_home: PathBuf,
}

impl Autoctl {
    /// `pg_autoctl` keeping its files under `dir` (which must be the server user's).
    pub(super) fn new(dir: &Path) -> Result<Self> {
        let config_home = dir.join("config");
        let mut env = vec![
            // pg_autoctl connects to the local server without a host; sockets are not where
            // it looks (each node has its own socket folder), TCP is.
            ("PGHOST".to_string(), "127.0.0.1".to_string()),
            ("XDG_CONFIG_HOME".into(), config_home.display().to_string()),
            (
                "XDG_DATA_HOME".into(),
                dir.join("data").display().to_string(),
            ),
            (
                "XDG_RUNTIME_DIR".into(),
                dir.join("run").display().to_string(),
            ),
        ];
        // pg_autoctl runs `pg_ctl` and `pg_basebackup`: the server binaries go first.
        let path = std::env::var("PATH").unwrap_or_default();
        env.push(("PATH".into(), format!("{}:{path}", bin_dir()?.display())));
        for sub in ["config", "data", "run"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        Ok(Self {
            program: program()?,
            env,
            config_home,
        })
    }

    /// Whether `pg_autoctl create` has already run for `pgdata` (its configuration exists).
    pub(super) fn is_created(&self, pgdata: &Path) -> bool {
        let relative = pgdata.strip_prefix("/").unwrap_or(pgdata);
        self.config_home
            .join("pg_autoctl")
            .join(relative)
            .join("pg_autoctl.cfg")
            .exists()
    }

    /// A `pg_autoctl` command with `args`.
    pub(super) fn command(&self, args: &[String]) -> Command {
        let mut command = command_as_server_user(&self.program, &self.env);
        command.args(args);
        command
    }

    /// Starts a long-running `pg_autoctl` (a `create … --run` or a `run`) in a process group
    /// of its own, logging to `log`.
    pub(super) fn spawn(&self, name: &str, args: &[String], log: &Path) -> Result<ManagedChild> {
        ManagedChild::spawn(name, self.command(args), log)
    }

    /// `pg_autoctl config set` on a running node: pg_autoctl reloads its service.
    pub(super) fn config_set(&self, pgdata: &Path, option: &str, value: &str) -> Result<()> {
        let args = [
            "config".to_string(),
            "set".into(),
            "--pgdata".into(),
            pgdata.display().to_string(),
            option.into(),
            value.into(),
        ];
        run(
            &format!("pg_autoctl config set {option}"),
            &mut self.command(&args),
        )
        .map(|_| ())
    }
}

/// `--pgctl` for every pg_autoctl command that creates a node.
pub(super) fn pg_ctl_arg() -> Result<Vec<String>> {
    Ok(vec![
        "--pgctl".into(),
        bin_dir()?.join("pg_ctl").display().to_string(),
    ])
}
