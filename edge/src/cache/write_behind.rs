//! Cache writes after the answer: an entry stored on a miss and the soft purge after a write
//! go out in `ctx.wait_until`, so a reader or writer waits on its origin only, not on the
//! cache's own round trips as well (two for a store, two per key for a purge).
//!
//! A lookup of a key waits for the writes to it that are in flight in this isolate when it
//! starts, as if they had been awaited: a client's next request sees what its last one stored
//! or purged (requests of one client meet the same isolate). Writes to the same key from
//! concurrent requests overlap, as they did when each request awaited its own.
//!
//! The waiting polls a per-isolate table on a timer that backs off rather than awaiting the
//! other request's future: workerd refuses I/O objects (the cache's promises) across requests.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::time::Duration;

use worker::{Context, Delay};

use crate::now_ms;

thread_local! {
    /// Key → the numbers of the writes to it still in flight, oldest first.
    static WRITING: RefCell<HashMap<String, VecDeque<u64>>> = RefCell::new(HashMap::new());
    static NEXT: RefCell<u64> = const { RefCell::new(0) };
}

/// Longest a lookup waits on writes in flight: a cache that stalls costs a read this much at
/// most, and then it goes on as if the write had not happened yet.
const WAIT_MS: f64 = 100.0;
/// A waiter looks again after 1 ms, then 2, 4, 8, 16 (a write usually lands within the first).
const FIRST_POLL_MS: u64 = 1;
const LAST_POLL_MS: u64 = 16;

/// Runs `write` (cache writes to `keys`) after the answer; lookups of `keys` that start before
/// it is done wait for it.
pub fn after_answer(ctx: &Context, keys: Vec<String>, write: impl Future<Output = ()> + 'static) {
    let number = NEXT.with(|n| {
        let mut n = n.borrow_mut();
        *n += 1;
        *n
    });
    WRITING.with(|w| {
        let mut w = w.borrow_mut();
        for key in &keys {
            w.entry(key.clone()).or_default().push_back(number);
        }
    });
    ctx.wait_until(async move {
        write.await;
        WRITING.with(|w| {
            let mut w = w.borrow_mut();
            for key in &keys {
                if let Some(numbers) = w.get_mut(key) {
                    numbers.retain(|n| *n != number);
                    if numbers.is_empty() {
                        w.remove(key);
                    }
                }
            }
        });
    });
}

/// Waits until the writes to `key` in flight in this isolate now are done (not later ones: a
/// steady stream of writes to a key never holds its readers for long).
pub async fn settled(key: &str) {
    let now = NEXT.with(|n| *n.borrow()) + 1;
    wait_while(|| in_flight_before(key, now)).await;
}

/// Whether a write to `key` numbered before `number` is still in flight.
fn in_flight_before(key: &str, number: u64) -> bool {
    WRITING.with(|w| {
        w.borrow()
            .get(key)
            .and_then(VecDeque::front)
            .is_some_and(|oldest| *oldest < number)
    })
}

async fn wait_while(busy: impl Fn() -> bool) {
    let started = now_ms();
    let mut poll = FIRST_POLL_MS;
    while busy() && now_ms() - started < WAIT_MS {
        Delay::from(Duration::from_millis(poll)).await;
        poll = (poll * 2).min(LAST_POLL_MS);
    }
}
