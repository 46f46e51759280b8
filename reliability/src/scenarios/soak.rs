//! `soak`: a fixed request rate with a mix of every flow against the example server, on
//! SQLite and on (its own) Redis, for `--duration` seconds each, sampling the server's RSS.
//!
//! The clients run journeys, each as a new client with its own address:
//! * phone (most of them): register; sometimes a malformed request (400); SMS login, sometimes
//!   with a wrong code first (401 `invalid_code`); the guarded route, `/me`, `/sessions`;
//!   two rotations; sometimes a phone change confirmed by SMS; then one of: logout (the
//!   access token then answers 401 `token_revoked`), a replay of the first refresh token
//!   (401 `refresh_token_reused`, the session dies), or logout of the other sessions and
//!   logout;
//! * password (`--password-per-min` of them, argon2 makes them the expensive ones): register by
//!   email, activate by the mailed token, password login, a password change or an email
//!   change confirmed by mail, login again, rotate, logout; accounts whose last mail is over
//!   a minute old (the per-address mail cooldown) later get a password reset by mail.
//!
//! Every answer has an expected status and code; anything else is counted as unexpected and
//! fails the run. So does an RSS that keeps growing: after a warm-up (`--warmup-pct` of the
//! run, while caches fill), the samples are cut in thirds, and the run fails when the last
//! third's highest RSS exceeds the first third's highest by more than `--rss-growth-pct`.
//! It also fails when the clients could not keep 90% of the rate.

use std::collections::BTreeMap;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use serde_json::{Value, json};

use crate::Env;
use crate::api::{Answer, Api, Pair};
use crate::flows::OUTBOX_WAIT;
use crate::ids::{Client, Ids};
use crate::outbox::Outbox;
use crate::pacer::Pacer;
use crate::procs::{self, Redis, Server};
use crate::record::{self, Latency, Op, Record, Recorder};
use crate::report::Report;

/// Which store(s) to soak.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stores {
    Sqlite,
    Redis,
    Both,
}

/// Options of `soak`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The store(s), one run each.
    #[arg(long, value_enum, default_value_t = Stores::Both)]
    store: Stores,
    /// Seconds of load per store.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Requests per second.
    #[arg(long, default_value_t = 200)]
    rate: u32,
    /// Concurrent journeys.
    #[arg(long, default_value_t = 64)]
    workers: usize,
    /// Password journeys started per minute (each hashes 4 or 5 passwords with argon2id).
    #[arg(long, default_value_t = 6)]
    password_per_min: u64,
    /// Milliseconds between two RSS samples.
    #[arg(long, default_value_t = 1000)]
    sample_ms: u64,
    /// Share of the run, at its start, left out of the RSS criterion (caches filling).
    #[arg(long, default_value_t = 20)]
    warmup_pct: u64,
    /// The largest allowed growth of the highest RSS from the first third to the last third
    /// of the samples after the warm-up, in percent.
    #[arg(long, default_value_t = 10.0)]
    rss_growth_pct: f64,
}

/// Unexpected answers, counted by what was expected and what came.
#[derive(Clone, Default)]
struct Unexpected(Arc<Mutex<BTreeMap<String, u64>>>);

impl Unexpected {
    fn add(&self, what: String) {
        *self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(what)
            .or_insert(0) += 1;
    }

    fn counts(&self) -> BTreeMap<String, u64> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The run is over: a journey stops where it is.
struct Over;

/// A password account whose next mail may be sent once its cooldown is over.
struct ResetLater {
    client: Client,
    email: String,
    password: String,
    mail_at: Instant,
}

/// What every journey shares.
struct Shared {
    api: Api,
    sms: Outbox,
    mail: Outbox,
    ids: Ids,
    unexpected: Unexpected,
    started: Instant,
    deadline: Instant,
    password_per_min: u64,
    password_started: AtomicU64,
    journeys: AtomicU64,
    resets: Mutex<VecDeque<ResetLater>>,
}

impl Shared {
    /// Checks `answer` of `op` against `want` (status, error code); `Err(Over)` when the run
    /// ended before the request was sent, `Ok(false)` when it was unexpected.
    fn expect(&self, op: Op, answer: &Answer, want: (u16, Option<&str>)) -> Result<bool, Over> {
        if answer.status == 0 && self.api.stopped() {
            return Err(Over);
        }
        if answer.is(want.0, want.1) {
            return Ok(true);
        }
        let wanted = match want.1 {
            Some(code) => format!("{} {code}", want.0),
            None => want.0.to_string(),
        };
        self.unexpected.add(format!(
            "{}: {} (expected {wanted})",
            op.name(),
            answer.describe()
        ));
        Ok(false)
    }

    /// `expect`, then the string field `field` of the answer.
    fn expect_field(
        &self,
        op: Op,
        answer: &Answer,
        want: (u16, Option<&str>),
        field: &str,
    ) -> Result<Option<String>, Over> {
        Ok(if self.expect(op, answer, want)? {
            answer.field(field)
        } else {
            None
        })
    }

    /// A code or token from an outbox; an unexpected answer of `op` when missing.
    async fn secret(&self, outbox: &Outbox, to: &str, op: Op) -> Option<String> {
        let found = outbox.take(to, OUTBOX_WAIT).await;
        if found.is_none() {
            self.unexpected
                .add(format!("{}: nothing in the outbox for it", op.name()));
        }
        found
    }

    /// Whether a password journey is due now: `password_per_min` a minute, and one per CPU
    /// at once at the start, so that the server's argon2 working memory (one buffer per hash
    /// running at once, up to one per CPU) is all allocated within the warm-up.
    fn password_due(&self) -> bool {
        if self.password_per_min == 0 {
            return false;
        }
        let minutes = self.started.elapsed().as_secs_f64() / 60.0;
        let at_start = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
        let due = (minutes * self.password_per_min as f64).floor() as u64 + at_start;
        let started = self.password_started.load(Ordering::Relaxed);
        started < due
            && self
                .password_started
                .compare_exchange(started, started + 1, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// A queued account whose mail cooldown is over.
    fn reset_due(&self) -> Option<ResetLater> {
        let mut queue = self.resets.lock().unwrap_or_else(PoisonError::into_inner);
        let ready = queue
            .front()
            .is_some_and(|r| r.mail_at.elapsed() > Duration::from_secs(62));
        if ready { queue.pop_front() } else { None }
    }
}

/// `Ok(x)` or stop the journey: the `?` of a journey step.
macro_rules! step {
    ($shared:expr, $op:expr, $answer:expr, $want:expr) => {
        if !$shared.expect($op, &$answer, $want)? {
            return Ok(());
        }
    };
}

const OK: (u16, Option<&str>) = (200, None);
const CREATED: (u16, Option<&str>) = (201, None);
const ACCEPTED: (u16, Option<&str>) = (202, None);
const NO_CONTENT: (u16, Option<&str>) = (204, None);
const REVOKED: (u16, Option<&str>) = (401, Some("token_revoked"));

/// A password that passes the default policy (15+ characters, zxcvbn 3+).
fn password() -> String {
    let bytes: [u8; 12] = rand::random();
    let noise: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("soak {noise} Violet-Lantern")
}

/// The phone journey.
async fn phone_journey(s: &Shared, n: u64) -> Result<(), Over> {
    let api = &s.api;
    let c = s.ids.client();
    let ip = c.ip;
    let answer = api
        .post(
            Op::RegisterPhone,
            "register",
            ip,
            json!({ "phone": c.phone }),
        )
        .await;
    step!(s, Op::RegisterPhone, answer, CREATED);
    if n.is_multiple_of(10) {
        let answer = api
            .post(Op::BadRequest, "register", ip, json!({ "phone": "12" }))
            .await;
        step!(s, Op::BadRequest, answer, (400, Some("invalid_request")));
    }
    let answer = api
        .post(Op::SmsStart, "login", ip, json!({ "phone": c.phone }))
        .await;
    let Some(challenge) = s.expect_field(Op::SmsStart, &answer, ACCEPTED, "challenge_id")? else {
        return Ok(());
    };
    let Some(code) = s.secret(&s.sms, &c.phone, Op::SmsVerify).await else {
        return Ok(());
    };
    if n.is_multiple_of(4) {
        let wrong: String = code
            .chars()
            .map(|d| {
                if d == '9' {
                    '0'
                } else {
                    char::from(d as u8 + 1)
                }
            })
            .collect();
        let body = json!({ "challenge_id": challenge, "code": wrong });
        let answer = api.post(Op::SmsVerify, "verify_sms", ip, body).await;
        step!(s, Op::SmsVerify, answer, (401, Some("invalid_code")));
    }
    let body = json!({ "challenge_id": challenge, "code": code });
    let answer = api.post(Op::SmsVerify, "verify_sms", ip, body).await;
    step!(s, Op::SmsVerify, answer, OK);
    let Some(first) = Pair::of(&answer) else {
        return Ok(());
    };
    step!(s, Op::Hello, api.hello(ip, &first.access).await, OK);
    step!(
        s,
        Op::Me,
        api.get_as(Op::Me, "/api/auth/me", ip, &first.access).await,
        OK
    );
    let answer = api
        .get_as(Op::Sessions, "/api/auth/sessions", ip, &first.access)
        .await;
    step!(s, Op::Sessions, answer, OK);
    let answer = api.refresh(ip, &first.refresh).await;
    step!(s, Op::Refresh, answer, OK);
    let Some(second) = Pair::of(&answer) else {
        return Ok(());
    };
    step!(s, Op::Hello, api.hello(ip, &second.access).await, OK);
    if n.is_multiple_of(5) {
        let new_phone = s.ids.client().phone;
        let body = json!({ "phone": new_phone });
        let answer = api
            .post_as(Op::PhoneChange, "phone", ip, &second.access, Some(body))
            .await;
        let Some(challenge) = s.expect_field(Op::PhoneChange, &answer, ACCEPTED, "challenge_id")?
        else {
            return Ok(());
        };
        let Some(code) = s.secret(&s.sms, &new_phone, Op::PhoneConfirm).await else {
            return Ok(());
        };
        let body = json!({ "challenge_id": challenge, "code": code });
        let answer = api
            .post_as(
                Op::PhoneConfirm,
                "phone/confirm",
                ip,
                &second.access,
                Some(body),
            )
            .await;
        step!(s, Op::PhoneConfirm, answer, NO_CONTENT);
    }
    let answer = api.refresh(ip, &second.refresh).await;
    step!(s, Op::Refresh, answer, OK);
    let Some(third) = Pair::of(&answer) else {
        return Ok(());
    };
    match n % 7 {
        0 => {
            // A replay of a token two rotations old: reuse, the session dies.
            let answer = api.refresh(ip, &first.refresh).await;
            step!(s, Op::Refresh, answer, (401, Some("refresh_token_reused")));
        }
        3 => {
            let answer = api
                .post_as(
                    Op::LogoutOthers,
                    "logout_all_other_sessions",
                    ip,
                    &third.access,
                    None,
                )
                .await;
            step!(s, Op::LogoutOthers, answer, OK);
            let answer = api
                .post_as(Op::Logout, "logout", ip, &third.access, None)
                .await;
            step!(s, Op::Logout, answer, NO_CONTENT);
        }
        _ => {
            let answer = api
                .post_as(Op::Logout, "logout", ip, &third.access, None)
                .await;
            step!(s, Op::Logout, answer, NO_CONTENT);
        }
    }
    step!(s, Op::Hello, api.hello(ip, &third.access).await, REVOKED);
    Ok(())
}

/// Password login: 200 and a pair expected.
async fn password_login(
    s: &Shared,
    ip: std::net::Ipv4Addr,
    email: &str,
    pw: &str,
) -> Result<Option<Pair>, Over> {
    let body = json!({ "email": email, "password": pw });
    let answer = s.api.post(Op::PasswordLogin, "login", ip, body).await;
    Ok(if s.expect(Op::PasswordLogin, &answer, OK)? {
        Pair::of(&answer)
    } else {
        None
    })
}

/// The password journey.
async fn password_journey(s: &Shared, m: u64) -> Result<(), Over> {
    let api = &s.api;
    let c = s.ids.client();
    let ip = c.ip;
    let email = c.email();
    let first_password = password();
    let body = json!({ "email": email, "password": first_password });
    let answer = api.post(Op::RegisterEmail, "register", ip, body).await;
    step!(s, Op::RegisterEmail, answer, CREATED);
    let Some(token) = s.secret(&s.mail, &email, Op::Activate).await else {
        return Ok(());
    };
    let answer = api
        .post(Op::Activate, "activate", ip, json!({ "token": token }))
        .await;
    step!(s, Op::Activate, answer, NO_CONTENT);
    let Some(pair) = password_login(s, ip, &email, &first_password).await? else {
        return Ok(());
    };
    step!(s, Op::Hello, api.hello(ip, &pair.access).await, OK);
    step!(
        s,
        Op::Me,
        api.get_as(Op::Me, "/api/auth/me", ip, &pair.access).await,
        OK
    );
    let (email, current_password, mail_at) = if m.is_multiple_of(2) {
        let new_password = password();
        let body = json!({ "old_password": first_password, "new_password": new_password });
        let answer = api
            .post_as(Op::PasswordChange, "password", ip, &pair.access, Some(body))
            .await;
        step!(s, Op::PasswordChange, answer, NO_CONTENT);
        (email, new_password, None)
    } else {
        let new_email = format!("changed.{email}");
        let body = json!({ "email": new_email, "password": first_password });
        let answer = api
            .post_as(Op::EmailChange, "email", ip, &pair.access, Some(body))
            .await;
        step!(s, Op::EmailChange, answer, ACCEPTED);
        let Some(token) = s.secret(&s.mail, &new_email, Op::EmailConfirm).await else {
            return Ok(());
        };
        let answer = api
            .post(
                Op::EmailConfirm,
                "email/confirm",
                ip,
                json!({ "token": token }),
            )
            .await;
        step!(s, Op::EmailConfirm, answer, NO_CONTENT);
        (new_email, first_password, Some(Instant::now()))
    };
    let Some(pair) = password_login(s, ip, &email, &current_password).await? else {
        return Ok(());
    };
    let answer = api.refresh(ip, &pair.refresh).await;
    step!(s, Op::Refresh, answer, OK);
    let Some(pair) = Pair::of(&answer) else {
        return Ok(());
    };
    let answer = api
        .post_as(Op::Logout, "logout", ip, &pair.access, None)
        .await;
    step!(s, Op::Logout, answer, NO_CONTENT);
    s.resets
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push_back(ResetLater {
            client: c,
            email,
            password: current_password,
            mail_at: mail_at.unwrap_or_else(Instant::now),
        });
    Ok(())
}

/// A password reset by mail for an account whose mail cooldown is over.
async fn reset_journey(s: &Shared, r: ResetLater) -> Result<(), Over> {
    let api = &s.api;
    let ip = r.client.ip;
    let answer = api
        .post(
            Op::PasswordReset,
            "password/reset",
            ip,
            json!({ "email": r.email }),
        )
        .await;
    step!(s, Op::PasswordReset, answer, ACCEPTED);
    let Some(token) = s.secret(&s.mail, &r.email, Op::PasswordResetConfirm).await else {
        return Ok(());
    };
    let new_password = password();
    let body = json!({ "token": token, "new_password": new_password });
    let answer = api
        .post(Op::PasswordResetConfirm, "password/reset/confirm", ip, body)
        .await;
    step!(s, Op::PasswordResetConfirm, answer, NO_CONTENT);
    // The old password no longer works; the new one does.
    let body = json!({ "email": r.email, "password": r.password });
    let answer = api.post(Op::PasswordLogin, "login", ip, body).await;
    step!(
        s,
        Op::PasswordLogin,
        answer,
        (401, Some("invalid_credentials"))
    );
    let Some(pair) = password_login(s, ip, &r.email, &new_password).await? else {
        return Ok(());
    };
    let answer = api
        .post_as(Op::Logout, "logout", ip, &pair.access, None)
        .await;
    step!(s, Op::Logout, answer, NO_CONTENT);
    Ok(())
}

/// One worker: journeys until the run is over.
async fn worker(s: Arc<Shared>) {
    while Instant::now() < s.deadline && !s.api.stopped() {
        let result = if let Some(r) = s.reset_due() {
            reset_journey(&s, r).await
        } else if s.password_due() {
            let m = s.password_started.load(Ordering::Relaxed);
            password_journey(&s, m).await
        } else {
            let n = s.journeys.fetch_add(1, Ordering::Relaxed);
            phone_journey(&s, n).await
        };
        if result.is_err() {
            return;
        }
    }
}

/// RSS samples: seconds since the start and KiB.
type Samples = Vec<(f64, u64)>;

/// The RSS criterion over `samples`: (first third's max, last third's max, growth %).
fn rss_growth(samples: &Samples, warmup_pct: u64) -> Option<(u64, u64, f64)> {
    let skip = samples.len() * warmup_pct as usize / 100;
    let rest = samples.get(skip..)?;
    let third = rest.len() / 3;
    if third == 0 {
        return None;
    }
    let first = rest.get(..third)?.iter().map(|s| s.1).max()?;
    let last = rest.get(rest.len() - third..)?.iter().map(|s| s.1).max()?;
    let growth = (last as f64 - first as f64) / first as f64 * 100.0;
    Some((first, last, record::round(growth)))
}

/// Runs the scenario on the chosen store(s), handing each report to `done` as soon as its
/// run is over.
pub(crate) async fn run(
    env: &Env,
    args: &Args,
    mut done: impl FnMut(Report) -> Result<()>,
) -> Result<()> {
    if matches!(args.store, Stores::Sqlite | Stores::Both) {
        done(run_one(env, args, false).await?)?;
    }
    if matches!(args.store, Stores::Redis | Stores::Both) {
        done(run_one(env, args, true).await?)?;
    }
    Ok(())
}

async fn run_one(env: &Env, args: &Args, on_redis: bool) -> Result<Report> {
    let store = if on_redis { "redis" } else { "sqlite" };
    let mut report = Report::new(&format!("soak-{store}"));
    let redis = if on_redis {
        let dir = env.path().join("soak-redis");
        Some(
            Redis::start(&env.common.redis_server, &dir, false)
                .await
                .context("starting redis-server")?,
        )
    } else {
        None
    };
    let spec = env.server_spec(&format!("soak-{store}"), redis.as_ref().map(Redis::url))?;
    let mut server = Server::start(&spec).await?;
    let recorder = Recorder::default();
    let api = Api::new(server.base(), env.client_timeout(), recorder.clone())?;
    let pacer = Pacer::start(args.rate, (args.rate as usize / 10).max(1));
    let started = Instant::now();
    let duration = Duration::from_secs(args.duration);
    let shared = Arc::new(Shared {
        api: api.paced(&pacer),
        sms: Outbox::sms(&spec.sms_outbox),
        mail: Outbox::mail(&spec.mail_outbox),
        ids: Ids::default(),
        unexpected: Unexpected::default(),
        started,
        deadline: started + duration,
        password_per_min: args.password_per_min,
        password_started: AtomicU64::new(0),
        journeys: AtomicU64::new(0),
        resets: Mutex::new(VecDeque::new()),
    });
    let workers: Vec<_> = (0..args.workers)
        .map(|_| tokio::spawn(worker(Arc::clone(&shared))))
        .collect();
    let mut samples: Samples = Vec::new();
    let period = Duration::from_millis(args.sample_ms.max(100));
    while started.elapsed() < duration {
        if let Some(kib) = server.rss_kib() {
            samples.push((record::round(started.elapsed().as_secs_f64()), kib));
        }
        tokio::time::sleep(period.min(duration.saturating_sub(started.elapsed()))).await;
    }
    if let Some(kib) = server.rss_kib() {
        samples.push((record::round(started.elapsed().as_secs_f64()), kib));
    }
    pacer.stop();
    let elapsed = started.elapsed().as_secs_f64();
    for w in workers {
        w.await?;
    }
    let status = server.stop().await?;
    report.check(
        status.success(),
        format!("the server exited with {status} on SIGTERM"),
    );
    let panics = procs::panics_in(&spec.log);
    report.check(panics == 0, format!("{panics} panics in the server log"));
    drop(redis);

    let records: Vec<Record> = recorder
        .snapshot()
        .into_iter()
        .filter(|r| r.sent < started + duration)
        .collect();
    let unexpected = shared.unexpected.counts();
    let unexpected_total: u64 = unexpected.values().sum();
    for (what, count) in &unexpected {
        report.violation(format!("{count} × {what}"));
    }
    let achieved = records.len() as f64 / elapsed;
    report.check(
        achieved >= 0.9 * f64::from(args.rate),
        format!(
            "the clients kept {achieved:.1} req/s of the {} asked (the server was too slow)",
            args.rate
        ),
    );
    let hang = env.hang();
    let hangs = records.iter().filter(|r| r.took > hang).count();
    report.check(
        hangs == 0,
        format!("{hangs} requests slower than the hang bound"),
    );
    let non_2xx = records.iter().filter(|r| !r.ok()).count();
    let mut per_op: BTreeMap<&str, Value> = BTreeMap::new();
    let mut ops: Vec<Op> = records.iter().map(|r| r.op).collect();
    ops.sort();
    ops.dedup();
    for op in ops {
        let of_op: Vec<&Record> = records.iter().filter(|r| r.op == op).collect();
        let _ = per_op.insert(
            op.name(),
            json!({
                "latency": Latency::of(of_op.iter().copied()),
                "answers": record::answers(of_op.iter().copied()),
            }),
        );
    }
    let rss_start = samples.first().map(|s| s.1);
    let rss_end = samples.last().map(|s| s.1);
    let rss_max = samples.iter().map(|s| s.1).max();
    let growth = rss_growth(&samples, args.warmup_pct);
    match growth {
        Some((_, _, pct)) => report.check(
            pct <= args.rss_growth_pct,
            format!(
                "RSS kept growing: the last third's highest is {pct}% above the first third's (limit {}%)",
                args.rss_growth_pct
            ),
        ),
        None => report.violation("too few RSS samples for the criterion"),
    }
    let latency = Latency::of(records.iter());
    report.figure("store", store);
    report.figure("duration_s", args.duration);
    report.figure("rate_per_s", args.rate);
    report.figure("achieved_rate_per_s", record::round(achieved));
    report.figure("missed_ticks", pacer.missed());
    report.figure("requests", records.len());
    report.figure("phone_journeys", shared.journeys.load(Ordering::Relaxed));
    report.figure(
        "password_journeys",
        shared.password_started.load(Ordering::Relaxed),
    );
    report.figure("non_2xx", non_2xx);
    report.figure(
        "non_2xx_expected",
        non_2xx as u64 - unexpected_total.min(non_2xx as u64),
    );
    report.figure("unexpected", unexpected_total);
    report.figure("unexpected_by_kind", &unexpected);
    report.figure("latency", latency);
    report.figure("by_op", &per_op);
    report.figure(
        "rss_kib",
        json!({
            "start": rss_start,
            "end": rss_end,
            "max": rss_max,
            "first_third_max": growth.map(|g| g.0),
            "last_third_max": growth.map(|g| g.1),
            "growth_pct": growth.map(|g| g.2),
            "limit_pct": args.rss_growth_pct,
            "warmup_pct": args.warmup_pct,
            "samples": samples.len(),
        }),
    );
    report.figure("rss_samples", &samples);
    report.figure("server_panics", panics);
    report.line(format!(
        "{store}: {} requests in {elapsed:.1} s ({achieved:.1} req/s of {} asked, {} ticks missed); {} phone and {} password journeys; latency p50 {} ms, p99 {} ms, max {} ms",
        records.len(),
        args.rate,
        pacer.missed(),
        shared.journeys.load(Ordering::Relaxed),
        shared.password_started.load(Ordering::Relaxed),
        latency.p50_ms,
        latency.p99_ms,
        latency.max_ms,
    ));
    report.line(format!(
        "{store}: {non_2xx} answers not 2xx, {unexpected_total} of them unexpected",
    ));
    report.line(format!(
        "{store}: RSS start {} KiB, end {} KiB, max {} KiB; after the {}% warm-up: first third's max {} KiB, last third's max {} KiB, growth {}% (limit {}%)",
        opt(rss_start),
        opt(rss_end),
        opt(rss_max),
        args.warmup_pct,
        opt(growth.map(|g| g.0)),
        opt(growth.map(|g| g.1)),
        growth.map_or("-".to_owned(), |g| g.2.to_string()),
        args.rss_growth_pct,
    ));
    Ok(report)
}

fn opt(v: Option<u64>) -> String {
    v.map_or("-".to_owned(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_growth_compares_the_thirds_after_the_warmup() {
        // 10 samples, 20% warm-up: 8 left, thirds of 2.
        let flat: Samples = (0..10).map(|i| (f64::from(i), 100)).collect();
        assert_eq!(rss_growth(&flat, 20), Some((100, 100, 0.0)));
        let growing: Samples = (0..10)
            .map(|i| (f64::from(i), 100 + 10 * i as u64))
            .collect();
        // After the warm-up: 120..=190; first third max 130, last third max 190.
        assert_eq!(rss_growth(&growing, 20), Some((130, 190, 46.2)));
        assert_eq!(rss_growth(&Vec::new(), 20), None);
    }
}
