//! What a link does to traffic right now: its round-trip time, jitter and injected fault, set
//! when the link starts and changed through its handle while it runs.

use std::time::Duration;

/// A fault the link can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// None: bytes flow.
    #[default]
    None,
    /// Cut: open connections are reset and new ones are reset as soon as accepted.
    Refuse,
    /// Partition: nothing moves either way and nobody is told; connections hang until the
    /// fault is lifted (then they are reset) or time out at the peers.
    Blackhole,
}

/// What a link does to traffic right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Conditions {
    /// Round-trip time; each direction waits half of it.
    pub rtt: Duration,
    /// Extra round-trip time drawn uniformly from `[0, jitter]` per chunk (half per
    /// direction); chunks never overtake one another.
    pub jitter: Duration,
    /// The injected fault.
    pub fault: Fault,
}

impl Conditions {
    /// Whether bytes may go straight across.
    pub(crate) fn is_instant(&self) -> bool {
        self.rtt.is_zero() && self.jitter.is_zero()
    }

    /// One direction's delay for a chunk read now.
    pub(crate) fn one_way(&self) -> Duration {
        (self.rtt + random_up_to(self.jitter)) / 2
    }
}

/// A uniformly random duration in `[0, max]`.
pub(crate) fn random_up_to(max: Duration) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    max.mul_f64(rand::random::<f64>())
}
