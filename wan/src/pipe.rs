//! One direction of a proxied connection: bytes from a read half to a write half, each chunk
//! held back by the link's one-way delay.
//!
//! While the link adds no delay the bytes go straight across (read, write, repeat: no queue,
//! no timer). Once it has a delay, each chunk is timestamped as it is read and released at
//! `read time + one-way delay` by a writer that works through the chunks in order, so
//! nothing overtakes anything (jitter included). What is queued but not yet written is
//! capped per direction: when the cap is reached the reader stops reading, the kernel's
//! buffers fill and the sender blocks, as it would behind a slow link.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::{sleep_until, Instant};

use crate::conditions::Conditions;
use crate::stats::Counters;

/// Bytes read at once.
pub(crate) const CHUNK: usize = 16 * 1024;

/// What a queued chunk costs the budget beyond its bytes (its bookkeeping), so that a stream
/// of tiny chunks is bounded too.
const CHUNK_OVERHEAD: usize = 64;

/// Copies `r` to `w` until end of stream (then half-closes `w`) or an error.
pub(crate) async fn pipe(
    r: &mut OwnedReadHalf,
    w: &mut OwnedWriteHalf,
    mut ctl: watch::Receiver<Conditions>,
    not_before: Instant,
    budget: usize,
    counters: &Arc<Counters>,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        if !ctl.borrow_and_update().is_instant() {
            break;
        }
        tokio::select! {
            changed = ctl.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
            }
            read = r.read(&mut buf) => {
                let n = read?;
                if n == 0 {
                    return w.shutdown().await;
                }
                w.write_all(&buf[..n]).await?;
            }
        }
    }
    delayed(r, w, ctl, not_before, budget, counters).await
}

/// A chunk on its way: its bytes (empty: end of stream), when it may leave, and the share of
/// the budget it holds until written.
struct Chunk {
    release: Instant,
    data: Vec<u8>,
    _permit: OwnedSemaphorePermit,
    _queued: Queued,
}

/// Counts a chunk's bytes in the link's `queued` gauge while it exists.
struct Queued {
    counters: Arc<Counters>,
    bytes: usize,
}

impl Queued {
    fn new(counters: &Arc<Counters>, bytes: usize) -> Self {
        let now = counters.queued.fetch_add(bytes, Ordering::Relaxed) + bytes;
        counters.peak_queued.fetch_max(now, Ordering::Relaxed);
        Self {
            counters: Arc::clone(counters),
            bytes,
        }
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.counters
            .queued
            .fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

async fn delayed(
    r: &mut OwnedReadHalf,
    w: &mut OwnedWriteHalf,
    ctl: watch::Receiver<Conditions>,
    not_before: Instant,
    budget: usize,
    counters: &Arc<Counters>,
) -> std::io::Result<()> {
    // A budget smaller than one read could never be granted.
    let budget = budget.max(CHUNK + CHUNK_OVERHEAD);
    let semaphore = Arc::new(Semaphore::new(budget));
    let (tx, mut rx) = mpsc::unbounded_channel::<Chunk>();

    let reading = async move {
        let mut buf = vec![0u8; CHUNK];
        loop {
            // Reserve room for a full read before reading, so a full queue stops the reads.
            let mut permit = Arc::clone(&semaphore)
                .acquire_many_owned((CHUNK + CHUNK_OVERHEAD) as u32)
                .await
                .map_err(std::io::Error::other)?;
            let n = r.read(&mut buf).await?;
            drop(permit.split(CHUNK - n));
            let conditions = *ctl.borrow();
            let release = Instant::now().max(not_before) + conditions.one_way();
            let chunk = Chunk {
                release,
                data: buf[..n].to_vec(),
                _permit: permit,
                _queued: Queued::new(counters, n),
            };
            if tx.send(chunk).is_err() || n == 0 {
                return Ok::<(), std::io::Error>(());
            }
        }
    };
    let writing = async {
        while let Some(chunk) = rx.recv().await {
            sleep_precisely_until(chunk.release).await;
            if chunk.data.is_empty() {
                return w.shutdown().await;
            }
            w.write_all(&chunk.data).await?;
        }
        Ok(())
    };
    tokio::try_join!(reading, writing).map(|_| ())
}

/// How much of a wait is left to a precise sleep rather than tokio's timer.
const SLACK: Duration = Duration::from_millis(2);

/// Sleeps until `deadline`, to within a few tens of µs and never early. tokio's timer ticks
/// in whole milliseconds and fires up to a tick late, which would add ~1 ms to every
/// direction of every link; so it covers all but the last [`SLACK`], and a thread of the
/// blocking pool sleeps the rest (an OS sleep, no spinning).
async fn sleep_precisely_until(deadline: Instant) {
    let now = Instant::now();
    if deadline <= now {
        return;
    }
    if deadline - now > SLACK {
        sleep_until(deadline - SLACK).await;
    }
    let rest = deadline.saturating_duration_since(Instant::now());
    if !rest.is_zero() {
        let _ = tokio::task::spawn_blocking(move || std::thread::sleep(rest)).await;
    }
}
