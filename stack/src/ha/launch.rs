//! How a group's processes are launched: data directories made with our settings, then each
//! `pg_autoctl` (`create … --run` the first time, `run` after) in a process group of its own,
//! with a reaper when the group must not outlive this process.

use std::path::Path;

use anyhow::{Context, Result};

use super::autoctl::pg_ctl_arg;
use super::conf;
use super::group::HaGroup;
use super::monitor;
use crate::pg::PgNode;
use crate::process::{reap_group_when_gone, ManagedChild};

/// How long the monitor may take to accept connections after its start.
const MONITOR_UP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

impl HaGroup {
    pub(super) async fn init_data_dirs(&self, sockets: &Path) -> Result<()> {
        let monitor = self.throwaway_node(&self.monitor_dir, &self.monitor_log);
        let first = self.throwaway_node(&self.nodes[0].data_dir, &self.nodes[0].log_file);
        // initdb is most of a group's start: the two run side by side.
        let (m, f) = tokio::join!(
            tokio::task::spawn_blocking(move || monitor.init()),
            tokio::task::spawn_blocking(move || first.init()),
        );
        m??;
        f??;
        conf::append(
            &self.monitor_dir,
            &conf::monitor(sockets, &self.options.failover),
        )?;
        conf::append(&self.nodes[0].data_dir, &conf::data_node(sockets))
    }

    fn throwaway_node(&self, data_dir: &Path, log_file: &Path) -> PgNode {
        PgNode {
            region: self.region().to_string(),
            port: 0,
            data_dir: data_dir.to_path_buf(),
            log_file: log_file.to_path_buf(),
        }
    }

    pub(super) async fn start_monitor(&mut self, create: bool) -> Result<()> {
        let pgdata = self.monitor_dir.display().to_string();
        let port = self.monitor_port().to_string();
        let mut args: Vec<String> = if create {
            let args = ["create", "monitor", "--pgdata", &pgdata, "--pgport", &port];
            let rest = ["--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl"];
            args.iter().chain(&rest).map(|s| s.to_string()).collect()
        } else {
            vec!["run".into(), "--pgdata".into(), pgdata]
        };
        if create {
            args.extend(pg_ctl_arg()?);
            args.push("--run".into());
        }
        let name = format!("pg_auto_failover monitor {}", self.region());
        let child = self.autoctl.spawn(&name, &args, &self.monitor_log)?;
        self.adopt(&child)?;
        self.monitor = Some(child);
        monitor::wait_for(
            self.monitor_port(),
            &format!("{name} up"),
            MONITOR_UP_TIMEOUT,
            |_| true,
        )
        .await
        .with_context(|| format!("see {}", self.monitor_log.display()))
        .map(|_| ())
    }

    /// Starts node `index`'s keeper: `create … --run` the first time, `run` after.
    pub(super) fn spawn_keeper(&mut self, index: usize, create: bool) -> Result<()> {
        let node = &self.nodes[index];
        let pgdata = node.data_dir.display().to_string();
        let mut args: Vec<String> = vec!["run".into(), "--pgdata".into(), pgdata.clone()];
        if create {
            let port = node.port.to_string();
            let monitor = monitor::keeper_url(self.monitor_port());
            args = [
                "create",
                "postgres",
                "--pgdata",
                &pgdata,
                "--pgport",
                &port,
                "--pghost",
                "127.0.0.1",
                "--listen",
                "127.0.0.1",
                "--hostname",
                "127.0.0.1",
                "--name",
                &node.name,
                "--auth",
                "trust",
                "--no-ssl",
                "--monitor",
                &monitor,
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            args.extend(pg_ctl_arg()?);
            args.push("--run".into());
        }
        let name = format!("pg_autoctl {}", node.name);
        let child = self.autoctl.spawn(&name, &args, &node.log_file)?;
        self.adopt(&child)?;
        self.nodes[index].keeper = Some(child);
        Ok(())
    }

    /// Gives a new supervisor its reaper when the group must not outlive this process.
    pub(super) fn adopt(&self, child: &ManagedChild) -> Result<()> {
        if self.options.reap_on_exit {
            reap_group_when_gone(std::process::id(), child.pid(), None)?;
        }
        Ok(())
    }
}
