//! The test kit (feature `testkit`): everything needed to unit-test login flows without HTTP,
//! and to check a store implementation (the traits of [`crate::store`]).
//!
//! * [`MemoryStore`]: a real, concurrent in-memory store.
//! * [`FakeSms`]: an SMS sender that records what it sent, so a test can read the code.
//! * [`FakeMail`]: the same for mail, so a test can read activation and reset tokens.
//! * [`LocalEventBus`]: an in-process session-event bus, for several `Auth` instances on one
//!   store with session caches (and switches to lose its messages or drop its subscriptions).
//! * [`ManualClock`]: a clock that only moves when the test advances it.
//! * [`TestKit`]: the three wired into an [`crate::Auth`] with fast argon2 parameters.
//! * [`conformance`]: the store conformance suite, one part per store trait.
//! * [`model`]: model-based tests of every flow against any store, and the refresh race.

pub mod conformance;
mod fake_mail;
mod fake_sms;
mod local_event_bus;
mod manual_clock;
mod memory_store;
pub mod model;

pub use fake_mail::FakeMail;
pub use fake_sms::FakeSms;
pub use local_event_bus::LocalEventBus;
pub use manual_clock::ManualClock;
pub use memory_store::MemoryStore;

use crate::api::{ClientInfo, RegisterRequest, TokenPair};
use crate::config::AuthConfig;
use crate::secret::SigningSecret;
use crate::{Auth, AuthError};

/// The password hashing pool held full by [`TestKit::saturate_password_hashing`]; dropping it
/// lets the pool work again, soon; [`HashingSaturation::release`] returns once it does.
#[derive(Debug)]
pub struct HashingSaturation {
    held: crate::password::Saturation,
}

impl HashingSaturation {
    /// Lets the pool work again, and returns once every place it held is free.
    pub async fn release(self) {
        self.held.release().await;
    }
}

/// An [`Auth`] wired to a [`MemoryStore`], a [`FakeSms`], a [`FakeMail`] and a
/// [`ManualClock`], with handles to all four.
#[derive(Clone, Debug)]
pub struct TestKit {
    /// The service under test.
    pub auth: Auth,
    /// Its store.
    pub store: MemoryStore,
    /// Its SMS outbox.
    pub sms: FakeSms,
    /// Its mail outbox.
    pub mail: FakeMail,
    /// Its clock.
    pub clock: ManualClock,
}

impl TestKit {
    /// A kit with [`TestKit::config`].
    pub fn new() -> Self {
        Self::with_config(Self::config())
    }

    /// The default configuration with a fixed test secret and cheap argon2 parameters
    /// (1 MiB, 1 pass), so tests stay fast. Change what a test needs and pass it to
    /// [`TestKit::with_config`].
    pub fn config() -> AuthConfig {
        let secret = SigningSecret::new(b"test-kit-secret-0123456789abcdef".to_vec());
        let mut config = match secret {
            Ok(secret) => AuthConfig::new(secret),
            Err(_) => AuthConfig::new(SigningSecret::generate()),
        };
        config.password.argon2_m_cost_kib = 1024;
        config.password.argon2_t_cost = 1;
        config
    }

    /// A kit with the given configuration.
    ///
    /// # Panics
    /// When the configuration is invalid (this is test code).
    #[allow(clippy::panic)]
    pub fn with_config(config: AuthConfig) -> Self {
        let store = MemoryStore::new();
        let sms = FakeSms::new();
        let mail = FakeMail::new();
        let clock = ManualClock::new();
        let auth = Auth::builder(config)
            .store(store.clone())
            .one_time_tokens(store.clone())
            .sms(sms.clone())
            .mail(mail.clone())
            .clock(clock.clone())
            .build();
        match auth {
            Ok(auth) => Self {
                auth,
                store,
                sms,
                mail,
                clock,
            },
            Err(e) => panic!("invalid test configuration: {e}"),
        }
    }

    /// How many argon2 computations (password hashes and verifications, the dummy
    /// verification of unknown accounts included) the service has started so far: compare it
    /// before and after a call to prove what hashing work the call spent.
    pub fn hashes(&self) -> u64 {
        self.auth.inner.hasher.computations()
    }

    /// Fills the password hashing pool: every thread runs a job that waits, and every place
    /// in its queue is taken, until the returned guard is dropped. Meanwhile every request
    /// that needs a hash or a verification is refused at once with 429 `rate_limited`
    /// (`Retry-After: 1`), as under a storm of password logins. Returns once every thread is
    /// busy.
    pub async fn saturate_password_hashing(&self) -> HashingSaturation {
        HashingSaturation {
            held: self.auth.inner.hasher.saturate().await,
        }
    }

    /// Signs `phone` in by SMS, registering it first when it is new: starts the login, reads
    /// the code from the outbox and verifies it. Returns the new session's token pair.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let kit = auth_core::testkit::TestKit::new();
    /// let tokens = kit.sign_in_by_sms("+15551234567").await?;
    /// let user = kit.auth.authenticate(tokens.access_token.expose()).await?;
    /// assert!(user.session_id.is_some());
    /// # Ok::<(), auth_core::AuthError>(())
    /// # }).unwrap();
    /// ```
    pub async fn sign_in_by_sms(&self, phone: &str) -> Result<TokenPair, AuthError> {
        let client = ClientInfo::default();
        let request = RegisterRequest {
            phone: Some(phone.to_owned()),
            ..Default::default()
        };
        match self
            .auth
            .register(request.parse(self.auth.config())?, &client)
            .await
        {
            Ok(_) | Err(AuthError::AlreadyRegistered) => {}
            Err(e) => return Err(e),
        }
        let parsed = crate::Phone::parse(phone, self.auth.config().sms.strict_phone_validation)?;
        let challenge = self.auth.start_sms_login(&parsed, &client).await?;
        let code = self
            .sms
            .last_code_for(phone)
            .ok_or(AuthError::InvalidCode)?;
        self.auth
            .verify_sms(challenge.challenge_id, &code, &client)
            .await
    }
}

impl Default for TestKit {
    fn default() -> Self {
        Self::new()
    }
}
