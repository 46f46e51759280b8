//! The request log every example server writes, kept off the hot path.
//!
//! [`RequestLogMode::Summary`] (the default, `AUTH_REQUEST_LOG=summary`): a request adds
//! itself to a table (a short lock, no allocation once its path is known) and a thread of its
//! own writes one line per method, path and status each second:
//! `method=GET path=/api/hello status=200 requests=5123 latency_mean=… latency_max=…`. Under
//! load that is a handful of lines a second instead of thousands; a single request still shows
//! within a second. [`RequestLogMode::Each`] writes one line per request (`latency=…`), formatted
//! on the request's thread and written by the log writer thread; [`RequestLogMode::Off`]
//! writes none.
//!
//! Nothing but the method, the path (without the query string), the status and the latency is
//! logged: no header (so no `Authorization`), no query, no body, so never a token, code or
//! password.

use std::collections::HashMap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::bail;

/// How the example servers log requests (`AUTH_REQUEST_LOG`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RequestLogMode {
    /// One line per method, path and status each second, with the count and latencies.
    #[default]
    Summary,
    /// One line per request.
    Each,
    /// No request lines.
    Off,
}

impl std::str::FromStr for RequestLogMode {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        match s.trim() {
            "summary" => Ok(Self::Summary),
            "each" => Ok(Self::Each),
            "off" => Ok(Self::Off),
            other => bail!("AUTH_REQUEST_LOG must be summary, each or off, not {other:?}"),
        }
    }
}

/// How often the summary is written.
const SUMMARY_EVERY: Duration = Duration::from_secs(1);

/// Distinct paths kept per summary interval; requests to further paths are counted under
/// `path=(other)` (paths with ids in them must not grow the table without bound).
const MAX_PATHS: usize = 256;

/// The counts of one method and status on one path.
#[derive(Debug)]
struct Tally {
    method: String,
    status: u16,
    requests: u64,
    total: Duration,
    max: Duration,
}

/// The requests of one summary interval, by path.
type Table = HashMap<String, Vec<Tally>>;

/// The request log of the process, once started.
static LOG: OnceLock<RequestLog> = OnceLock::new();

#[derive(Debug)]
struct RequestLog {
    mode: RequestLogMode,
    table: Mutex<Table>,
}

/// Keeps the summary thread running; dropping it writes the last summary and stops the thread.
/// [`crate::ExampleApp`] holds it until [`crate::ExampleApp::stopped`].
#[derive(Debug)]
pub struct RequestLogGuard {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for RequestLogGuard {
    fn drop(&mut self) {
        // Dropping the sender wakes the thread, which writes what is left and returns.
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts the request log in `mode` for this process (the summary thread, in summary mode).
/// A second call keeps the first mode and returns a guard that does nothing.
pub fn start_request_log(mode: RequestLogMode) -> RequestLogGuard {
    let idle = RequestLogGuard {
        stop: None,
        thread: None,
    };
    let log = RequestLog {
        mode,
        table: Mutex::new(HashMap::new()),
    };
    if LOG.set(log).is_err() || mode != RequestLogMode::Summary {
        return idle;
    }
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("example-request-log".to_owned())
        .spawn(move || {
            loop {
                let last = !matches!(
                    stopped.recv_timeout(SUMMARY_EVERY),
                    Err(RecvTimeoutError::Timeout)
                );
                write_summary();
                if last {
                    return;
                }
            }
        });
    match thread {
        Ok(thread) => RequestLogGuard {
            stop: Some(stop),
            thread: Some(thread),
        },
        Err(e) => {
            tracing::error!(error = %e, "cannot start the request log thread; requests are not logged");
            idle
        }
    }
}

/// Records one finished request: method, path (without the query string), status and latency.
/// Before [`start_request_log`], each request is one line, as in [`RequestLogMode::Each`].
pub fn log_request(method: &str, path: &str, status: u16, latency: Duration) {
    match LOG.get() {
        Some(log) if log.mode == RequestLogMode::Summary => log.add(method, path, status, latency),
        Some(log) if log.mode == RequestLogMode::Off => {}
        _ => tracing::info!(target: "http", %method, %path, status, ?latency, "request"),
    }
}

impl RequestLog {
    fn add(&self, method: &str, path: &str, status: u16, latency: Duration) {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let path = if table.contains_key(path) || table.len() < MAX_PATHS {
            path
        } else {
            "(other)"
        };
        let tallies = match table.get_mut(path) {
            Some(tallies) => tallies,
            None => table.entry(path.to_owned()).or_default(),
        };
        match tallies
            .iter_mut()
            .find(|t| t.status == status && t.method == method)
        {
            Some(tally) => {
                tally.requests += 1;
                tally.total += latency;
                tally.max = tally.max.max(latency);
            }
            None => tallies.push(Tally {
                method: method.to_owned(),
                status,
                requests: 1,
                total: latency,
                max: latency,
            }),
        }
    }
}

/// Writes one line per method, path and status seen since the last call, and empties the table.
fn write_summary() {
    let Some(log) = LOG.get() else { return };
    let table = std::mem::take(&mut *log.table.lock().unwrap_or_else(PoisonError::into_inner));
    let mut paths: Vec<_> = table.into_iter().collect();
    paths.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    for (path, tallies) in paths {
        for tally in tallies {
            let mean = tally.total / u32::try_from(tally.requests).unwrap_or(u32::MAX);
            tracing::info!(
                target: "http",
                method = %tally.method,
                %path,
                status = tally.status,
                requests = tally.requests,
                latency_mean = ?mean,
                latency_max = ?tally.max,
                "requests"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_bad_values_are_refused() {
        assert_eq!(
            "summary".parse::<RequestLogMode>().unwrap(),
            RequestLogMode::Summary
        );
        assert_eq!(
            " each ".parse::<RequestLogMode>().unwrap(),
            RequestLogMode::Each
        );
        assert_eq!(
            "off".parse::<RequestLogMode>().unwrap(),
            RequestLogMode::Off
        );
        let err = "verbose".parse::<RequestLogMode>().unwrap_err();
        assert!(err.to_string().contains("AUTH_REQUEST_LOG"), "{err}");
    }

    #[test]
    fn a_table_tallies_by_path_method_and_status_and_caps_the_paths() {
        let log = RequestLog {
            mode: RequestLogMode::Summary,
            table: Mutex::new(HashMap::new()),
        };
        let ms = Duration::from_millis;
        log.add("GET", "/api/hello", 200, ms(2));
        log.add("GET", "/api/hello", 200, ms(4));
        log.add("GET", "/api/hello", 401, ms(1));
        log.add("POST", "/api/hello", 200, ms(1));
        for i in 0..MAX_PATHS + 10 {
            log.add("GET", &format!("/api/auth/sessions/{i}"), 204, ms(1));
        }
        let table = log.table.lock().unwrap();
        assert_eq!(table.len(), MAX_PATHS + 1, "capped, plus (other)");
        let hello = &table["/api/hello"];
        assert_eq!(hello.len(), 3);
        let ok = hello
            .iter()
            .find(|t| t.method == "GET" && t.status == 200)
            .unwrap();
        assert_eq!((ok.requests, ok.total, ok.max), (2, ms(6), ms(4)));
        // 1 for /api/hello, MAX_PATHS - 1 session paths kept, the other 11 under (other).
        assert_eq!(table["(other)"][0].requests, 11);
    }
}
