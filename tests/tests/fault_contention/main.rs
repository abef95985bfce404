//! Many clients at once on the same rows: 200 concurrent ride starts on 20 vehicles, one write
//! retried 20× concurrently under one idempotency key across two origins (and through the
//! edge), and an origin that is slow or silent behind the latency proxy.
//!
//! One stack serves the binary; each test (a module each) starts the edge it needs.

mod slow_origin;
mod starts;
mod storm;

use roam_e2e::world::start_stack;
use roam_stack::Stack;
use tokio::sync::OnceCell;

const PASSWORD: &str = "fault contention password";

/// Statics are never dropped: the stack's reapers stop it when the binary exits.
async fn stack() -> &'static Stack {
    static STACK: OnceCell<Stack> = OnceCell::const_new();
    STACK.get_or_init(|| start_stack("fault-contention")).await
}
