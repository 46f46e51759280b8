//! Rate limits, cooldowns and lockouts, built on the store's atomic counters.
//!
//! * SMS sends: per client IP per hour, then per phone a resend cooldown, an hourly and a
//!   daily cap. Keys depend only on the phone, never on whether it has an account, so a 429
//!   reveals nothing.
//! * Password attempts: per account per window (unknown accounts are keyed by the identifier
//!   they were tried with, so they are throttled identically).
//! * Lockouts: consecutive failures per phone (SMS codes) and per account (passwords), cleared
//!   by any successful login of the account or by an admin.
//! * Failed refreshes: per client IP and per session id the token names, checked before any
//!   other work of `/refresh` (see [`check_refresh_allowed`]).

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::AuthError;
use crate::config::{PasswordConfig, SessionConfig, SmsConfig};
use crate::ids::SessionId;
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
    if let Some(ip) = ip {
        let c = client_key(ip);
        let per_ip = [
            (format!("sms:ip:{c}:hour"), cfg.per_ip_per_hour, HOUR),
            (format!("sms:ip:{c}:day"), cfg.per_ip_per_day, DAY),
        ];
        hit_each(store, per_ip, now).await?;
    }
    let p = phone.as_str();
    let cooldown = Duration::from_secs(cfg.resend_cooldown_secs);
    let per_phone = [
        (format!("sms:phone:{p}:cooldown"), 1, cooldown),
        (format!("sms:phone:{p}:hour"), cfg.per_phone_per_hour, HOUR),
        (format!("sms:phone:{p}:day"), cfg.per_phone_per_day, DAY),
    ];
    hit_each(store, per_phone, now).await
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

/// The subjects of the refresh failure limits with their maximum: the client IP (when known)
/// and the session id the token names (when it is well-formed).
fn refresh_subjects(
    cfg: &SessionConfig,
    ip: Option<IpAddr>,
    session: Option<SessionId>,
) -> impl Iterator<Item = (String, u64)> {
    let ip = ip.map(|ip| {
        (
            format!("ip:{}", client_key(ip)),
            cfg.refresh_failures_per_ip,
        )
    });
    let session = session.map(|s| {
        (
            format!("sid:{}", s.as_uuid().simple()),
            cfg.refresh_failures_per_session,
        )
    });
    ip.into_iter().chain(session)
}

/// `rate_limited` until `until`.
fn rate_limited(until: DateTime<Utc>, now: DateTime<Utc>) -> AuthError {
    AuthError::RateLimited {
        retry_after: (until - now).to_std().unwrap_or(Duration::ZERO),
    }
}

/// Refuses a refresh up front, before the token is checked or the session read, when its
/// client IP or the session its token names is over its limit of failed refreshes. Costs one
/// counter hit per subject (IP first, so a refused IP costs exactly one) and counts nothing.
///
/// Only failures may count, yet the refusal must come before the work that tells a failure,
/// and the store's one counter operation, `hit_counter`, always counts. So each subject has
/// two counters: `refresh:fail:…` counts failures ([`count_failed_refresh`]), and
/// `refresh:block:…` is a marker whose window is open from the failure that exceeds the limit
/// until the failure window ends. This check hits the marker with a window ending *now*: a
/// closed (or missing) marker restarts with a window that has already ended, so the hit
/// changes nothing; an open one answers with its end, the `Retry-After`. Successful refreshes
/// never count, so clients on another IP, or on the same IP under the limit, are unaffected.
pub(crate) async fn check_refresh_allowed(
    store: &dyn Store,
    cfg: &SessionConfig,
    ip: Option<IpAddr>,
    session: Option<SessionId>,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    if cfg.refresh_failure_window_secs == 0 {
        return Ok(());
    }
    for (subject, _) in refresh_subjects(cfg, ip, session) {
        let marker = store
            .hit_counter(&format!("refresh:block:{subject}"), now, now)
            .await?;
        if marker.resets_at > now {
            return Err(rate_limited(marker.resets_at, now));
        }
    }
    Ok(())
}

/// Counts one failed refresh (`invalid_token`) against its client IP and the session id its
/// token names. When that exceeds a limit, opens the subject's marker until its failure window
/// ends and answers `rate_limited` instead.
pub(crate) async fn count_failed_refresh(
    store: &dyn Store,
    cfg: &SessionConfig,
    ip: Option<IpAddr>,
    session: Option<SessionId>,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    let window = cfg.refresh_failure_window_secs;
    if window == 0 {
        return Ok(());
    }
    let window_ends = now + crate::auth::secs(window);
    let mut blocked_until = None;
    for (subject, max) in refresh_subjects(cfg, ip, session) {
        let failures = store
            .hit_counter(&format!("refresh:fail:{subject}"), window_ends, now)
            .await?;
        if failures.count > max {
            let _marker = store
                .hit_counter(&format!("refresh:block:{subject}"), failures.resets_at, now)
                .await?;
            blocked_until = blocked_until.max(Some(failures.resets_at));
        }
    }
    match blocked_until {
        Some(until) => Err(rate_limited(until, now)),
        None => Ok(()),
    }
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
