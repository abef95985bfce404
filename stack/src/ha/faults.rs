//! What tests (and a developer) do to a group: find the primary, kill a node as a crash does,
//! bring it back (as a standby, whatever it was), stop the group.

use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::group::{HaGroup, HaNode};
use super::monitor::NodeState;
use crate::pg::psql;
use crate::process::{children_of, run, signal_group};

impl HaGroup {
    /// The node the monitor says is primary now (settled: reported as assigned).
    pub async fn primary(&self) -> Result<&HaNode> {
        let states = self.states().await?;
        let primary = states.iter().find(|s| s.is_primary());
        match primary {
            Some(state) => self.node(&state.name),
            None => bail!("{}: no settled primary now: {states:?}", self.region()),
        }
    }

    /// The node the monitor says is the primary's synchronous standby now.
    pub async fn standby(&self) -> Result<&HaNode> {
        let states = self.states().await?;
        match states.iter().find(|s| s.is_secondary()) {
            Some(state) => self.node(&state.name),
            None => bail!("{}: no settled standby now: {states:?}", self.region()),
        }
    }

    /// The node that takes a write now, asked of the nodes themselves rather than the
    /// monitor: out of recovery and not read-only (a promoted standby is read-only until the
    /// demote timeout has passed). `None` while no node does.
    pub async fn writable(&self) -> Option<&HaNode> {
        for node in &self.nodes {
            let url = format!("{}?connect_timeout=2", node.url("postgres"));
            let sql = "SELECT NOT pg_is_in_recovery() AND NOT current_setting('transaction_read_only')::bool";
            if psql(&url, sql.into())
                .await
                .is_ok_and(|out| out.trim() == "t")
            {
                return Some(node);
            }
        }
        None
    }

    /// Kills node `name` as a crash would: SIGKILL to its keeper's process group (the keeper
    /// and the postmaster) and to the postmaster's children (each in its own session), all in
    /// one `kill`.
    pub fn kill(&mut self, name: &str) -> Result<()> {
        let index = self.index_of(name)?;
        let node = &mut self.nodes[index];
        let mut keeper = node
            .keeper
            .take()
            .with_context(|| format!("{name} is not running"))?;
        let postmaster = std::fs::read_to_string(node.data_dir.join("postmaster.pid"))
            .ok()
            .and_then(|text| text.lines().next()?.trim().parse::<u32>().ok());
        let mut targets = vec!["--".to_string(), format!("-{}", keeper.pid())];
        for pid in postmaster.into_iter().flat_map(|pm| {
            let mut all = children_of(pm);
            all.push(pm);
            all
        }) {
            targets.push(pid.to_string());
        }
        // Some of the children may be gone already: kill's status does not matter.
        let _ = run(
            "kill -9",
            std::process::Command::new("kill")
                .arg("-KILL")
                .args(&targets),
        );
        keeper.kill();
        Ok(())
    }

    /// Whether node `name`'s keeper runs (it was not killed).
    pub fn is_running(&self, name: &str) -> bool {
        self.node(name).is_ok_and(|n| n.keeper.is_some())
    }

    /// Starts killed node `name` again and waits until it has rejoined: a synchronous standby
    /// (a former primary is rewound, or rebuilt, to follow the current one), or the primary
    /// again when no other node took over (both were down).
    pub async fn restart(&mut self, name: &str) -> Result<NodeState> {
        let index = self.index_of(name)?;
        if self.nodes[index].keeper.is_some() {
            bail!("{name} is running");
        }
        self.spawn_keeper(index, false)?;
        let states = self
            .wait_for(&format!("{name} back"), |states| {
                states
                    .iter()
                    .any(|s| s.name == name && s.healthy && (s.is_secondary() || s.is_primary()))
            })
            .await?;
        let state = states
            .into_iter()
            .find(|s| s.name == name)
            .context("the node the monitor just reported")?;
        let node = &self.nodes[index];
        let in_recovery = psql(&node.url("postgres"), "SELECT pg_is_in_recovery()".into())
            .await
            .with_context(|| format!("asking {name} whether it is a standby"))?;
        if state.is_secondary() != (in_recovery.trim() == "t") {
            bail!(
                "{name} rejoined as {} but pg_is_in_recovery() says {in_recovery}",
                state.reported
            );
        }
        Ok(state)
    }

    /// Stops the monitor first (so nothing fails over while the group goes down), then both
    /// keepers together (each stops its server, committed data kept).
    pub fn stop(&mut self) {
        if let Some(mut monitor) = self.monitor.take() {
            monitor.stop(Duration::from_secs(20));
        }
        let mut keepers: Vec<_> = self
            .nodes
            .iter_mut()
            .filter_map(|n| n.keeper.take())
            .collect();
        for keeper in &keepers {
            signal_group(keeper.pid(), "TERM");
        }
        for keeper in &mut keepers {
            keeper.stop(Duration::from_secs(20));
        }
    }
}
