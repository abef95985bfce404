//! A link: a listening port forwarded to a target with a round-trip time, changeable while it
//! runs, and faults to inject.
//!
//! Each accepted connection gets its own connection to the target and two [`pipe`]s, one per
//! direction, each delayed by half the RTT. A new connection pays one RTT before its first
//! byte moves (TCP's handshake), so connection set-up costs what it costs on a real path.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::conditions::{Conditions, Fault};
use crate::handle::LinkHandle;
use crate::pipe::pipe;
use crate::stats::Counters;

/// Default cap on bytes held back per connection and direction.
pub const DEFAULT_BUFFER_BYTES: usize = 1024 * 1024;

/// How to start a link: `Link::new(target).rtt(…).start().await`.
#[derive(Debug, Clone)]
pub struct Link {
    target: SocketAddr,
    listen: SocketAddr,
    conditions: Conditions,
    buffer_bytes: usize,
    handshake: bool,
}

impl Link {
    /// A link to `target`, listening on a free loopback port, with no delay.
    pub fn new(target: SocketAddr) -> Self {
        Self {
            target,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            conditions: Conditions::default(),
            buffer_bytes: DEFAULT_BUFFER_BYTES,
            handshake: true,
        }
    }

    /// Where to listen (default `127.0.0.1:0`).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// The round-trip time.
    pub fn rtt(mut self, rtt: Duration) -> Self {
        self.conditions.rtt = rtt;
        self
    }

    /// Jitter: up to this much extra round-trip time per chunk.
    pub fn jitter(mut self, jitter: Duration) -> Self {
        self.conditions.jitter = jitter;
        self
    }

    /// Cap on bytes held back per connection and direction (default 1 MiB). It also caps
    /// throughput at about `buffer / one-way delay`.
    pub fn buffer_bytes(mut self, bytes: usize) -> Self {
        self.buffer_bytes = bytes;
        self
    }

    /// Whether a new connection waits one RTT before its first byte moves (default yes).
    pub fn handshake(mut self, on: bool) -> Self {
        self.handshake = on;
        self
    }

    /// Binds and starts forwarding in the current tokio runtime.
    pub async fn start(self) -> std::io::Result<LinkHandle> {
        let listener = TcpListener::bind(self.listen).await?;
        let addr = listener.local_addr()?;
        let (control, _) = watch::channel(self.conditions);
        let control = Arc::new(control);
        let counters = Arc::new(Counters::default());
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept_loop(
            listener,
            self.clone(),
            Arc::clone(&control),
            Arc::clone(&counters),
            stopped,
        ));
        tracing::debug!(%addr, target = %self.target, rtt = ?self.conditions.rtt, "link up");
        Ok(LinkHandle {
            addr,
            target: self.target,
            control,
            counters,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

async fn accept_loop(
    listener: TcpListener,
    link: Link,
    control: Arc<watch::Sender<Conditions>>,
    counters: Arc<Counters>,
    mut stopped: oneshot::Receiver<()>,
) {
    let link = Arc::new(link);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    connections.spawn(connection(
                        client,
                        Arc::clone(&link),
                        control.subscribe(),
                        Arc::clone(&counters),
                    ));
                }
                Err(error) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
        }
    }
    drop(listener);
    connections.shutdown().await;
}

/// Decrements the open-connection gauge when a connection ends, however it ends.
struct Active(Arc<Counters>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn connection(
    client: TcpStream,
    link: Arc<Link>,
    mut ctl: watch::Receiver<Conditions>,
    counters: Arc<Counters>,
) {
    counters.accepted.fetch_add(1, Ordering::Relaxed);
    counters.active.fetch_add(1, Ordering::Relaxed);
    let _active = Active(Arc::clone(&counters));
    let accepted_at = Instant::now();
    let now = *ctl.borrow_and_update();
    if now.fault != Fault::None {
        counters.refused.fetch_add(1, Ordering::Relaxed);
        if now.fault == Fault::Blackhole {
            wait_for_fault(&mut ctl, |f| f != Fault::Blackhole).await;
        }
        reset(&client);
        return;
    }
    let upstream = match TcpStream::connect(link.target).await {
        Ok(upstream) => upstream,
        Err(error) => {
            tracing::debug!(%error, target = %link.target, "target unreachable");
            reset(&client);
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let not_before = if link.handshake {
        accepted_at + now.rtt
    } else {
        accepted_at
    };

    let (mut cr, mut cw) = client.into_split();
    let (mut ur, mut uw) = upstream.into_split();
    let fault = {
        let (up_ctl, down_ctl) = (ctl.clone(), ctl.clone());
        let forward = async {
            let (budget, c) = (link.buffer_bytes, &counters);
            let up = pipe(&mut cr, &mut uw, up_ctl, not_before, budget, c);
            let down = pipe(&mut ur, &mut cw, down_ctl, not_before, budget, c);
            // Either direction failing ends the connection (a reset, a dead peer).
            let _ = tokio::try_join!(up, down);
        };
        tokio::select! {
            _ = forward => None,
            fault = wait_for_fault(&mut ctl, |f| f != Fault::None) => Some(fault),
        }
    };
    if let Some(fault) = fault {
        counters.refused.fetch_add(1, Ordering::Relaxed);
        if fault == Fault::Blackhole {
            wait_for_fault(&mut ctl, |f| f != Fault::Blackhole).await;
        }
        reset(cr.as_ref());
        reset(ur.as_ref());
    }
}

/// Waits until the fault satisfies `until`; returns it. Never returns once the link is gone.
async fn wait_for_fault(
    ctl: &mut watch::Receiver<Conditions>,
    until: impl Fn(Fault) -> bool,
) -> Fault {
    let fault = ctl.wait_for(|c| until(c.fault)).await.map(|c| c.fault);
    match fault {
        Ok(fault) => fault,
        Err(_) => std::future::pending().await,
    }
}

/// Makes the coming close a reset (RST) rather than an orderly FIN, as a cut cable does.
fn reset(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
}
