//! A fixed request rate: a ticker hands out one permit per period; every request takes one.
//! Permits not taken pile up to a small backlog; past it a tick is counted as missed (the
//! clients could not keep the rate because the server was too slow).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::MissedTickBehavior;

/// The shared pacer.
#[derive(Clone)]
pub(crate) struct Pacer {
    permits: Arc<Semaphore>,
    missed: Arc<AtomicU64>,
    stopped: Arc<AtomicBool>,
}

impl Pacer {
    /// Starts a ticker of `rate` permits per second with a backlog of `backlog` permits.
    pub(crate) fn start(rate: u32, backlog: usize) -> Self {
        let pacer = Self {
            permits: Arc::new(Semaphore::new(0)),
            missed: Arc::new(AtomicU64::new(0)),
            stopped: Arc::new(AtomicBool::new(false)),
        };
        let ticker = pacer.clone();
        let period = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
        drop(tokio::spawn(async move {
            let mut interval = tokio::time::interval(period);
            interval.set_missed_tick_behavior(MissedTickBehavior::Burst);
            while !ticker.stopped.load(Ordering::Relaxed) {
                let _tick = interval.tick().await;
                if ticker.permits.available_permits() < backlog {
                    ticker.permits.add_permits(1);
                } else {
                    let _ = ticker.missed.fetch_add(1, Ordering::Relaxed);
                }
            }
            // Wake everyone waiting so they see the stop.
            ticker.permits.close();
        }));
        pacer
    }

    /// Waits for a permit; `false` once the pacer is stopped.
    pub(crate) async fn wait(&self) -> bool {
        match self.permits.acquire().await {
            Ok(permit) => {
                permit.forget();
                !self.stopped.load(Ordering::Relaxed)
            }
            Err(_) => false,
        }
    }

    /// Stops handing out permits.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
        self.permits.close();
    }

    /// Whether the pacer was stopped.
    pub(crate) fn stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    /// Ticks that found the backlog full.
    pub(crate) fn missed(&self) -> u64 {
        self.missed.load(Ordering::Relaxed)
    }
}
