//! The reference model: what the service must answer to each step, and what must hold after
//! it, computed from the documented rules and the configuration alone (whole seconds since
//! the start of a case, abstract handles instead of ids and tokens).
//!
//! Everything here is plain data: a step's expected answer is stored in
//! [`ModelState::last`] for the system under test to compare with.

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union};
use proptest_state_machine::ReferenceStateMachine;

use crate::AuthError;
use crate::config::AuthConfig;
use crate::session::RevokeReason;

use super::model_config;

/// The phones of the model: the first two can register (account slots 0 and 1), the third
/// never has an account (its challenges are decoys).
pub(crate) const PHONES: [&str; 3] = ["+15550100001", "+15550100002", "+15550100099"];
/// The usernames of the two phone accounts (so that a phone account can log in with a
/// password once it has one).
pub(crate) const USERNAMES: [&str; 2] = ["modeluser0", "modeluser1"];
/// The emails of the two password accounts (slots 2 and 3).
pub(crate) const EMAILS: [&str; 2] = ["model-a@example.com", "model-b@example.com"];
/// An email no account ever has.
pub(crate) const UNKNOWN_EMAIL: &str = "nobody@example.com";
/// Strong passwords: index 0 is every email account's first password.
pub(crate) const PASSWORDS: [&str; 3] = [
    "velvet quarry lantern mosaic",
    "copper orbit meadow whistle",
    "granite tundra falcon ember",
];
/// A password the policy refuses (too short): index [`WEAK`] in a step.
pub(crate) const WEAK_PASSWORD: &str = "password";
/// The index that stands for [`WEAK_PASSWORD`].
pub(crate) const WEAK: u8 = 3;
/// Account slots: 0 and 1 are phone accounts, 2 and 3 email accounts.
pub(crate) const SLOTS: usize = 4;
/// Client IPs (`203.0.113.1` to `.3`).
pub(crate) const CLIENTS: u8 = 3;
/// The clock advances a step may make, in seconds: small ones, and the edges of the grace
/// window (10 s), the access-token lifetime (600 s + 5 s leeway), the code lifetime and
/// resend cooldown, the lockouts and limit windows, the idle timeout and the session lifetime.
pub(crate) const ADVANCES: [u64; 24] = [
    1, 2, 5, 9, 10, 11, 30, 59, 60, 61, 300, 599, 600, 604, 605, 900, 1800, 3600, 3601, 7199, 7200,
    14_400, 21_600, 86_400,
];

/// How a password is picked for a login or a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PwGuess {
    /// The account's current password (the first one when it has none or does not exist).
    Current,
    /// One of [`PASSWORDS`] by index.
    Nth(u8),
}

/// What a password login names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginId {
    /// The email of account slot 2 + n.
    Email(u8),
    /// The username of (phone) account slot n.
    Username(u8),
    /// An email with no account.
    UnknownEmail,
}

/// One step of a case.
#[derive(Clone, Debug)]
pub enum Step {
    /// `POST /register` of account slot `slot` (phone + username, or email + first password).
    Register {
        /// Account slot.
        slot: u8,
        /// Client index.
        client: u8,
    },
    /// `POST /login {"phone"}`.
    SmsStart {
        /// Phone index.
        phone: u8,
        /// Client index.
        client: u8,
    },
    /// `POST /verify_sms` with the challenge's right code or a wrong one.
    SmsVerify {
        /// Challenge, counted back from the newest (0).
        challenge: usize,
        /// The right code (the one sent) or a wrong one.
        right: bool,
        /// Client index.
        client: u8,
    },
    /// Password login.
    PasswordLogin {
        /// Who.
        login: LoginId,
        /// With which password.
        password: PwGuess,
        /// Client index.
        client: u8,
    },
    /// `POST /refresh` with the token `lag` generations behind the session's current one.
    Refresh {
        /// Session, counted back from the newest (0).
        session: usize,
        /// Generations behind the current one (0: the current token).
        lag: u64,
        /// Client index.
        client: u8,
    },
    /// Two refreshes of the same token at once (spawned together and joined).
    RefreshRace {
        /// Session, counted back from the newest (0).
        session: usize,
        /// Generations behind the current one.
        lag: u64,
        /// Client index.
        client: u8,
    },
    /// `POST /refresh` with a token the server never issued: the current token of a session
    /// with a forged tag, or (`None`) not a token at all.
    ForgedRefresh {
        /// The session the forged token names.
        session: Option<usize>,
        /// Client index.
        client: u8,
    },
    /// Authenticates one of the session's access tokens (a guarded request).
    Authenticate {
        /// Session, counted back from the newest (0).
        session: usize,
        /// Access token index (clamped to the latest).
        access: usize,
    },
    /// `POST /logout` with the session's latest access token.
    Logout {
        /// Session, counted back from the newest (0).
        session: usize,
    },
    /// `POST /logout_all_other_sessions` with the session's latest access token.
    LogoutOthers {
        /// Session, counted back from the newest (0).
        session: usize,
    },
    /// `DELETE /sessions/{target}` with the session's latest access token.
    RevokeSession {
        /// The caller's session, counted back from the newest (0).
        session: usize,
        /// The target session, counted back from the newest (0).
        target: usize,
    },
    /// `POST /password` with the session's latest access token.
    ChangePassword {
        /// Session, counted back from the newest (0).
        session: usize,
        /// The old password sent, if any.
        old: Option<PwGuess>,
        /// The new password ([`WEAK`]: a weak one).
        new: u8,
        /// Client index.
        client: u8,
    },
    /// `POST /password/reset {"phone"}`.
    ResetStart {
        /// Phone index.
        phone: u8,
        /// Client index.
        client: u8,
    },
    /// `POST /password/reset/confirm` with a challenge's right code or a wrong one.
    ResetConfirm {
        /// Challenge, counted back from the newest (0).
        challenge: usize,
        /// The right code or a wrong one.
        right: bool,
        /// The new password ([`WEAK`]: a weak one).
        new: u8,
        /// Client index.
        client: u8,
    },
    /// Admin: disable the account of a slot.
    Disable {
        /// Account slot.
        slot: u8,
    },
    /// Admin: enable the account of a slot.
    Enable {
        /// Account slot.
        slot: u8,
    },
    /// The clock moves forward.
    Advance {
        /// Seconds.
        secs: u64,
    },
}

impl Step {
    /// A short name of the step's kind, for the statistics.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Register { .. } => "register",
            Self::SmsStart { .. } => "sms_start",
            Self::SmsVerify { .. } => "sms_verify",
            Self::PasswordLogin { .. } => "password_login",
            Self::Refresh { lag: 0, .. } => "refresh(current)",
            Self::Refresh { lag: 1, .. } => "refresh(previous)",
            Self::Refresh { .. } => "refresh(older)",
            Self::RefreshRace { lag: 0, .. } => "refresh_race(current)",
            Self::RefreshRace { .. } => "refresh_race(old)",
            Self::ForgedRefresh { .. } => "forged_refresh",
            Self::Authenticate { .. } => "authenticate",
            Self::Logout { .. } => "logout",
            Self::LogoutOthers { .. } => "logout_others",
            Self::RevokeSession { .. } => "revoke_session",
            Self::ChangePassword { .. } => "change_password",
            Self::ResetStart { .. } => "reset_start",
            Self::ResetConfirm { .. } => "reset_confirm",
            Self::Disable { .. } => "disable_user",
            Self::Enable { .. } => "enable_user",
            Self::Advance { .. } => "advance_clock",
        }
    }
}

/// An account of the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UserM {
    pub(crate) disabled: bool,
    /// Index into [`PASSWORDS`].
    pub(crate) password: Option<u8>,
    pub(crate) credentials_changed_at: Option<i64>,
    pub(crate) login_count: u64,
}

/// A session of the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SessionM {
    pub(crate) slot: usize,
    pub(crate) created_at: i64,
    pub(crate) last_used_at: i64,
    pub(crate) expires_at: i64,
    pub(crate) generation: u64,
    /// When the current refresh token was issued.
    pub(crate) issued_at: i64,
    pub(crate) revoked: Option<RevokeReason>,
    /// When each of its access tokens was issued, oldest first.
    pub(crate) access: Vec<i64>,
}

/// What a challenge is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Purpose {
    Login,
    Reset,
}

/// An SMS challenge of the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ChallengeM {
    pub(crate) phone: u8,
    pub(crate) purpose: Purpose,
    /// The account slot it is for; `None` for a decoy.
    pub(crate) slot: Option<usize>,
    pub(crate) created_at: i64,
    pub(crate) expires_at: i64,
    pub(crate) attempts: u32,
    pub(crate) consumed: bool,
}

/// An account as counters name it: an account slot, or an identifier with no account.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum AccountKey {
    Slot(usize),
    Unknown(String),
}

/// A counter of the model, named abstractly (the system under test maps it to the store
/// key the service uses).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Key {
    SmsIpHour(u8),
    SmsIpDay(u8),
    SmsCooldown(u8),
    SmsChannelHour(u8, Purpose),
    SmsChannelDay(u8, Purpose),
    SmsFailures(u8, Purpose),
    RegisterIpHour(u8),
    RegisterIpDay(u8),
    RegisterId(String),
    PasswordAttempts(AccountKey),
    PasswordFailures(AccountKey),
    PasswordIp(u8),
    RefreshIp(u8),
    RefreshSession(usize),
}

/// A fixed-window counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) count: u64,
    pub(crate) resets_at: i64,
}

/// A consecutive-failure count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fails {
    pub(crate) count: u32,
    pub(crate) last_at: i64,
    pub(crate) expires_at: i64,
}

/// What a step succeeds with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Out {
    /// `Ok(())`.
    Unit,
    /// A registration of the slot.
    Registered(usize),
    /// A challenge (index), and whether its code was sent by SMS.
    Challenge { index: usize, delivered: bool },
    /// A token pair of a session at a generation; `refresh_expires_in` as the pair says.
    Pair {
        session: usize,
        generation: u64,
        refresh_expires_in: u64,
    },
    /// An authenticated principal of a session.
    Principal(usize),
    /// A number of sessions revoked.
    Count(u64),
}

/// The step just applied, as the model resolved it, and what it must answer.
#[derive(Clone, Debug)]
pub(crate) struct Expect {
    /// The expected answer.
    pub(crate) result: Result<Out, AuthError>,
    /// The password a login or a change sends (old password for a change), resolved.
    pub(crate) password: Option<u8>,
    /// The access token a guarded step presents.
    pub(crate) access: Option<usize>,
    /// The session a step names, resolved (step indices count modulo the sessions there are,
    /// so that shrinking can drop the step that made a session).
    pub(crate) session: Option<usize>,
    /// The target session of a revocation, resolved.
    pub(crate) target: Option<usize>,
    /// The challenge a step names, resolved.
    pub(crate) challenge: Option<usize>,
}

/// The state of the reference model.
#[derive(Clone, Debug, Default)]
pub struct ModelState {
    /// Seconds since the start of the case.
    pub(crate) now: i64,
    pub(crate) users: [Option<UserM>; SLOTS],
    pub(crate) sessions: Vec<SessionM>,
    pub(crate) challenges: Vec<ChallengeM>,
    pub(crate) windows: BTreeMap<Key, Window>,
    pub(crate) fails: BTreeMap<Key, Fails>,
    pub(crate) last: Option<Expect>,
}

/// The configuration numbers the model needs, in seconds.
struct Cfg {
    access_ttl: i64,
    leeway: i64,
    absolute: i64,
    idle: i64,
    grace: i64,
    refresh_fail_ip: u64,
    refresh_fail_session: u64,
    refresh_fail_window: i64,
    code_ttl: i64,
    max_attempts: u32,
    sms_lock_after: u32,
    sms_lock_base: i64,
    sms_lock_max: i64,
    cooldown: i64,
    per_phone_hour: u64,
    per_phone_day: u64,
    per_ip_hour: u64,
    per_ip_day: u64,
    pw_lock_after: u32,
    pw_lock_base: i64,
    pw_lock_max: i64,
    pw_fail_ip: u64,
    pw_fail_ip_window: i64,
    pw_attempts: u64,
    pw_window: i64,
    recent_login: i64,
    reg_ip_hour: u64,
    reg_ip_day: u64,
    reg_id_hour: u64,
}

fn s(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX / 4)
}

impl Cfg {
    fn of(c: &AuthConfig) -> Self {
        Self {
            access_ttl: s(c.access.ttl_secs),
            leeway: s(c.access.leeway_secs),
            absolute: s(c.session.absolute_lifetime_secs),
            idle: s(c.session.idle_timeout_secs),
            grace: s(c.session.refresh_grace_secs),
            refresh_fail_ip: c.session.refresh_failures_per_ip,
            refresh_fail_session: c.session.refresh_failures_per_session,
            refresh_fail_window: s(c.session.refresh_failure_window_secs),
            code_ttl: s(c.sms.code_ttl_secs),
            max_attempts: c.sms.max_attempts,
            sms_lock_after: c.sms.lockout_after,
            sms_lock_base: s(c.sms.lockout_secs),
            sms_lock_max: s(c.sms.lockout_max_secs),
            cooldown: s(c.sms.resend_cooldown_secs),
            per_phone_hour: c.sms.per_phone_per_hour,
            per_phone_day: c.sms.per_phone_per_day,
            per_ip_hour: c.sms.per_ip_per_hour,
            per_ip_day: c.sms.per_ip_per_day,
            pw_lock_after: c.password.lockout_after,
            pw_lock_base: s(c.password.lockout_secs),
            pw_lock_max: s(c.password.lockout_max_secs),
            pw_fail_ip: u64::from(c.password.failures_per_ip),
            pw_fail_ip_window: s(c.password.failures_per_ip_window_secs),
            pw_attempts: c.password.attempts_per_window,
            pw_window: s(c.password.throttle_window_secs),
            recent_login: s(c.accounts.recent_login_secs),
            reg_ip_hour: c.accounts.register_per_ip_per_hour,
            reg_ip_day: c.accounts.register_per_ip_per_day,
            reg_id_hour: c.accounts.register_per_identifier_per_hour,
        }
    }
}

fn cfg() -> &'static Cfg {
    static CFG: std::sync::OnceLock<Cfg> = std::sync::OnceLock::new();
    CFG.get_or_init(|| Cfg::of(&model_config()))
}

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// Whole seconds as a `Duration` (negative: zero).
fn dur(secs: i64) -> Duration {
    Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

fn rate_limited(secs: i64) -> AuthError {
    AuthError::RateLimited {
        retry_after: dur(secs),
    }
}

/// How long `count` consecutive failures lock for (see `Lockout::lock_for`).
fn lock_for(count: u32, after: u32, base: i64, max: i64) -> Option<i64> {
    let level = count.checked_sub(after)?;
    let factor = 1_i64.checked_shl(level.min(31)).unwrap_or(i64::MAX);
    Some(base.saturating_mul(factor).min(max))
}

impl ModelState {
    // ---- counters, as the store traits document them --------------------------------------

    /// `hit_counter`: the count after the hit.
    fn hit(&mut self, key: Key, window: i64) -> Window {
        let now = self.now;
        let w = self.windows.entry(key).or_insert(Window {
            count: 0,
            resets_at: now,
        });
        if w.resets_at <= now {
            *w = Window {
                count: 1,
                resets_at: now + window,
            };
        } else {
            w.count += 1;
        }
        *w
    }

    /// `Counters::hit_each`: one hit on each, stopping at the first over its maximum.
    fn hit_each(&mut self, limits: Vec<(Key, u64, i64)>) -> Result<(), AuthError> {
        for (key, max, window) in limits {
            if window == 0 {
                continue;
            }
            let w = self.hit(key, window);
            if w.count > max {
                return Err(rate_limited(w.resets_at - self.now));
            }
        }
        Ok(())
    }

    /// `failures`: the count standing now.
    fn failures(&self, key: &Key) -> Option<Fails> {
        self.fails
            .get(key)
            .copied()
            .filter(|f| f.expires_at > self.now)
    }

    /// `add_failure`.
    fn add_failure(&mut self, key: Key, expires_at: i64) {
        let now = self.now;
        let count = match self.fails.get(&key) {
            Some(f) if f.expires_at > now => f.count.saturating_add(1),
            _ => 1,
        };
        self.fails.insert(
            key,
            Fails {
                count,
                last_at: now,
                expires_at,
            },
        );
    }

    /// `Counters::check_cap`.
    fn check_cap(&self, key: &Key, max: u64, window: i64) -> Result<(), AuthError> {
        if window == 0 {
            return Ok(());
        }
        match self.failures(key) {
            Some(f) if u64::from(f.count) >= max => Err(rate_limited(f.expires_at - self.now)),
            _ => Ok(()),
        }
    }

    /// `Counters::count_against_cap`.
    fn count_against_cap(&mut self, key: Key, window: i64) {
        if window == 0 {
            return;
        }
        let ends = match self.failures(&key) {
            Some(open) => open.expires_at,
            None => self.now + window,
        };
        self.add_failure(key, ends);
    }

    /// `Counters::check_lockout`.
    fn check_lockout(&self, key: &Key, after: u32, base: i64, max: i64) -> Result<(), AuthError> {
        let Some(f) = self.failures(key) else {
            return Ok(());
        };
        let Some(lock) = lock_for(f.count, after, base, max) else {
            return Ok(());
        };
        let until = f.last_at + lock;
        if self.now < until {
            return Err(AuthError::TooManyAttempts {
                retry_after: Some(dur((until - self.now).max(1))),
            });
        }
        Ok(())
    }

    // ---- rules ------------------------------------------------------------------------------

    fn sms_send(&mut self, phone: u8, purpose: Purpose, client: u8) -> Result<(), AuthError> {
        let c = cfg();
        self.hit_each(vec![
            (Key::SmsIpHour(client), c.per_ip_hour, HOUR),
            (Key::SmsIpDay(client), c.per_ip_day, DAY),
        ])?;
        if c.cooldown > 0
            && let Some(running) = self.failures(&Key::SmsCooldown(phone))
        {
            return Err(rate_limited(running.expires_at - self.now));
        }
        self.hit_each(vec![
            (Key::SmsChannelHour(phone, purpose), c.per_phone_hour, HOUR),
            (Key::SmsChannelDay(phone, purpose), c.per_phone_day, DAY),
        ])?;
        if c.cooldown > 0 {
            let ends = self.now + c.cooldown;
            self.add_failure(Key::SmsCooldown(phone), ends);
        }
        Ok(())
    }

    /// The account slot of a registered phone.
    fn phone_slot(&self, phone: u8) -> Option<usize> {
        let slot = usize::from(phone);
        (slot < 2 && self.user(slot).is_some()).then_some(slot)
    }

    pub(crate) fn user(&self, slot: usize) -> Option<&UserM> {
        self.users.get(slot).and_then(Option::as_ref)
    }

    fn user_mut(&mut self, slot: usize) -> Option<&mut UserM> {
        self.users.get_mut(slot).and_then(Option::as_mut)
    }

    fn start_challenge(
        &mut self,
        phone: u8,
        purpose: Purpose,
        client: u8,
    ) -> Result<Out, AuthError> {
        let c = cfg();
        self.sms_send(phone, purpose, client)?;
        self.check_lockout(
            &Key::SmsFailures(phone, purpose),
            c.sms_lock_after,
            c.sms_lock_base,
            c.sms_lock_max,
        )?;
        let slot = self.phone_slot(phone);
        self.challenges.push(ChallengeM {
            phone,
            purpose,
            slot,
            created_at: self.now,
            expires_at: self.now + c.code_ttl,
            attempts: 0,
            consumed: false,
        });
        Ok(Out::Challenge {
            index: self.challenges.len() - 1,
            delivered: slot.is_some(),
        })
    }

    /// Opens a challenge for `purpose` (`open_sms_challenge`).
    fn open_challenge(&self, index: usize, purpose: Purpose) -> Result<ChallengeM, AuthError> {
        let c = cfg();
        let ch = self
            .challenges
            .get(index)
            .filter(|ch| ch.purpose == purpose)
            .ok_or(AuthError::InvalidCode)?;
        if ch.consumed {
            return Err(AuthError::ChallengeConsumed);
        }
        if ch.attempts >= c.max_attempts {
            return Err(AuthError::TooManyAttempts { retry_after: None });
        }
        if self.now >= ch.expires_at {
            return Err(AuthError::CodeExpired);
        }
        Ok(ch.clone())
    }

    /// `solve_sms_challenge`.
    fn solve_challenge(
        &mut self,
        index: usize,
        ch: &ChallengeM,
        right: bool,
    ) -> Result<(), AuthError> {
        let c = cfg();
        let key = Key::SmsFailures(ch.phone, ch.purpose);
        self.check_lockout(&key, c.sms_lock_after, c.sms_lock_base, c.sms_lock_max)?;
        if let Some(live) = self.challenges.get_mut(index) {
            live.attempts += 1;
        }
        if !right || ch.slot.is_none() {
            let expires = self.now + 2 * c.sms_lock_max;
            self.add_failure(key, expires);
            return Err(AuthError::InvalidCode);
        }
        let superseded = ch
            .slot
            .and_then(|slot| self.user(slot))
            .and_then(|u| u.credentials_changed_at)
            .is_some_and(|changed| ch.created_at < changed);
        if superseded {
            return Err(AuthError::CodeExpired);
        }
        if let Some(live) = self.challenges.get_mut(index) {
            live.consumed = true;
        }
        Ok(())
    }

    /// `Lockouts::clear_lockouts`: the account's password lockout and, for a phone account,
    /// every SMS channel of its phone.
    fn clear_lockouts(&mut self, slot: usize) {
        self.fails
            .remove(&Key::PasswordFailures(AccountKey::Slot(slot)));
        if slot < 2 {
            let phone = slot as u8;
            for purpose in [Purpose::Login, Purpose::Reset] {
                self.fails.remove(&Key::SmsFailures(phone, purpose));
            }
        }
    }

    fn start_session(&mut self, slot: usize) -> Out {
        let c = cfg();
        let now = self.now;
        if let Some(u) = self.user_mut(slot) {
            u.login_count += 1;
        }
        self.sessions.push(SessionM {
            slot,
            created_at: now,
            last_used_at: now,
            expires_at: now + c.absolute,
            generation: 0,
            issued_at: now,
            revoked: None,
            access: Vec::new(),
        });
        let index = self.sessions.len() - 1;
        self.pair_of(index)
    }

    /// A pair of the session's current generation, with a new access token.
    fn pair_of(&mut self, index: usize) -> Out {
        let c = cfg();
        let now = self.now;
        let Some(session) = self.sessions.get_mut(index) else {
            return Out::Unit;
        };
        session.access.push(now);
        let deadline = session.expires_at.min(session.last_used_at + c.idle);
        Out::Pair {
            session: index,
            generation: session.generation,
            refresh_expires_in: u64::try_from((deadline - now).max(0)).unwrap_or(0),
        }
    }

    /// Whether the session is expired now (not revoked).
    fn expired(&self, s: &SessionM) -> bool {
        self.now >= s.expires_at || self.now >= s.last_used_at + cfg().idle
    }

    /// `session::live`: `Ok` when live, else the error for it.
    fn live(&self, s: &SessionM) -> Result<(), AuthError> {
        if s.revoked.is_some() {
            return Err(AuthError::TokenRevoked);
        }
        if self.expired(s) {
            return Err(AuthError::TokenExpired);
        }
        Ok(())
    }

    /// `Auth::authenticate` of access token `access` of session `index`.
    pub(crate) fn authenticate(&self, index: usize, access: usize) -> Result<Out, AuthError> {
        let c = cfg();
        let s = self.sessions.get(index).ok_or(AuthError::InvalidToken)?;
        let iat = *s.access.get(access).ok_or(AuthError::InvalidToken)?;
        if iat + c.access_ttl <= self.now - c.leeway {
            return Err(AuthError::TokenExpired);
        }
        self.live(s)?;
        match self.user(s.slot) {
            Some(u) if !u.disabled => Ok(Out::Principal(index)),
            _ => Err(AuthError::TokenRevoked),
        }
    }

    /// The latest access token of a session.
    fn latest_access(&self, index: usize) -> usize {
        self.sessions
            .get(index)
            .map_or(0, |s| s.access.len().saturating_sub(1))
    }

    fn revoke(&mut self, index: usize, reason: RevokeReason) -> bool {
        match self.sessions.get_mut(index) {
            Some(s) if s.revoked.is_none() => {
                s.revoked = Some(reason);
                true
            }
            _ => false,
        }
    }

    /// `revoke_user_sessions`: every session of the slot not revoked, but `except`.
    fn revoke_all(&mut self, slot: usize, except: Option<usize>, reason: RevokeReason) -> u64 {
        let mut n = 0;
        for (i, s) in self.sessions.iter_mut().enumerate() {
            if s.slot == slot && s.revoked.is_none() && Some(i) != except {
                s.revoked = Some(reason);
                n += 1;
            }
        }
        n
    }

    /// The password checks of a login or a change (`check_password_guard`, verify,
    /// `password_failed`): `Ok` when the password is right.
    fn password_check(
        &mut self,
        account: AccountKey,
        stored: Option<u8>,
        given: u8,
        client: u8,
    ) -> Result<(), AuthError> {
        let c = cfg();
        self.check_cap(&Key::PasswordIp(client), c.pw_fail_ip, c.pw_fail_ip_window)?;
        self.hit_each(vec![(
            Key::PasswordAttempts(account.clone()),
            c.pw_attempts,
            c.pw_window,
        )])?;
        self.check_lockout(
            &Key::PasswordFailures(account.clone()),
            c.pw_lock_after,
            c.pw_lock_base,
            c.pw_lock_max,
        )?;
        if stored != Some(given) {
            let expires = self.now + 2 * c.pw_lock_max;
            self.add_failure(Key::PasswordFailures(account), expires);
            self.count_against_cap(Key::PasswordIp(client), c.pw_fail_ip_window);
            return Err(AuthError::InvalidCredentials);
        }
        Ok(())
    }

    fn resolve(&self, guess: PwGuess, slot: Option<usize>) -> u8 {
        match guess {
            PwGuess::Nth(n) => n,
            PwGuess::Current => slot
                .and_then(|s| self.user(s))
                .and_then(|u| u.password)
                .unwrap_or(0),
        }
    }

    // ---- steps ------------------------------------------------------------------------------

    fn register(&mut self, slot: usize, client: u8) -> Result<Out, AuthError> {
        let c = cfg();
        let mut identifiers = Vec::new();
        if slot < 2 {
            identifiers.push(PHONES.get(slot).copied().unwrap_or_default().to_owned());
            identifiers.push(USERNAMES.get(slot).copied().unwrap_or_default().to_owned());
        } else {
            identifiers.push(EMAILS.get(slot - 2).copied().unwrap_or_default().to_owned());
        }
        let mut limits = vec![
            (Key::RegisterIpHour(client), c.reg_ip_hour, HOUR),
            (Key::RegisterIpDay(client), c.reg_ip_day, DAY),
        ];
        limits.extend(
            identifiers
                .into_iter()
                .map(|id| (Key::RegisterId(id), c.reg_id_hour, HOUR)),
        );
        self.hit_each(limits)?;
        if self.user(slot).is_some() {
            return Err(AuthError::AlreadyRegistered);
        }
        if let Some(u) = self.users.get_mut(slot) {
            *u = Some(UserM {
                disabled: false,
                password: (slot >= 2).then_some(0),
                credentials_changed_at: None,
                login_count: 0,
            });
        }
        Ok(Out::Registered(slot))
    }

    fn sms_verify(&mut self, index: usize, right: bool) -> Result<Out, AuthError> {
        let ch = self.open_challenge(index, Purpose::Login)?;
        self.solve_challenge(index, &ch, right)?;
        let slot = ch.slot.ok_or(AuthError::InvalidCode)?;
        let user = self.user(slot).cloned().ok_or(AuthError::InvalidCode)?;
        self.clear_lockouts(slot);
        if user.disabled {
            return Err(AuthError::AccountDisabled);
        }
        Ok(self.start_session(slot))
    }

    fn password_login(
        &mut self,
        login: LoginId,
        guess: PwGuess,
        client: u8,
    ) -> (Option<u8>, Result<Out, AuthError>) {
        let (slot, unknown) = match login {
            LoginId::Email(n) => {
                let slot = 2 + usize::from(n);
                (
                    self.user(slot).map(|_| slot),
                    EMAILS.get(usize::from(n)).copied().unwrap_or_default(),
                )
            }
            LoginId::Username(n) => {
                let slot = usize::from(n);
                (
                    self.user(slot).map(|_| slot),
                    USERNAMES.get(slot).copied().unwrap_or_default(),
                )
            }
            LoginId::UnknownEmail => (None, UNKNOWN_EMAIL),
        };
        let given = self.resolve(guess, slot);
        let account = match slot {
            Some(slot) => AccountKey::Slot(slot),
            None => AccountKey::Unknown(unknown.to_owned()),
        };
        (
            Some(given),
            self.password_login_with(slot, account, given, client),
        )
    }

    fn password_login_with(
        &mut self,
        slot: Option<usize>,
        account: AccountKey,
        given: u8,
        client: u8,
    ) -> Result<Out, AuthError> {
        let stored = slot.and_then(|s| self.user(s)).and_then(|u| u.password);
        self.password_check(account, stored, given, client)?;
        let slot = slot.ok_or(AuthError::InvalidCredentials)?;
        self.clear_lockouts(slot);
        if self.user(slot).is_some_and(|u| u.disabled) {
            return Err(AuthError::AccountDisabled);
        }
        Ok(self.start_session(slot))
    }

    fn refresh(&mut self, index: usize, lag: u64) -> Result<Out, AuthError> {
        let c = cfg();
        let s = self
            .sessions
            .get(index)
            .cloned()
            .ok_or(AuthError::InvalidToken)?;
        match s.revoked {
            Some(RevokeReason::RefreshTokenReused) => return Err(AuthError::RefreshTokenReused),
            Some(_) => return Err(AuthError::TokenRevoked),
            None => {}
        }
        if self.expired(&s) {
            return Err(AuthError::TokenExpired);
        }
        match lag {
            0 => {
                let now = self.now;
                if let Some(live) = self.sessions.get_mut(index) {
                    live.generation += 1;
                    live.issued_at = now;
                    live.last_used_at = now;
                }
                if self.user(s.slot).is_some_and(|u| u.disabled) {
                    return Err(AuthError::AccountDisabled);
                }
                Ok(self.pair_of(index))
            }
            // Within the grace window: the same next token again. A zero window is no window.
            1 if c.grace > 0 && self.now - s.issued_at <= c.grace => {
                if self.user(s.slot).is_some_and(|u| u.disabled) {
                    return Err(AuthError::AccountDisabled);
                }
                Ok(self.pair_of(index))
            }
            _ => {
                self.revoke(index, RevokeReason::RefreshTokenReused);
                Err(AuthError::RefreshTokenReused)
            }
        }
    }

    fn forged_refresh(&mut self, session: Option<usize>, client: u8) -> Result<Out, AuthError> {
        let c = cfg();
        let w = c.refresh_fail_window;
        self.check_cap(&Key::RefreshIp(client), c.refresh_fail_ip, w)?;
        if let Some(index) = session {
            self.check_cap(&Key::RefreshSession(index), c.refresh_fail_session, w)?;
        }
        self.count_against_cap(Key::RefreshIp(client), w);
        if let Some(index) = session {
            self.count_against_cap(Key::RefreshSession(index), w);
        }
        Err(AuthError::InvalidToken)
    }

    fn logout_others(&mut self, index: usize) -> Result<Out, AuthError> {
        let access = self.latest_access(index);
        self.authenticate(index, access)?;
        let slot = self.sessions.get(index).map_or(0, |s| s.slot);
        Ok(Out::Count(self.revoke_all(
            slot,
            Some(index),
            RevokeReason::RevokedByUser,
        )))
    }

    fn revoke_session(&mut self, index: usize, target: usize) -> Result<Out, AuthError> {
        let access = self.latest_access(index);
        self.authenticate(index, access)?;
        let slot = self.sessions.get(index).map_or(0, |s| s.slot);
        let t = self
            .sessions
            .get(target)
            .cloned()
            .ok_or(AuthError::NotFound)?;
        if t.slot != slot {
            return Err(AuthError::NotFound);
        }
        self.live(&t).map_err(|_| AuthError::NotFound)?;
        let reason = if target == index {
            RevokeReason::Logout
        } else {
            RevokeReason::RevokedByUser
        };
        if !self.revoke(target, reason) {
            return Err(AuthError::NotFound);
        }
        Ok(Out::Unit)
    }

    fn change_password(
        &mut self,
        index: usize,
        old: Option<PwGuess>,
        new: u8,
        client: u8,
    ) -> (Option<u8>, Result<Out, AuthError>) {
        let slot = self.sessions.get(index).map_or(0, |s| s.slot);
        let old = old.map(|g| self.resolve(g, Some(slot)));
        (
            old,
            self.change_password_with(index, slot, old, new, client),
        )
    }

    fn change_password_with(
        &mut self,
        index: usize,
        slot: usize,
        old: Option<u8>,
        new: u8,
        client: u8,
    ) -> Result<Out, AuthError> {
        let c = cfg();
        let access = self.latest_access(index);
        self.authenticate(index, access)?;
        let user = self.user(slot).cloned().ok_or(AuthError::TokenRevoked)?;
        match (user.password, old) {
            (Some(stored), Some(old)) => {
                self.password_check(AccountKey::Slot(slot), Some(stored), old, client)?;
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(AuthError::invalid_request("old password"));
            }
            (None, None) => {
                let created = self.sessions.get(index).map_or(0, |s| s.created_at);
                if self.now - created > c.recent_login {
                    return Err(AuthError::Forbidden);
                }
            }
        }
        if new == WEAK {
            return Err(AuthError::WeakPassword(String::new()));
        }
        let now = self.now;
        if let Some(u) = self.user_mut(slot) {
            u.password = Some(new);
            u.credentials_changed_at = Some(now);
        }
        self.clear_lockouts(slot);
        self.revoke_all(slot, Some(index), RevokeReason::PasswordChanged);
        Ok(Out::Unit)
    }

    fn reset_confirm(&mut self, index: usize, right: bool, new: u8) -> Result<Out, AuthError> {
        let ch = self.open_challenge(index, Purpose::Reset)?;
        if new == WEAK {
            return Err(AuthError::WeakPassword(String::new()));
        }
        self.solve_challenge(index, &ch, right)?;
        let slot = ch.slot.ok_or(AuthError::InvalidCode)?;
        let now = self.now;
        let user = self.user_mut(slot).ok_or(AuthError::InvalidCode)?;
        user.password = Some(new);
        user.credentials_changed_at = Some(now);
        self.clear_lockouts(slot);
        self.revoke_all(slot, None, RevokeReason::PasswordChanged);
        Ok(Out::Unit)
    }

    fn disable(&mut self, slot: usize, disabled: bool) -> Result<Out, AuthError> {
        let user = self.user_mut(slot).ok_or(AuthError::NotFound)?;
        user.disabled = disabled;
        if disabled {
            Ok(Out::Count(self.revoke_all(
                slot,
                None,
                RevokeReason::UserDisabled,
            )))
        } else {
            Ok(Out::Unit)
        }
    }

    /// The session a step names: steps count back from the newest (0), modulo the sessions
    /// there are, so that shrinking can drop earlier steps without changing what a later step
    /// refers to.
    pub(crate) fn session_index(&self, back: usize) -> Option<usize> {
        let len = self.sessions.len();
        back.checked_rem(len).map(|b| len - 1 - b)
    }

    /// The challenge a step names, counted back from the newest like sessions.
    pub(crate) fn challenge_index(&self, back: usize) -> Option<usize> {
        let len = self.challenges.len();
        back.checked_rem(len).map(|b| len - 1 - b)
    }

    /// Applies a step: updates the state and records what it must answer.
    fn step(&mut self, step: &Step) {
        let mut password = None;
        let mut access = None;
        let mut session = None;
        let mut target = None;
        let mut challenge = None;
        let missing = Err(AuthError::invalid_request("the model has no such record"));
        let result = match *step {
            Step::Register { slot, client } => self.register(usize::from(slot), client),
            Step::SmsStart { phone, client } => self.start_challenge(phone, Purpose::Login, client),
            Step::SmsVerify {
                challenge: c,
                right,
                ..
            } => match self.challenge_index(c) {
                Some(c) => {
                    challenge = Some(c);
                    self.sms_verify(c, right)
                }
                None => missing,
            },
            Step::PasswordLogin {
                login,
                password: guess,
                client,
            } => {
                let (given, result) = self.password_login(login, guess, client);
                password = given;
                result
            }
            Step::Refresh {
                session: i, lag, ..
            }
            | Step::RefreshRace {
                session: i, lag, ..
            } => match self.session_index(i) {
                Some(i) => {
                    session = Some(i);
                    self.refresh(i, lag)
                }
                None => missing,
            },
            Step::ForgedRefresh { session: i, client } => {
                session = i.and_then(|i| self.session_index(i));
                if i.is_some() && session.is_none() {
                    missing
                } else {
                    self.forged_refresh(session, client)
                }
            }
            Step::Authenticate {
                session: i,
                access: a,
            } => match self.session_index(i) {
                Some(i) => {
                    let a = a.min(self.latest_access(i));
                    session = Some(i);
                    access = Some(a);
                    self.authenticate(i, a)
                }
                None => missing,
            },
            Step::Logout { session: i } => match self.session_index(i) {
                Some(i) => {
                    let a = self.latest_access(i);
                    session = Some(i);
                    access = Some(a);
                    self.authenticate(i, a).map(|_| {
                        self.revoke(i, RevokeReason::Logout);
                        Out::Unit
                    })
                }
                None => missing,
            },
            Step::LogoutOthers { session: i } => match self.session_index(i) {
                Some(i) => {
                    session = Some(i);
                    access = Some(self.latest_access(i));
                    self.logout_others(i)
                }
                None => missing,
            },
            Step::RevokeSession {
                session: i,
                target: t,
            } => match (self.session_index(i), self.session_index(t)) {
                (Some(i), Some(t)) => {
                    session = Some(i);
                    target = Some(t);
                    access = Some(self.latest_access(i));
                    self.revoke_session(i, t)
                }
                _ => missing,
            },
            Step::ChangePassword {
                session: i,
                old,
                new,
                client,
            } => match self.session_index(i) {
                Some(i) => {
                    session = Some(i);
                    access = Some(self.latest_access(i));
                    let (old, result) = self.change_password(i, old, new, client);
                    password = old;
                    result
                }
                None => missing,
            },
            Step::ResetStart { phone, client } => {
                self.start_challenge(phone, Purpose::Reset, client)
            }
            Step::ResetConfirm {
                challenge: c,
                right,
                new,
                ..
            } => match self.challenge_index(c) {
                Some(c) => {
                    challenge = Some(c);
                    self.reset_confirm(c, right, new)
                }
                None => missing,
            },
            Step::Disable { slot } => self.disable(usize::from(slot), true),
            Step::Enable { slot } => self.disable(usize::from(slot), false),
            Step::Advance { secs } => {
                self.now += s(secs);
                Ok(Out::Unit)
            }
        };
        self.last = Some(Expect {
            result,
            password,
            access,
            session,
            target,
            challenge,
        });
    }
}

/// The reference state machine of [`proptest_state_machine`].
#[derive(Debug, Clone, Copy)]
pub struct Reference;

fn client() -> impl Strategy<Value = u8> {
    0..CLIENTS
}

fn pw_guess() -> impl Strategy<Value = PwGuess> {
    prop_oneof![
        3 => Just(PwGuess::Current),
        1 => (0..3u8).prop_map(PwGuess::Nth),
    ]
}

/// Mostly one of `preferred` (when there is any), sometimes anything in `all`.
fn among<T>(preferred: Vec<T>, all: std::ops::Range<T>) -> BoxedStrategy<T>
where
    T: Clone + std::fmt::Debug + 'static,
    std::ops::Range<T>: Strategy<Value = T>,
{
    if preferred.is_empty() {
        all.boxed()
    } else {
        prop_oneof![4 => proptest::sample::select(preferred), 1 => all].boxed()
    }
}

fn lag() -> impl Strategy<Value = u64> {
    prop_oneof![5 => Just(0u64), 3 => Just(1u64), 1 => 2..4u64]
}

impl ReferenceStateMachine for Reference {
    type State = ModelState;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<ModelState> {
        Just(ModelState::default()).boxed()
    }

    fn transitions(state: &ModelState) -> BoxedStrategy<Step> {
        let registered: Vec<u8> = (0..SLOTS as u8)
            .filter(|s| state.user(usize::from(*s)).is_some())
            .collect();
        let free: Vec<u8> = (0..SLOTS as u8)
            .filter(|s| state.user(usize::from(*s)).is_none())
            .collect();
        let disabled: Vec<u8> = (0..SLOTS as u8)
            .filter(|s| state.user(usize::from(*s)).is_some_and(|u| u.disabled))
            .collect();
        let phones: Vec<u8> = registered.iter().copied().filter(|s| *s < 2).collect();
        let emails: Vec<u8> = registered
            .iter()
            .filter(|s| **s >= 2)
            .map(|s| s - 2)
            .collect();
        let with_password: Vec<u8> = phones
            .iter()
            .copied()
            .filter(|s| {
                state
                    .user(usize::from(*s))
                    .is_some_and(|u| u.password.is_some())
            })
            .collect();
        // Registrations come first in most sequences: little works without accounts.
        let register_weight = if registered.len() < 2 { 8 } else { 2 };
        let slot_for_register = among(free, 0..SLOTS as u8);
        let phone = || among(phones.clone(), 0..3u8);
        let mut options: Vec<(u32, BoxedStrategy<Step>)> = vec![
            (
                register_weight,
                (slot_for_register, client())
                    .prop_map(|(slot, client)| Step::Register { slot, client })
                    .boxed(),
            ),
            (
                3,
                (phone(), client())
                    .prop_map(|(phone, client)| Step::SmsStart { phone, client })
                    .boxed(),
            ),
            (
                4,
                (
                    prop_oneof![
                        4 => among(emails, 0..2u8).prop_map(LoginId::Email),
                        2 => among(with_password, 0..2u8).prop_map(LoginId::Username),
                        1 => Just(LoginId::UnknownEmail),
                    ],
                    pw_guess(),
                    client(),
                )
                    .prop_map(|(login, password, client)| Step::PasswordLogin {
                        login,
                        password,
                        client,
                    })
                    .boxed(),
            ),
            (
                1,
                (phone(), client())
                    .prop_map(|(phone, client)| Step::ResetStart { phone, client })
                    .boxed(),
            ),
            (
                1,
                among(registered.clone(), 0..SLOTS as u8)
                    .prop_map(|slot| Step::Disable { slot })
                    .boxed(),
            ),
            (
                1,
                among(disabled, 0..SLOTS as u8)
                    .prop_map(|slot| Step::Enable { slot })
                    .boxed(),
            ),
            (
                4,
                prop_oneof![
                    3 => (0..6usize).prop_map(|i| ADVANCES.get(i).copied().unwrap_or(1)),
                    2 => (6..ADVANCES.len()).prop_map(|i| ADVANCES.get(i).copied().unwrap_or(1)),
                ]
                .prop_map(|secs| Step::Advance { secs })
                .boxed(),
            ),
            (
                2,
                client()
                    .prop_map(|client| Step::ForgedRefresh {
                        session: None,
                        client,
                    })
                    .boxed(),
            ),
        ];
        let challenges = state.challenges.len();
        if challenges > 0 {
            // Counted back from the newest: 0 is the latest challenge.
            let latest = |purpose: Purpose| {
                let back = state
                    .challenges
                    .iter()
                    .rposition(|c| c.purpose == purpose)
                    .map_or(0, |i| challenges - 1 - i);
                prop_oneof![3 => Just(back), 1 => 0..challenges]
            };
            options.push((
                4,
                (
                    latest(Purpose::Login),
                    prop_oneof![3 => Just(true), 1 => Just(false)],
                    client(),
                )
                    .prop_map(|(challenge, right, client)| Step::SmsVerify {
                        challenge,
                        right,
                        client,
                    })
                    .boxed(),
            ));
            options.push((
                2,
                (
                    latest(Purpose::Reset),
                    prop_oneof![3 => Just(true), 1 => Just(false)],
                    prop_oneof![3 => 0..3u8, 1 => Just(WEAK)],
                    client(),
                )
                    .prop_map(|(challenge, right, new, client)| Step::ResetConfirm {
                        challenge,
                        right,
                        new,
                        client,
                    })
                    .boxed(),
            ));
        }
        let sessions = state.sessions.len();
        if sessions > 0 {
            // Counted back from the newest session (0).
            let live: Vec<usize> = (0..sessions)
                .filter(|i| {
                    state
                        .sessions
                        .get(*i)
                        .is_some_and(|s| s.revoked.is_none() && !state.expired(s))
                })
                .map(|i| sessions - 1 - i)
                .collect();
            let session = || among(live.clone(), 0..sessions);
            options.extend([
                (
                    8,
                    (session(), lag(), client())
                        .prop_map(|(session, lag, client)| Step::Refresh {
                            session,
                            lag,
                            client,
                        })
                        .boxed(),
                ),
                (
                    3,
                    (
                        session(),
                        prop_oneof![3 => Just(0u64), 2 => Just(1u64), 1 => Just(2u64)],
                        client(),
                    )
                        .prop_map(|(session, lag, client)| Step::RefreshRace {
                            session,
                            lag,
                            client,
                        })
                        .boxed(),
                ),
                (
                    2,
                    (session(), client())
                        .prop_map(|(session, client)| Step::ForgedRefresh {
                            session: Some(session),
                            client,
                        })
                        .boxed(),
                ),
                (
                    3,
                    (session(), 0..8usize)
                        .prop_map(|(session, access)| Step::Authenticate { session, access })
                        .boxed(),
                ),
                (
                    1,
                    session()
                        .prop_map(|session| Step::Logout { session })
                        .boxed(),
                ),
                (
                    1,
                    session()
                        .prop_map(|session| Step::LogoutOthers { session })
                        .boxed(),
                ),
                (
                    1,
                    (session(), 0..sessions)
                        .prop_map(|(session, target)| Step::RevokeSession { session, target })
                        .boxed(),
                ),
                (
                    2,
                    (
                        session(),
                        prop_oneof![3 => pw_guess().prop_map(Some), 1 => Just(None)],
                        prop_oneof![3 => 0..3u8, 1 => Just(WEAK)],
                        client(),
                    )
                        .prop_map(|(session, old, new, client)| Step::ChangePassword {
                            session,
                            old,
                            new,
                            client,
                        })
                        .boxed(),
                ),
            ]);
        }
        Union::new_weighted(options).boxed()
    }

    fn preconditions(state: &ModelState, step: &Step) -> bool {
        let has_session = !state.sessions.is_empty();
        match *step {
            Step::SmsVerify { .. } | Step::ResetConfirm { .. } => !state.challenges.is_empty(),
            Step::Refresh { session, lag, .. } | Step::RefreshRace { session, lag, .. } => state
                .session_index(session)
                .and_then(|i| state.sessions.get(i))
                .is_some_and(|s| s.generation >= lag),
            Step::ForgedRefresh {
                session: Some(_), ..
            }
            | Step::Authenticate { .. }
            | Step::Logout { .. }
            | Step::LogoutOthers { .. }
            | Step::ChangePassword { .. }
            | Step::RevokeSession { .. } => has_session,
            _ => true,
        }
    }

    fn apply(mut state: ModelState, step: &Step) -> ModelState {
        state.step(step);
        state
    }
}

/// What the model expected of a step, in a word, for the statistics: an error code, or the
/// kind of success.
pub(crate) fn outcome_name(result: &Result<Out, AuthError>) -> String {
    match result {
        Ok(Out::Unit) => "ok".to_owned(),
        Ok(Out::Registered(_)) => "registered".to_owned(),
        Ok(Out::Challenge { delivered, .. }) => {
            if *delivered {
                "challenge(sent)".to_owned()
            } else {
                "challenge(decoy)".to_owned()
            }
        }
        Ok(Out::Pair { .. }) => "token_pair".to_owned(),
        Ok(Out::Principal(_)) => "principal".to_owned(),
        Ok(Out::Count(n)) => format!("revoked {n}"),
        Err(e) => e.code().to_owned(),
    }
}
