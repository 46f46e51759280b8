//! Passwords: the policy a new password must meet (NIST SP 800-63B-4 / ASVS 5.0) and argon2id
//! hashing, always run off the async runtime.
//!
//! * Policy: NFKC-normalized, never truncated; a configurable minimum length (15 by default, for
//!   password-only accounts) and maximum (256); no composition rules; common or guessable
//!   passwords rejected with zxcvbn's reason; an optional [`BreachedPasswordCheck`] hook.
//! * Hashing: argon2id PHC strings with parameters from [`PasswordConfig`]; verification reads
//!   the parameters from the stored hash, and [`PasswordHasher::needs_rehash`] tells when a
//!   hash should be upgraded after the configured parameters rose.
//! * Scheduling: every hash, verification and policy check runs on the hasher's own pool
//!   (`password/pool.rs`): [`PasswordConfig::max_concurrent_hashes`] threads (by default one
//!   fewer than the CPUs) at a lower OS priority (nice +10 on Linux), behind a queue of
//!   [`PasswordConfig::max_queued_hashes`]. A login storm thus takes at most those threads'
//!   share of the CPU, yields it to the runtime's threads whenever they have work (so the other
//!   routes keep their latency), and never queues without bound: a request that finds the
//!   queue full is refused at once with `rate_limited` (`Retry-After: 1`). A password login
//!   takes its place in the queue (`PasswordHasher::admit`) before it counts an attempt
//!   against the account, the same way whether the account exists or not, so a refusal
//!   neither counts nor tells anything. Not tokio's blocking pool: its threads also run the
//!   stores' blocking I/O, and it is unbounded.
//! * argon2's working memory (`argon2_m_cost_kib`, 19 MiB by default) is allocated once per
//!   concurrent hash and reused, not allocated and freed by every hash: when each hash freed
//!   its own on whichever (then blocking-pool) thread ran it, glibc kept each 19 MiB block in
//!   that thread's malloc arena (up to 8 per CPU), so the server's resident memory grew by
//!   19 MiB steps long after start (measured by the reliability soak on a debug build: 25 MiB
//!   to 236 MiB in 30 s of password journeys on 2 CPUs) instead of staying at
//!   `max_concurrent_hashes` blocks.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use argon2::password_hash::{Output, ParamsString, PasswordHash as PhcHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization as _;

use crate::AuthError;
use crate::config::PasswordConfig;
use crate::secret::{Password, random_bytes};

mod pool;

use pool::HashPool;
#[cfg(any(test, feature = "testkit"))]
pub(crate) use pool::Saturation;
pub(crate) use pool::Ticket;

/// An argon2id hash in PHC string format (`$argon2id$v=19$m=...`). Its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string read back from a store.
    pub fn from_phc(phc: impl Into<String>) -> Self {
        Self(phc.into())
    }
    /// The PHC string, for a store to persist.
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// A hook to reject passwords known from breaches (e.g. a k-anonymity range query against a
/// breach corpus). Called with the normalized password after the local policy passed.
#[async_trait]
pub trait BreachedPasswordCheck: Send + Sync {
    /// `Ok(true)` when the password appears in a breach. An `Err` is logged and the password
    /// is accepted (fails open), so an outage of the breach service does not block sign-ups.
    async fn is_breached(&self, password: &Password) -> Result<bool, String>;
}

/// The rules a new password must meet.
#[derive(Debug, Clone)]
pub(crate) struct PasswordPolicy {
    min_length: usize,
    max_length: usize,
    min_strength: u8,
}

impl PasswordPolicy {
    /// The policy from configuration.
    pub(crate) fn from_config(config: &PasswordConfig) -> Self {
        Self {
            min_length: config.min_length,
            max_length: config.max_length,
            min_strength: config.min_strength,
        }
    }

    /// NFKC-normalizes `password` and checks it. `context` holds words the password must not
    /// be built from (the user's email, phone, username). Returns the normalized password.
    pub(crate) fn check(
        &self,
        password: &Password,
        context: &[&str],
    ) -> Result<Password, AuthError> {
        if exceeds_max_length(password, self.max_length) {
            return Err(AuthError::WeakPassword(format!(
                "the password is too long: at most {} characters",
                self.max_length
            )));
        }
        let normalized = normalize(password);
        if normalized.expose().chars().count() < self.min_length {
            return Err(AuthError::WeakPassword(format!(
                "the password is too short: at least {} characters",
                self.min_length
            )));
        }
        if self.min_strength > 0 {
            // zxcvbn's cost grows with length; a strong 128-character prefix is a strong password.
            let probe: String = normalized.expose().chars().take(128).collect();
            let entropy = zxcvbn::zxcvbn(&probe, context);
            if (entropy.score() as u8) < self.min_strength {
                let why = entropy
                    .feedback()
                    .and_then(|f| f.warning())
                    .map(|w| w.to_string())
                    .unwrap_or_else(|| "it is too easy to guess.".to_owned());
                return Err(AuthError::WeakPassword(format!(
                    "the password is too common or guessable: {why}"
                )));
            }
        }
        Ok(normalized)
    }
}

/// Whether `password` is longer than `max_length` characters counted the way the policy counts
/// them: after NFKC normalization, which can lengthen a password (the ligature "ﬀ" becomes
/// "ff") or shorten it ("e" and a combining accent become "é"). The policy at registration and
/// the length cap of a login both ask this one function, so a password the policy accepted is
/// never refused at login as too long. Counting stops after `max_length + 1` characters.
pub(crate) fn exceeds_max_length(password: &Password, max_length: usize) -> bool {
    password
        .expose()
        .nfkc()
        .take(max_length.saturating_add(1))
        .count()
        > max_length
}

/// NFKC normalization (never truncation), as NIST SP 800-63B asks before hashing.
pub fn normalize(password: &Password) -> Password {
    Password::new(password.expose().nfkc().collect::<String>())
}

/// Hashes and verifies passwords with argon2id on its own pool of threads (see the module
/// docs). Clones share the pool, which stops when the last clone is dropped.
#[derive(Clone)]
pub(crate) struct PasswordHasher {
    params: Params,
    pool: Arc<HashPool>,
    /// A hash of a random password, verified against when the account is unknown, so an
    /// unknown user costs the same time as a wrong password. Made on a pool thread by the
    /// first verification that needs it.
    dummy: Arc<OnceLock<PasswordHash>>,
    /// argon2 computations run so far (hashes and verifications, dummy ones included), so
    /// tests can prove that two paths spend the same work or that a path spends none.
    computed: Arc<AtomicU64>,
    /// argon2 working memory, reused from one computation to the next.
    memory: Arc<Memory>,
}

/// argon2 working memory kept for reuse: at most one buffer per computation running at once
/// (one per pool thread), allocated the first time that many run together.
#[derive(Debug, Default)]
struct Memory {
    free: Mutex<Vec<Vec<Block>>>,
    /// The configured block count; a buffer grown past it (to verify a hash made with more
    /// memory) is dropped after use rather than kept.
    keep_up_to: usize,
    /// Buffers allocated (or grown) so far, for the tests.
    allocations: AtomicU64,
}

impl Memory {
    fn new(keep_up_to: usize) -> Self {
        Self {
            keep_up_to,
            ..Self::default()
        }
    }

    /// A buffer of at least `blocks` blocks (its contents are whatever the last user left;
    /// argon2 writes every block before it reads it).
    fn take(&self, blocks: usize) -> Vec<Block> {
        let mut buffer = self
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_default();
        if buffer.len() < blocks {
            let _ = self.allocations.fetch_add(1, Ordering::Relaxed);
            buffer = vec![Block::default(); blocks];
        }
        buffer
    }

    /// Returns a buffer for the next computation.
    fn give(&self, buffer: Vec<Block>) {
        if buffer.len() <= self.keep_up_to {
            self.free
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(buffer);
        }
    }

    /// Runs `work` with a buffer of at least `blocks` blocks.
    fn with<T>(&self, blocks: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
        let mut buffer = self.take(blocks);
        let result = work(&mut buffer);
        self.give(buffer);
        result
    }
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("m_cost", &self.params.m_cost())
            .field("t_cost", &self.params.t_cost())
            .field("p_cost", &self.params.p_cost())
            .finish()
    }
}

impl PasswordHasher {
    /// A hasher with the configured argon2id parameters. Its threads start with the first
    /// hash, so this needs no runtime.
    pub(crate) fn new(config: &PasswordConfig) -> Result<Self, crate::config::ConfigError> {
        let params = Params::new(
            config.argon2_m_cost_kib,
            config.argon2_t_cost,
            config.argon2_p_cost,
            None,
        )
        .map_err(|e| crate::config::ConfigError::Invalid(format!("argon2 parameters: {e}")))?;
        if config.max_concurrent_hashes == 0 {
            return Err(crate::config::ConfigError::Invalid(
                PasswordConfig::NO_HASHING_THREADS.to_owned(),
            ));
        }
        Ok(Self {
            memory: Arc::new(Memory::new(params.block_count())),
            params,
            pool: Arc::new(HashPool::new(
                config.max_concurrent_hashes,
                config.queued_hashes(),
            )),
            dummy: Arc::new(OnceLock::new()),
            computed: Arc::new(AtomicU64::new(0)),
        })
    }

    /// How many argon2 computations (hashes and verifications, including the dummy
    /// verification of unknown accounts) this hasher and its clones have run so far (a job
    /// skipped because its caller was gone is not counted). The dummy hash itself, made once
    /// on first use, is not counted.
    pub(crate) fn computations(&self) -> u64 {
        self.computed.load(Ordering::Relaxed)
    }

    /// A place in the hashing queue for one verification, or `rate_limited` (with a
    /// `Retry-After`) at once when the threads and the queue are all taken. Taken before the
    /// request counts anything, so a refused request leaves no trace.
    pub(crate) fn admit(&self) -> Result<Ticket, AuthError> {
        self.pool.admit()
    }

    /// Checks `password` against `policy` and hashes it, both on the pool (each waits for a
    /// place in its queue, or is refused with `rate_limited`). Returns the hash of the
    /// normalized password.
    pub(crate) async fn hash_new(
        &self,
        policy: &PasswordPolicy,
        password: &Password,
        context: Vec<String>,
        breached: Option<&dyn BreachedPasswordCheck>,
    ) -> Result<PasswordHash, AuthError> {
        let policy = policy.clone();
        let password_in = password.clone();
        let normalized = self
            .pool
            .run(self.admit()?, move || {
                let ctx: Vec<&str> = context.iter().map(String::as_str).collect();
                policy.check(&password_in, &ctx)
            })
            .await??;
        if let Some(check) = breached {
            match check.is_breached(&normalized).await {
                Ok(true) => {
                    return Err(AuthError::WeakPassword(
                        "the password appears in a known data breach".to_owned(),
                    ));
                }
                Ok(false) => {}
                Err(reason) => tracing::warn!(%reason, "breached-password check failed; accepting"),
            }
        }
        let params = self.params.clone();
        let memory = Arc::clone(&self.memory);
        let computed = Arc::clone(&self.computed);
        self.pool
            .run(self.admit()?, move || {
                let _ = computed.fetch_add(1, Ordering::Relaxed);
                hash_sync(params, &normalized, &memory)
            })
            .await?
    }

    /// Verifies `password` against `hash` on the pool, in the place `ticket` holds. `false`
    /// for a wrong password or an unparsable hash.
    pub(crate) async fn verify(
        &self,
        ticket: Ticket,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<bool, AuthError> {
        let normalized = normalize(password);
        let hash = hash.clone();
        let memory = Arc::clone(&self.memory);
        let computed = Arc::clone(&self.computed);
        self.pool
            .run(ticket, move || {
                let _ = computed.fetch_add(1, Ordering::Relaxed);
                verify_sync(&normalized, &hash, &memory)
            })
            .await
    }

    /// Spends the time of one verification against a dummy hash and returns `false`: what a
    /// login for an unknown account does, in the place `ticket` holds, so it cannot be told
    /// from a wrong password (nor, when the queue is full, from a refused one).
    pub(crate) async fn verify_dummy(
        &self,
        ticket: Ticket,
        password: &Password,
    ) -> Result<bool, AuthError> {
        let normalized = normalize(password);
        let params = self.params.clone();
        let memory = Arc::clone(&self.memory);
        let computed = Arc::clone(&self.computed);
        let dummy = Arc::clone(&self.dummy);
        self.pool
            .run(ticket, move || {
                let dummy = match dummy.get() {
                    Some(dummy) => dummy,
                    None => {
                        // Made once per hasher, not per request: not counted in `computations`.
                        let random =
                            Password::new(crate::secret::b64_encode(&random_bytes::<24>()));
                        let made = hash_sync(params, &random, &memory)?;
                        dummy.get_or_init(|| made)
                    }
                };
                let _ = computed.fetch_add(1, Ordering::Relaxed);
                let _ = verify_sync(&normalized, dummy, &memory);
                Ok(false)
            })
            .await?
    }

    /// Fills the hashing pool (see `HashPool::saturate`), for tests.
    #[cfg(any(test, feature = "testkit"))]
    pub(crate) async fn saturate(&self) -> Saturation {
        self.pool.saturate().await
    }

    /// Whether `hash` was made with weaker parameters than the configured ones (or another
    /// algorithm), so it should be replaced after a successful login.
    pub(crate) fn needs_rehash(&self, hash: &PasswordHash) -> bool {
        let Ok(parsed) = PhcHash::new(hash.as_phc()) else {
            return true;
        };
        if parsed.algorithm != Algorithm::Argon2id.ident() {
            return true;
        }
        let Ok(params) = Params::try_from(&parsed) else {
            return true;
        };
        params.m_cost() < self.params.m_cost()
            || params.t_cost() < self.params.t_cost()
            || params.p_cost() < self.params.p_cost()
    }
}

/// argon2id of `password` with a fresh 16-byte salt, as a PHC string, in reused memory.
fn hash_sync(
    params: Params,
    password: &Password,
    memory: &Memory,
) -> Result<PasswordHash, AuthError> {
    let internal = |what: &str, e: &dyn fmt::Display| {
        tracing::error!(error = %e, "argon2 hashing failed: {what}");
        AuthError::Internal
    };
    let salt_bytes = random_bytes::<16>();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| internal("salt", &e))?;
    let params_string = ParamsString::try_from(&params).map_err(|e| internal("params", &e))?;
    let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let blocks = params.block_count();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let output = memory
        .with(blocks, |blocks| {
            Output::init_with(output_len, |out| {
                argon2
                    .hash_password_into_with_memory(
                        password.expose().as_bytes(),
                        &salt_bytes,
                        out,
                        blocks,
                    )
                    .map_err(Into::into)
            })
        })
        .map_err(|e| internal("hash", &e))?;
    let phc = PhcHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: params_string,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(PasswordHash(phc.to_string()))
}

/// Whether `password` matches the PHC string `hash` (any argon2 variant, version and
/// parameters, read from it), computed in reused memory and compared in constant time.
fn verify_sync(password: &Password, hash: &PasswordHash, memory: &Memory) -> bool {
    let Ok(parsed) = PhcHash::new(hash.as_phc()) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_buffer = [0_u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buffer) else {
        return false;
    };
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let computed = memory.with(blocks, |blocks| {
        Output::init_with(expected.len(), |out| {
            argon2
                .hash_password_into_with_memory(password.expose().as_bytes(), salt, out, blocks)
                .map_err(Into::into)
        })
    });
    // `Output`'s equality is constant-time.
    computed.is_ok_and(|computed| computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast_config() -> PasswordConfig {
        PasswordConfig {
            argon2_m_cost_kib: 1024,
            argon2_t_cost: 1,
            ..PasswordConfig::default()
        }
    }

    impl PasswordHasher {
        /// A verification that takes its place in the queue first.
        async fn check(&self, password: &Password, hash: &PasswordHash) -> Result<bool, AuthError> {
            self.verify(self.admit()?, password, hash).await
        }
    }

    fn policy() -> PasswordPolicy {
        PasswordPolicy::from_config(&PasswordConfig::default())
    }

    #[test]
    fn short_passwords_say_so() {
        let err = policy().check(&"Tr0ub4dor&3".into(), &[]);
        assert!(matches!(err, Err(AuthError::WeakPassword(ref m)) if m.contains("too short")));
    }

    #[test]
    fn the_default_minimum_is_15_characters_counted_after_nfkc() {
        assert_eq!(PasswordConfig::default().min_length, 15);
        let fifteen = "qz7!Rv#p2Lm@9xK";
        let fourteen = &fifteen[..14];
        assert_eq!(
            (fifteen.chars().count(), fourteen.chars().count()),
            (15, 14)
        );
        let err = policy().check(&fourteen.into(), &[]);
        assert!(matches!(err, Err(AuthError::WeakPassword(ref m)) if m.contains("too short")));
        assert!(policy().check(&fifteen.into(), &[]).is_ok());
        // 14 characters as typed, 15 after NFKC ("ﬀ" becomes "ff"): long enough.
        assert!(policy().check(&"\u{FB00}7!Rv#p2Lm@9xK".into(), &[]).is_ok());
        // 15 characters as typed, 14 after NFKC ("e" + U+0301 becomes "é"): too short.
        let err = policy().check(&"qe\u{301}!Rv#p2Lm@9xK".into(), &[]);
        assert!(matches!(err, Err(AuthError::WeakPassword(ref m)) if m.contains("too short")));
    }

    #[test]
    fn long_passwords_are_accepted_up_to_the_maximum() {
        let long = "correct horse battery staple, ".repeat(2) + "purple monkey dishwasher";
        assert!(long.chars().count() >= 64);
        assert!(policy().check(&Password::new(long), &[]).is_ok());
        let too_long = "xq7!".repeat(65);
        let err = policy().check(&Password::new(too_long), &[]);
        assert!(matches!(err, Err(AuthError::WeakPassword(ref m)) if m.contains("too long")));
    }

    #[test]
    fn common_passwords_are_rejected_with_a_reason() {
        for common in ["passwordpassword", "123456789012345", "qwertyuiopasdfgh"] {
            let err = policy().check(&common.into(), &[]);
            assert!(
                matches!(err, Err(AuthError::WeakPassword(ref m)) if m.contains("common or guessable")),
                "{common}: {err:?}"
            );
        }
    }

    #[test]
    fn no_composition_rules() {
        // Only lowercase letters and spaces, but long and not guessable.
        assert!(
            policy()
                .check(&"velvet quarry lantern mosaic".into(), &[])
                .is_ok()
        );
    }

    #[test]
    fn nfkc_normalization_makes_equivalent_forms_equal() {
        // U+FB01 (ﬁ ligature) normalizes to "fi"; a full-width digit to an ASCII one.
        assert_eq!(normalize(&"\u{FB01}le\u{FF11}".into()).expose(), "file1");
    }

    #[tokio::test]
    async fn hash_and_verify_round_trip_and_normalize() {
        let hasher = PasswordHasher::new(&fast_config()).unwrap();
        let policy = PasswordPolicy::from_config(&fast_config());
        let pw = Password::new("\u{FB01}ve velvet quarry lanterns");
        let hash = hasher.hash_new(&policy, &pw, vec![], None).await.unwrap();
        assert!(hash.as_phc().starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert!(!format!("{hash:?}").contains("argon2"));
        assert_eq!(hasher.check(&pw, &hash).await, Ok(true));
        assert_eq!(
            hasher
                .check(&"five velvet quarry lanterns".into(), &hash)
                .await,
            Ok(true)
        );
        assert_eq!(
            hasher
                .check(&"fivE velvet quarry lanterns".into(), &hash)
                .await,
            Ok(false)
        );
        assert_eq!(
            hasher.check(&pw, &PasswordHash::from_phc("garbage")).await,
            Ok(false)
        );
        assert_eq!(
            hasher.verify_dummy(hasher.admit().unwrap(), &pw).await,
            Ok(false)
        );
    }

    #[tokio::test]
    async fn default_parameters_are_argon2id_19_mib_2_passes_1_lane_with_fresh_salts() {
        let config = PasswordConfig::default();
        let hasher = PasswordHasher::new(&config).unwrap();
        let policy = PasswordPolicy::from_config(&config);
        let pw = Password::new("velvet quarry lantern mosaic");
        let mut salts = Vec::new();
        for _ in 0..2 {
            let hash = hasher.hash_new(&policy, &pw, vec![], None).await.unwrap();
            let phc = PhcHash::new(hash.as_phc()).unwrap();
            assert_eq!(
                phc.algorithm,
                Algorithm::Argon2id.ident(),
                "{}",
                hash.as_phc()
            );
            assert_eq!(phc.version, Some(0x13));
            let params = Params::try_from(&phc).unwrap();
            // OWASP's first argon2id configuration: 19 MiB, 2 passes, 1 lane.
            assert_eq!(
                (params.m_cost(), params.t_cost(), params.p_cost()),
                (19 * 1024, 2, 1)
            );
            assert!(hash.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
            let salt = phc.salt.unwrap().as_str().to_owned();
            assert_eq!(salt.len(), 22, "16 bytes of salt, unpadded base64");
            salts.push(salt);
        }
        assert_ne!(salts[0], salts[1], "each hash draws a fresh salt");
    }

    #[tokio::test]
    async fn rehash_is_needed_when_parameters_rise() {
        let weak = PasswordHasher::new(&fast_config()).unwrap();
        let strong = PasswordHasher::new(&PasswordConfig {
            argon2_m_cost_kib: 2048,
            ..fast_config()
        })
        .unwrap();
        let policy = PasswordPolicy::from_config(&fast_config());
        let hash = weak
            .hash_new(
                &policy,
                &"velvet quarry lantern mosaic".into(),
                vec![],
                None,
            )
            .await
            .unwrap();
        assert!(!weak.needs_rehash(&hash));
        assert!(strong.needs_rehash(&hash));
        assert!(strong.needs_rehash(&PasswordHash::from_phc("$2b$10$bcrypt")));
    }

    #[tokio::test]
    async fn argon2_memory_is_reused_not_allocated_per_hash() {
        let config = PasswordConfig {
            max_concurrent_hashes: 2,
            ..fast_config()
        };
        let hasher = PasswordHasher::new(&config).unwrap();
        let policy = PasswordPolicy::from_config(&config);
        let pw = Password::new("velvet quarry lantern mosaic");
        let hash = hasher.hash_new(&policy, &pw, vec![], None).await.unwrap();
        for _ in 0..5 {
            assert_eq!(hasher.check(&pw, &hash).await, Ok(true));
        }
        assert_eq!(hasher.memory.allocations.load(Ordering::Relaxed), 1);
        // Many at once: never more buffers than computations allowed to run together.
        let checks: Vec<_> = (0..8)
            .map(|_| {
                let (hasher, pw, hash) = (hasher.clone(), pw.clone(), hash.clone());
                tokio::spawn(async move { hasher.check(&pw, &hash).await })
            })
            .collect();
        for check in checks {
            assert_eq!(check.await.unwrap(), Ok(true));
        }
        assert!(hasher.memory.allocations.load(Ordering::Relaxed) <= 2);
        assert!(hasher.memory.free.lock().unwrap().len() <= 2);
    }

    #[tokio::test]
    async fn hashes_stay_compatible_with_the_argon2_crate_both_ways() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let hasher = PasswordHasher::new(&fast_config()).unwrap();
        let policy = PasswordPolicy::from_config(&fast_config());
        let pw = Password::new("velvet quarry lantern mosaic");
        // Ours, checked by the crate.
        let ours = hasher.hash_new(&policy, &pw, vec![], None).await.unwrap();
        let parsed = PhcHash::new(ours.as_phc()).unwrap();
        assert!(
            Argon2::default()
                .verify_password(pw.expose().as_bytes(), &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"velvet quarry lantern mosaiC", &parsed)
                .is_err()
        );
        // The crate's (argon2id and argon2i, with more memory than configured), checked by us.
        let salt = SaltString::encode_b64(&[7; 16]).unwrap();
        for algorithm in [Algorithm::Argon2id, Algorithm::Argon2i] {
            let params = Params::new(4096, 1, 1, None).unwrap();
            let theirs = Argon2::new(algorithm, Version::V0x13, params)
                .hash_password(pw.expose().as_bytes(), &salt)
                .unwrap()
                .to_string();
            let theirs = PasswordHash::from_phc(theirs);
            assert_eq!(hasher.check(&pw, &theirs).await, Ok(true));
            assert_eq!(
                hasher.check(&"another password".into(), &theirs).await,
                Ok(false)
            );
        }
        // A buffer grown past the configured memory is not kept.
        assert!(
            hasher
                .memory
                .free
                .lock()
                .unwrap()
                .iter()
                .all(|b| b.len() <= Params::new(1024, 1, 1, None).unwrap().block_count())
        );
        // A hash without salt or output never matches.
        let bare = PasswordHash::from_phc("$argon2id$v=19$m=1024,t=1,p=1");
        assert_eq!(hasher.check(&pw, &bare).await, Ok(false));
    }

    struct AlwaysBreached;
    #[async_trait]
    impl BreachedPasswordCheck for AlwaysBreached {
        async fn is_breached(&self, _password: &Password) -> Result<bool, String> {
            Ok(true)
        }
    }

    #[tokio::test]
    async fn breached_hook_can_reject() {
        let hasher = PasswordHasher::new(&fast_config()).unwrap();
        let policy = PasswordPolicy::from_config(&fast_config());
        let res = hasher
            .hash_new(
                &policy,
                &"velvet quarry lantern mosaic".into(),
                vec![],
                Some(&AlwaysBreached),
            )
            .await;
        assert!(matches!(res, Err(AuthError::WeakPassword(ref m)) if m.contains("breach")));
    }
}
