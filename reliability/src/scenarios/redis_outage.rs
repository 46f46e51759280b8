//! `redis-outage`: the example server on its own Redis, a load of guarded requests
//! (`GET /api/hello`, whose session check reads Redis), refreshes and SMS logins from
//! concurrent clients at a fixed rate; Redis is SIGKILLed and restarted on the same port,
//! then SIGSTOPped and SIGCONTinued, each under the load.
//!
//! Promises checked (each a violation when broken):
//! * during the fault (sent after Redis died or stopped, answered before it was back), every
//!   request answers 503 `store_unavailable`: no 500, nothing else, and no 200 but from the
//!   session cache (a guarded request sent within the cache's bound, 1 s, of the fault's
//!   start; the first failed store call or the lost subscription ends even that);
//! * no request anywhere takes longer than the hang bound, none is left unanswered, none
//!   answers 500;
//! * around the fault (in flight when it began, or sent within the recovery bound after Redis
//!   was back) a request answers 2xx or 503 `store_unavailable`;
//! * outside those windows every request succeeds; so from the recovery bound (2 s) after
//!   Redis answers PING again the server answers 200 again, with no restart of the server;
//! * every client's session survives (its refresh token was never taken for a reuse because
//!   of the outage), and the server exits 0 on SIGTERM without a panic in its log.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use nix::sys::signal::Signal;
use serde_json::json;

use crate::Env;
use crate::api::{Api, Pair};
use crate::flows;
use crate::ids::{Client, Ids};
use crate::outbox::Outbox;
use crate::pacer::Pacer;
use crate::procs::{self, Redis, Server};
use crate::record::{self, Latency, Op, Record, Recorder};
use crate::report::Report;

/// Options of `redis-outage`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Concurrent clients (while Redis hangs each waits out the store's response timeout, so
    /// more clients give more requests during the hang).
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Requests per second, all clients together.
    #[arg(long, default_value_t = 150)]
    rate: u32,
    /// Seconds of load before the first fault.
    #[arg(long, default_value_t = 3.0)]
    warmup_secs: f64,
    /// Seconds Redis stays dead after SIGKILL.
    #[arg(long, default_value_t = 4.0)]
    kill_secs: f64,
    /// Seconds Redis stays stopped (SIGSTOP) before SIGCONT.
    #[arg(long, default_value_t = 5.0)]
    stop_secs: f64,
    /// Seconds of load after each recovery.
    #[arg(long, default_value_t = 4.0)]
    after_secs: f64,
    /// The server must answer 200 again within this many seconds of Redis being back.
    #[arg(long, default_value_t = 2.0)]
    recovery_secs: f64,
}

/// One fault's timeline.
#[derive(Debug, Clone, Copy)]
struct Fault {
    /// The signal was sent.
    began: Instant,
    /// From here Redis cannot answer (SIGKILL: the process is reaped; SIGSTOP: at once).
    down: Instant,
    /// Redis is started again / continued.
    back: Instant,
    /// Redis answers PING again (SIGCONT: at once).
    up: Instant,
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

/// Runs the scenario.
pub(crate) async fn run(env: &Env, args: &Args) -> Result<Report> {
    let mut report = Report::new("redis-outage");
    let mut redis = Redis::start(&env.common.redis_server, &env.path().join("redis"), true)
        .await
        .context("starting redis-server")?;
    let spec = env.server_spec("server", Some(redis.url()))?;
    let mut server = Server::start(&spec).await?;
    let recorder = Recorder::default();
    let api = Api::new(server.base(), env.client_timeout(), recorder.clone())?;
    let sms = Outbox::sms(&spec.sms_outbox);
    let ids = Ids::default();

    // Every client starts signed in.
    let mut seeded = Vec::with_capacity(args.clients);
    for _ in 0..args.clients {
        let client = ids.client();
        let pair = flows::phone_signup(&api, &sms, &client)
            .await
            .map_err(|f| anyhow::anyhow!("seeding a client failed at {}", f.describe()))?;
        seeded.push((client, pair));
    }
    let seed_requests = recorder.len();

    let pacer = Pacer::start(args.rate, args.clients);
    let load = Arc::new(Load {
        api: api.paced(&pacer),
        sms: sms.clone(),
        ids: ids.clone(),
        stop: AtomicBool::new(false),
        sessions_lost: AtomicU64::new(0),
    });
    let started = Instant::now();
    let clients: Vec<_> = seeded
        .into_iter()
        .map(|s| tokio::spawn(client_loop(Arc::clone(&load), Some(s))))
        .collect();

    let secs = Duration::from_secs_f64;
    tokio::time::sleep(secs(args.warmup_secs)).await;
    // SIGKILL, then a new redis-server on the same port and files.
    let began = Instant::now();
    redis.kill9().await?;
    let down = Instant::now();
    tokio::time::sleep(secs(args.kill_secs)).await;
    let back = Instant::now();
    let up = redis.spawn().await.context("restarting redis-server")?;
    let killed = Fault {
        began,
        down,
        back,
        up,
    };
    tokio::time::sleep(secs(args.after_secs)).await;
    // SIGSTOP: a Redis that hangs, then SIGCONT.
    let began = Instant::now();
    redis.signal(Signal::SIGSTOP)?;
    tokio::time::sleep(secs(args.stop_secs)).await;
    let back = Instant::now();
    redis.signal(Signal::SIGCONT)?;
    let stopped = Fault {
        began,
        down: began,
        back,
        up: back,
    };
    tokio::time::sleep(secs(args.after_secs)).await;
    load.stop.store(true, Ordering::Relaxed);
    pacer.stop();
    let mut survivors = Vec::new();
    for client in clients {
        if let Some(session) = client.await? {
            survivors.push(session);
        }
    }
    let load_secs = started.elapsed().as_secs_f64();

    // Every surviving session still works.
    let mut final_failures = 0_u64;
    for (client, pair) in &survivors {
        let hello = api.hello(client.ip, &pair.access).await;
        let refresh = api.refresh(client.ip, &pair.refresh).await;
        if !(hello.status == 200 && refresh.status == 200) {
            final_failures += 1;
            report.violation(format!(
                "a session that lived through the faults fails afterwards: hello {}, refresh {}",
                hello.describe(),
                refresh.describe()
            ));
        }
    }

    let status = server.stop().await?;
    report.check(
        status.success(),
        format!("the server exited with {status} on SIGTERM"),
    );
    let panics = procs::panics_in(&spec.log);
    report.check(panics == 0, format!("{panics} panics in the server log"));

    let records: Vec<Record> = recorder
        .snapshot()
        .into_iter()
        .skip(seed_requests)
        .collect();
    let recovery = secs(args.recovery_secs);
    let hang = env.hang();
    let faults = [killed, stopped];
    let names = ["kill", "stop"];
    let mut normal = Vec::new();
    let mut during: [Vec<&Record>; 2] = [Vec::new(), Vec::new()];
    let mut around: [Vec<&Record>; 2] = [Vec::new(), Vec::new()];
    for r in &records {
        match window(r, &faults, recovery) {
            Window::Normal => normal.push(r),
            Window::During(i) => during.get_mut(i).into_iter().for_each(|v| v.push(r)),
            Window::Around(i) => around.get_mut(i).into_iter().for_each(|v| v.push(r)),
        }
        if r.status == 500 {
            report.violation(format!("{} answered 500", r.op.name()));
        }
        if r.took > hang {
            report.violation(format!(
                "{} took {:.2} s (hang bound {:.1} s), answer {}",
                r.op.name(),
                r.took.as_secs_f64(),
                hang.as_secs_f64(),
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
    for (i, fault) in faults.iter().enumerate() {
        let name = names.get(i).copied().unwrap_or("fault");
        let in_fault = during.get(i).map(Vec::as_slice).unwrap_or_default();
        let near = around.get(i).map(Vec::as_slice).unwrap_or_default();
        let unavailable = in_fault.iter().filter(|r| r.store_unavailable()).count();
        let ok_in_fault = in_fault.iter().filter(|r| r.ok()).count();
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
                "{name}: {} answered {} while Redis was down",
                r.op.name(),
                r.answer()
            ));
        }
        for r in near.iter().filter(|r| !(r.ok() || r.store_unavailable())) {
            report.violation(format!(
                "{name}: {} answered {} around the fault",
                r.op.name(),
                r.answer()
            ));
        }
        // Recovery: the first success of a request sent once Redis was back.
        let first_ok = |op: Option<Op>| {
            records
                .iter()
                .filter(|r| r.sent >= fault.up && r.ok() && op.is_none_or(|o| r.op == o))
                .map(Record::done)
                .min()
                .map(|t| record::ms_between(fault.up, t))
        };
        let recovery_ms = first_ok(None);
        let per_op: serde_json::Map<String, serde_json::Value> =
            [Op::Hello, Op::Refresh, Op::SmsVerify]
                .into_iter()
                .map(|op| (op.name().to_owned(), json!(first_ok(Some(op)))))
                .collect();
        match recovery_ms {
            Some(ms) => report.check(
                ms <= recovery.as_secs_f64() * 1000.0,
                format!("{name}: first 200 {ms} ms after Redis was back"),
            ),
            None => report.violation(format!("{name}: no 200 after Redis was back")),
        }
        let latency = Latency::of(in_fault.iter().copied());
        report.figure(
            name,
            json!({
                "outage_ms": record::ms_between(fault.down, fault.back),
                "requests_during": in_fault.len(),
                "store_unavailable_503": unavailable,
                "ok_during": ok_in_fault,
                "ok_from_session_cache": cached,
                "answers_during": record::answers(in_fault.iter().copied()),
                "latency_during": latency,
                "requests_around": near.len(),
                "answers_around": record::answers(near.iter().copied()),
                "recovery_ms": recovery_ms,
                "recovery_ms_by_op": per_op,
            }),
        );
        report.line(format!(
            "{name}: Redis down {:.1} s; {} requests during it: {} answered 503 store_unavailable, {} answered 2xx ({cached} of them guarded reads from the session cache within {} ms of the fault); latency p50 {} ms, p99 {} ms, max {} ms; {} requests around it: {:?}",
            fault.back.duration_since(fault.down).as_secs_f64(),
            in_fault.len(),
            unavailable,
            ok_in_fault,
            procs::SESSION_CACHE_MS,
            latency.p50_ms,
            latency.p99_ms,
            latency.max_ms,
            near.len(),
            record::answers(near.iter().copied()),
        ));
        report.line(format!(
            "{name}: first 200 {} ms after Redis was back (hello {}, refresh {}, sms_verify {})",
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
