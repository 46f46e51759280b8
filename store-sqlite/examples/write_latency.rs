//! Measures what one write and one read cost when nothing else runs (no batching possible):
//! the light-load latency that group commit must not make worse.
//!
//! ```text
//! cargo run -p store-sqlite --release --example write_latency [-- DIR [PAIRS]]
//! ```
//!
//! Opens a fresh store in DIR (default: the system's temporary directory) with the default
//! options (`synchronous = FULL`), then, PAIRS times (default 2000), one `hit_counter` (an
//! upsert, committed) followed by one `failures` lookup of the same key, one after the other
//! on a two-worker tokio runtime. Prints the mean, median and 99th percentile of each, in
//! microseconds. Run two builds alternately to compare them: the fsync dominates and varies
//! with whatever else uses the disk.

use std::error::Error;
use std::time::{Duration, Instant};

use auth_core::store::CounterStore;
use store_sqlite::SqliteStore;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().map_or_else(std::env::temp_dir, Into::into);
    let pairs: usize = args.next().map_or(Ok(2000), |n| n.parse())?;
    let dir = tempfile::tempdir_in(dir)?;
    let store = SqliteStore::open(dir.path().join("latency.db"))?;
    let now = chrono::Utc::now();
    let window_ends = now + chrono::Duration::hours(1);
    let (mut writes, mut reads) = (Vec::with_capacity(pairs), Vec::with_capacity(pairs));
    for i in 0..pairs {
        let key = format!("key-{}", i % 100);
        let started = Instant::now();
        let _ = store.hit_counter(&key, window_ends, now).await?;
        writes.push(started.elapsed());
        let started = Instant::now();
        let _ = store.failures(&key, now).await?;
        reads.push(started.elapsed());
    }
    println!(
        "{pairs} pairs: write {}; read {}",
        summary(&mut writes),
        summary(&mut reads)
    );
    Ok(())
}

/// `mean M p50 P p99 Q µs`.
fn summary(samples: &mut [Duration]) -> String {
    samples.sort();
    let at = |q: f64| {
        let last = samples.len().saturating_sub(1);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let i = (last as f64 * q).round() as usize;
        samples.get(i).map_or(0, Duration::as_micros)
    };
    let total: Duration = samples.iter().sum();
    let mean = total.as_micros() / samples.len().max(1) as u128;
    format!("mean {mean} p50 {} p99 {} µs", at(0.5), at(0.99))
}
