//! The request and response bodies of the HTTP contract (`API.md`), with their parsing and
//! validation, so every adapter reads and writes exactly the same JSON.
//!
//! Adapters (through [`crate::http`]) parse the raw body with [`parse_json`]; routes whose
//! body is optional skip it when empty. Responses are these types, serialized with serde.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::AuthError;
use crate::ids::{ChallengeId, SessionId, UserId};
use crate::secret::{BearerToken, OneTimeCode, Password};

/// Largest request body an adapter should accept, in bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Parses a JSON request body, which must be an object. Malformed JSON, a missing or unknown field, or a field of the
/// wrong type give `invalid_request` with serde's explanation (which never echoes values);
/// more than [`MAX_BODY_BYTES`] gives `payload_too_large`.
pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AuthError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(AuthError::PayloadTooLarge);
    }
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err(AuthError::invalid_request("a JSON body is required")),
        // Every request body of the contract is an object; serde would also accept a
        // struct written as an array.
        Some(b'{') => {}
        Some(_) => return Err(AuthError::invalid_request("the body must be a JSON object")),
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = match inner.classify() {
            serde_json::error::Category::Data => {
                // Keep serde's text only where it names fields, never where it could quote a
                // value (a password sent as a number, say).
                let text = inner.to_string();
                let text = text.split(" at line ").next().unwrap_or_default();
                if text.starts_with("unknown field") || text.starts_with("missing field") {
                    text.to_owned()
                } else {
                    format!("invalid value for field `{path}`")
                }
            }
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                "malformed JSON".to_owned()
            }
            serde_json::error::Category::Io => "unreadable body".to_owned(),
        };
        AuthError::invalid_request(message)
    })?;
    de.end()
        .map_err(|_| AuthError::invalid_request("malformed JSON: trailing characters"))?;
    Ok(value)
}

/// Whether a `Content-Type` header value is JSON (`application/json`, any parameters).
pub(crate) fn is_json_content_type(value: &str) -> bool {
    value
        .split(';')
        .next()
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// Checks the content type of a request that must carry a JSON body.
pub(crate) fn require_json_content_type(value: Option<&str>) -> Result<(), AuthError> {
    match value {
        Some(v) if is_json_content_type(v) => Ok(()),
        _ => Err(AuthError::invalid_request(
            "content-type must be application/json",
        )),
    }
}

/// What the caller knows about the client, passed in by the adapter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's IP address: for a request served through [`crate::http`], the TCP peer
    /// or, from a trusted proxy, the address its header names, by the configured
    /// [`ClientIpPolicy`](crate::http::client_ip::ClientIpPolicy). `None` when unknown: per-IP
    /// limits then count the request in one bucket shared by every such request.
    pub ip: Option<IpAddr>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// Longest user agent kept, in characters.
    pub const MAX_USER_AGENT: usize = 512;

    /// Client info, with the IP in its [canonical](crate::client_ip::canonical) form (an
    /// IPv4-mapped IPv6 address as IPv4), truncating an overlong user agent.
    pub fn new(ip: Option<IpAddr>, user_agent: Option<&str>) -> Self {
        Self {
            ip: ip.map(crate::client_ip::canonical),
            user_agent: user_agent.map(|ua| ua.chars().take(Self::MAX_USER_AGENT).collect()),
        }
    }
}

/// `POST /register`: `{"phone"}` or `{"email","password"}`, optional `username` and `profile`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Phone, for an SMS account.
    #[serde(default)]
    pub phone: Option<String>,
    /// Email, for a password account.
    #[serde(default)]
    pub email: Option<String>,
    /// Password, with `email`.
    #[serde(default)]
    pub password: Option<Password>,
    /// Optional unique username.
    #[serde(default)]
    pub username: Option<String>,
    /// Optional profile object.
    #[serde(default)]
    pub profile: Option<serde_json::Value>,
}

/// How a new account signs in: the credentials of a [`NewAccount`].
#[derive(Debug, Clone)]
pub enum Credentials {
    /// An SMS account, by phone.
    Phone(crate::Phone),
    /// A password account, by email and password.
    EmailPassword(crate::Email, Password),
}

impl Credentials {
    /// The normalized phone or email, as the per-identifier registration limit counts it.
    pub fn identifier(&self) -> &str {
        match self {
            Self::Phone(phone) => phone.as_str(),
            Self::EmailPassword(email, _) => email.as_str(),
        }
    }
}

/// A `POST /register` body, parsed ([`RegisterRequest::parse`]): what
/// [`Auth::register`](crate::Auth::register) takes. The profile is checked by the
/// registration itself, against `accounts.profile_fields` and `accounts.max_profile_bytes`.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// The phone, or the email and password.
    pub credentials: Credentials,
    /// Optional unique username.
    pub username: Option<crate::Username>,
    /// Optional profile; must be a JSON object.
    pub profile: Option<serde_json::Value>,
}

impl NewAccount {
    /// An SMS account, without username or profile.
    pub fn phone(phone: crate::Phone) -> Self {
        Self {
            credentials: Credentials::Phone(phone),
            username: None,
            profile: None,
        }
    }

    /// A password account, without username or profile.
    pub fn email(email: crate::Email, password: Password) -> Self {
        Self {
            credentials: Credentials::EmailPassword(email, password),
            username: None,
            profile: None,
        }
    }
}

impl RegisterRequest {
    /// Parses the body's either/or shape: `{"phone"}` (the phone parsed as `config.sms`
    /// says) or `{"email","password"}`, and the optional `username`; `invalid_request` for
    /// anything else. The profile is passed on as it is.
    pub fn parse(self, config: &crate::AuthConfig) -> Result<NewAccount, AuthError> {
        let credentials = match (self.phone, self.email, self.password) {
            (Some(phone), None, None) => Credentials::Phone(crate::Phone::parse(
                &phone,
                config.sms.strict_phone_validation,
            )?),
            (None, Some(email), Some(password)) => {
                Credentials::EmailPassword(crate::Email::parse(&email)?, password)
            }
            (None, Some(_), None) => {
                return Err(AuthError::invalid_request(
                    "password is required with email",
                ));
            }
            (Some(_), _, _) => {
                return Err(AuthError::invalid_request(
                    "register with either {\"phone\"} or {\"email\",\"password\"}",
                ));
            }
            (None, None, _) => {
                return Err(AuthError::invalid_request("phone or email is required"));
            }
        };
        let username = self
            .username
            .as_deref()
            .map(crate::Username::parse)
            .transpose()?;
        Ok(NewAccount {
            credentials,
            username,
            profile: self.profile,
        })
    }
}

/// `201` answer of `POST /register`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisterResponse {
    /// The new account's id.
    pub user_id: UserId,
    /// Whether the account must be activated before it can log in.
    pub activation_required: bool,
}

/// `POST /login`: `{"phone"}` sends an SMS code; `{"email" or "username", "password"}` logs in.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Phone, for SMS login.
    #[serde(default)]
    pub phone: Option<String>,
    /// Email, for password login.
    #[serde(default)]
    pub email: Option<String>,
    /// Username, for password login.
    #[serde(default)]
    pub username: Option<String>,
    /// Password.
    #[serde(default)]
    pub password: Option<Password>,
}

/// `202` answer of an SMS login start: where to send the code, and timings in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChallengeSent {
    /// Send it back with the code to `/verify_sms`.
    pub challenge_id: ChallengeId,
    /// Seconds until the code expires.
    pub expires_in: u64,
    /// Seconds until another code may be requested.
    pub resend_in: u64,
}

/// What `POST /login` led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// An SMS code challenge was started (202).
    ChallengeSent(ChallengeSent),
    /// A password login succeeded (200).
    LoggedIn(TokenPair),
}

/// A `POST /login` body, parsed: which login it asks for.
#[derive(Debug, Clone)]
pub enum Login {
    /// `{"phone"}`: start an SMS login.
    Sms(crate::Phone),
    /// `{"email" or "username", "password"}`: a password login.
    Password(crate::LoginIdentifier, Password),
}

impl LoginRequest {
    /// Parses the body's either/or shape: `{"phone"}` (the phone parsed as `config.sms`
    /// says) or `{"email" or "username", "password"}`; `invalid_request` for anything else.
    pub fn parse(self, config: &crate::AuthConfig) -> Result<Login, AuthError> {
        use crate::account::{Email, Username};
        match self {
            LoginRequest {
                phone: Some(phone),
                email: None,
                username: None,
                password: None,
            } => Ok(Login::Sms(crate::Phone::parse(
                &phone,
                config.sms.strict_phone_validation,
            )?)),
            LoginRequest {
                phone: None,
                email,
                username,
                password: Some(password),
            } => {
                let identifier = match (email, username) {
                    (Some(e), None) => crate::LoginIdentifier::Email(Email::parse(&e)?),
                    (None, Some(u)) => crate::LoginIdentifier::Username(Username::parse(&u)?),
                    _ => {
                        return Err(AuthError::invalid_request(
                            "send exactly one of email or username with the password",
                        ));
                    }
                };
                Ok(Login::Password(identifier, password))
            }
            _ => Err(AuthError::invalid_request(
                "send {\"phone\"} or {\"email\" or \"username\", \"password\"}",
            )),
        }
    }
}

/// `POST /verify_sms`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifySmsRequest {
    /// From the `/login` answer.
    pub(crate) challenge_id: String,
    /// The code from the SMS.
    pub(crate) code: OneTimeCode,
}

/// `POST /refresh` body (the token may instead come in the `Authorization` header).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshRequest {
    /// The refresh token.
    #[serde(default)]
    pub(crate) refresh_token: Option<BearerToken>,
}

/// `POST /password`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// The current password; omitted only by an account that has none.
    #[serde(default)]
    pub old_password: Option<Password>,
    /// The new password.
    pub new_password: Password,
}

/// `POST /password/reset`: `{"email"}` or `{"phone"}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordResetRequest {
    /// Email of a password account: a reset link is mailed.
    #[serde(default)]
    pub(crate) email: Option<String>,
    /// Phone of an account: a reset code is sent by SMS.
    #[serde(default)]
    pub(crate) phone: Option<String>,
}

/// `POST /password/reset/confirm`: `{"token","new_password"}` or
/// `{"challenge_id","code","new_password"}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordResetConfirm {
    /// The emailed token.
    #[serde(default)]
    pub(crate) token: Option<BearerToken>,
    /// The SMS challenge.
    #[serde(default)]
    pub(crate) challenge_id: Option<String>,
    /// The SMS code.
    #[serde(default)]
    pub(crate) code: Option<OneTimeCode>,
    /// The new password.
    pub(crate) new_password: Password,
}

/// `POST /activate`, `POST /email/confirm`: `{"token"}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenRequest {
    /// The emailed token.
    pub(crate) token: BearerToken,
}

/// `POST /phone`: `{"phone"}` (and `"password"` for accounts with one).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PhoneChangeRequest {
    /// The new phone.
    pub(crate) phone: String,
    /// The current password, for accounts that have one.
    #[serde(default)]
    pub(crate) password: Option<Password>,
}

/// `POST /email`: `{"email"}` (and `"password"` for accounts with one).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmailChangeRequest {
    /// The new address.
    pub(crate) email: String,
    /// The current password, for accounts that have one.
    #[serde(default)]
    pub(crate) password: Option<Password>,
}

/// A token pair, the answer of every successful login and refresh.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct TokenPair {
    /// Short-lived JWT for `Authorization: Bearer`.
    pub access_token: BearerToken,
    /// Opaque refresh token for `/refresh`.
    pub refresh_token: BearerToken,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Seconds until the refresh token stops working if the session stays idle.
    pub refresh_expires_in: u64,
    /// The user.
    pub user_id: UserId,
    /// The session.
    pub session_id: SessionId,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &self.access_token)
            .field("refresh_token", &self.refresh_token)
            .field("expires_in", &self.expires_in)
            .field("refresh_expires_in", &self.refresh_expires_in)
            .field("user_id", &self.user_id)
            .field("session_id", &self.session_id)
            .finish()
    }
}

/// One entry of `GET /sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionInfo {
    /// The session.
    pub session_id: SessionId,
    /// Login time.
    pub created_at: DateTime<Utc>,
    /// Last login or refresh.
    pub last_used_at: DateTime<Utc>,
    /// Client IP at login.
    pub ip: Option<IpAddr>,
    /// Client user agent at login.
    pub user_agent: Option<String>,
    /// Whether this is the session of the token that asked.
    pub current: bool,
}

/// `200` answer of `POST /logout_all_other_sessions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RevokedCount {
    /// Sessions revoked.
    pub revoked: u64,
}

/// `GET /me`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeResponse {
    /// The user.
    pub user_id: UserId,
    /// E.164 phone.
    pub phone: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Username.
    pub username: Option<String>,
    /// Roles.
    pub roles: Vec<String>,
    /// Profile object.
    pub profile: serde_json::Value,
    /// Registration time.
    pub created_at: DateTime<Utc>,
    /// Time of the latest successful login.
    pub last_login_at: Option<DateTime<Utc>>,
    /// Successful logins.
    pub login_count: u64,
}

impl From<&crate::account::User> for MeResponse {
    fn from(u: &crate::account::User) -> Self {
        Self {
            user_id: u.id,
            phone: u.phone.as_ref().map(|p| p.as_str().to_owned()),
            email: u.email.as_ref().map(|e| e.as_str().to_owned()),
            username: u.username.as_ref().map(|n| n.as_str().to_owned()),
            roles: u.roles.clone(),
            profile: u.profile.clone(),
            created_at: u.created_at,
            last_login_at: u.current_login_at,
            login_count: u.login_count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_json_maps_every_failure_to_a_4xx() {
        let ok: Result<LoginRequest, _> = parse_json(br#"{"phone":"+15551234567"}"#);
        assert!(ok.is_ok());
        for bad in [
            &b""[..],
            b"  ",
            b"{",
            b"[]",
            b"null",
            br#"{"phone":1}"#,
            br#"{"phone":"x","extra":1}"#,
        ] {
            let err = parse_json::<LoginRequest>(bad).unwrap_err();
            assert_eq!(
                err.code(),
                "invalid_request",
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let missing = parse_json::<VerifySmsRequest>(br#"{"challenge_id":"x"}"#).unwrap_err();
        assert_eq!(missing.code(), "invalid_request");
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(
            parse_json::<LoginRequest>(&big).unwrap_err(),
            AuthError::PayloadTooLarge
        );
    }

    #[test]
    fn bad_values_are_not_echoed() {
        let err = parse_json::<LoginRequest>(br#"{"password": 123456789}"#).unwrap_err();
        assert!(!err.to_string().contains("123456789"), "{err}");
    }

    #[test]
    fn bearer_header_parsing() {
        let kit = crate::testkit::TestKit::new();
        let bearer_token = |value| kit.auth.token_from_header(value);
        assert_eq!(bearer_token("Bearer abc"), Ok("abc"));
        assert_eq!(bearer_token("bearer  abc "), Ok("abc"));
        assert_eq!(bearer_token("Basic abc"), Err(AuthError::MissingToken));
        assert_eq!(bearer_token("Bearer "), Err(AuthError::MissingToken));
        assert_eq!(bearer_token("abc"), Err(AuthError::MissingToken));
    }

    #[test]
    fn content_types() {
        assert!(is_json_content_type("application/json"));
        assert!(is_json_content_type("Application/JSON; charset=utf-8"));
        assert!(!is_json_content_type("text/plain"));
        assert!(require_json_content_type(None).is_err());
    }

    #[test]
    fn token_pair_debug_hides_tokens() {
        let pair = TokenPair {
            access_token: BearerToken::new("secret-access"),
            refresh_token: BearerToken::new("secret-refresh"),
            token_type: "Bearer",
            expires_in: 600,
            refresh_expires_in: 10,
            user_id: UserId::new_random(),
            session_id: SessionId::new_random(),
        };
        let dbg = format!("{pair:?}");
        assert!(!dbg.contains("secret-access") && !dbg.contains("secret-refresh"));
    }
}
