//! # auth-core
//!
//! Phone (SMS one-time code) and password authentication for Rust web apps, with no HTTP and
//! no framework inside: the login state machine, JWT access tokens, rotating refresh tokens
//! bound to server-side sessions, and the rules (rate limits, attempt limits, lockouts,
//! password policy). The world comes in through three traits: [`Store`], [`SmsSender`] and
//! [`Clock`]. Adapters (`adapter-axum`, `adapter-actix`, `adapter-rocket`) serve it over HTTP.
//!
//! With the `testkit` feature the crate also ships an in-memory store, a fake SMS outbox, a
//! manual clock and the store conformance suite, so every flow can be unit-tested:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), auth_core::AuthError> {
//! use auth_core::testkit::TestKit;
//! use auth_core::api::{ClientInfo, NewAccount};
//!
//! let kit = TestKit::new(); // MemoryStore + FakeSms + ManualClock, fast argon2 parameters
//! let auth = &kit.auth;
//! let client = ClientInfo::default();
//!
//! // Typed inputs: the HTTP layer parses a `RegisterRequest` body with `.parse(auth.config())`.
//! let phone = auth_core::Phone::parse("+1 555 123 4567", false)?;
//! auth.register(NewAccount::phone(phone.clone()), &client).await?;
//! let challenge = auth.start_sms_login(&phone, &client).await?;
//! let code = kit.sms.last_code_for("+15551234567").expect("an SMS was sent");
//! let tokens = auth.verify_sms(challenge.challenge_id, &code, &client).await?;
//!
//! let me = auth.authenticate(tokens.access_token.expose()).await?;
//! assert_eq!(me.user_id, tokens.user_id);
//!
//! // Ten minutes (and the 5 s leeway) later the access token has expired; the refresh token
//! // still works.
//! kit.clock.advance(std::time::Duration::from_secs(606));
//! assert!(auth.authenticate(tokens.access_token.expose()).await.is_err());
//! let fresh = auth.refresh(tokens.refresh_token.expose(), &client).await?;
//! assert!(auth.authenticate(fresh.access_token.expose()).await.is_ok());
//! # Ok(())
//! # }
//! ```

pub mod account;
pub mod api;
mod auth;
mod authenticate;
pub mod challenge;
mod clock;
pub mod config;
pub mod email_token;
pub mod error;
mod flows;
pub mod hooks;
pub mod http;
// The client-IP policy lives in `http::client_ip`; this alias keeps crate paths short.
pub(crate) use http::client_ip;
pub mod ids;
mod limits;
pub mod mail;
pub mod password;
pub mod phone;
mod pipeline;
pub mod profile;
pub mod secret;
pub mod session;
pub mod session_cache;
pub mod sms;
pub mod store;
pub mod token;

#[cfg(feature = "testkit")]
pub mod testkit;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

pub use account::{Email, User, UserStatus, Username};
pub use auth::{Auth, AuthBuilder};
pub use clock::{Clock, SystemClock};
pub use config::{AuthConfig, ConfigError};
pub use error::AuthError;
pub use flows::LoginIdentifier;
pub use ids::{ChallengeId, SessionId, UserId};
pub use phone::Phone;
pub use secret::{BearerToken, OneTimeCode, Password, SigningSecret};
pub use sms::{SmsError, SmsMessage, SmsSender};
pub use store::{Store, StoreError};
pub use token::access::Principal;

/// Re-exported so stores and adapters use the same `async_trait` as the traits.
pub use async_trait::async_trait;
