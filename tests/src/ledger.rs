//! Every write of a load checked against the rows on its home node: acknowledged ones must be
//! there exactly once, abandoned ones at most once.

use std::collections::BTreeMap;

use roam_stack::Stack;

use crate::db::vehicles_by_marker;
use crate::load::Write;

/// Writes checked against the database.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Ledger {
    /// Writes that got a 2xx.
    pub acknowledged: usize,
    /// Acknowledged writes whose row is missing.
    pub lost: usize,
    /// Writes (acknowledged or not) with more than one row.
    pub doubled: usize,
    /// Acknowledged writes whose row has another id than the answer said.
    pub mismatched: usize,
    /// Writes never acknowledged (the client gave up).
    pub abandoned: usize,
    /// Of those, how many did take effect (once) anyway.
    pub abandoned_applied: usize,
}

impl Ledger {
    /// Panics unless the load wrote more than `more_than` times and every acknowledged write is
    /// on its node exactly once, with the id its answer named.
    pub fn assert_exactly_once(&self, more_than: usize) {
        assert!(self.acknowledged > more_than, "the load wrote: {self:?}");
        assert_eq!(self.lost, 0, "nothing acknowledged is lost: {self:?}");
        assert_eq!(self.doubled, 0, "nothing is doubled: {self:?}");
        assert_eq!(self.mismatched, 0, "{self:?}");
    }

    /// Panics if a write that was never acknowledged (refused, or given up on) took effect.
    pub fn assert_no_refused_write_applied(&self) {
        assert_eq!(
            self.abandoned_applied, 0,
            "a refused write had no effect: {self:?}"
        );
    }
}

/// Checks every write of a load against the rows on its home node (local partition only).
pub async fn audit(stack: &Stack, run: &str, writes: &[Write]) -> Ledger {
    let mut rows = BTreeMap::new();
    let mut regions: Vec<&str> = writes.iter().map(|w| w.region).collect();
    regions.sort_unstable();
    regions.dedup();
    for region in regions {
        rows.extend(vehicles_by_marker(stack, region, run).await);
    }
    let mut ledger = Ledger::default();
    for write in writes {
        let found = rows.get(&write.key).map_or(&[][..], Vec::as_slice);
        if found.len() > 1 {
            ledger.doubled += 1;
        }
        match &write.acked {
            Some(id) => {
                ledger.acknowledged += 1;
                if found.is_empty() {
                    ledger.lost += 1;
                } else if !found.contains(id) {
                    ledger.mismatched += 1;
                }
            }
            None => {
                ledger.abandoned += 1;
                ledger.abandoned_applied += usize::from(!found.is_empty());
            }
        }
    }
    ledger
}
