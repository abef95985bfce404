//! The PostgreSQL settings of a group's servers, written to `postgresql.auto.conf` before
//! pg_autoctl first starts them. That file is read last, so it overrides what pg_autoctl tunes
//! for a dedicated machine (a quarter of the RAM as shared buffers, per server), and
//! `pg_basebackup` copies it, so a standby gets its primary's settings.

use std::path::Path;

use anyhow::{Context, Result};

use super::settings::FailoverSettings;
use crate::pg::NODE_SETTINGS;

/// Settings pg_autoctl owns on a data node (it passes the address and port itself).
const OWNED_BY_AUTOCTL: [&str; 2] = ["listen_addresses", "unix_socket_directories"];

/// A data node's settings: a single node's ([`NODE_SETTINGS`]) plus what replication needs.
pub(super) fn data_node(socket_dir: &Path) -> Vec<String> {
    let mut lines: Vec<String> = NODE_SETTINGS
        .iter()
        .filter_map(|setting| setting.split_once('='))
        .filter(|(name, _)| !OWNED_BY_AUTOCTL.contains(name))
        .map(|(name, value)| format!("{name} = '{value}'"))
        .collect();
    lines.extend(common(socket_dir));
    lines
}

/// The monitor's settings: small, and how fast it fails over.
pub(super) fn monitor(socket_dir: &Path, failover: &FailoverSettings) -> Vec<String> {
    let mut lines = vec![
        "shared_buffers = '16MB'".to_string(),
        "fsync = 'off'".into(),
        "full_page_writes = 'off'".into(),
        "log_min_messages = 'warning'".into(),
    ];
    lines.extend(common(socket_dir));
    lines.extend(failover.monitor_conf());
    lines
}

fn common(socket_dir: &Path) -> Vec<String> {
    vec![
        // pg_rewind's crash recovery starts a server without TCP: it needs a socket, and
        // /var/run/postgresql is not ours to use.
        format!("unix_socket_directories = '{}'", socket_dir.display()),
        // pg_basebackup asks for a spread checkpoint, which paces even a handful of dirty
        // pages over minutes: a standby took 94 s to build. Nothing here needs the I/O spread.
        "checkpoint_completion_target = 0".into(),
    ]
}

/// Appends `lines` to `data_dir`'s `postgresql.auto.conf`.
pub(super) fn append(data_dir: &Path, lines: &[String]) -> Result<()> {
    use std::io::Write;
    let path = data_dir.join("postgresql.auto.conf");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    writeln!(file, "# roam-stack")?;
    for line in lines {
        writeln!(file, "{line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_nodes_keep_the_single_node_settings_but_not_the_address() {
        let lines = data_node(Path::new("/tmp/s"));
        assert!(lines.contains(&"fsync = 'off'".to_string()));
        assert!(lines.contains(&"unix_socket_directories = '/tmp/s'".to_string()));
        assert!(!lines.iter().any(|l| l.starts_with("listen_addresses")));
        let monitor = monitor(Path::new("/tmp/s"), &FailoverSettings::loopback());
        assert!(!monitor.iter().any(|l| l.starts_with("shared_preload")));
        assert!(monitor.iter().any(|l| l.starts_with("pgautofailover.")));
    }
}
