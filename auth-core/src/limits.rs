//! Rate limits, cooldowns and lockouts, built on the store's atomic counters.
//!
//! * SMS sends: per client IP per hour, then per phone a resend cooldown, an hourly and a
//!   daily cap. Keys depend only on the phone, never on whether it has an account, so a 429
//!   reveals nothing.
//! * Registrations: per client IP per hour and per day, and per identifier (phone, email,
//!   username) per hour, counted the same whether the identifier is taken or free.
//! * Password attempts: per account per window (unknown accounts are keyed by the identifier
//!   they were tried with, so they are throttled identically).
//! * Lockouts: consecutive failures per phone (SMS codes) and per account (passwords), cleared
//!   by any successful login of the account or by an admin.

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::AuthError;
use crate::config::{AccountConfig, PasswordConfig, SmsConfig};
use crate::phone::Phone;
use crate::store::Store;

/// One fixed-window limit.
struct Limit<'a> {
    key: String,
    max: u64,
    window: Duration,
    store: &'a dyn Store,
}

impl Limit<'_> {
    /// Counts a hit; `rate_limited` with the time left in the window when over the limit.
    async fn hit(&self, now: DateTime<Utc>) -> Result<(), AuthError> {
        let window_ends = now + crate::auth::secs(self.window.as_secs());
        let counter = self.store.hit_counter(&self.key, window_ends, now).await?;
        if counter.count > self.max {
            let retry_after = (counter.resets_at - now).to_std().unwrap_or(Duration::ZERO);
            return Err(AuthError::RateLimited { retry_after });
        }
        Ok(())
    }
}

/// The part of an IP that identifies one client: the whole IPv4 address, the /64 of an IPv6
/// address (one subscriber usually holds a whole /64).
pub(crate) fn client_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// Counts one hit on each `(key, max, window)` in order, stopping at the first over its limit
/// (so a refused request does not eat the later, longer quotas). A zero window is off.
async fn hit_each(
    store: &dyn Store,
    limits: impl IntoIterator<Item = (String, u64, Duration)>,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    for (key, max, window) in limits {
        if !window.is_zero() {
            Limit {
                key,
                max,
                window,
                store,
            }
            .hit(now)
            .await?;
        }
    }
    Ok(())
}

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// Counts one hit on the per-client-IP hourly and daily caps of `scope` (`sms`, `register`),
/// keyed `{scope}:ip:{client}:hour` and `…:day`. Every per-IP limit goes through here, so
/// all of them treat an unknown client IP (`None`) the same way: today it is not counted.
async fn hit_per_ip(
    store: &dyn Store,
    scope: &str,
    ip: Option<IpAddr>,
    per_hour: u64,
    per_day: u64,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    if let Some(ip) = ip {
        let c = client_key(ip);
        let per_ip = [
            (format!("{scope}:ip:{c}:hour"), per_hour, HOUR),
            (format!("{scope}:ip:{c}:day"), per_day, DAY),
        ];
        hit_each(store, per_ip, now).await?;
    }
    Ok(())
}

/// Counts one SMS send for `phone` from `ip` and refuses it when a limit is exceeded.
/// Order: per-IP hourly and daily caps, resend cooldown, per-phone hourly and daily caps; a
/// refusal stops the count there.
pub(crate) async fn check_sms_send(
    store: &dyn Store,
    cfg: &SmsConfig,
    phone: &Phone,
    ip: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    hit_per_ip(
        store,
        "sms",
        ip,
        cfg.per_ip_per_hour,
        cfg.per_ip_per_day,
        now,
    )
    .await?;
    let p = phone.as_str();
    let cooldown = Duration::from_secs(cfg.resend_cooldown_secs);
    let per_phone = [
        (format!("sms:phone:{p}:cooldown"), 1, cooldown),
        (format!("sms:phone:{p}:hour"), cfg.per_phone_per_hour, HOUR),
        (format!("sms:phone:{p}:day"), cfg.per_phone_per_day, DAY),
    ];
    hit_each(store, per_phone, now).await
}

/// Counts one registration attempt from `ip` naming `identifiers` (the normalized phone or
/// email, and the username if any) and refuses it over a limit. Order: per-IP hourly and daily
/// caps, then each identifier's hourly cap; a refusal stops the count there. Runs before any
/// lookup or hashing, so it counts and answers the same whether an identifier is taken.
pub(crate) async fn check_register(
    store: &dyn Store,
    cfg: &AccountConfig,
    identifiers: &[&str],
    ip: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    hit_per_ip(
        store,
        "register",
        ip,
        cfg.register_per_ip_per_hour,
        cfg.register_per_ip_per_day,
        now,
    )
    .await?;
    // Collected first: a closure held across the await would keep the future from being
    // `Send` for every lifetime, which the adapters' handlers need.
    let per_identifier: Vec<_> = identifiers
        .iter()
        .map(|identifier| {
            (
                format!("register:id:{identifier}:hour"),
                cfg.register_per_identifier_per_hour,
                HOUR,
            )
        })
        .collect();
    hit_each(store, per_identifier, now).await
}

/// Counts one mail to `email` and refuses it over the cooldown or the hourly cap. Keyed by the
/// address whether or not it has an account.
pub(crate) async fn check_mail_send(
    store: &dyn Store,
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
    hit_each(store, limits, now).await
}

/// Counts one password attempt against `account_key` and refuses it over the window's limit.
pub(crate) async fn check_password_attempt(
    store: &dyn Store,
    cfg: &PasswordConfig,
    account_key: &str,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    Limit {
        key: format!("pw:attempts:{account_key}"),
        max: cfg.attempts_per_window,
        window: Duration::from_secs(cfg.throttle_window_secs),
        store,
    }
    .hit(now)
    .await
}

/// The lockout counter key of a phone's SMS codes.
pub(crate) fn sms_failures_key(phone: &Phone) -> String {
    format!("sms:fail:{}", phone.as_str())
}

/// The lockout counter key of an account's passwords.
pub(crate) fn password_failures_key(account_key: &str) -> String {
    format!("pw:fail:{account_key}")
}

/// `too_many_attempts` (no `Retry-After`: waiting does not help) when `key` has reached `max`
/// consecutive failures.
pub(crate) async fn check_lockout(store: &dyn Store, key: &str, max: u32) -> Result<(), AuthError> {
    if store.failures(key).await? >= max {
        return Err(AuthError::TooManyAttempts { retry_after: None });
    }
    Ok(())
}
