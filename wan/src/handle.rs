//! The handle of a running link: its address, run-time changes, faults, counters, stop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::conditions::{Conditions, Fault};
use crate::stats::{Counters, LinkStats};

/// A running link. Dropping it stops it (and drops its connections) too.
#[derive(Debug)]
pub struct LinkHandle {
    pub(crate) addr: SocketAddr,
    pub(crate) target: SocketAddr,
    pub(crate) control: Arc<watch::Sender<Conditions>>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) stop: Option<oneshot::Sender<()>>,
    pub(crate) task: Option<JoinHandle<()>>,
}

impl LinkHandle {
    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the link forwards to.
    pub fn target(&self) -> SocketAddr {
        self.target
    }

    /// The current conditions.
    pub fn conditions(&self) -> Conditions {
        *self.control.borrow()
    }

    /// Changes the RTT; applies to bytes read from now on, on open connections too.
    pub fn set_rtt(&self, rtt: Duration) {
        self.control.send_modify(|c| c.rtt = rtt);
    }

    /// Changes the jitter.
    pub fn set_jitter(&self, jitter: Duration) {
        self.control.send_modify(|c| c.jitter = jitter);
    }

    /// Injects (or with [`Fault::None`] lifts) a fault.
    pub fn set_fault(&self, fault: Fault) {
        self.control.send_modify(|c| c.fault = fault);
    }

    /// Cuts the link: resets open connections and refuses new ones.
    pub fn cut(&self) {
        self.set_fault(Fault::Refuse);
    }

    /// Lifts any fault.
    pub fn restore(&self) {
        self.set_fault(Fault::None);
    }

    /// Counters since the link started.
    pub fn stats(&self) -> LinkStats {
        self.counters.snapshot()
    }

    /// Stops listening and drops every connection; returns when the port is closed.
    pub async fn stop(mut self) {
        self.signal_stop();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn signal_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for LinkHandle {
    fn drop(&mut self) {
        self.signal_stop();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
