//! The workers' settings: from flags or environment variables, validated at start.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use roam_shared::RegionMap;

use super::fare::PriceTable;

const WORKERS: usize = 2;
const POLL_MS: u64 = 250;
const MAX_ATTEMPTS: u32 = 8;
const BACKOFF_MS: u64 = 1_000;

/// Flags and variables of the job workers (part of `roam-origin serve`).
#[derive(Debug, Clone, clap::Args)]
pub struct JobArgs {
    /// Job workers in this origin (0: it runs no jobs; the region's other origins do).
    #[arg(long, env = "ROAM_JOBS_WORKERS", default_value_t = WORKERS)]
    pub jobs_workers: usize,
    /// How often an idle worker looks for due jobs, milliseconds.
    #[arg(long, env = "ROAM_JOBS_POLL_MS", default_value_t = POLL_MS)]
    pub jobs_poll_ms: u64,
    /// Failed attempts after which a job is set aside (status `dead`).
    #[arg(long, env = "ROAM_JOBS_MAX_ATTEMPTS", default_value_t = MAX_ATTEMPTS)]
    pub jobs_max_attempts: u32,
    /// Wait before the first retry, milliseconds; doubled per failure, capped at 10 minutes.
    #[arg(long, env = "ROAM_JOBS_BACKOFF_MS", default_value_t = BACKOFF_MS)]
    pub jobs_backoff_ms: u64,
    /// A prices.json to use instead of the built-in price table.
    #[arg(long, env = "ROAM_PRICES")]
    pub prices: Option<PathBuf>,
}

impl Default for JobArgs {
    fn default() -> Self {
        Self {
            jobs_workers: WORKERS,
            jobs_poll_ms: POLL_MS,
            jobs_max_attempts: MAX_ATTEMPTS,
            jobs_backoff_ms: BACKOFF_MS,
            prices: None,
        }
    }
}

/// The validated settings.
#[derive(Debug, Clone)]
pub struct JobConfig {
    /// Concurrent workers.
    pub workers: usize,
    /// Idle poll interval.
    pub poll_interval: Duration,
    /// Failed attempts before a job is set aside.
    pub max_attempts: u32,
    /// First retry's wait.
    pub backoff: Duration,
    /// Ride prices, checked against the region map.
    pub prices: Arc<PriceTable>,
}

impl JobConfig {
    /// Validates `args`; every message names the variable at fault.
    pub fn from_args(args: &JobArgs, map: &RegionMap) -> anyhow::Result<Self> {
        if args.jobs_workers > 64 {
            bail!("ROAM_JOBS_WORKERS must be between 0 and 64");
        }
        if !(10..=60_000).contains(&args.jobs_poll_ms) {
            bail!("ROAM_JOBS_POLL_MS must be between 10 and 60000");
        }
        if !(1..=100).contains(&args.jobs_max_attempts) {
            bail!("ROAM_JOBS_MAX_ATTEMPTS must be between 1 and 100");
        }
        if !(1..=600_000).contains(&args.jobs_backoff_ms) {
            bail!("ROAM_JOBS_BACKOFF_MS must be between 1 and 600000");
        }
        let prices = match &args.prices {
            Some(path) => PriceTable::load(path).context("ROAM_PRICES")?,
            None => PriceTable::builtin()?,
        };
        prices
            .validate(map)
            .context("ROAM_PRICES: the price table does not cover the region map")?;
        Ok(Self {
            workers: args.jobs_workers,
            poll_interval: Duration::from_millis(args.jobs_poll_ms),
            max_attempts: args.jobs_max_attempts,
            backoff: Duration::from_millis(args.jobs_backoff_ms),
            prices: Arc::new(prices),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(args: &JobArgs) -> String {
        format!(
            "{:#}",
            JobConfig::from_args(args, RegionMap::builtin()).unwrap_err()
        )
    }

    #[test]
    fn defaults_are_valid_and_messages_name_the_variable() {
        let c = JobConfig::from_args(&JobArgs::default(), RegionMap::builtin()).unwrap();
        assert_eq!((c.workers, c.max_attempts), (2, 8));
        assert!(error(&JobArgs {
            jobs_workers: 65,
            ..JobArgs::default()
        })
        .contains("ROAM_JOBS_WORKERS"));
        assert!(error(&JobArgs {
            jobs_poll_ms: 0,
            ..JobArgs::default()
        })
        .contains("ROAM_JOBS_POLL_MS"));
        assert!(error(&JobArgs {
            jobs_max_attempts: 0,
            ..JobArgs::default()
        })
        .contains("ROAM_JOBS_MAX_ATTEMPTS"));
        assert!(error(&JobArgs {
            jobs_backoff_ms: 0,
            ..JobArgs::default()
        })
        .contains("ROAM_JOBS_BACKOFF_MS"));
        assert!(error(&JobArgs {
            prices: Some("/nonexistent/prices.json".into()),
            ..JobArgs::default()
        })
        .contains("ROAM_PRICES"));
    }
}
