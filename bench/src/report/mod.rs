//! `auth-bench report`: writes `BENCHMARKS.md` from one run of `scripts/bench.sh` — the
//! criterion estimates of auth-core's micro-benchmarks, the JSON lines the wrk scripts and
//! the scale test printed, the outputs of the two bytes-per-session tools — with every ratio
//! taken between figures of that same run, and the targets of issue 7 checked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use clap::Args;
use serde::Deserialize;

use crate::stats::Latency;

mod markdown;

use markdown::render;

/// `report` arguments.
#[derive(Debug, Clone, Args)]
pub(crate) struct ReportArgs {
    /// The JSON lines collected by the script.
    #[arg(long)]
    results: PathBuf,
    /// Criterion's output directory (`<target>/criterion`).
    #[arg(long)]
    criterion_dir: PathBuf,
    /// Unix time the run started: older criterion results are ignored.
    #[arg(long)]
    since: u64,
    /// Output of `cargo run -p store-sqlite --release --example session_size`.
    #[arg(long)]
    sqlite_size_log: Option<PathBuf>,
    /// Output of `cargo test -p store-redis --test memory_usage -- --nocapture`.
    #[arg(long)]
    redis_size_log: Option<PathBuf>,
    /// The command that produced the run.
    #[arg(long, allow_hyphen_values = true)]
    command: String,
    /// When it ran.
    #[arg(long)]
    date: String,
    /// CPU model.
    #[arg(long)]
    cpu: String,
    /// `nproc`.
    #[arg(long)]
    nproc: String,
    /// Total memory.
    #[arg(long, default_value = "")]
    memory: String,
    /// Load averages before the measured run.
    #[arg(long)]
    load_before: String,
    /// Load averages after it.
    #[arg(long)]
    load_after: String,
    /// The wrk options of every HTTP run.
    #[arg(long, allow_hyphen_values = true)]
    wrk_args: String,
    /// Tool versions and the git commit, one per flag.
    #[arg(long = "version-line")]
    versions: Vec<String>,
    /// Notes on this run, one per flag (e.g. reduced scale counts).
    #[arg(long = "note")]
    notes: Vec<String>,
    /// Where to write.
    #[arg(long, default_value = "BENCHMARKS.md")]
    out: PathBuf,
}

/// What a wrk script printed.
#[derive(Debug, Clone, Copy, Deserialize)]
struct Wrk {
    rps: f64,
    /// Completed logins or rotations (scripts that count them).
    #[serde(default)]
    ok: u64,
    duration_us: f64,
    p50_us: f64,
    p99_us: f64,
    non2xx: u64,
    socket_errors: u64,
}

impl Wrk {
    fn ok_per_sec(&self) -> f64 {
        self.per_sec(self.ok)
    }

    /// Answers other than 2xx per second (for the login load: the 429s of a full hashing
    /// queue).
    fn non2xx_per_sec(&self) -> f64 {
        self.per_sec(self.non2xx)
    }

    fn per_sec(&self, count: u64) -> f64 {
        if self.duration_us > 0.0 {
            count as f64 / (self.duration_us / 1e6)
        } else {
            0.0
        }
    }
}

/// One line of the results file.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Record {
    /// A run of one route variant.
    Http {
        adapter: String,
        config: String,
        variant: String,
        /// Which round of the server's variants (the variants of one round ran back to back).
        #[serde(default)]
        round: u32,
        wrk: Wrk,
    },
    /// Refresh rotations.
    Refresh {
        adapter: String,
        store: String,
        wrk: Wrk,
    },
    /// Whole SMS logins.
    Sms {
        adapter: String,
        store: String,
        wrk: Wrk,
    },
    /// The guarded route while password logins run beside it.
    Free {
        adapter: String,
        guarded: Wrk,
        logins: Wrk,
    },
    /// A run against a shipped example server or, beside it, the bench server
    /// (`scripts/bench-examples.sh`): `variant` is `bench` (the bench server's guarded route),
    /// `example` (the example's `/api/hello` as shipped), `example-warn` (the same with
    /// `RUST_LOG=warn`) or `example-each` (`AUTH_REQUEST_LOG=each`, a line per request).
    Example {
        adapter: String,
        variant: String,
        round: u32,
        wrk: Wrk,
    },
    /// One round's batch of in-process calls of one route variant (`auth-bench in-process`).
    InProcess {
        adapter: String,
        variant: String,
        round: u32,
        ns_per_call: f64,
    },
    /// The scale test at one count.
    Scale {
        store: String,
        sessions: usize,
        fill_secs: f64,
        authenticate: Option<Latency>,
        /// SQLite's own lookup of the same rows, timed beside `authenticate` (SQLite only).
        #[serde(default)]
        floor: Option<Latency>,
        refresh: Option<Latency>,
    },
}

const ADAPTERS: [&str; 3] = ["axum", "actix", "rocket"];
const STORES: [&str; 4] = ["memory", "sqlite", "redis", "postgres"];
/// The server configurations of the route variants: stateless, then the session check on
/// each store, on Redis and PostgreSQL also behind the session cache (`-cached`:
/// `auth-bench serve --session-cache-ms 1000`, the example servers' default).
const CONFIGS: [(&str, &str); 7] = [
    ("stateless", "stateless (no store access)"),
    ("memory", "session check, MemoryStore"),
    ("sqlite", "session check, SQLite"),
    ("redis", "session check, Redis"),
    ("redis-cached", "session check, Redis, session cache"),
    ("postgres", "session check, PostgreSQL"),
    (
        "postgres-cached",
        "session check, PostgreSQL, session cache",
    ),
];
const VARIANTS: [(&str, &str); 3] = [
    ("plain", "unguarded"),
    ("raw", "raw `jsonwebtoken::decode`"),
    ("guarded", "our `AuthUser`"),
];

struct Results {
    records: Vec<Record>,
}

impl Results {
    /// The rounds of one route variant in one server, summarized by their medians.
    fn http(&self, adapter: &str, config: &str, variant: &str) -> Option<Rounds> {
        let runs = self
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Http {
                    adapter: a,
                    config: c,
                    variant: v,
                    wrk,
                    ..
                } if a == adapter && c == config && v == variant => Some(*wrk),
                _ => None,
            })
            .collect::<Vec<_>>();
        Rounds::of(&runs)
    }

    fn per_store(&self, want_sms: bool, adapter: &str, store: &str) -> Option<Wrk> {
        self.records.iter().find_map(|r| match (r, want_sms) {
            (
                Record::Refresh {
                    adapter: a,
                    store: s,
                    wrk,
                },
                false,
            )
            | (
                Record::Sms {
                    adapter: a,
                    store: s,
                    wrk,
                },
                true,
            ) if a == adapter && s == store => Some(*wrk),
            _ => None,
        })
    }

    /// The throughput of `variant` over that of `base` in the server of `config`, round by
    /// round: each round ran the variants back to back, so a slow spell of the shared machine
    /// (which moves a route's req/s by ±15% between rounds) hits both figures of a pair alike.
    fn paired_ratio(
        &self,
        adapter: &str,
        config: &str,
        variant: &str,
        base: &str,
    ) -> Option<Paired> {
        let runs = self.records.iter().filter_map(|r| match r {
            Record::Http {
                adapter: a,
                config: c,
                variant: v,
                round,
                wrk,
            } if a == adapter && c == config => Some((*round, v.as_str(), wrk.rps)),
            _ => None,
        });
        Paired::by_round(runs, variant, base)
    }

    /// In process, the median time of a call of `variant` over the rounds.
    fn in_process_ns(&self, adapter: &str, variant: &str) -> Option<f64> {
        let times = self
            .records
            .iter()
            .filter_map(|r| match r {
                Record::InProcess {
                    adapter: a,
                    variant: v,
                    ns_per_call,
                    ..
                } if a == adapter && v == variant => Some(*ns_per_call),
                _ => None,
            })
            .collect::<Vec<_>>();
        (!times.is_empty()).then(|| median(times))
    }

    /// In process, calls per second of `variant` over those of `base`, paired by round.
    fn in_process_ratio(&self, adapter: &str, variant: &str, base: &str) -> Option<Paired> {
        let calls_per_second = self.records.iter().filter_map(|r| match r {
            Record::InProcess {
                adapter: a,
                variant: v,
                round,
                ns_per_call,
            } if a == adapter && *ns_per_call > 0.0 => {
                Some((*round, v.as_str(), 1e9 / ns_per_call))
            }
            _ => None,
        });
        Paired::by_round(calls_per_second, variant, base)
    }

    /// Our guard's throughput over the raw-decode route's in the server of `config`.
    fn guard_ratio(&self, adapter: &str, config: &str) -> Option<f64> {
        self.paired_ratio(adapter, config, "guarded", "raw")
            .map(|p| p.median)
    }

    /// The rounds of one variant of `scripts/bench-examples.sh`.
    fn example(&self, adapter: &str, variant: &str) -> Option<Rounds> {
        let runs = self
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Example {
                    adapter: a,
                    variant: v,
                    wrk,
                    ..
                } if a == adapter && v == variant => Some(*wrk),
                _ => None,
            })
            .collect::<Vec<_>>();
        Rounds::of(&runs)
    }

    /// An example-server variant's req/s over the bench server's guarded route, paired by
    /// round (median).
    fn example_ratio(&self, adapter: &str, variant: &str) -> Option<f64> {
        let runs = self.records.iter().filter_map(|r| match r {
            Record::Example {
                adapter: a,
                variant: v,
                round,
                wrk,
            } if a == adapter => Some((*round, v.as_str(), wrk.rps)),
            _ => None,
        });
        Paired::by_round(runs, variant, "bench").map(|p| p.median)
    }

    /// Section 3: the guarded route's p99 beside password logins over its p99 alone.
    fn free_p99_ratio(&self, adapter: &str) -> Option<f64> {
        let alone = self.http(adapter, "stateless", "guarded")?.median;
        let beside = self.records.iter().find_map(|r| match r {
            Record::Free {
                adapter: a,
                guarded,
                ..
            } if a == adapter => Some(*guarded),
            _ => None,
        })?;
        ratio(beside.p99_us, alone.p99_us)
    }
}

/// Per-round ratios of two routes: their median and range.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Paired {
    median: f64,
    min: f64,
    max: f64,
    rounds: usize,
}

impl Paired {
    /// `variant`'s figure over `base`'s in each round that has both, from
    /// `(round, variant, figure)` points.
    fn by_round<'a>(
        points: impl Iterator<Item = (u32, &'a str, f64)>,
        variant: &str,
        base: &str,
    ) -> Option<Self> {
        let mut by_round: BTreeMap<u32, (Option<f64>, Option<f64>)> = BTreeMap::new();
        for (round, v, figure) in points {
            let pair = by_round.entry(round).or_default();
            if v == variant {
                pair.0 = Some(figure);
            }
            if v == base {
                pair.1 = Some(figure);
            }
        }
        let ratios = by_round
            .values()
            .filter_map(|&(v, b)| ratio(v?, b?))
            .collect::<Vec<_>>();
        Self::of(ratios)
    }

    fn of(ratios: Vec<f64>) -> Option<Self> {
        if ratios.is_empty() {
            return None;
        }
        Some(Self {
            min: ratios.iter().copied().fold(f64::INFINITY, f64::min),
            max: ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            rounds: ratios.len(),
            median: median(ratios),
        })
    }
}

/// Several wrk runs of the same thing: the median of each figure, and the spread.
#[derive(Debug, Clone, Copy)]
struct Rounds {
    /// Median throughput and latencies; summed error counts.
    median: Wrk,
    min_rps: f64,
    max_rps: f64,
    runs: usize,
}

impl Rounds {
    fn of(runs: &[Wrk]) -> Option<Self> {
        let first = runs.first()?;
        let pick = |f: fn(&Wrk) -> f64| median(runs.iter().map(f).collect());
        let rps = runs.iter().map(|w| w.rps);
        Some(Self {
            median: Wrk {
                rps: pick(|w| w.rps),
                p50_us: pick(|w| w.p50_us),
                p99_us: pick(|w| w.p99_us),
                non2xx: runs.iter().map(|w| w.non2xx).sum(),
                socket_errors: runs.iter().map(|w| w.socket_errors).sum(),
                ..*first
            },
            min_rps: rps.clone().fold(f64::INFINITY, f64::min),
            max_rps: rps.fold(0.0, f64::max),
            runs: runs.len(),
        })
    }
}

/// The median (the mean of the middle two for an even count); 0 for none.
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match (
        v.get(n / 2),
        n.checked_sub(1).and_then(|_| v.get((n - 1) / 2)),
    ) {
        (Some(a), Some(b)) => (a + b) / 2.0,
        _ => 0.0,
    }
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0 && a.is_finite()).then(|| a / b)
}

/// A criterion benchmark's mean and median, in nanoseconds.
#[derive(Debug, Clone, Copy)]
struct Criterion {
    mean_ns: f64,
    mean_low_ns: f64,
    mean_high_ns: f64,
    median_ns: f64,
}

#[derive(Deserialize)]
struct CriterionId {
    group_id: String,
    function_id: Option<String>,
}

#[derive(Deserialize)]
struct CriterionInterval {
    lower_bound: f64,
    upper_bound: f64,
}

#[derive(Deserialize)]
struct CriterionEstimate {
    point_estimate: f64,
    confidence_interval: CriterionInterval,
}

#[derive(Deserialize)]
struct CriterionEstimates {
    mean: CriterionEstimate,
    median: CriterionEstimate,
}

/// Every `<group>/<function>/new/` result written since `since`, by `group/function`.
fn read_criterion(dir: &Path, since: SystemTime) -> anyhow::Result<BTreeMap<String, Criterion>> {
    let mut out = BTreeMap::new();
    let Ok(groups) = std::fs::read_dir(dir) else {
        return Ok(out);
    };
    for group in groups {
        let group = group?.path();
        let Ok(functions) = std::fs::read_dir(&group) else {
            continue;
        };
        for function in functions {
            let new = function?.path().join("new");
            let (id_path, est_path) = (new.join("benchmark.json"), new.join("estimates.json"));
            let Ok(meta) = std::fs::metadata(&est_path) else {
                continue;
            };
            if meta.modified()? < since {
                continue;
            }
            let id: CriterionId = serde_json::from_slice(&std::fs::read(&id_path)?)
                .with_context(|| format!("reading {}", id_path.display()))?;
            let est: CriterionEstimates = serde_json::from_slice(&std::fs::read(&est_path)?)
                .with_context(|| format!("reading {}", est_path.display()))?;
            let name = match id.function_id {
                Some(f) => format!("{}/{f}", id.group_id),
                None => id.group_id,
            };
            let _ = out.insert(
                name,
                Criterion {
                    mean_ns: est.mean.point_estimate,
                    mean_low_ns: est.mean.confidence_interval.lower_bound,
                    mean_high_ns: est.mean.confidence_interval.upper_bound,
                    median_ns: est.median.point_estimate,
                },
            );
        }
    }
    Ok(out)
}

/// The line that opens the section of `scripts/bench-ab.sh`'s comparisons at the end of
/// `BENCHMARKS.md`.
pub(crate) const COMPARISONS_MARKER: &str =
    "<!-- comparisons: kept across runs of scripts/bench.sh -->";

/// The comparisons section of an earlier report (from its marker to the end), if it has one.
fn kept_comparisons(old: &str) -> Option<&str> {
    old.find(COMPARISONS_MARKER).and_then(|at| old.get(at..))
}

/// Writes the report, keeping the comparisons section of the file it replaces.
pub(crate) fn run(args: ReportArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.results)
        .with_context(|| format!("reading {}", args.results.display()))?;
    let records = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).with_context(|| format!("parsing result line {l}")))
        .collect::<anyhow::Result<Vec<Record>>>()?;
    let results = Results { records };
    let since = SystemTime::UNIX_EPOCH + Duration::from_secs(args.since);
    let criterion = read_criterion(&args.criterion_dir, since)?;
    let read_log = |p: &Option<PathBuf>| p.as_ref().and_then(|p| std::fs::read_to_string(p).ok());
    let sqlite_log = read_log(&args.sqlite_size_log);
    let redis_log = read_log(&args.redis_size_log);
    let mut md = render(
        &args,
        &results,
        &criterion,
        sqlite_log.as_deref(),
        redis_log.as_deref(),
    )?;
    // The A/B comparisons of `scripts/bench-ab.sh` are kept from one full run to the next.
    if let Some(kept) = std::fs::read_to_string(&args.out)
        .ok()
        .and_then(|old| kept_comparisons(&old).map(str::to_owned))
    {
        md.push('\n');
        md.push_str(&kept);
    }
    std::fs::write(&args.out, md).with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("report: wrote {}", args.out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_comparisons_section_is_found_from_its_marker_to_the_end() {
        let old = format!("# Benchmarks\n\nold figures\n{COMPARISONS_MARKER}\n## A/B\n\nkept\n");
        assert_eq!(
            kept_comparisons(&old),
            Some(format!("{COMPARISONS_MARKER}\n## A/B\n\nkept\n").as_str())
        );
        assert_eq!(kept_comparisons("# Benchmarks\n\nno section\n"), None);
    }

    #[test]
    fn records_parse() {
        let line = r#"{"kind":"http","adapter":"axum","config":"stateless","variant":"raw","wrk":{"requests":10,"duration_us":1000000,"rps":10.0,"ok":0,"p50_us":1.0,"p90_us":2.0,"p99_us":3.0,"max_us":4.0,"mean_us":1.5,"non2xx":0,"socket_errors":0}}"#;
        let r: Record = serde_json::from_str(line).unwrap();
        let results = Results { records: vec![r] };
        assert_eq!(
            results
                .http("axum", "stateless", "raw")
                .map(|r| r.median.rps),
            Some(10.0)
        );
    }

    fn http(variant: &str, round: u32, rps: f64) -> Record {
        let line = format!(
            r#"{{"kind":"http","adapter":"axum","config":"sqlite","variant":"{variant}","round":{round},"wrk":{{"duration_us":1000000,"rps":{rps},"p50_us":1.0,"p99_us":3.0,"non2xx":0,"socket_errors":0}}}}"#
        );
        serde_json::from_str(&line).unwrap()
    }

    /// The guard ratio pairs each round's guarded run with the raw run of the same round:
    /// a slow round lowers both and leaves their ratio alone.
    #[test]
    fn guard_ratio_pairs_rounds() {
        let results = Results {
            records: vec![
                http("raw", 1, 100.0),
                http("guarded", 1, 90.0),
                http("raw", 2, 50.0),
                http("guarded", 2, 40.0),
                http("guarded", 3, 80.0),
                http("raw", 3, 100.0),
                http("plain", 3, 200.0),
                // A round without its raw run has no pair and does not count.
                http("guarded", 4, 10.0),
            ],
        };
        let paired = results
            .paired_ratio("axum", "sqlite", "guarded", "raw")
            .unwrap();
        assert_eq!(paired.rounds, 3);
        assert!((paired.median - 0.8).abs() < 1e-12, "{paired:?}");
        assert!((paired.min - 0.8).abs() < 1e-12 && (paired.max - 0.9).abs() < 1e-12);
        assert_eq!(results.guard_ratio("axum", "sqlite"), Some(paired.median));
        assert_eq!(results.guard_ratio("actix", "sqlite"), None);
        // A route over itself: 1 in every round it ran.
        let same = results
            .paired_ratio("axum", "sqlite", "raw", "raw")
            .unwrap();
        assert_eq!((same.median, same.rounds), (1.0, 3));
        assert_eq!(
            results
                .paired_ratio("axum", "sqlite", "raw", "plain")
                .map(|p| p.rounds),
            Some(1)
        );
    }

    #[test]
    fn in_process_ratios_pair_rounds_as_calls_per_second() {
        let call = |adapter: &str, variant: &str, round: u32, ns: f64| Record::InProcess {
            adapter: adapter.to_owned(),
            variant: variant.to_owned(),
            round,
            ns_per_call: ns,
        };
        let results = Results {
            records: vec![
                call("axum", "raw", 1, 1000.0),
                call("axum", "guarded", 1, 1250.0),
                call("axum", "raw", 2, 2000.0),
                call("axum", "guarded", 2, 2000.0),
                call("axum", "raw", 3, 900.0),
                call("axum", "guarded", 3, 1000.0),
                // No raw call in round 4: no pair.
                call("axum", "guarded", 4, 5000.0),
                call("actix", "raw", 1, 10.0),
            ],
        };
        // Calls per second over raw's: raw time / guarded time, per round.
        let paired = results.in_process_ratio("axum", "guarded", "raw").unwrap();
        assert_eq!(paired.rounds, 3);
        assert!((paired.median - 0.9).abs() < 1e-12, "{paired:?}");
        assert!((paired.min - 0.8).abs() < 1e-12 && (paired.max - 1.0).abs() < 1e-12);
        // The time of a call: the median over every round it ran.
        assert_eq!(results.in_process_ns("axum", "raw"), Some(1000.0));
        assert_eq!(results.in_process_ns("axum", "guarded"), Some(1625.0));
        assert!(
            results
                .in_process_ratio("actix", "guarded", "raw")
                .is_none()
        );
        assert_eq!(results.in_process_ns("rocket", "raw"), None);
    }

    #[test]
    fn medians() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(vec![7.0]), 7.0);
        assert_eq!(median(Vec::new()), 0.0);
    }
}
