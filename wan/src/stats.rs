//! A link's counters: updated by its connections and pipes as bytes move, read through its
//! handle as a [`LinkStats`] snapshot.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// A snapshot of a link's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkStats {
    /// Connections accepted.
    pub accepted: u64,
    /// Connections open now.
    pub active: u64,
    /// Connections reset because of a fault.
    pub refused: u64,
    /// Bytes read but not yet written, all connections.
    pub queued_bytes: usize,
    /// The most ever queued at once.
    pub peak_queued_bytes: usize,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) accepted: AtomicU64,
    pub(crate) active: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) queued: AtomicUsize,
    pub(crate) peak_queued: AtomicUsize,
}

impl Counters {
    /// Their values now.
    pub(crate) fn snapshot(&self) -> LinkStats {
        LinkStats {
            accepted: self.accepted.load(Ordering::Relaxed),
            active: self.active.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            queued_bytes: self.queued.load(Ordering::Relaxed),
            peak_queued_bytes: self.peak_queued.load(Ordering::Relaxed),
        }
    }
}
