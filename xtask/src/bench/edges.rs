//! roam's edge in the two runtimes the bench measures it in: plain `workerd serve`, the Worker
//! alone as production runs it (roam_stack::workerd_edge: the figures the targets are judged
//! by), and `wrangler dev` (the development tool: a proxy worker in front and local plumbing,
//! kept as a second column so its cost stays visible).

use std::time::Duration;

use anyhow::{Context, Result};
use roam_stack::edge::{start_edge, EdgeOptions, EdgeProcess};
use roam_stack::workerd_edge::{WorkerdEdge, WorkerdEdgeOptions};
use roam_stack::Stack;

/// Where the edge runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Runtime {
    /// `workerd serve`, the Worker alone on its socket, an in-memory cache service behind it.
    Workerd,
    /// `wrangler dev`.
    WranglerDev,
}

impl Runtime {
    pub(super) const ALL: [Runtime; 2] = [Runtime::Workerd, Runtime::WranglerDev];

    pub(super) fn label(self) -> &'static str {
        match self {
            Runtime::Workerd => "workerd",
            Runtime::WranglerDev => "wrangler dev",
        }
    }

    /// One letter for emails' local parts (64 characters at most), distinct per runtime: both
    /// labels begin with `w`, and a shared tag made the second runtime's sign-ups 409s.
    pub(super) fn letter(self) -> char {
        match self {
            Runtime::Workerd => 'w',
            Runtime::WranglerDev => 'd',
        }
    }
}

/// roam's edge, running.
pub(super) enum Edge {
    Workerd(WorkerdEdge),
    WranglerDev(EdgeProcess),
}

impl Edge {
    /// Starts roam's edge for `stack` in `runtime`; returns it and how long it took to answer.
    pub(super) async fn start(
        stack: &Stack,
        runtime: Runtime,
        tag: &str,
    ) -> Result<(Edge, Duration)> {
        let options = EdgeOptions::new(
            &format!("bench-{tag}"),
            stack.origin_urls(),
            &stack.options.secret,
        );
        let started = std::time::Instant::now();
        let edge = match runtime {
            Runtime::Workerd => Edge::Workerd(
                WorkerdEdge::start(WorkerdEdgeOptions::roam(&options)?)
                    .await
                    .context("starting the edge in workerd")?,
            ),
            Runtime::WranglerDev => Edge::WranglerDev(
                start_edge(options)
                    .await
                    .context("starting the edge under wrangler dev")?,
            ),
        };
        Ok((edge, started.elapsed()))
    }

    pub(super) fn url(&self) -> String {
        match self {
            Edge::Workerd(edge) => edge.url(),
            Edge::WranglerDev(edge) => edge.url(),
        }
    }

    pub(super) fn port(&self) -> u16 {
        match self {
            Edge::Workerd(edge) => edge.port(),
            Edge::WranglerDev(edge) => edge.port(),
        }
    }

    pub(super) fn log_tail(&self, lines: usize) -> String {
        match self {
            Edge::Workerd(edge) => edge.log_tail(lines),
            Edge::WranglerDev(edge) => edge.log_tail(lines),
        }
    }

    /// workerd's process, when it runs alone (for CPU accounting).
    pub(super) fn workerd_pid(&self) -> Option<u32> {
        match self {
            Edge::Workerd(edge) => Some(edge.pid()),
            Edge::WranglerDev(_) => None,
        }
    }
}
