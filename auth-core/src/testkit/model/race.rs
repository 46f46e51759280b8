//! Many clients racing one refresh token, round after round: each round logs in (a fresh
//! session), then releases `clients` refreshes of its one refresh token at once, and checks
//! the answers against what the configuration promises.
//!
//! * With a grace window (`session.refresh_grace_secs > 0`, the default 10 s), every racer
//!   presents the token within the window: exactly one rotation happens (the store's
//!   generation is 1), **every** racer gets a token pair, and all of them the same new
//!   refresh token (the losers get what the grace window promises: the winner's next token,
//!   with a fresh access token). Afterwards the new pair works: its access tokens
//!   authenticate and its refresh token rotates once more. A round with two different new
//!   tokens or more than one rotation is a **double spend**; a round where a racer is refused,
//!   or the new pair does not work, is a **wrongful logout**.
//! * Without one (`refresh_grace_secs = 0`), the token is spent once: exactly one racer gets
//!   a pair, every other one `refresh_token_reused`, and the session is revoked (reuse
//!   detection, as promised). More than one success is a **double spend**; no success at all
//!   (or any other answer) a **wrongful logout**.
//!
//! [`run_refresh_race`] counts, round by round, how many racers succeeded, and returns the
//! figures; the caller asserts on them.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::api::{ClientInfo, NewAccount};
use crate::config::AuthConfig;
use crate::session::{RevokeReason, SessionStatus};
use crate::store::Store;
use crate::testkit::{FakeSms, TestKit};
use crate::{Auth, AuthError, Email, LoginIdentifier, Password};

/// What a race run does.
#[derive(Debug, Clone, Copy)]
pub struct RaceSettings {
    /// Rounds (each a fresh session).
    pub rounds: u32,
    /// Racing refreshes per round.
    pub clients: usize,
    /// The refresh grace window in seconds (the default configuration's is 10; 0: none).
    pub grace_secs: u64,
}

impl RaceSettings {
    /// `AUTH_RACE_ROUNDS` rounds (default `default_rounds`) of 50 clients with the given
    /// grace window.
    pub fn from_env(default_rounds: u32, grace_secs: u64) -> Self {
        Self {
            rounds: std::env::var("AUTH_RACE_ROUNDS")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(default_rounds),
            clients: 50,
            grace_secs,
        }
    }
}

/// The figures of a race run.
#[derive(Debug, Clone, Default)]
pub struct RaceReport {
    /// What was raced on.
    pub label: String,
    /// The settings.
    pub rounds: u32,
    /// Racers per round.
    pub clients: usize,
    /// The grace window, seconds.
    pub grace_secs: u64,
    /// Refreshes sent, in all.
    pub refreshes: u64,
    /// Successful racers per round → how many rounds had that many.
    pub successes: BTreeMap<usize, u64>,
    /// Answers other than success → how many racers got each.
    pub refusals: BTreeMap<String, u64>,
    /// Rounds with more than what the configuration allows (see the module docs).
    pub double_spends: u64,
    /// Rounds where a racer or the new pair was refused what the configuration promises.
    pub wrongful_logouts: u64,
    /// The first few problems, described.
    pub problems: Vec<String>,
    /// Wall time.
    pub elapsed: Duration,
}

impl fmt::Display for RaceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "refresh race on {}: {} rounds x {} clients, grace {} s: {} refreshes in {:.1} s",
            self.label,
            self.rounds,
            self.clients,
            self.grace_secs,
            self.refreshes,
            self.elapsed.as_secs_f64()
        )?;
        writeln!(f, "  successes per round: {:?}", self.successes)?;
        writeln!(f, "  refusals: {:?}", self.refusals)?;
        writeln!(
            f,
            "  double spends: {}, wrongful logouts: {}",
            self.double_spends, self.wrongful_logouts
        )?;
        for p in &self.problems {
            writeln!(f, "  problem: {p}")?;
        }
        Ok(())
    }
}

/// The race's configuration: [`TestKit::config`] with cheap argon2 and no password throttle
/// (each round logs in once), email accounts active at once, and the given grace window.
pub fn race_config(grace_secs: u64) -> AuthConfig {
    let mut c = TestKit::config();
    c.password.argon2_m_cost_kib = 8;
    c.password.attempts_per_window = u64::MAX / 2;
    c.accounts.require_email_activation = false;
    c.accounts.register_per_identifier_per_hour = u64::MAX / 2;
    c.session.refresh_grace_secs = grace_secs;
    c
}

/// Runs the race on `store` with the system clock (each racer reads its own time, as in
/// production). Needs a multi-thread runtime (`#[tokio::test(flavor = "multi_thread")]`) so
/// that racers run in parallel. Returns the figures; an error only when the setup fails.
pub async fn run_refresh_race(
    label: &str,
    store: Arc<dyn Store>,
    settings: RaceSettings,
) -> Result<RaceReport, String> {
    let auth = Auth::builder(race_config(settings.grace_secs))
        .store_arc(store.clone())
        .sms(FakeSms::new())
        .build()
        .map_err(|e| e.to_string())?;
    let client = ClientInfo::new(
        Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 50))),
        Some("race/1.0"),
    );
    let email = Email::parse(&format!(
        "race-{}@example.com",
        uuid::Uuid::new_v4().simple()
    ))
    .map_err(|e| e.to_string())?;
    let password = Password::new("velvet quarry lantern mosaic");
    auth.register(NewAccount::email(email.clone(), password.clone()), &client)
        .await
        .map_err(|e| format!("register: {e:?}"))?;
    let login = LoginIdentifier::Email(email);
    let mut report = RaceReport {
        label: label.to_owned(),
        rounds: settings.rounds,
        clients: settings.clients,
        grace_secs: settings.grace_secs,
        ..RaceReport::default()
    };
    let started = Instant::now();
    for round in 0..settings.rounds {
        let pair = auth
            .login_with_password(&login, &password, &client)
            .await
            .map_err(|e| format!("round {round}: login: {e:?}"))?;
        let token = pair.refresh_token.expose().to_owned();
        let barrier = Arc::new(tokio::sync::Barrier::new(settings.clients));
        let racers: Vec<_> = (0..settings.clients)
            .map(|_| {
                let (auth, token, client) = (auth.clone(), token.clone(), client.clone());
                let barrier = Arc::clone(&barrier);
                tokio::spawn(async move {
                    let _ = barrier.wait().await;
                    auth.refresh(&token, &client).await
                })
            })
            .collect();
        let mut pairs = Vec::new();
        let mut refused = Vec::new();
        for racer in racers {
            report.refreshes += 1;
            match racer.await {
                Ok(Ok(p)) => pairs.push(p),
                Ok(Err(e)) => refused.push(e),
                Err(e) => refused.push(AuthError::invalid_request(format!("racer died: {e}"))),
            }
        }
        *report.successes.entry(pairs.len()).or_insert(0) += 1;
        for e in &refused {
            *report.refusals.entry(e.code().to_owned()).or_insert(0) += 1;
        }
        let stored = store
            .session(pair.session_id)
            .await
            .map_err(|e| format!("round {round}: session: {e}"))?
            .ok_or_else(|| format!("round {round}: the session is gone"))?;
        let mut distinct: Vec<&str> = pairs.iter().map(|p| p.refresh_token.expose()).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let problem = |report: &mut RaceReport, double: bool, what: String| {
            if double {
                report.double_spends += 1;
            } else {
                report.wrongful_logouts += 1;
            }
            if report.problems.len() < 10 {
                report.problems.push(format!("round {round}: {what}"));
            }
        };
        if stored.refresh.generation != 1 || distinct.len() > 1 {
            problem(
                &mut report,
                true,
                format!(
                    "{} rotations, {} different new tokens",
                    stored.refresh.generation,
                    distinct.len()
                ),
            );
            continue;
        }
        if settings.grace_secs > 0 {
            if !refused.is_empty() {
                problem(
                    &mut report,
                    false,
                    format!(
                        "{} racers refused inside the grace window: {:?}",
                        refused.len(),
                        refused.first()
                    ),
                );
                continue;
            }
            let (Some(first), Some(last)) = (pairs.first(), pairs.last()) else {
                problem(&mut report, false, "no racer".to_owned());
                continue;
            };
            let mut follow_up = Vec::new();
            for p in [first, last] {
                follow_up.push(auth.authenticate(p.access_token.expose()).await.map(|_| ()));
            }
            let next = auth.refresh(first.refresh_token.expose(), &client).await;
            if let Ok(next) = &next {
                follow_up.push(
                    auth.authenticate(next.access_token.expose())
                        .await
                        .map(|_| ()),
                );
            }
            follow_up.push(next.map(|_| ()));
            if let Some(Err(e)) = follow_up.iter().find(|r| r.is_err()) {
                problem(
                    &mut report,
                    false,
                    format!("the new pair does not work: {e:?}"),
                );
            }
        } else {
            let reused = refused
                .iter()
                .filter(|e| **e == AuthError::RefreshTokenReused)
                .count();
            if pairs.len() > 1 {
                problem(
                    &mut report,
                    true,
                    format!("{} racers got a pair", pairs.len()),
                );
            } else if pairs.is_empty() || reused != refused.len() {
                problem(
                    &mut report,
                    false,
                    format!("{} pairs, refusals {:?}", pairs.len(), refused.first()),
                );
            } else if settings.clients > 1
                && !matches!(
                    stored.status,
                    SessionStatus::Revoked {
                        reason: RevokeReason::RefreshTokenReused,
                        ..
                    }
                )
            {
                problem(
                    &mut report,
                    true,
                    "a reused token did not revoke the session".to_owned(),
                );
            }
        }
    }
    report.elapsed = started.elapsed();
    Ok(report)
}
