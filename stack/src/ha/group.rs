//! One region's database under pg_auto_failover: a monitor and two data nodes (a primary and
//! its synchronous standby), each supervised by a `pg_autoctl` in a process group of its own,
//! so a node can be killed whole (supervisor and server, as a crashed machine) and restarted.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::autoctl::Autoctl;
use super::monitor::{self, NodeState};
use super::multi_host_url;
use super::settings::FailoverSettings;
use crate::pg::reap_servers_when_gone;
use crate::pg::server::hand_tree_to_server_user;
use crate::process::ManagedChild;

/// Building a standby (`pg_basebackup`) and the first registrations, on a loaded machine.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(180);

/// How to start one region's group.
#[derive(Debug, Clone)]
pub struct GroupOptions {
    /// The region whose rows the group stores.
    pub region: String,
    /// Its folder: data directories, logs, pg_autoctl's files.
    pub root: PathBuf,
    /// Ports on 127.0.0.1: the monitor's, then the two data nodes'.
    pub ports: [u16; 3],
    /// How fast the monitor fails over.
    pub failover: FailoverSettings,
    /// Kill everything and delete `root` when this process exits, however it exits (tests).
    pub reap_on_exit: bool,
}

/// A data node: a PostgreSQL server and its keeper.
#[derive(Debug)]
pub struct HaNode {
    /// Its name on the monitor (`<region>-a`, `<region>-b`).
    pub name: String,
    /// Its PostgreSQL port on 127.0.0.1.
    pub port: u16,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// What its `pg_autoctl` prints (PostgreSQL's own log is `data_dir/log/`).
    pub log_file: PathBuf,
    pub(super) keeper: Option<ManagedChild>,
}

impl HaNode {
    /// The URL of a database on this node alone.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// The keeper's process group, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.keeper.as_ref().map(ManagedChild::pid)
    }
}

/// A running group; dropping it stops its processes.
#[derive(Debug)]
pub struct HaGroup {
    /// How it was started.
    pub options: GroupOptions,
    /// The monitor's data directory.
    pub monitor_dir: PathBuf,
    /// What the monitor's `pg_autoctl` prints.
    pub monitor_log: PathBuf,
    /// The two data nodes, `a` then `b` (`a` was the first primary).
    pub nodes: Vec<HaNode>,
    pub(super) monitor: Option<ManagedChild>,
    pub(super) autoctl: Autoctl,
}

impl HaGroup {
    /// Starts the monitor and both data nodes and waits until one is primary and the other
    /// its synchronous standby. Data directories that exist are reused (`pg_autoctl run`).
    pub async fn start(options: GroupOptions) -> Result<HaGroup> {
        let root = options.root.clone();
        let sockets = root.join("sockets");
        for dir in [&root, &sockets] {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let autoctl = Autoctl::new(&root.join("autoctl"))?;
        hand_tree_to_server_user(&root)?;
        let [_, port_a, port_b] = options.ports;
        let node = |suffix: &str, port| HaNode {
            name: format!("{}-{suffix}", options.region),
            port,
            data_dir: root.join(suffix),
            log_file: root.join(format!("{suffix}.log")),
            keeper: None,
        };
        let mut group = HaGroup {
            monitor_dir: root.join("monitor"),
            monitor_log: root.join("monitor.log"),
            nodes: vec![node("a", port_a), node("b", port_b)],
            monitor: None,
            autoctl,
            options,
        };
        if group.options.reap_on_exit {
            reap_servers_when_gone(std::process::id(), &root, &group.data_dirs(), &[])?;
        }
        let fresh = !group.autoctl.is_created(&group.monitor_dir);
        if fresh {
            group.init_data_dirs(&sockets).await?;
        }
        group.start_monitor(fresh).await?;
        if fresh {
            group.spawn_keeper(0, true)?;
            group
                .wait_for("the first node registered", |s| {
                    s.iter().any(NodeState::is_primary)
                })
                .await?;
            group.spawn_keeper(1, true)?;
        } else {
            group.spawn_keeper(0, false)?;
            group.spawn_keeper(1, false)?;
        }
        group.wait_settled().await?;
        for node in &group.nodes {
            for (option, value) in group.options.failover.keeper_config() {
                group.autoctl.config_set(&node.data_dir, option, &value)?;
            }
        }
        Ok(group)
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.options.region
    }

    /// The monitor's port.
    pub fn monitor_port(&self) -> u16 {
        self.options.ports[0]
    }

    /// The data nodes' ports, `a` then `b`.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// The libpq URL that reaches whichever node is primary now (not for sqlx, which takes
    /// one host).
    pub fn multi_host_url(&self, database: &str) -> String {
        multi_host_url(&self.ports(), database)
    }

    /// Every data directory, the monitor's first.
    pub fn data_dirs(&self) -> Vec<PathBuf> {
        let nodes = self.nodes.iter().map(|n| n.data_dir.clone());
        std::iter::once(self.monitor_dir.clone())
            .chain(nodes)
            .collect()
    }

    /// The supervisors' process groups (monitor, then nodes), while they run.
    pub fn pids(&self) -> Vec<u32> {
        let monitor = self.monitor.as_ref().map(ManagedChild::pid);
        monitor
            .into_iter()
            .chain(self.nodes.iter().filter_map(HaNode::pid))
            .collect()
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Result<&HaNode> {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .with_context(|| format!("no node {name} in {}", self.region()))
    }

    /// What the monitor knows of the data nodes now.
    pub async fn states(&self) -> Result<Vec<NodeState>> {
        monitor::node_states(self.monitor_port()).await
    }

    /// The monitor's latest events, oldest first.
    pub async fn events(&self, limit: u32) -> Result<Vec<String>> {
        monitor::events(self.monitor_port(), limit).await
    }

    /// Polls the monitor until `done` holds (fails after a generous timeout, with events).
    pub async fn wait_for(
        &self,
        what: &str,
        done: impl Fn(&[NodeState]) -> bool,
    ) -> Result<Vec<NodeState>> {
        let what = format!("{} {what}", self.region());
        monitor::wait_for(self.monitor_port(), &what, SETTLE_TIMEOUT, done).await
    }

    /// Waits until one node is primary and the other its standby, both healthy.
    pub async fn wait_settled(&self) -> Result<()> {
        self.wait_for("settled as primary and standby", |states| {
            let healthy = states.len() == 2 && states.iter().all(|s| s.healthy);
            healthy
                && states
                    .iter()
                    .any(|s| s.reported == "primary" && s.goal == "primary")
                && states.iter().any(NodeState::is_secondary)
        })
        .await
        .map(|_| ())
    }

    pub(super) fn index_of(&self, name: &str) -> Result<usize> {
        match self.nodes.iter().position(|n| n.name == name) {
            Some(index) => Ok(index),
            None => bail!("no node {name} in {}", self.region()),
        }
    }
}

impl Drop for HaGroup {
    fn drop(&mut self) {
        self.stop();
    }
}
