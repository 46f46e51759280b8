//! Model-based tests of the whole core against any store: random sequences of the flows a
//! client reaches, each answer compared with a small reference model, and what the store
//! holds compared with the model after every step. Shrinking reports a failing sequence
//! reduced to the steps that matter.
//!
//! Two runners:
//!
//! * [`run_model`]: a [`proptest_state_machine`] sequential state machine. The steps:
//!   registration (phone + username, email + password), SMS login start and verify (the
//!   right code, a wrong one, a used one), password login (right and wrong passwords, unknown
//!   accounts), refresh (the current token, the previous one inside and outside the grace
//!   window, older ones), two refreshes of one token racing (spawned together and joined),
//!   forged and malformed refresh tokens, guarded requests with each access token, logout,
//!   logout of the other sessions, revoking a session, password change, password reset by
//!   SMS, an admin disabling and enabling an account, and the clock moving (by a second, and
//!   past the grace window, access-token expiry, code expiry, cooldowns, lockouts, limit
//!   windows, the idle timeout and the session lifetime). After every step:
//!   * the answer is the one the model expects, errors included (code, and `Retry-After`
//!     for 429s): what the model says must work works (no wrongful logout), what it says
//!     must fail fails (a revoked session's tokens never work again; a refresh token is spent
//!     once outside the grace window; a code works once);
//!   * no step panics or answers `internal_error` (or `store_unavailable`: the store is up);
//!   * every session's latest access token authenticates exactly when the model says;
//!   * the store holds what the model says: each session's status, revocation reason,
//!     refresh generation and times; each challenge's attempts and use; each account's
//!     status, login count, password and credential-change time; every failure count
//!     (lockouts, cooldowns, failure caps) with its times (counters never go negative nor
//!     drift).
//! * [`race::run_refresh_race`]: many clients racing one refresh token, round after round.
//!
//! The model uses [`model_config`]: the defaults with the limits lowered so that random
//! sequences reach them. Run it against a store the way the conformance suite runs:
//!
//! ```no_run
//! use std::sync::Arc;
//! use auth_core::testkit::MemoryStore;
//! use auth_core::testkit::model::{ModelSettings, StoreUnderTest, run_model};
//!
//! // In a plain `#[test]` (not `#[tokio::test]`: the runner has its own runtime).
//! let report = run_model("memory", ModelSettings::from_env(64), || {
//!     Box::pin(async { Ok(StoreUnderTest::new(Arc::new(MemoryStore::new()))) })
//! });
//! println!("{report}");
//! ```
//!
//! `AUTH_MODEL_CASES` sets the number of cases (sequences) and `AUTH_MODEL_STEPS` the
//! longest sequence, for a long run; proptest's own `PROPTEST_RNG_SEED` replays a run.

pub mod race;
mod reference;
mod sut;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use proptest_state_machine::ReferenceStateMachine;

use crate::config::AuthConfig;
use crate::store::Store;
use crate::testkit::TestKit;

pub use reference::{LoginId, ModelState, PwGuess, Reference, Step};

/// The configuration the model assumes: [`TestKit::config`] (fast argon2) with
/// * email accounts active at once (`accounts.require_email_activation = false`; no mail);
/// * limits low enough for random sequences to reach them: password lockout after 3
///   failures, 6 password attempts per 15 minutes per account, 8 failed password checks per
///   client IP; SMS lockout after 4 wrong codes, 10 SMS per client IP per hour and 30 per
///   day; 8 registrations per client IP per hour and 20 per day, 3 per identifier per hour;
///   3 failed refreshes per client IP and 2 per session;
/// * sessions of 6 hours, 2 hours idle.
///
/// Everything else is the default: 10-second refresh grace window, 10-minute access tokens
/// and codes, 5 tries per code, 60-second resend cooldown, 5 and 10 SMS per phone and
/// channel per hour and day, 15-minute lockouts doubling up to a day, 15-minute recent login.
pub fn model_config() -> AuthConfig {
    let mut c = TestKit::config();
    c.password.argon2_m_cost_kib = 8;
    c.accounts.require_email_activation = false;
    c.password.lockout_after = 3;
    c.password.attempts_per_window = 6;
    c.password.failures_per_ip = 8;
    c.sms.lockout_after = 4;
    c.sms.per_ip_per_hour = 10;
    c.sms.per_ip_per_day = 30;
    c.accounts.register_per_ip_per_hour = 8;
    c.accounts.register_per_ip_per_day = 20;
    c.accounts.register_per_identifier_per_hour = 3;
    c.session.refresh_failures_per_ip = 3;
    c.session.refresh_failures_per_session = 2;
    c.session.absolute_lifetime_secs = 6 * 3600;
    c.session.idle_timeout_secs = 2 * 3600;
    c
}

/// How many sequences to run and how long they may be.
#[derive(Debug, Clone, Copy)]
pub struct ModelSettings {
    /// Sequences (proptest cases).
    pub cases: u32,
    /// Steps of the longest sequence (each case has 1 to this many).
    pub max_steps: usize,
}

impl ModelSettings {
    /// `AUTH_MODEL_CASES` cases (default `default_cases`) of at most `AUTH_MODEL_STEPS` steps
    /// (default 50).
    pub fn from_env(default_cases: u32) -> Self {
        let var = |name: &str| std::env::var(name).ok().and_then(|v| v.trim().parse().ok());
        Self {
            cases: var("AUTH_MODEL_CASES")
                .and_then(|v: u64| u32::try_from(v).ok())
                .unwrap_or(default_cases),
            max_steps: var("AUTH_MODEL_STEPS")
                .and_then(|v: u64| usize::try_from(v).ok())
                .unwrap_or(50)
                .max(1),
        }
    }
}

/// A boxed future, as the store factory and the teardown give them.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A fresh store for one case, and what to do with it after the case (e.g. delete its keys).
pub struct StoreUnderTest {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Run after the case, whatever its outcome.
    pub teardown: Option<BoxFuture<()>>,
}

impl StoreUnderTest {
    /// A store that needs no teardown.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            teardown: None,
        }
    }

    /// Runs `teardown` after the case.
    pub fn with_teardown(mut self, teardown: impl Future<Output = ()> + Send + 'static) -> Self {
        self.teardown = Some(Box::pin(teardown));
        self
    }
}

impl fmt::Debug for StoreUnderTest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreUnderTest").finish_non_exhaustive()
    }
}

/// What a run did: cases, steps, time, and how often each kind of step got each answer.
#[derive(Debug, Clone, Default)]
pub struct ModelReport {
    /// What was tested (the label given).
    pub label: String,
    /// Sequences run (before any shrinking).
    pub cases: u64,
    /// Steps applied in them.
    pub steps: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// `(step kind, answer)` → how many times, over the cases run.
    pub outcomes: BTreeMap<(String, String), u64>,
}

impl ModelReport {
    /// How many steps of `kind` got the answer `outcome` (an error code, or `token_pair`,
    /// `principal`, `ok`, …).
    pub fn count(&self, kind: &str, outcome: &str) -> u64 {
        self.outcomes
            .get(&(kind.to_owned(), outcome.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// The `(kind, outcome)` pairs of [`ModelReport::CORE_PATHS`] that no step reached: a run
    /// of a few dozen cases reaches them all, so anything here means the step mix no longer
    /// exercises the core (e.g. a model change that keeps every login from succeeding).
    pub fn missed_core_paths(&self) -> Vec<(&'static str, &'static str)> {
        Self::CORE_PATHS
            .iter()
            .copied()
            .filter(|(kind, outcome)| self.count(kind, outcome) == 0)
            .collect()
    }

    /// Outcomes every run of 32 cases or more reaches (each is reached several times per
    /// 10 cases on average).
    pub const CORE_PATHS: [(&'static str, &'static str); 6] = [
        ("register", "registered"),
        ("sms_verify", "token_pair"),
        ("password_login", "token_pair"),
        ("refresh(current)", "token_pair"),
        ("refresh_race(current)", "token_pair"),
        ("sms_start", "rate_limited"),
    ];
}

impl fmt::Display for ModelReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "model test on {}: {} cases, {} steps in {:.1} s",
            self.label,
            self.cases,
            self.steps,
            self.elapsed.as_secs_f64()
        )?;
        for ((kind, outcome), n) in &self.outcomes {
            writeln!(f, "  {kind:<22} {outcome:<24} {n}")?;
        }
        Ok(())
    }
}

/// Runs the model test: `settings.cases` random sequences, each on a fresh store from
/// `make_store` (called inside the runner's Tokio runtime), then shrinks the first failing
/// one and panics with it, minimal, step by step.
///
/// Call it from a plain `#[test]`: it builds its own multi-thread runtime (two workers, so
/// racing refreshes run in parallel).
///
/// # Panics
/// When a sequence fails (the message holds the shrunk sequence and what went wrong), or the
/// runtime cannot be built.
#[allow(clippy::panic)]
pub fn run_model<F>(label: &str, settings: ModelSettings, make_store: F) -> ModelReport
where
    F: Fn() -> BoxFuture<Result<StoreUnderTest, String>>,
{
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("cannot build a Tokio runtime: {e}"),
    };
    let config = Config {
        cases: settings.cases,
        failure_persistence: None,
        ..Config::default()
    };
    let report = Mutex::new(ModelReport {
        label: label.to_owned(),
        ..ModelReport::default()
    });
    let started = Instant::now();
    let strategy = Reference::sequential_strategy(1..=settings.max_steps);
    let mut runner = TestRunner::new(config);
    let result = runner.run(&strategy, |(initial, steps, seen)| {
        let made = runtime
            .block_on(make_store())
            .map_err(|e| TestCaseError::fail(format!("cannot make the store: {e}")))?;
        let mut sut = sut::Sut::new(runtime.handle().clone(), made).map_err(TestCaseError::fail)?;
        let first_pass = seen.is_some();
        let mut state = initial;
        let mut outcomes = Vec::with_capacity(steps.len());
        for (i, step) in steps.into_iter().enumerate() {
            if let Some(seen) = &seen {
                seen.fetch_add(1, Ordering::SeqCst);
            }
            state = <Reference as ReferenceStateMachine>::apply(state, &step);
            let fail =
                |what: String| TestCaseError::fail(format!("step {}: {step:?}: {what}", i + 1));
            sut.apply(&step, &state).map_err(fail)?;
            sut.check(&state)
                .map_err(|e| fail(format!("after the step: {e}")))?;
            if let Some(expect) = &state.last {
                outcomes.push((
                    step.kind().to_owned(),
                    reference::outcome_name(&expect.result),
                ));
            }
        }
        if first_pass {
            let mut report = report.lock().unwrap_or_else(|p| p.into_inner());
            report.cases += 1;
            for key in outcomes {
                report.steps += 1;
                *report.outcomes.entry(key).or_insert(0) += 1;
            }
        }
        Ok(())
    });
    let mut report = report.into_inner().unwrap_or_else(|p| p.into_inner());
    report.elapsed = started.elapsed();
    match result {
        Ok(()) => report,
        Err(TestError::Fail(reason, (_, steps, _))) => {
            let listing: Vec<String> = steps
                .iter()
                .enumerate()
                .map(|(i, s)| format!("  {:>3}. {s:?}", i + 1))
                .collect();
            panic!(
                "model test on {label} failed: {reason}\nminimal failing sequence ({} steps):\n{}",
                steps.len(),
                listing.join("\n")
            )
        }
        Err(TestError::Abort(reason)) => panic!("model test on {label} aborted: {reason}"),
    }
}
