//! Latency summaries of in-process timings (the scale test).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Mean and percentiles of a set of timings, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Latency {
    /// How many timings.
    pub(crate) samples: usize,
    /// Mean.
    pub(crate) mean_us: f64,
    /// Median.
    pub(crate) p50_us: f64,
    /// 99th percentile.
    pub(crate) p99_us: f64,
    /// Largest.
    pub(crate) max_us: f64,
}

impl Latency {
    /// Summarizes `timings` (nearest-rank percentiles); `None` when empty.
    pub(crate) fn of(mut timings: Vec<Duration>) -> Option<Self> {
        timings.sort_unstable();
        let n = timings.len();
        if n == 0 {
            return None;
        }
        let us = |d: &Duration| d.as_secs_f64() * 1e6;
        let rank = |p: f64| {
            let r = (p / 100.0 * n as f64).ceil() as usize;
            timings.get(r.clamp(1, n) - 1).map(us)
        };
        let total: Duration = timings.iter().sum();
        Some(Self {
            samples: n,
            mean_us: us(&total) / n as f64,
            p50_us: rank(50.0)?,
            p99_us: rank(99.0)?,
            max_us: timings.last().map(us)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let timings = (1..=100).map(Duration::from_micros).collect::<Vec<_>>();
        let l = Latency::of(timings).unwrap();
        assert_eq!(l.samples, 100);
        assert_eq!(l.p50_us, 50.0);
        assert_eq!(l.p99_us, 99.0);
        assert_eq!(l.max_us, 100.0);
        assert!((l.mean_us - 50.5).abs() < 1e-9);
        assert_eq!(Latency::of(Vec::new()), None);
    }
}
