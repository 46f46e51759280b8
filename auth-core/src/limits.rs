//! Rate limits, cooldowns and lockouts, built on the store's atomic counters.
//!
//! * SMS sends: per client IP per hour, then per phone a resend cooldown, an hourly and a
//!   daily cap. Keys depend only on the phone, never on whether it has an account, so a 429
//!   reveals nothing.
//! * Registrations: per client IP per hour and per day, and per identifier (phone, email,
//!   username) per hour, counted the same whether the identifier is taken or free.
//! * Password attempts: per account per window (unknown accounts are keyed by the identifier
//!   they were tried with, so they are throttled identically), and failed password checks per
//!   client IP ([`FailureCap`]).
//! * Failed refreshes (`invalid_token`): per client IP and per session id the token names
//!   ([`FailureCap`]); a genuine token is never held up by them.
//! * Lockouts: consecutive failures per account (passwords) and per phone and channel (SMS
//!   login codes, reset codes and phone-change codes each count apart, so guessing at one
//!   channel never locks the owner out of the others). A lockout is temporary and escalating:
//!   [`Lockout`] says for how long. Any successful login of the account, a reset or an admin
//!   clears it.
//!
//! Every key the store sees is built by [`Counters::key`]: a fixed-length keyed hash of what
//! was counted (a phone, an email, an IP), so attacker input never grows a key and a copy of
//! the store does not list who was tried.
//!
//! A request whose client IP is unknown counts in one shared bucket (`unknown`): per-IP limits
//! fail closed rather than being skipped.

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::AuthError;
use crate::challenge::ChallengePurpose;
use crate::config::{AccountConfig, PasswordConfig, SessionConfig, SmsConfig};
use crate::ids::SessionId;
use crate::phone::Phone;
use crate::secret::{MacKey, b64_encode};
use crate::store::Store;

/// The per-IP bucket of a client: the whole IPv4 address, the /64 of an IPv6 address (one
/// subscriber usually holds a whole /64), always of the [canonical](crate::client_ip::canonical)
/// address, so an IPv4 client on a dual-stack listener (`::ffff:a.b.c.d`) is its IPv4 address,
/// not the /64 every IPv4 client shares. An unknown IP is one shared `unknown` bucket (per-IP
/// limits fail closed, never skip) and logs a warning once per process. Every per-IP limit
/// keys on this, with the request's `ClientInfo.ip` as is.
pub(crate) fn client_key(ip: Option<IpAddr>) -> String {
    match ip.map(crate::client_ip::canonical) {
        None => {
            crate::client_ip::note_unknown_client_ip();
            "unknown".to_owned()
        }
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// How long an account or a phone channel stays locked after consecutive failures: nothing
/// below `after` failures, then `base`, doubling with every further failure, capped at `max`.
/// A count is forgotten `2 × max` after its latest failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lockout {
    /// Consecutive failures that start the first lock.
    pub(crate) after: u32,
    /// The first lock's length.
    pub(crate) base: Duration,
    /// The longest lock.
    pub(crate) max: Duration,
}

impl Lockout {
    /// The password lockout of `cfg`.
    pub(crate) fn passwords(cfg: &PasswordConfig) -> Self {
        Self {
            after: cfg.lockout_after,
            base: Duration::from_secs(cfg.lockout_secs),
            max: Duration::from_secs(cfg.lockout_max_secs),
        }
    }

    /// The SMS-code lockout of `cfg`.
    pub(crate) fn sms_codes(cfg: &SmsConfig) -> Self {
        Self {
            after: cfg.lockout_after,
            base: Duration::from_secs(cfg.lockout_secs),
            max: Duration::from_secs(cfg.lockout_max_secs),
        }
    }

    /// How long `count` consecutive failures lock for, from the latest one; `None` below the
    /// threshold.
    pub(crate) fn lock_for(&self, count: u32) -> Option<Duration> {
        let level = count.checked_sub(self.after)?;
        let factor = 1_u32.checked_shl(level.min(31)).unwrap_or(u32::MAX);
        Some(self.base.saturating_mul(factor).min(self.max))
    }

    /// How long a count outlives its latest failure.
    fn memory(&self) -> chrono::Duration {
        crate::clock::secs(self.max.as_secs().saturating_mul(2))
    }
}

/// The store's counters under keys that reveal nothing: see the module docs.
#[derive(Clone, Copy)]
pub(crate) struct Counters<'a> {
    pub(crate) store: &'a dyn Store,
    pub(crate) key: &'a MacKey,
}

impl Counters<'_> {
    /// The store key of a counter: the scope (the raw key's first `:`-separated part) and a
    /// keyed hash of the whole raw key, 128 bits in base64url: at most 40 bytes whatever the
    /// raw key holds.
    pub(crate) fn key(&self, raw: &str) -> String {
        let scope = raw.split(':').next().unwrap_or("c");
        let scope = scope.get(..16).unwrap_or(scope);
        let hash = self.key.hash(&[raw.as_bytes()]);
        let tag = hash.as_bytes().get(..16).unwrap_or(hash.as_bytes());
        format!("{scope}:{}", b64_encode(tag))
    }

    /// Counts one hit on each `(raw key, max, window)` in order, stopping at the first over
    /// its limit (so a refused request does not eat the later, longer quotas): `rate_limited`
    /// with the time left in that window. A zero window is off.
    pub(crate) async fn hit_each(
        &self,
        limits: impl IntoIterator<Item = (String, u64, Duration)>,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        for (raw, max, window) in limits {
            if window.is_zero() {
                continue;
            }
            let window_ends = now + crate::clock::secs(window.as_secs());
            let counter = self
                .store
                .hit_counter(&self.key(&raw), window_ends, now)
                .await?;
            if counter.count > max {
                let retry_after = (counter.resets_at - now).to_std().unwrap_or(Duration::ZERO);
                return Err(AuthError::RateLimited { retry_after });
            }
        }
        Ok(())
    }

    /// Counts one SMS send for `phone` from `ip` and refuses it when a limit is exceeded.
    /// Order: per-IP hourly and daily caps; the phone's resend cooldown (one for every SMS it
    /// receives); the phone's hourly and daily caps of the send's channel (login, reset, phone
    /// change: see [`sms_failures_key`]). A refusal stops the count there.
    ///
    /// The cooldown is read first and started only by a send that passed every cap, so a
    /// request that a channel's cap refuses never holds up the phone's other channels: a
    /// stranger who spends a phone's login allowance leaves its owner the SMS reset. (Two
    /// concurrent sends may both pass the read; the channel caps, counted atomically, still
    /// bound them.)
    pub(crate) async fn check_sms_send(
        &self,
        cfg: &SmsConfig,
        phone: &Phone,
        purpose: ChallengePurpose,
        ip: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        let c = client_key(ip);
        let p = phone.as_str();
        let ch = sms_channel(purpose);
        let per_ip = [
            (format!("sms:ip:{c}:hour"), cfg.per_ip_per_hour, HOUR),
            (format!("sms:ip:{c}:day"), cfg.per_ip_per_day, DAY),
        ];
        self.hit_each(per_ip, now).await?;
        let cooldown = self.key(&format!("sms:phone:{p}:cooldown"));
        if cfg.resend_cooldown_secs > 0
            && let Some(running) = self.store.failures(&cooldown, now).await?
        {
            return Err(AuthError::RateLimited {
                retry_after: (running.expires_at - now)
                    .to_std()
                    .unwrap_or(Duration::ZERO),
            });
        }
        let per_channel = [
            (
                format!("sms:phone:{p}:{ch}:hour"),
                cfg.per_phone_per_hour,
                HOUR,
            ),
            (
                format!("sms:phone:{p}:{ch}:day"),
                cfg.per_phone_per_day,
                DAY,
            ),
        ];
        self.hit_each(per_channel, now).await?;
        if cfg.resend_cooldown_secs > 0 {
            let ends = now + crate::clock::secs(cfg.resend_cooldown_secs);
            self.store.add_failure(&cooldown, now, ends).await?;
        }
        Ok(())
    }

    /// Counts one registration attempt from `ip` naming `identifiers` (the normalized phone or
    /// email, and the username if any) and refuses it over a limit. Order: per-IP hourly and
    /// daily caps, then each identifier's hourly cap; a refusal stops the count there. Runs
    /// before any lookup or hashing, so it counts and answers the same whether an identifier is
    /// taken.
    pub(crate) async fn check_register(
        &self,
        cfg: &AccountConfig,
        identifiers: &[&str],
        ip: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        let c = client_key(ip);
        // Collected first: a closure held across the await would keep the future from being
        // `Send` for every lifetime, which the adapters' handlers need.
        let limits: Vec<_> = [
            (
                format!("register:ip:{c}:hour"),
                cfg.register_per_ip_per_hour,
                HOUR,
            ),
            (
                format!("register:ip:{c}:day"),
                cfg.register_per_ip_per_day,
                DAY,
            ),
        ]
        .into_iter()
        .chain(identifiers.iter().map(|identifier| {
            (
                format!("register:id:{identifier}:hour"),
                cfg.register_per_identifier_per_hour,
                HOUR,
            )
        }))
        .collect();
        self.hit_each(limits, now).await
    }

    /// Counts one mail to `email` and refuses it over the cooldown or the hourly cap. Keyed by
    /// the address whether or not it has an account.
    pub(crate) async fn check_mail_send(
        &self,
        cfg: &crate::config::AccountConfig,
        email: &crate::account::Email,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        let e = email.as_str();
        let cooldown = Duration::from_secs(cfg.mail_cooldown_secs);
        let limits = [
            (format!("mail:{e}:cooldown"), 1, cooldown),
            (
                format!("mail:{e}:hour"),
                cfg.mail_per_address_per_hour,
                HOUR,
            ),
        ];
        self.hit_each(limits, now).await
    }

    /// Counts one password attempt against `account_key` and refuses it over the window's
    /// limit.
    pub(crate) async fn check_password_attempt(
        &self,
        cfg: &PasswordConfig,
        account_key: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        let limit = (
            format!("pw:attempts:{account_key}"),
            cfg.attempts_per_window,
            Duration::from_secs(cfg.throttle_window_secs),
        );
        self.hit_each([limit], now).await
    }

    /// `rate_limited` (with the time left) while the failures counted under `raw_key` have
    /// reached the cap's maximum.
    pub(crate) async fn check_cap(
        &self,
        raw_key: &str,
        cap: FailureCap,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        if cap.window_secs == 0 {
            return Ok(());
        }
        match self.store.failures(&self.key(raw_key), now).await? {
            Some(f) if u64::from(f.count) >= cap.max => Err(AuthError::RateLimited {
                retry_after: (f.expires_at - now).to_std().unwrap_or(Duration::ZERO),
            }),
            _ => Ok(()),
        }
    }

    /// Counts one failure under `raw_key` towards its cap, in the window its first failure
    /// opened (a new one when there is none).
    pub(crate) async fn count_against_cap(
        &self,
        raw_key: &str,
        cap: FailureCap,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        if cap.window_secs == 0 {
            return Ok(());
        }
        let key = self.key(raw_key);
        let window_ends = match self.store.failures(&key, now).await? {
            Some(open) => open.expires_at,
            None => now + crate::clock::secs(cap.window_secs),
        };
        self.store.add_failure(&key, now, window_ends).await?;
        Ok(())
    }

    /// `too_many_attempts` with the time left while the failures under `raw_key` lock it.
    pub(crate) async fn check_lockout(
        &self,
        raw_key: &str,
        lockout: Lockout,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        let Some(failures) = self.store.failures(&self.key(raw_key), now).await? else {
            return Ok(());
        };
        let Some(lock) = lockout.lock_for(failures.count) else {
            return Ok(());
        };
        let until = failures.last_at + crate::clock::secs(lock.as_secs());
        if now < until {
            let retry_after = (until - now).to_std().unwrap_or(Duration::ZERO);
            return Err(AuthError::TooManyAttempts {
                retry_after: Some(retry_after.max(Duration::from_secs(1))),
            });
        }
        Ok(())
    }

    /// Counts one more consecutive failure under `raw_key`.
    pub(crate) async fn add_failure(
        &self,
        raw_key: &str,
        lockout: Lockout,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        self.store
            .add_failure(&self.key(raw_key), now, now + lockout.memory())
            .await?;
        Ok(())
    }

    /// Forgets the consecutive failures under `raw_key`.
    pub(crate) async fn clear_failures(&self, raw_key: &str) -> Result<(), AuthError> {
        Ok(self.store.clear_failures(&self.key(raw_key)).await?)
    }
}

/// A cap on failures of one subject (a client IP, a session): at most `max` in a window of
/// `window_secs` that the first failure opens; past it, refused until the window ends. A zero
/// window is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FailureCap {
    /// Failures allowed; the next request is refused.
    pub(crate) max: u64,
    /// How long after the latest failure they are remembered.
    pub(crate) window_secs: u64,
}

impl FailureCap {
    /// Failed password checks per client IP.
    pub(crate) fn passwords_per_ip(cfg: &PasswordConfig) -> Self {
        Self {
            max: u64::from(cfg.failures_per_ip),
            window_secs: cfg.failures_per_ip_window_secs,
        }
    }

    /// Failed refreshes per client IP.
    pub(crate) fn refreshes_per_ip(cfg: &SessionConfig) -> Self {
        Self {
            max: cfg.refresh_failures_per_ip,
            window_secs: cfg.refresh_failure_window_secs,
        }
    }

    /// Failed refreshes per session id named.
    pub(crate) fn refreshes_per_session(cfg: &SessionConfig) -> Self {
        Self {
            max: cfg.refresh_failures_per_session,
            window_secs: cfg.refresh_failure_window_secs,
        }
    }
}

/// The raw key of the failed password checks from one client IP.
pub(crate) fn password_ip_key(ip: Option<IpAddr>) -> String {
    format!("pwip:{}", client_key(ip))
}

/// The raw key of the failed refreshes from one client IP.
pub(crate) fn refresh_ip_key(ip: Option<IpAddr>) -> String {
    format!("rfip:{}", client_key(ip))
}

/// The raw key of the failed refreshes naming one session.
pub(crate) fn refresh_session_key(session: SessionId) -> String {
    format!("rfsid:{}", session.as_uuid().simple())
}

/// The SMS-code channel a challenge's failures count in: login (and sign-up) codes, password
/// reset codes and phone-change codes lock apart.
fn sms_channel(purpose: ChallengePurpose) -> &'static str {
    match purpose {
        ChallengePurpose::Login | ChallengePurpose::Signup => "login",
        ChallengePurpose::PasswordReset => "reset",
        ChallengePurpose::PhoneChange => "phone_change",
    }
}

/// Every SMS-code channel, for clearing them all.
pub(crate) const SMS_CHANNELS: [ChallengePurpose; 3] = [
    ChallengePurpose::Login,
    ChallengePurpose::PasswordReset,
    ChallengePurpose::PhoneChange,
];

/// The raw lockout key of a phone's SMS codes of one channel.
pub(crate) fn sms_failures_key(phone: &Phone, purpose: ChallengePurpose) -> String {
    format!("smsfail:{}:{}", sms_channel(purpose), phone.as_str())
}

/// The raw lockout key of an account's passwords.
pub(crate) fn password_failures_key(account_key: &str) -> String {
    format!("pwfail:{account_key}")
}

/// The account key of an existing user, under which its password throttle and lockout
/// count.
pub(crate) fn account_key_of(user: &crate::User) -> String {
    format!("user:{}", user.id)
}

/// The password throttle, lockouts and per-IP failure cap as a flow applies them: the time
/// and client IP of the request, the password section of the configuration, the counters.
#[derive(Clone, Copy)]
pub(crate) struct Lockouts<'a> {
    pub(crate) now: DateTime<Utc>,
    pub(crate) client_ip: Option<IpAddr>,
    pub(crate) passwords: &'a PasswordConfig,
    pub(crate) counters: Counters<'a>,
}

impl Lockouts<'_> {
    /// Per-IP failure cap, throttle and lockout checks before a password is verified (every
    /// password check: the routes and the HTTP Basic guard).
    pub(crate) async fn check_password_guard(&self, account_key: &str) -> Result<(), AuthError> {
        let cfg = self.passwords;
        let counters = self.counters;
        let now = self.now;
        counters
            .check_cap(
                &password_ip_key(self.client_ip),
                FailureCap::passwords_per_ip(cfg),
                now,
            )
            .await?;
        counters
            .check_password_attempt(cfg, account_key, now)
            .await?;
        counters
            .check_lockout(
                &password_failures_key(account_key),
                Lockout::passwords(cfg),
                now,
            )
            .await
    }

    /// Counts a wrong password: towards the account's lockout and the client IP's cap.
    pub(crate) async fn password_failed(&self, account_key: &str) -> Result<(), AuthError> {
        let cfg = self.passwords;
        let counters = self.counters;
        let now = self.now;
        counters
            .add_failure(
                &password_failures_key(account_key),
                Lockout::passwords(cfg),
                now,
            )
            .await?;
        counters
            .count_against_cap(
                &password_ip_key(self.client_ip),
                FailureCap::passwords_per_ip(cfg),
                now,
            )
            .await?;
        Ok(())
    }

    /// Clears the account's lockout counters (passwords, and every SMS-code channel of its
    /// phone) after it proved itself one way or another.
    pub(crate) async fn clear_lockouts(&self, user: &crate::User) -> Result<(), AuthError> {
        self.counters
            .clear_failures(&password_failures_key(&account_key_of(user)))
            .await?;
        if let Some(phone) = &user.phone {
            self.clear_phone_lockouts(phone).await?;
        }
        Ok(())
    }

    /// Clears the SMS-code lockouts of every channel of `phone`.
    pub(crate) async fn clear_phone_lockouts(&self, phone: &Phone) -> Result<(), AuthError> {
        let counters = self.counters;
        for channel in SMS_CHANNELS {
            counters
                .clear_failures(&sms_failures_key(phone, channel))
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockouts_start_at_the_threshold_double_and_cap() {
        let l = Lockout {
            after: 3,
            base: Duration::from_secs(900),
            max: Duration::from_secs(86_400),
        };
        assert_eq!(l.lock_for(0), None);
        assert_eq!(l.lock_for(2), None);
        assert_eq!(l.lock_for(3), Some(Duration::from_secs(900)));
        assert_eq!(l.lock_for(4), Some(Duration::from_secs(1800)));
        assert_eq!(l.lock_for(5), Some(Duration::from_secs(3600)));
        assert_eq!(l.lock_for(9), Some(Duration::from_secs(57_600)));
        assert_eq!(l.lock_for(10), Some(Duration::from_secs(86_400)));
        assert_eq!(l.lock_for(u32::MAX), Some(Duration::from_secs(86_400)));
    }

    #[test]
    fn counter_keys_are_short_fixed_and_keyed() {
        let store = crate::testkit::MemoryStore::new();
        let k1 = crate::secret::SigningSecret::generate().derive("counters");
        let k2 = crate::secret::SigningSecret::generate().derive("counters");
        let c1 = Counters {
            store: &store,
            key: &k1,
        };
        let c2 = Counters {
            store: &store,
            key: &k2,
        };
        let long = format!("mail:{}@example.com:hour", "a".repeat(10_000));
        let short = "mail:a@example.com:hour";
        for raw in [long.as_str(), short] {
            let key = c1.key(raw);
            assert!(key.starts_with("mail:"), "{key}");
            assert_eq!(key.len(), "mail:".len() + 22, "{key}");
            assert!(!key.contains("example"), "{key}");
            assert_ne!(key, c2.key(raw), "keys depend on the secret");
        }
        assert_ne!(c1.key(&long), c1.key(short));
        assert_eq!(c1.key(short), c1.key(short));
    }
}
