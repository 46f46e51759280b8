//! What the store-outage scenarios (`redis-outage`, `postgres-outage`) share: the example
//! server on the scenario's own store under a load of guarded requests (`GET /api/hello`,
//! whose session check reads the store), refreshes and SMS logins from concurrent clients at
//! a fixed rate; the timeline of each fault; and the promises checked on every request placed
//! on that timeline, with the report's figures and lines. A scenario brings only its faults.
//!
//! Promises checked (each a violation when broken):
//! * during an outage (sent after the store went down, answered before it was back), every
//!   request answers 503 `store_unavailable`: no 500, nothing else, and no 200 but from the
//!   session cache (a guarded request sent within the cache's bound, 1 s, of the fault's
//!   start; the first failed store call or the lost subscription ends even that);
//! * when connections are cut with the store up, the requests around it answer 2xx or 503
//!   `store_unavailable`, and no more of them 503 than pooled connections were cut;
//! * no request anywhere takes longer than its bound (the hang bound, or a fault's own bound
//!   for a hung store), none is left unanswered, none answers 500;
//! * around a fault (in flight when it began, or sent within the recovery bound after the
//!   store was back) a request answers 2xx or 503 `store_unavailable`;
//! * outside those windows every request succeeds; so from the recovery bound (2 s) after the
//!   store answers again the server answers 200 again, with no restart of the server;
//! * every client's session survives (its refresh token was never taken for a reuse because
//!   of the outage), and the server exits 0 on SIGTERM without a panic in its log.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::{Map, Value, json};
use tokio::task::JoinHandle;

use crate::Env;
use crate::api::{Api, Pair};
use crate::flows;
use crate::ids::{Client, Ids};
use crate::outbox::Outbox;
use crate::pacer::Pacer;
use crate::procs::{self, Server, ServerSpec};
use crate::record::{self, Latency, Op, Record, Recorder};
use crate::report::Report;

/// The load's options, the same for every store.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct LoadArgs {
    /// Concurrent clients (while the store hangs each waits out the store's timeouts, so more
    /// clients give more requests during the hang).
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Requests per second, all clients together.
    #[arg(long, default_value_t = 150)]
    rate: u32,
    /// Seconds of load before the first fault.
    #[arg(long, default_value_t = 3.0)]
    warmup_secs: f64,
    /// Seconds of load after each recovery.
    #[arg(long, default_value_t = 4.0)]
    after_secs: f64,
    /// The server must answer 200 again within this many seconds of the store being back.
    #[arg(long, default_value_t = 2.0)]
    recovery_secs: f64,
}

/// What a fault promises about the requests it touches.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Expect {
    /// The store cannot answer from `down` to `back`: a request sent and answered in between
    /// answers 503 `store_unavailable` (or is a guarded read from the session cache).
    Outage,
    /// Connections cut, the store itself up: at most `pooled` requests (one per cut pooled
    /// connection) answer 503 `store_unavailable`, every other one 2xx.
    Cut {
        /// The store's pooled connections that were cut.
        pooled: usize,
    },
}

/// One fault's timeline and promises.
#[derive(Debug, Clone)]
pub(crate) struct Fault {
    /// Its name in the report (`kill`, `stop`, …).
    pub(crate) name: &'static str,
    /// The fault was dealt (the signal sent, the command started).
    pub(crate) began: Instant,
    /// From here the store cannot answer (a killed process is reaped; a stopped one at once).
    pub(crate) down: Instant,
    /// The store is started again / continued.
    pub(crate) back: Instant,
    /// The store answers again (a continued one at once).
    pub(crate) up: Instant,
    /// No request it touches may take longer than this (the hang bound, or more for a hung
    /// store whose own timeouts are longer).
    pub(crate) bound: Duration,
    /// What the requests it touches must answer.
    pub(crate) expect: Expect,
    /// Figures of its own, added to its object of the JSON line.
    pub(crate) figures: Map<String, Value>,
}

impl Fault {
    /// An outage of the store from `down` to `up`, its requests bounded by the hang bound.
    pub(crate) fn outage(
        env: &Env,
        name: &'static str,
        began: Instant,
        down: Instant,
        back: Instant,
        up: Instant,
    ) -> Self {
        Self {
            name,
            began,
            down,
            back,
            up,
            bound: env.hang(),
            expect: Expect::Outage,
            figures: Map::new(),
        }
    }
}

/// Where a request falls relative to the faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Window {
    Normal,
    During(usize),
    Around(usize),
}

fn window(r: &Record, faults: &[Fault], recovery: Duration) -> Window {
    for (i, f) in faults.iter().enumerate() {
        if r.sent >= f.down && r.done() <= f.back {
            return Window::During(i);
        }
    }
    for (i, f) in faults.iter().enumerate() {
        let touches = r.done() > f.began && r.sent < f.up + recovery;
        if touches {
            return Window::Around(i);
        }
    }
    Window::Normal
}

/// The shared state of the load clients.
struct Load {
    api: Api,
    sms: Outbox,
    ids: Ids,
    stop: AtomicBool,
    sessions_lost: AtomicU64,
}

/// An SMS login in progress (one step per turn).
enum Journey {
    Idle,
    Registered(Client),
    Started(Client, String),
}

/// One client: hello, hello, refresh, one step of an SMS login, over and over.
async fn client_loop(
    load: Arc<Load>,
    mut session: Option<(Client, Pair)>,
) -> Option<(Client, Pair)> {
    let mut journey = Journey::Idle;
    let mut turn: u64 = 0;
    while !load.stop.load(Ordering::Relaxed) && !load.api.stopped() {
        turn += 1;
        let step = turn % 4;
        match (&mut session, step) {
            (Some((client, pair)), 0 | 1) => {
                let answer = load.api.hello(client.ip, &pair.access).await;
                if answer.status == 401 {
                    let _ = load.sessions_lost.fetch_add(1, Ordering::Relaxed);
                    session = None;
                }
            }
            (Some((client, pair)), 2) => {
                let answer = load.api.refresh(client.ip, &pair.refresh).await;
                if let Some(next) = Pair::of(&answer) {
                    *pair = next;
                } else if answer.status == 401 {
                    let _ = load.sessions_lost.fetch_add(1, Ordering::Relaxed);
                    session = None;
                }
            }
            _ => {
                journey = match journey {
                    Journey::Idle => {
                        let client = load.ids.client();
                        match flows::register_phone(&load.api, &client).await {
                            Ok(_) => Journey::Registered(client),
                            Err(_) => Journey::Idle,
                        }
                    }
                    Journey::Registered(client) => {
                        match flows::sms_start(&load.api, &client).await {
                            Ok(challenge) => Journey::Started(client, challenge),
                            Err(_) => Journey::Idle,
                        }
                    }
                    Journey::Started(client, challenge) => {
                        if let Ok(pair) =
                            flows::sms_verify(&load.api, &load.sms, &client, &challenge).await
                        {
                            // The client goes on with its newest session.
                            session = Some((client, pair));
                        }
                        Journey::Idle
                    }
                };
            }
        }
    }
    session
}

/// The example server under load, while the scenario deals its faults.
pub(crate) struct Run {
    args: LoadArgs,
    spec: ServerSpec,
    server: Server,
    api: Api,
    recorder: Recorder,
    seed_requests: usize,
    pacer: Pacer,
    load: Arc<Load>,
    clients: Vec<JoinHandle<Option<(Client, Pair)>>>,
    started: Instant,
}

impl Run {
    /// Starts the server of `spec`, signs every client up by SMS, starts the load and waits
    /// out the warm-up.
    pub(crate) async fn start(env: &Env, spec: ServerSpec, args: &LoadArgs) -> Result<Self> {
        let server = Server::start(&spec).await?;
        let recorder = Recorder::default();
        let api = Api::new(server.base(), env.client_timeout(), recorder.clone())?;
        let sms = Outbox::sms(&spec.sms_outbox);
        let ids = Ids::default();

        // Every client starts signed in.
        let seeded = flows::signed_up(&api, &sms, &ids, args.clients).await?;
        let seed_requests = recorder.len();

        let pacer = Pacer::start(args.rate, args.clients);
        let load = Arc::new(Load {
            api: api.paced(&pacer),
            sms,
            ids,
            stop: AtomicBool::new(false),
            sessions_lost: AtomicU64::new(0),
        });
        let started = Instant::now();
        let clients: Vec<_> = seeded
            .into_iter()
            .map(|s| tokio::spawn(client_loop(Arc::clone(&load), Some(s))))
            .collect();
        let run = Self {
            args: args.clone(),
            spec,
            server,
            api,
            recorder,
            seed_requests,
            pacer,
            load,
            clients,
            started,
        };
        run.pause(run.args.warmup_secs).await;
        Ok(run)
    }

    /// Load for `secs` seconds.
    pub(crate) async fn pause(&self, secs: f64) {
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    }

    /// Load for the seconds after a recovery.
    pub(crate) async fn after(&self) {
        self.pause(self.args.after_secs).await;
    }

    /// Stops the load, checks every surviving session and stops the server, then checks every
    /// request against `faults` of the store named `store` (`Redis`) and fills `report`.
    pub(crate) async fn finish(
        mut self,
        env: &Env,
        mut report: Report,
        store: &str,
        faults: &[Fault],
    ) -> Result<Report> {
        let (args, load, pacer) = (&self.args, &self.load, &self.pacer);
        load.stop.store(true, Ordering::Relaxed);
        pacer.stop();
        let mut survivors = Vec::new();
        for client in std::mem::take(&mut self.clients) {
            if let Some(session) = client.await? {
                survivors.push(session);
            }
        }
        let load_secs = self.started.elapsed().as_secs_f64();

        // Every surviving session still works.
        let mut final_failures = 0_u64;
        for (client, pair) in &survivors {
            let hello = self.api.hello(client.ip, &pair.access).await;
            let refresh = self.api.refresh(client.ip, &pair.refresh).await;
            if !(hello.status == 200 && refresh.status == 200) {
                final_failures += 1;
                report.violation(format!(
                    "a session that lived through the faults fails afterwards: hello {}, refresh {}",
                    hello.describe(),
                    refresh.describe()
                ));
            }
        }

        let status = self.server.stop().await?;
        report.check(
            status.success(),
            format!("the server exited with {status} on SIGTERM"),
        );
        let panics = procs::panics_in(&self.spec.log);
        report.check(panics == 0, format!("{panics} panics in the server log"));

        let records: Vec<Record> = self
            .recorder
            .snapshot()
            .into_iter()
            .skip(self.seed_requests)
            .collect();
        let recovery = Duration::from_secs_f64(args.recovery_secs);
        let hang = env.hang();
        let mut normal = Vec::new();
        let mut during: Vec<Vec<&Record>> = vec![Vec::new(); faults.len()];
        let mut around: Vec<Vec<&Record>> = vec![Vec::new(); faults.len()];
        for r in &records {
            let bound = match window(r, faults, recovery) {
                Window::Normal => {
                    normal.push(r);
                    hang
                }
                Window::During(i) => {
                    during.get_mut(i).into_iter().for_each(|v| v.push(r));
                    faults.get(i).map_or(hang, |f| f.bound)
                }
                Window::Around(i) => {
                    around.get_mut(i).into_iter().for_each(|v| v.push(r));
                    faults.get(i).map_or(hang, |f| f.bound)
                }
            };
            if r.status == 500 {
                report.violation(format!("{} answered 500", r.op.name()));
            }
            if r.took > bound {
                report.violation(format!(
                    "{} took {:.2} s (hang bound {:.1} s), answer {}",
                    r.op.name(),
                    r.took.as_secs_f64(),
                    bound.as_secs_f64(),
                    r.answer()
                ));
            }
        }
        for r in &normal {
            if !r.ok() {
                report.violation(format!(
                    "{} answered {} outside the faults",
                    r.op.name(),
                    r.answer()
                ));
            }
        }
        report.figure("clients", args.clients);
        report.figure("rate_per_s", args.rate);
        report.figure("requests", records.len());
        report.figure(
            "achieved_rate_per_s",
            record::round(records.len() as f64 / load_secs),
        );
        report.figure("hang_bound_ms", record::round(hang.as_secs_f64() * 1000.0));
        report.figure(
            "recovery_bound_ms",
            record::round(recovery.as_secs_f64() * 1000.0),
        );
        report.line(format!(
            "{} requests from {} clients in {load_secs:.1} s (target {} req/s), hang bound {:.1} s, recovery bound {:.1} s",
            records.len(),
            args.clients,
            args.rate,
            hang.as_secs_f64(),
            recovery.as_secs_f64()
        ));
        let checks = Checks {
            store,
            records: &records,
            recovery,
        };
        for (i, fault) in faults.iter().enumerate() {
            let in_fault = during.get(i).map(Vec::as_slice).unwrap_or_default();
            let near = around.get(i).map(Vec::as_slice).unwrap_or_default();
            checks.fault(&mut report, fault, in_fault, near);
        }
        let normal_failures = normal.iter().filter(|r| !r.ok()).count();
        let lost = load.sessions_lost.load(Ordering::Relaxed);
        report.check(
            lost == 0,
            format!("{lost} client sessions answered 401 during the run"),
        );
        report.figure("requests_outside_faults", normal.len());
        report.figure("failures_outside_faults", normal_failures);
        report.figure("sessions_lost", lost);
        report.figure("sessions_checked_after", survivors.len());
        report.figure("sessions_failing_after", final_failures);
        report.figure("missed_ticks", pacer.missed());
        report.figure("server_panics", panics);
        report.line(format!(
            "outside the faults: {} requests, {} not 2xx; sessions lost: {lost}; {} sessions checked after the run, {final_failures} failing",
            normal.len(),
            normal_failures,
            survivors.len()
        ));
        Ok(report)
    }
}

/// The answers during a fault.
struct Tally {
    /// 503 `store_unavailable`.
    unavailable: usize,
    /// 2xx.
    ok: usize,
    latency: Latency,
}

/// The per-fault checks of one run.
struct Checks<'a> {
    store: &'a str,
    records: &'a [Record],
    recovery: Duration,
}

impl Checks<'_> {
    /// Checks the requests during (`in_fault`) and around (`near`) `fault`, and reports its
    /// figures and lines.
    fn fault(&self, report: &mut Report, fault: &Fault, in_fault: &[&Record], near: &[&Record]) {
        let name = fault.name;
        let store = self.store;
        let tally = Tally {
            unavailable: in_fault.iter().filter(|r| r.store_unavailable()).count(),
            ok: in_fault.iter().filter(|r| r.ok()).count(),
            latency: Latency::of(in_fault.iter().copied()),
        };
        let mut figures = json!({
            "requests_during": in_fault.len(),
            "store_unavailable_503": tally.unavailable,
            "ok_during": tally.ok,
            "answers_during": record::answers(in_fault.iter().copied()),
            "latency_during": tally.latency,
            "requests_around": near.len(),
            "answers_around": record::answers(near.iter().copied()),
            "latency_around": Latency::of(near.iter().copied()),
        });
        match fault.expect {
            Expect::Outage => self.outage(report, fault, &tally, in_fault, near, &mut figures),
            Expect::Cut { pooled } => self.cut(report, fault, pooled, in_fault, near),
        }
        for r in near.iter().filter(|r| !(r.ok() || r.store_unavailable())) {
            report.violation(format!(
                "{name}: {} answered {} around the fault",
                r.op.name(),
                r.answer()
            ));
        }
        // Recovery: the first success of a request sent once the store was back (or the
        // connections were cut).
        let since = match fault.expect {
            Expect::Outage => format!("{store} was back"),
            Expect::Cut { .. } => "the cut".to_owned(),
        };
        let first_ok = |op: Option<Op>| {
            self.records
                .iter()
                .filter(|r| r.sent >= fault.up && r.ok() && op.is_none_or(|o| r.op == o))
                .map(Record::done)
                .min()
                .map(|t| record::ms_between(fault.up, t))
        };
        let recovery_ms = first_ok(None);
        let per_op: Map<String, Value> = [Op::Hello, Op::Refresh, Op::SmsVerify]
            .into_iter()
            .map(|op| (op.name().to_owned(), json!(first_ok(Some(op)))))
            .collect();
        match recovery_ms {
            Some(ms) => report.check(
                ms <= self.recovery.as_secs_f64() * 1000.0,
                format!("{name}: first 200 {ms} ms after {since}"),
            ),
            None => report.violation(format!("{name}: no 200 after {since}")),
        }
        if let Value::Object(map) = &mut figures {
            let _ = map.insert("recovery_ms".into(), json!(recovery_ms));
            let _ = map.insert("recovery_ms_by_op".into(), json!(per_op));
            map.extend(fault.figures.clone());
        }
        report.figure(name, figures);
        report.line(format!(
            "{name}: first 200 {} ms after {since} (hello {}, refresh {}, sms_verify {})",
            recovery_ms.map_or("never".to_owned(), |ms| ms.to_string()),
            per_op.get("hello").map_or("-".into(), ToString::to_string),
            per_op
                .get("refresh")
                .map_or("-".into(), ToString::to_string),
            per_op
                .get("sms_verify")
                .map_or("-".into(), ToString::to_string),
        ));
    }

    /// An outage: 503 `store_unavailable` during it, but guarded reads from the session cache.
    fn outage(
        &self,
        report: &mut Report,
        fault: &Fault,
        tally: &Tally,
        in_fault: &[&Record],
        near: &[&Record],
        figures: &mut Value,
    ) {
        let name = fault.name;
        let store = self.store;
        // A guarded request may still be answered from the session cache right after the
        // fault began: from an answer read less than the cache's bound earlier, and only
        // until the first failed store call (or the lost subscription) empties the cache.
        let cache_bound = Duration::from_millis(procs::SESSION_CACHE_MS);
        let from_cache =
            |r: &Record| r.op == Op::Hello && r.ok() && r.sent < fault.down + cache_bound;
        let cached = in_fault.iter().filter(|r| from_cache(r)).count();
        for r in in_fault
            .iter()
            .filter(|r| !r.store_unavailable() && !from_cache(r))
        {
            report.violation(format!(
                "{name}: {} answered {} while {store} was down",
                r.op.name(),
                r.answer()
            ));
        }
        if let Value::Object(map) = figures {
            let _ = map.insert(
                "outage_ms".into(),
                json!(record::ms_between(fault.down, fault.back)),
            );
            let _ = map.insert("ok_from_session_cache".into(), json!(cached));
        }
        report.line(format!(
            "{name}: {store} down {:.1} s; {} requests during it: {} answered 503 store_unavailable, {} answered 2xx ({cached} of them guarded reads from the session cache within {} ms of the fault); latency p50 {} ms, p99 {} ms, max {} ms; {} requests around it: {:?}",
            fault.back.duration_since(fault.down).as_secs_f64(),
            in_fault.len(),
            tally.unavailable,
            tally.ok,
            procs::SESSION_CACHE_MS,
            tally.latency.p50_ms,
            tally.latency.p99_ms,
            tally.latency.max_ms,
            near.len(),
            record::answers(near.iter().copied()),
        ));
    }

    /// Connections cut with the store up: no more 503s than pooled connections were cut.
    fn cut(
        &self,
        report: &mut Report,
        fault: &Fault,
        pooled: usize,
        in_fault: &[&Record],
        near: &[&Record],
    ) {
        let name = fault.name;
        let touched = || in_fault.iter().chain(near).copied();
        for r in in_fault
            .iter()
            .filter(|r| !(r.ok() || r.store_unavailable()))
        {
            report.violation(format!(
                "{name}: {} answered {} while connections were cut",
                r.op.name(),
                r.answer()
            ));
        }
        let unavailable = touched().filter(|r| r.store_unavailable()).count();
        report.check(
            unavailable <= pooled,
            format!(
                "{name}: {unavailable} requests answered 503 for {pooled} cut pooled connections"
            ),
        );
        let last_503 = touched()
            .filter(|r| r.store_unavailable())
            .map(Record::done)
            .max()
            .map_or_else(
                || "none answered 503".to_owned(),
                |t| {
                    let ms = record::ms_between(fault.began, t);
                    format!("the last 503 came {ms} ms after the cut")
                },
            );
        let latency = Latency::of(touched());
        report.line(format!(
            "{name}: {pooled} pooled connections cut; {} requests around it: {:?} (at most {pooled} × 503 allowed), {last_503}; latency p50 {} ms, p99 {} ms, max {} ms",
            in_fault.len() + near.len(),
            record::answers(touched()),
            latency.p50_ms,
            latency.p99_ms,
            latency.max_ms,
        ));
    }
}
