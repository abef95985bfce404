//! How far a ratio of two medians moves by chance alone: a percentile bootstrap over the
//! samples of one run. Where multi-region and single-region take the same path (a user next to
//! the single region), their p50s differ by noise as often as by cost; the interval tells a
//! reader which a 0.98× is.

use std::time::Duration;

use super::report::{ms, Summary};

/// Resamples per interval: enough for stable 2.5th and 97.5th percentiles.
const RESAMPLES: usize = 2_000;

/// The 95 % interval of `p50(single) ÷ p50(multi)`, from resampling each side with replacement
/// (a fixed seed: the same samples always give the same interval); `None` without samples.
pub(super) fn ratio_interval(single: &[Duration], multi: &[Duration]) -> Option<(f64, f64)> {
    if single.is_empty() || multi.is_empty() {
        return None;
    }
    let mut rng = SplitMix64(0x5eed_b007_5742_0f0f);
    let mut resample = |from: &[Duration]| -> Option<f64> {
        let picked: Vec<Duration> = (0..from.len())
            .map(|_| from[(rng.next() % from.len() as u64) as usize])
            .collect();
        Summary::of(&picked).map(|s| ms(s.p50))
    };
    let mut ratios: Vec<f64> = (0..RESAMPLES)
        .filter_map(|_| Some(resample(single)? / resample(multi)?.max(0.001)))
        .collect();
    ratios.sort_by(f64::total_cmp);
    let at = |q: f64| ratios[((q * ratios.len() as f64) as usize).min(ratios.len() - 1)];
    Some((at(0.025), at(0.975)))
}

/// A small, well-known generator (Steele, Lea and Flood's SplitMix64): resampling needs
/// uniform indices, not cryptography.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` samples spread evenly ±10 % around `centre_ms`.
    fn around(centre_ms: f64, n: u32) -> Vec<Duration> {
        (0..n)
            .map(|i| {
                let offset = (f64::from(i) / f64::from(n - 1) - 0.5) * 0.2 * centre_ms;
                Duration::from_secs_f64((centre_ms + offset) / 1000.0)
            })
            .collect()
    }

    #[test]
    fn the_same_distribution_is_within_noise_and_a_real_difference_is_not() {
        let (low, high) = ratio_interval(&around(12.0, 20), &around(12.0, 20)).unwrap();
        assert!(low < 1.0 && high > 1.0, "{low}–{high}");
        let (low, high) = ratio_interval(&around(12.0, 20), &around(14.0, 20)).unwrap();
        assert!(high < 1.0, "{low}–{high}");
        assert_eq!(ratio_interval(&[], &around(12.0, 20)), None);
    }
}
