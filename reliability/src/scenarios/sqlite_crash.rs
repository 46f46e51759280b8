//! `sqlite-crash`: the example server on a SQLite file under a stream of phone
//! registrations, SMS logins, refresh rotations and logouts from concurrent clients; SIGKILLed
//! at a random moment, then restarted on the same file, several times.
//!
//! After each kill, before the restart, `PRAGMA integrity_check` must be `ok`. After the
//! restart every acknowledged write must be the current state:
//! * every registration answered 201: registering the phone again answers 409;
//! * every session whose SMS login answered 200, and every rotation answered 200: the last
//!   refresh token the client received works (200) and its access token works, and the one
//!   before it is spent (401 `refresh_token_reused`);
//! * every logout answered 204: the session's refresh token answers 401 `token_revoked`.
//!
//! A request in flight at the kill got no answer; its write may or may not have happened, and
//! both outcomes are accepted for its session (a rotation in flight: the last token still
//! works, as the current token or within the grace window; a logout in flight: 200 or
//! `token_revoked`). These sessions are checked first, well within the grace window.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use rand::Rng as _;
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use serde_json::json;

use crate::Env;
use crate::api::{Answer, Api, Pair};
use crate::flows;
use crate::ids::{Client, Ids};
use crate::outbox::Outbox;
use crate::procs::{self, Server};
use crate::record::{Op, Recorder};
use crate::report::Report;

/// Options of `sqlite-crash`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// How many times the server is killed.
    #[arg(long, default_value_t = 5)]
    kills: usize,
    /// The earliest kill, in milliseconds after the stream started.
    #[arg(long, default_value_t = 700)]
    min_ms: u64,
    /// The latest kill, in milliseconds after the stream started.
    #[arg(long, default_value_t = 2500)]
    max_ms: u64,
    /// Seed of the kill moments and the clients' choices (random when unset; printed).
    #[arg(long)]
    seed: Option<u64>,
    /// Self-test of the checks: delete the `-wal` file after each kill, losing the commits
    /// not yet checkpointed, as a store that acknowledged writes it had not made durable
    /// would. The scenario must then FAIL with lost writes.
    #[arg(long)]
    self_test_drop_wal: bool,
}

/// A write whose request got no answer (the server died).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    None,
    Refresh,
    Logout,
}

/// A session a client created, as the client knows it.
#[derive(Debug, Clone)]
struct Tracked {
    client: Client,
    pair: Pair,
    /// The refresh token before `pair.refresh`, when at least one rotation was acknowledged.
    previous: Option<String>,
    rotations: u32,
    logged_out: bool,
    pending: Pending,
}

/// What the clients had acknowledged when the server died.
#[derive(Default)]
struct Book {
    registered: Vec<Client>,
    sessions: Vec<Tracked>,
    unexpected: Vec<String>,
}

type Shared = Arc<Mutex<Book>>;

fn book(shared: &Shared) -> std::sync::MutexGuard<'_, Book> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The outcome of a request: answered as wanted, answered otherwise, or not answered.
enum Got {
    Wanted,
    Other,
    NoAnswer,
}

fn got(answer: &Answer, status: u16) -> Got {
    if answer.status == status {
        Got::Wanted
    } else if answer.status == 0 {
        Got::NoAnswer
    } else {
        Got::Other
    }
}

/// One client's stream: register, log in by SMS, rotate a few times, sometimes log out;
/// again, until the server dies.
async fn client_loop(
    api: Api,
    sms: Outbox,
    ids: Ids,
    shared: Shared,
    stop: Arc<AtomicBool>,
    seed: u64,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let unexpected = |shared: &Shared, what: String| book(shared).unexpected.push(what);
    while !stop.load(Ordering::Relaxed) {
        let client = ids.client();
        let answer = api
            .post(
                Op::RegisterPhone,
                "register",
                client.ip,
                json!({ "phone": client.phone }),
            )
            .await;
        match got(&answer, 201) {
            Got::Wanted => book(&shared).registered.push(client.clone()),
            Got::NoAnswer => return,
            Got::Other => {
                unexpected(&shared, format!("register: {}", answer.describe()));
                continue;
            }
        }
        let challenge = match flows::sms_start(&api, &client).await {
            Ok(id) => id,
            Err(f) => match f.answer {
                Some(a) if a.status == 0 => return,
                _ => {
                    unexpected(&shared, f.describe());
                    continue;
                }
            },
        };
        let pair = match flows::sms_verify(&api, &sms, &client, &challenge).await {
            Ok(pair) => pair,
            Err(f) => match f.answer {
                Some(a) if a.status == 0 => return,
                _ => {
                    unexpected(&shared, f.describe());
                    continue;
                }
            },
        };
        let index = {
            let mut book = book(&shared);
            book.sessions.push(Tracked {
                client: client.clone(),
                pair,
                previous: None,
                rotations: 0,
                logged_out: false,
                pending: Pending::None,
            });
            book.sessions.len() - 1
        };
        let rotations = rng.random_range(1..=8);
        for _ in 0..rotations {
            let token = {
                let mut book = book(&shared);
                let Some(s) = book.sessions.get_mut(index) else {
                    return;
                };
                s.pending = Pending::Refresh;
                s.pair.refresh.clone()
            };
            let answer = api.refresh(client.ip, &token).await;
            let mut book = book(&shared);
            let Some(s) = book.sessions.get_mut(index) else {
                return;
            };
            match (got(&answer, 200), Pair::of(&answer)) {
                (Got::Wanted, Some(next)) => {
                    s.previous = Some(std::mem::replace(&mut s.pair, next).refresh);
                    s.rotations += 1;
                    s.pending = Pending::None;
                }
                (Got::NoAnswer, _) => return,
                _ => {
                    s.pending = Pending::None;
                    book.unexpected
                        .push(format!("refresh: {}", answer.describe()));
                    break;
                }
            }
        }
        if rng.random_bool(0.3) {
            let access = {
                let mut book = book(&shared);
                let Some(s) = book.sessions.get_mut(index) else {
                    return;
                };
                s.pending = Pending::Logout;
                s.pair.access.clone()
            };
            let answer = api
                .post_as(Op::Logout, "logout", client.ip, &access, None)
                .await;
            let mut book = book(&shared);
            let Some(s) = book.sessions.get_mut(index) else {
                return;
            };
            match got(&answer, 204) {
                Got::Wanted => {
                    s.logged_out = true;
                    s.pending = Pending::None;
                }
                Got::NoAnswer => return,
                Got::Other => {
                    s.pending = Pending::None;
                    book.unexpected
                        .push(format!("logout: {}", answer.describe()));
                }
            }
        }
    }
}

/// `PRAGMA integrity_check` of the file, read-only: `ok` or what it found.
pub(crate) fn integrity_check(db: &Path) -> Result<String> {
    let conn = rusqlite::Connection::open_with_flags(
        db,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open {}", db.display()))?;
    let mut stmt = conn.prepare("PRAGMA integrity_check")?;
    let rows: Vec<String> = stmt
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<Result<_, _>>()?;
    Ok(rows.join("; "))
}

/// Counts of one round's checks.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
struct Checked {
    registrations: u64,
    sessions: u64,
    rotations: u64,
    logouts: u64,
    in_flight_writes: u64,
    in_flight_applied: u64,
    lost_writes: u64,
}

/// Checks, on the restarted server, that every acknowledged write of `book` is there.
async fn check_book(api: &Api, book: &Book, report: &mut Report, round: usize) -> Checked {
    let mut c = Checked::default();
    let lost = |report: &mut Report, what: String| {
        report.violation(format!("kill {round}: lost write: {what}"));
        1_u64
    };
    let mut lost_writes = 0_u64;
    // Sessions with a write in flight first: within the refresh grace window.
    let mut sessions: Vec<&Tracked> = book.sessions.iter().collect();
    sessions.sort_by_key(|s| s.pending == Pending::None);
    for s in sessions {
        let ip = s.client.ip;
        c.sessions += 1;
        c.rotations += u64::from(s.rotations);
        let refreshed = api.refresh(ip, &s.pair.refresh).await;
        match s.pending {
            Pending::Refresh => {
                c.in_flight_writes += 1;
                // The rotation happened or not: the last token works either way (current,
                // or previous within the grace window).
                if refreshed.status != 200 {
                    lost_writes += lost(
                        report,
                        format!(
                            "a session with a rotation in flight: its last acknowledged token answers {}",
                            refreshed.describe()
                        ),
                    );
                }
            }
            Pending::Logout => {
                c.in_flight_writes += 1;
                if refreshed.is(401, Some("token_revoked")) {
                    c.in_flight_applied += 1;
                } else if refreshed.status != 200 {
                    lost_writes += lost(
                        report,
                        format!(
                            "a session with a logout in flight answers {}",
                            refreshed.describe()
                        ),
                    );
                }
                continue;
            }
            Pending::None if s.logged_out => {
                c.logouts += 1;
                if !refreshed.is(401, Some("token_revoked")) {
                    lost_writes += lost(
                        report,
                        format!(
                            "a logout answered 204: the session's refresh token answers {}",
                            refreshed.describe()
                        ),
                    );
                }
                let hello = api.hello(ip, &s.pair.access).await;
                if !hello.is(401, Some("token_revoked")) {
                    lost_writes += lost(
                        report,
                        format!(
                            "a logout answered 204: the session's access token answers {}",
                            hello.describe()
                        ),
                    );
                }
                continue;
            }
            Pending::None => {
                if refreshed.status != 200 {
                    let what = if s.rotations == 0 {
                        "a session created with 200"
                    } else {
                        "a rotation answered 200"
                    };
                    lost_writes += lost(
                        report,
                        format!("{what}: its refresh token answers {}", refreshed.describe()),
                    );
                    continue;
                }
            }
        }
        if let Some(next) = Pair::of(&refreshed) {
            let hello = api.hello(ip, &next.access).await;
            if hello.status != 200 {
                lost_writes += lost(
                    report,
                    format!("a live session's access token answers {}", hello.describe()),
                );
            }
        }
        if let Some(previous) = &s.previous {
            let replay = api.refresh(ip, previous).await;
            if !replay.is(401, Some("refresh_token_reused")) {
                lost_writes += lost(
                    report,
                    format!(
                        "the refresh token before the last acknowledged one answers {} (should be spent)",
                        replay.describe()
                    ),
                );
            }
        }
    }
    for client in &book.registered {
        c.registrations += 1;
        let again = api
            .post(
                Op::RegisterPhone,
                "register",
                client.ip,
                json!({ "phone": client.phone }),
            )
            .await;
        if !again.is(409, Some("already_registered")) {
            lost_writes += lost(
                report,
                format!(
                    "a registration answered 201: registering the phone again answers {}",
                    again.describe()
                ),
            );
        }
    }
    c.lost_writes = lost_writes;
    c
}

/// Runs the scenario.
pub(crate) async fn run(env: &Env, args: &Args) -> Result<Report> {
    let mut report = Report::new("sqlite-crash");
    let seed = args.seed.unwrap_or_else(rand::random);
    let mut rng = StdRng::seed_from_u64(seed);
    let spec = env.server_spec("server", None)?;
    let sms = Outbox::sms(&spec.sms_outbox);
    let ids = Ids::default();
    let recorder = Recorder::default();
    let mut server = Server::start(&spec).await?;
    let mut totals = Checked::default();
    let mut rounds = Vec::new();
    let mut requests = 0_usize;
    let mut unanswered_total = 0_usize;
    for round in 1..=args.kills {
        let api = Api::new(server.base(), env.client_timeout(), recorder.clone())?;
        let shared: Shared = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let before = recorder.len();
        let workers: Vec<_> = (0..args.clients)
            .map(|_| {
                tokio::spawn(client_loop(
                    api.clone(),
                    sms.clone(),
                    ids.clone(),
                    Arc::clone(&shared),
                    Arc::clone(&stop),
                    rng.random(),
                ))
            })
            .collect();
        let delay =
            Duration::from_millis(rng.random_range(args.min_ms..=args.max_ms.max(args.min_ms)));
        tokio::time::sleep(delay).await;
        server.kill9().await?;
        let killed = Instant::now();
        stop.store(true, Ordering::Relaxed);
        for worker in workers {
            worker.await?;
        }
        let round_records = recorder.snapshot();
        let round_records = round_records.get(before..).unwrap_or_default();
        let round_requests = round_records.len();
        let unanswered = round_records.iter().filter(|r| r.status == 0).count();
        requests += round_requests;
        unanswered_total += unanswered;
        if args.self_test_drop_wal {
            let mut wal = spec.db.clone().into_os_string();
            wal.push("-wal");
            std::fs::remove_file(&wal).context("self-test: removing the -wal file")?;
        }
        let integrity = integrity_check(&spec.db)?;
        report.check(
            integrity == "ok",
            format!("kill {round}: integrity_check after the kill: {integrity}"),
        );
        server = Server::start(&spec).await?;
        let restarted_ms = killed.elapsed().as_millis();
        let check_api = Api::new(server.base(), env.client_timeout(), Recorder::default())?;
        let book = std::mem::take(&mut *book(&shared));
        for what in &book.unexpected {
            report.violation(format!(
                "kill {round}: unexpected answer before the kill: {what}"
            ));
        }
        let c = check_book(&check_api, &book, &mut report, round).await;
        totals.registrations += c.registrations;
        totals.sessions += c.sessions;
        totals.rotations += c.rotations;
        totals.logouts += c.logouts;
        totals.in_flight_writes += c.in_flight_writes;
        totals.in_flight_applied += c.in_flight_applied;
        totals.lost_writes += c.lost_writes;
        report.line(format!(
            "kill {round} at {} ms: {round_requests} requests, {unanswered} in flight at the kill; restarted in {restarted_ms} ms; checked {} registrations, {} sessions, {} rotations, {} logouts acknowledged, {} writes in flight; integrity_check: {integrity}",
            delay.as_millis(),
            c.registrations,
            c.sessions,
            c.rotations,
            c.logouts,
            c.in_flight_writes
        ));
        rounds.push(json!({
            "kill_at_ms": delay.as_millis() as u64,
            "requests": round_requests,
            "unanswered_at_kill": unanswered,
            "restart_ms": restarted_ms as u64,
            "integrity_check": integrity,
            "checked": c,
        }));
    }
    let status = server.stop().await?;
    report.check(
        status.success(),
        format!("the server exited with {status} on SIGTERM"),
    );
    let integrity = integrity_check(&spec.db)?;
    report.check(
        integrity == "ok",
        format!("integrity_check at the end: {integrity}"),
    );
    let panics = procs::panics_in(&spec.log);
    report.check(panics == 0, format!("{panics} panics in the server log"));
    let lost = totals.lost_writes;
    report.figure("seed", seed);
    report.figure("clients", args.clients);
    report.figure("kills", args.kills);
    report.figure("requests", requests);
    report.figure("unanswered_at_kills", unanswered_total);
    report.figure("self_test_drop_wal", args.self_test_drop_wal);
    report.figure("acknowledged", totals);
    report.figure("lost_writes", lost);
    report.figure("integrity_check_end", &integrity);
    report.figure("rounds", rounds);
    report.figure("server_panics", panics);
    report.line(format!(
        "{} kills (seed {seed}), {requests} requests ({unanswered_total} in flight at the kills); acknowledged and checked: {} registrations, {} sessions, {} rotations, {} logouts; {} writes in flight at the kills ({} of the logouts applied); lost writes: {lost}; integrity_check at the end: {integrity}",
        args.kills,
        totals.registrations,
        totals.sessions,
        totals.rotations,
        totals.logouts,
        totals.in_flight_writes,
        totals.in_flight_applied,
    ));
    Ok(report)
}
