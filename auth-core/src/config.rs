//! Every knob of the library with its default, in one place. All of it deserializes with
//! serde (missing fields take their defaults), so an app can load it from TOML or env.
//!
//! Durations are whole seconds (`*_secs`). Only [`AuthConfig::secret`] has no default.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::http::client_ip::ClientIpPolicy;
use crate::secret::SigningSecret;

/// A configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The signing secret is shorter than 32 bytes.
    #[error("the signing secret must be at least 32 bytes, got {len}")]
    SecretTooShort {
        /// The length that was given.
        len: usize,
    },
    /// A value is out of its range; the text says which.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// HS256 signing secret, at least 32 bytes; also the root of the keys that hash codes
    /// and refresh tokens. Keep it out of source control.
    pub secret: SigningSecret,
    /// `iss` claim written into and required from access tokens.
    #[serde(default = "default_issuer")]
    pub issuer: String,
    /// `aud` claim written into and required from access tokens.
    #[serde(default = "default_audience")]
    pub audience: String,
    /// Access tokens.
    #[serde(default)]
    pub access: AccessTokenConfig,
    /// Sessions and refresh tokens.
    #[serde(default)]
    pub session: SessionConfig,
    /// SMS one-time-code login and its abuse limits.
    #[serde(default)]
    pub sms: SmsConfig,
    /// Passwords: policy, hashing, throttling.
    #[serde(default)]
    pub password: PasswordConfig,
    /// Account rules.
    #[serde(default)]
    pub accounts: AccountConfig,
    /// How clients send tokens.
    #[serde(default)]
    pub transport: TransportConfig,
    /// How the client IP of a request is determined: the TCP peer, or behind trusted reverse
    /// proxies the address they forward. One policy for every adapter; by default no proxy is
    /// trusted and no proxy header is read.
    #[serde(default)]
    pub client_ip: ClientIpPolicy,
}

/// How clients send access (and refresh) tokens in headers.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TransportConfig {
    /// The header carrying the token. Default `authorization`.
    pub header: String,
    /// The scheme before the token (case-insensitive), or `None` for the bare token (e.g.
    /// `Authentication-Token: <token>`). Default `Some("Bearer")`.
    pub scheme: Option<String>,
    /// Let the guards also accept `Authorization: Basic <email:password>` (for scripts). Off by
    /// default. Every request then costs an argon2 verification and counts against the
    /// account's password throttle; such a principal has no session.
    pub basic_auth: bool,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            header: "authorization".to_owned(),
            scheme: Some("Bearer".to_owned()),
            basic_auth: false,
        }
    }
}

fn default_issuer() -> String {
    "auth-core".to_owned()
}
fn default_audience() -> String {
    "auth-core".to_owned()
}

impl AuthConfig {
    /// The defaults, with the given secret.
    pub fn new(secret: SigningSecret) -> Self {
        Self {
            secret,
            issuer: default_issuer(),
            audience: default_audience(),
            access: AccessTokenConfig::default(),
            session: SessionConfig::default(),
            sms: SmsConfig::default(),
            password: PasswordConfig::default(),
            accounts: AccountConfig::default(),
            transport: TransportConfig::default(),
            client_ip: ClientIpPolicy::default(),
        }
    }

    /// Checks ranges that the types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        if self.access.ttl_secs == 0 {
            return bad("access.ttl_secs must be positive");
        }
        if self.session.absolute_lifetime_secs == 0 || self.session.idle_timeout_secs == 0 {
            return bad("session lifetimes must be positive");
        }
        if !(SmsConfig::MIN_CODE_LENGTH..=SmsConfig::MAX_CODE_LENGTH)
            .contains(&self.sms.code_length)
        {
            return bad("sms.code_length must be 6 to 10 digits");
        }
        if self.sms.code_ttl_secs == 0 || self.sms.max_attempts == 0 {
            return bad("sms.code_ttl_secs and sms.max_attempts must be positive");
        }
        for (phone, code) in &self.sms.test_numbers {
            let normalized =
                crate::phone::Phone::parse(phone, false).map(|p| p.as_str().to_owned());
            if normalized.as_deref() != Ok(phone.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "sms.test_numbers: {phone} is not a normalized E.164 number"
                )));
            }
            let code = code.expose();
            if code.len() != usize::from(self.sms.code_length)
                || !code.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(ConfigError::Invalid(format!(
                    "sms.test_numbers: the code for {phone} must be {} digits",
                    self.sms.code_length
                )));
            }
        }
        if self.password.min_length == 0 || self.password.max_length < 64 {
            return bad("password.min_length must be positive and password.max_length at least 64");
        }
        if self.password.min_length > self.password.max_length {
            return bad("password.min_length exceeds password.max_length");
        }
        if self.password.max_concurrent_hashes == 0 {
            return bad(PasswordConfig::NO_HASHING_THREADS);
        }
        let header = &self.transport.header;
        if header.is_empty()
            || !header
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return bad("transport.header must be a header name");
        }
        if self
            .transport
            .scheme
            .as_deref()
            .is_some_and(|s| s.is_empty() || s.contains(' '))
        {
            return bad("transport.scheme must be one word");
        }
        if self.sms.lockout_after == 0 || self.password.lockout_after == 0 {
            return bad("lockout_after must be positive");
        }
        if self.sms.lockout_secs == 0
            || self.password.lockout_secs == 0
            || self.sms.lockout_max_secs < self.sms.lockout_secs
            || self.password.lockout_max_secs < self.password.lockout_secs
        {
            return bad("lockout_secs must be positive and at most lockout_max_secs");
        }
        if self.password.min_strength > 4 {
            return bad("password.min_strength is a zxcvbn score, 0 to 4");
        }
        if self
            .client_ip
            .trusted_proxies
            .iter()
            .any(|range| range.net().prefix_len() == 0)
        {
            return bad(
                "client_ip.trusted_proxies must not trust every address (a /0 range): any \
                 client could then choose its own IP",
            );
        }
        if self.accounts.conceal_existing && !self.accounts.require_email_activation {
            return bad(
                "accounts.conceal_existing needs accounts.require_email_activation (without \
                 activation a new account works at once, which a concealed answer cannot imitate)",
            );
        }
        Ok(())
    }
}

/// Access tokens (JWT, HS256).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccessTokenConfig {
    /// Lifetime of an access token. Default 600 (10 minutes).
    pub ttl_secs: u64,
    /// Clock skew tolerated on `exp` and `nbf`. Default 5.
    pub leeway_secs: u64,
    /// How access tokens are checked. Default [`AccessMode::SessionChecked`].
    pub mode: AccessMode,
}

/// What an access token is and how a request's token is checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessMode {
    /// A signed JWT (`typ: at+jwt`), checked without the store: a revoked session's access
    /// tokens work until they expire, and role changes reach them at the next refresh.
    /// `"stateless"` in a config file.
    Stateless,
    /// A signed JWT, and `authenticate` also checks that its session is still live and takes
    /// the user's current roles, so logout, revocation and role changes take effect at once.
    /// `"session_checked"`; the default.
    #[default]
    SessionChecked,
    /// A random-looking handle with no claims in it, checked against the store on every
    /// request (session and user), so revocation and role changes are instant. `"opaque"`.
    Opaque,
}

impl Default for AccessTokenConfig {
    fn default() -> Self {
        Self {
            ttl_secs: 600,
            leeway_secs: 5,
            mode: AccessMode::SessionChecked,
        }
    }
}

/// Sessions and their refresh tokens.
///
/// A session ends [`absolute_lifetime_secs`](Self::absolute_lifetime_secs) after the login
/// that started it (refreshing does not extend it), or
/// [`idle_timeout_secs`](Self::idle_timeout_secs) after its last login or refresh, whichever
/// comes first; the user then signs in again. Unless `access.mode` is `stateless`, its access
/// tokens stop working at the same moment.
///
/// The defaults, 60 days overall and 14 days idle, are made for apps that keep a device
/// signed in ("remember this device"). They are longer than NIST SP 800-63B-4 recommends at
/// any assurance level: §2.1.3 asks for an overall reauthentication timeout of no more than 30
/// days at AAL1, §2.2.3 for no more than 24 hours and an inactivity timeout of no more than
/// 1 hour at AAL2. An app that needs AAL2's bounds uses [`SessionConfig::aal2`].
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// A session ends this long after login, however active. Default 60 days.
    pub absolute_lifetime_secs: u64,
    /// A session ends when not refreshed for this long. Default 14 days.
    pub idle_timeout_secs: u64,
    /// After a rotation, the just-rotated refresh token still gets the same new token back for
    /// this long (two tabs, a retried request). Default 10. 0 turns the window off: the token
    /// is spent once, and any second presentation, even one racing the first, is reuse.
    pub refresh_grace_secs: u64,
    /// Failed refreshes (`invalid_token`: a malformed, unknown or forged token) allowed from
    /// one client IP (an IPv6 /64) per `refresh_failure_window_secs`. Past it, refreshes from
    /// that IP with a token that is not genuine get 429 `rate_limited` with `Retry-After`
    /// until the window ends; a genuine token is never held up. Default 60.
    pub refresh_failures_per_ip: u64,
    /// Failed refreshes allowed per window with tokens naming one session id, from any IP;
    /// past it, tokens naming that session that are not genuine get 429 until the window
    /// ends (its owner's genuine token still works). Default 20 (a
    /// client retries a failed refresh a few times at most; this bounds what many IPs
    /// aiming at one session can spend).
    pub refresh_failures_per_session: u64,
    /// The window of both refresh failure limits, opened by the first failure; 0 turns them
    /// off. Default 900 (15 minutes).
    pub refresh_failure_window_secs: u64,
}

impl SessionConfig {
    /// The session timeouts of NIST SP 800-63B-4 at AAL2 (§2.2.3, with §5.2 on
    /// reauthentication): a session ends 24 hours after login however active, and after 1 hour
    /// without a refresh. The refresh grace window keeps its default.
    ///
    /// Only the timeouts: AAL2 also needs two authentication factors, which a password or an
    /// SMS code alone is not. In configuration files the same is
    /// `"session": {"absolute_lifetime_secs": 86400, "idle_timeout_secs": 3600}`.
    ///
    /// ```
    /// use auth_core::config::SessionConfig;
    /// # let secret = auth_core::SigningSecret::generate();
    /// let mut config = auth_core::AuthConfig::new(secret);
    /// config.session = SessionConfig::aal2();
    /// assert_eq!(config.session.absolute_lifetime_secs, 24 * 3600);
    /// assert_eq!(config.session.idle_timeout_secs, 3600);
    /// ```
    pub fn aal2() -> Self {
        Self {
            absolute_lifetime_secs: 24 * 3600,
            idle_timeout_secs: 3600,
            ..Self::default()
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            absolute_lifetime_secs: 60 * 24 * 3600,
            idle_timeout_secs: 14 * 24 * 3600,
            refresh_grace_secs: 10,
            refresh_failures_per_ip: 60,
            refresh_failures_per_session: 20,
            refresh_failure_window_secs: 900,
        }
    }
}

/// SMS one-time-code login.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsConfig {
    /// Digits in a code, from [`SmsConfig::MIN_CODE_LENGTH`] (6) to
    /// [`SmsConfig::MAX_CODE_LENGTH`] (10); `validate` refuses anything else. Default 6.
    pub code_length: u8,
    /// How long a code works. Default 600 (10 minutes).
    pub code_ttl_secs: u64,
    /// Wrong codes before a challenge is burned. Default 5.
    pub max_attempts: u32,
    /// Consecutive wrong codes for one phone and channel (login, password reset, phone change
    /// count apart), across challenges, before that channel is locked for `lockout_secs`
    /// (NIST SP 800-63B). Each further wrong code doubles the lock, up to `lockout_max_secs`.
    /// A successful login, a reset or an admin clears it. Default 100.
    pub lockout_after: u32,
    /// The first lock after `lockout_after` wrong codes. Default 900 (15 minutes).
    pub lockout_secs: u64,
    /// The longest lock. A failure count is forgotten twice this long after its latest
    /// failure. Default 86400 (24 hours).
    pub lockout_max_secs: u64,
    /// Minimum time between two SMS to one phone, whatever they are for. Default 60.
    pub resend_cooldown_secs: u64,
    /// SMS per phone per hour, counted apart for login codes, reset codes and phone-change
    /// codes (so a stranger spending a phone's login allowance leaves its owner the reset).
    /// Default 5.
    pub per_phone_per_hour: u64,
    /// SMS per phone per day, counted apart like `per_phone_per_hour`. Default 10.
    pub per_phone_per_day: u64,
    /// SMS requests per client IP per hour. Default 100 (carrier NAT puts many users on one IP).
    pub per_ip_per_hour: u64,
    /// SMS requests per client IP per day. Default 1000.
    pub per_ip_per_day: u64,
    /// When set, only these country calling codes may receive SMS (e.g. `[1, 44]`).
    pub allowed_country_codes: Option<Vec<u16>>,
    /// Country calling codes that may never receive SMS.
    pub denied_country_codes: Vec<u16>,
    /// Test numbers with fixed codes (e.g. for app-store review): no SMS is sent, the fixed code
    /// works. Empty, i.e. off, by default. Keys are normalized E.164 numbers; the codes are
    /// redacted in `Debug`.
    pub test_numbers: BTreeMap<String, crate::secret::OneTimeCode>,
    /// Require numbers to be valid in their country's numbering plan, not only well-formed.
    /// Default `false`, so fictional numbers (`+1555…`) work in development.
    pub strict_phone_validation: bool,
    /// The SMS text; `{code}` is replaced by the code. Default `"Your login code is {code}"`.
    pub message_template: String,
    /// The password reset SMS; `{code}` is replaced. Default
    /// `"Your password reset code is {code}"`.
    pub reset_template: String,
    /// The SMS confirming a new phone number; `{code}` is replaced. Default
    /// `"Your code to confirm this phone number is {code}"`.
    pub phone_change_template: String,
    /// The notice sent to the old number after a phone change. Default
    /// `"The phone number of your account was changed."`.
    pub phone_changed_notice: String,
    /// Sign a phone up on its first verified SMS login instead of requiring `/register`.
    /// Off by default: unknown phones then get no SMS (but the same answer).
    pub signup_on_first_login: bool,
}

impl SmsConfig {
    /// The fewest digits a code may have: 6. NIST SP 800-63B-4 §3.1.3.2 (out-of-band
    /// verifiers): random authentication secrets "at least six decimal digits" long.
    pub const MIN_CODE_LENGTH: u8 = 6;
    /// The most digits a code may have: 10.
    pub const MAX_CODE_LENGTH: u8 = 10;
}

impl Default for SmsConfig {
    fn default() -> Self {
        Self {
            code_length: 6,
            code_ttl_secs: 600,
            max_attempts: 5,
            lockout_after: 100,
            lockout_secs: 900,
            lockout_max_secs: 86_400,
            resend_cooldown_secs: 60,
            per_phone_per_hour: 5,
            per_phone_per_day: 10,
            per_ip_per_hour: 100,
            per_ip_per_day: 1000,
            allowed_country_codes: None,
            denied_country_codes: Vec::new(),
            test_numbers: BTreeMap::new(),
            strict_phone_validation: false,
            message_template: "Your login code is {code}".to_owned(),
            reset_template: "Your password reset code is {code}".to_owned(),
            phone_change_template: "Your code to confirm this phone number is {code}".to_owned(),
            phone_changed_notice: "The phone number of your account was changed.".to_owned(),
            signup_on_first_login: false,
        }
    }
}

/// Passwords: policy, hashing and throttling.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordConfig {
    /// Minimum length in characters after NFKC normalization. Default 15 (NIST SP 800-63B-4
    /// for passwords used as the only factor).
    pub min_length: usize,
    /// Maximum length in characters; longer is rejected, never truncated. Default 256.
    pub max_length: usize,
    /// Minimum zxcvbn score (0–4) a new password needs; 0 turns the check off. Default 3.
    pub min_strength: u8,
    /// argon2id memory cost in KiB. Default 19456 (19 MiB, OWASP).
    pub argon2_m_cost_kib: u32,
    /// argon2id iterations. Default 2 (OWASP).
    pub argon2_t_cost: u32,
    /// argon2id parallelism. Default 1 (OWASP).
    pub argon2_p_cost: u32,
    /// Password hashes computed at once: the number of threads of the hasher's own pool, which
    /// run at a lower OS priority than the rest of the process (nice +10 on Linux) and start
    /// with the first hash. Each holds `argon2_m_cost_kib` of memory while it hashes.
    /// Default: one fewer than the CPUs, at least 1, so that a storm of password logins
    /// leaves a CPU to everything else. 0 is a configuration error (no thread could hash:
    /// every password request would fail), not silently 1.
    pub max_concurrent_hashes: usize,
    /// Password hashes (and verifications) that may wait for a thread beyond the
    /// `max_concurrent_hashes` running ones. One arriving when the queue is full is refused at
    /// once with 429 `rate_limited` and `Retry-After: 1`; a refused login counts no attempt
    /// against the account and answers the same whether the account exists or not.
    /// Registration, password change and reset are refused the same way. `Some(0)`: no
    /// queue, only the running ones. Default (`None`): 4 × `max_concurrent_hashes`, so a
    /// queued request waits at most about four hash times (some 0.2 s at the default argon2
    /// parameters) and a burst of logins a few times the thread count is absorbed, while a
    /// sustained overload is refused quickly instead of piling up latency. Queued requests
    /// hold no argon2 memory.
    pub max_queued_hashes: Option<usize>,
    /// Consecutive wrong passwords for one account before password logins to it are locked
    /// for `lockout_secs`; each further wrong password doubles the lock, up to
    /// `lockout_max_secs`. SMS login and SMS password reset stay open to the owner. A
    /// successful login, a reset or an admin clears it. Default 100.
    pub lockout_after: u32,
    /// The first lock after `lockout_after` wrong passwords. Default 900 (15 minutes).
    pub lockout_secs: u64,
    /// The longest lock. A failure count is forgotten twice this long after its latest
    /// failure. Default 86400 (24 hours).
    pub lockout_max_secs: u64,
    /// Failed password checks (logins, re-authentication, the HTTP Basic guard) from one
    /// client IP (IPv4 address or IPv6 /64) before further password
    /// checks from it answer `rate_limited`, until the window of `failures_per_ip_window_secs`
    /// that the first failure opened ends. Default 100.
    pub failures_per_ip: u32,
    /// The window of `failures_per_ip`, opened by the first failure; 0 turns the cap off.
    /// Default 900 (15 minutes).
    pub failures_per_ip_window_secs: u64,
    /// Password attempts per account per throttle window. Default 10.
    pub attempts_per_window: u64,
    /// The throttle window. Default 900 (15 minutes).
    pub throttle_window_secs: u64,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        Self {
            min_length: 15,
            max_length: 256,
            min_strength: 3,
            argon2_m_cost_kib: 19 * 1024,
            argon2_t_cost: 2,
            argon2_p_cost: 1,
            max_concurrent_hashes: std::thread::available_parallelism()
                .map_or(1, |n| n.get().saturating_sub(1).max(1)),
            max_queued_hashes: None,
            lockout_after: 100,
            lockout_secs: 900,
            lockout_max_secs: 86_400,
            failures_per_ip: 100,
            failures_per_ip_window_secs: 900,
            attempts_per_window: 10,
            throttle_window_secs: 900,
        }
    }
}

impl PasswordConfig {
    /// What [`AuthConfig::validate`] says of `max_concurrent_hashes = 0`.
    pub(crate) const NO_HASHING_THREADS: &'static str = "password.max_concurrent_hashes must be at least 1: it is the number of threads that hash passwords";

    /// How many hashes may wait beyond the running ones: `max_queued_hashes`, or by default
    /// 4 × `max_concurrent_hashes`.
    pub fn queued_hashes(&self) -> usize {
        self.max_queued_hashes
            .unwrap_or_else(|| self.max_concurrent_hashes.saturating_mul(4))
    }
}

/// Account rules.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountConfig {
    /// Largest accepted profile object, serialized, in bytes. Default 4096.
    pub max_profile_bytes: usize,
    /// The declared profile fields (see [`crate::profile`]). Empty by default: registration
    /// stores a free-form profile, `PATCH /me` accepts no field, `GET /users/{id}` shows none.
    pub profile_fields: BTreeMap<String, crate::profile::ProfileField>,
    /// For accounts without a password, how young the session must be to change the phone or
    /// email. Default 900 (15 minutes).
    pub recent_login_secs: u64,
    /// Email accounts must follow an emailed activation link before they can log in.
    /// Default `true`.
    pub require_email_activation: bool,
    /// Lifetime of an activation link. Default 172800 (48 hours).
    pub activation_ttl_secs: u64,
    /// Lifetime of a password reset link. Default 1800 (30 minutes).
    pub reset_ttl_secs: u64,
    /// Lifetime of an email change confirmation link. Default 86400 (24 hours).
    pub email_change_ttl_secs: u64,
    /// Minimum time between two mails to one address. Default 60.
    pub mail_cooldown_secs: u64,
    /// Mails per address per hour. Default 5.
    pub mail_per_address_per_hour: u64,
    /// `POST /register` attempts per client IP per hour, counted before any lookup or hashing,
    /// whatever the outcome. Default 20: sign-ups are rarer than logins, yet carrier NAT puts
    /// many users behind one IP, so this stays well above what one household or office
    /// registers while capping what one address can pump (argon2 work, activation mail).
    pub register_per_ip_per_hour: u64,
    /// `POST /register` attempts per client IP per day. Default 100 (five busy hours of a
    /// shared NAT address).
    pub register_per_ip_per_day: u64,
    /// `POST /register` attempts per identifier (the phone or email, and the username if one
    /// is sent) per hour, from any IP, taken or free alike. Default 5: a person retrying after
    /// a weak password or a typo fits; probing one address many times, or mailing it through
    /// registration, does not.
    pub register_per_identifier_per_hour: u64,
    /// Registering a taken email answers exactly like a free one: 201 with a random
    /// `user_id` that belongs to no account and `activation_required: true`, after the same
    /// argon2 work, and the address's owner is mailed a
    /// [`crate::mail::MailKind::RegistrationAttempt`] notice (within the mail caps) instead of
    /// an activation link. Needs `require_email_activation` ([`AuthConfig::validate`] refuses
    /// it without). Taken phones and usernames still answer 409 `already_registered`. A
    /// client that then logs in with the password it chose can still tell the two apart
    /// (`activation_required` against `invalid_credentials`). Default `false` (the v1
    /// contract's 409).
    pub conceal_existing: bool,
}

impl Default for AccountConfig {
    fn default() -> Self {
        Self {
            max_profile_bytes: 4096,
            profile_fields: BTreeMap::new(),
            recent_login_secs: 900,
            require_email_activation: true,
            activation_ttl_secs: 48 * 3600,
            reset_ttl_secs: 1800,
            email_change_ttl_secs: 24 * 3600,
            mail_cooldown_secs: 60,
            mail_per_address_per_hour: 5,
            register_per_ip_per_hour: 20,
            register_per_ip_per_day: 100,
            register_per_identifier_per_hour: 5,
            conceal_existing: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_from_json_with_defaults_and_rejects_short_secrets() {
        let cfg: AuthConfig = serde_json::from_str(
            r#"{"secret": "0123456789abcdef0123456789abcdef", "sms": {"code_length": 8}}"#,
        )
        .unwrap();
        assert_eq!(cfg.sms.code_length, 8);
        assert_eq!(cfg.sms.max_attempts, 5);
        assert_eq!(cfg.access.ttl_secs, 600);
        assert!(cfg.validate().is_ok());
        assert!(serde_json::from_str::<AuthConfig>(r#"{"secret": "short"}"#).is_err());
        assert!(
            serde_json::from_str::<AuthConfig>(
                r#"{"secret": "0123456789abcdef0123456789abcdef", "typo": 1}"#
            )
            .is_err()
        );
    }

    #[test]
    fn sms_codes_have_6_to_10_digits() {
        let with = |len: u8| {
            let mut cfg = AuthConfig::new(SigningSecret::generate());
            cfg.sms.code_length = len;
            cfg.validate()
        };
        assert_eq!(SmsConfig::default().code_length, 6);
        for short in [0, 4, 5] {
            assert!(
                matches!(with(short), Err(ConfigError::Invalid(ref m)) if m.contains("6 to 10")),
                "{short} digits"
            );
        }
        for ok in 6..=10 {
            assert_eq!(with(ok), Ok(()), "{ok} digits");
        }
        assert!(with(11).is_err());
    }

    #[test]
    fn validate_catches_bad_ranges() {
        let mut cfg = AuthConfig::new(SigningSecret::generate());
        cfg.sms.code_length = 3;
        assert!(cfg.validate().is_err());
        let mut cfg = AuthConfig::new(SigningSecret::generate());
        cfg.sms
            .test_numbers
            .insert("+15550000000".into(), "12".into());
        assert!(cfg.validate().is_err());
        let mut cfg = AuthConfig::new(SigningSecret::generate());
        cfg.password.max_length = 32;
        assert!(cfg.validate().is_err());
        let mut cfg = AuthConfig::new(SigningSecret::generate());
        cfg.accounts.conceal_existing = true;
        assert!(cfg.validate().is_ok());
        cfg.accounts.require_email_activation = false;
        assert!(cfg.validate().is_err());
    }

    #[test]
    fn hashing_needs_a_thread_and_queues_four_per_thread_by_default() {
        let mut cfg = AuthConfig::new(SigningSecret::generate());
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(cfg.password.max_concurrent_hashes, (cpus - 1).max(1));
        cfg.password.max_concurrent_hashes = 0;
        assert!(matches!(
            cfg.validate(),
            Err(ConfigError::Invalid(ref m)) if m.contains("max_concurrent_hashes must be at least 1")
        ));
        cfg.password.max_concurrent_hashes = 3;
        assert_eq!(cfg.validate(), Ok(()));
        assert_eq!(cfg.password.queued_hashes(), 12);
        cfg.password.max_queued_hashes = Some(0);
        assert_eq!(cfg.password.queued_hashes(), 0);
        let secret = r#""secret": "0123456789abcdef0123456789abcdef""#;
        let cfg: AuthConfig = serde_json::from_str(&format!(
            r#"{{{secret}, "password": {{"max_concurrent_hashes": 2, "max_queued_hashes": 5}}}}"#
        ))
        .unwrap();
        assert_eq!(
            (
                cfg.password.max_concurrent_hashes,
                cfg.password.queued_hashes()
            ),
            (2, 5)
        );
    }

    #[test]
    fn the_access_mode_and_client_ip_policy_load_from_config() {
        let load = |json: &str| serde_json::from_str::<AuthConfig>(json);
        let secret = r#""secret": "0123456789abcdef0123456789abcdef""#;
        let cfg = load(&format!("{{{secret}}}")).unwrap();
        assert_eq!(cfg.access.mode, AccessMode::SessionChecked);
        assert!(cfg.client_ip.trusted_proxies.is_empty());
        for (text, mode) in [
            ("stateless", AccessMode::Stateless),
            ("session_checked", AccessMode::SessionChecked),
            ("opaque", AccessMode::Opaque),
        ] {
            let cfg = load(&format!(r#"{{{secret}, "access": {{"mode": "{text}"}}}}"#)).unwrap();
            assert_eq!(cfg.access.mode, mode);
        }
        assert!(load(&format!(r#"{{{secret}, "access": {{"stateless": true}}}}"#)).is_err());
        let cfg = load(&format!(
            r#"{{{secret}, "client_ip": {{"trusted_proxies": ["10.0.0.0/8"], "header": "forwarded"}}}}"#
        ))
        .unwrap();
        assert!(cfg.client_ip.is_trusted("10.1.2.3".parse().unwrap()));
        assert!(cfg.validate().is_ok());
        let cfg = load(&format!(
            r#"{{{secret}, "client_ip": {{"trusted_proxies": ["0.0.0.0/0"]}}}}"#
        ))
        .unwrap();
        assert!(cfg.validate().is_err());
    }
}
