//! The store conformance suite: checks a store against every contract the traits of
//! [`crate::store`] document, including the compare-and-set methods under real concurrency.
//!
//! It has one part per trait, each runnable on its own with only its trait as bound:
//! [`users`], [`sessions`] (a session store is a user store too), [`challenges`],
//! [`one_time_tokens`] and [`counters`], each with a `run` function and one `check_*` function
//! per contract; this module adds the shared harness and the housekeeping check of a whole
//! [`Store`] ([`check_purge_expired`]).
//!
//! Run it all at once on a store of every record with [`run_store_conformance`]:
//!
//! ```
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() {
//! use std::sync::Arc;
//! use auth_core::testkit::MemoryStore;
//! use auth_core::testkit::conformance::run_store_conformance;
//!
//! run_store_conformance(Arc::new(MemoryStore::new())).await;
//! # }
//! ```
//!
//! or one part with its `run` (`conformance::sessions::run(store)`), or as one test per check
//! with [`store_conformance_tests!`](crate::store_conformance_tests), so a failure names its
//! check in the test list (the calling crate needs `tokio` with the `macros` and
//! `rt-multi-thread` features as a dev-dependency):
//!
//! ```
//! mod memory_store_conformance {
//!     use std::sync::Arc;
//!     use auth_core::testkit::MemoryStore;
//!
//!     auth_core::store_conformance_tests!(Arc::new(MemoryStore::new()));
//! }
//! mod sessions_only {
//!     use std::sync::Arc;
//!     use auth_core::testkit::MemoryStore;
//!
//!     // Only the parts a store implements (here: what `SessionStore` needs).
//!     auth_core::store_conformance_tests!(Arc::new(MemoryStore::new()); users, sessions);
//! }
//! # fn main() {}
//! ```
//!
//! The expression is evaluated inside each (async) test, so it may `.await`.
//!
//! # What the suite assumes of the store it is given
//! * It may be shared and already hold data (a persistent database, other test runs at the
//!   same time): every check uses fresh random ids, phones (`+1555` and 7 random digits; for
//!   users, picked among those no user has), emails, usernames and counter keys, and never
//!   counts records.
//! * Timestamps are close to the real current time (within a day), so backends that derive
//!   TTLs from them keep the records long enough, and are whole milliseconds: a store must
//!   give back every timestamp it was given with at least millisecond precision.
//! * The store honours the `now` arguments: window ends and expiries are tested by passing a
//!   later `now`, never by sleeping.
//! * Records created by a check other than the purge checks expire at least ten minutes after
//!   the real current time, so the purge checks (which purge at "now + 2 min") do not disturb
//!   checks running at the same time against the same store.
//!
//! Every check panics with a message naming itself and what the contract requires.

use std::fmt::Debug;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use chrono::{DateTime, Duration, SubsecRound as _, Utc};
use rand::Rng as _;

use crate::account::{Email, User, UserStatus, Username};
use crate::challenge::{Challenge, ChallengePurpose};
use crate::ids::{ChallengeId, SessionId, UserId};
use crate::password::PasswordHash;
use crate::phone::Phone;
use crate::secret::SecretHash;
use crate::session::{RefreshState, Session, SessionStatus};
use crate::store::{
    ChallengeStore, CounterStore, OneTimeTokenStore, SessionStore, Store, StoreError, UniqueField,
    UserStore,
};

// ---------------------------------------------------------------------------------------------
// assertions and helpers

/// `assert_eq!` with a message naming the check.
macro_rules! ensure_eq {
    ($check:expr, $got:expr, $expected:expr, $($what:tt)+) => {
        assert_eq!(
            $got,
            $expected,
            "store conformance check `{}` failed: {} (left: what the store did, right: what the \
             contract requires)",
            $check,
            format_args!($($what)+)
        )
    };
}

/// `assert!` with a message naming the check.
macro_rules! ensure {
    ($check:expr, $cond:expr, $($what:tt)+) => {
        assert!(
            $cond,
            "store conformance check `{}` failed: {}",
            $check,
            format_args!($($what)+)
        )
    };
}

pub mod challenges;
pub mod counters;
pub mod one_time_tokens;
pub mod sessions;
pub mod users;

/// Runs every part of the suite in sequence against `store`, a store of every record (all
/// the traits of [`crate::store`]).
///
/// Call it on a multi-thread runtime (`#[tokio::test(flavor = "multi_thread")]`): the
/// concurrency checks spawn their racing calls as tasks, and only worker threads make them run
/// truly in parallel.
///
/// # Panics
/// At the first check the store fails, with a message naming the check and what was expected.
pub async fn run_store_conformance<S>(store: Arc<S>)
where
    S: Store + OneTimeTokenStore + ?Sized,
{
    users::run(Arc::clone(&store)).await;
    challenges::run(Arc::clone(&store)).await;
    one_time_tokens::run(Arc::clone(&store)).await;
    sessions::run(Arc::clone(&store)).await;
    counters::run(Arc::clone(&store)).await;
    check_purge_expired(store).await;
}

/// Generates one `#[tokio::test(flavor = "multi_thread")]` per conformance check, each calling
/// the matching `check_*` function of [`crate::testkit::conformance`] with a store built by
/// the given expression (evaluated inside the async test, so it may `.await`; it must give an
/// `Arc` of the store).
///
/// With the expression alone it runs every part, for a store of every record. After a `;`,
/// name the parts to run: any of `users`, `sessions`, `challenges`, `one_time_tokens`,
/// `counters` and `housekeeping` (the purge of a whole [`Store`]).
///
/// The calling crate needs `tokio` (features `macros`, `rt-multi-thread`). Invoke it inside a
/// module of its own: the tests are named after the checks.
///
/// ```
/// mod conformance {
///     use std::sync::Arc;
///     auth_core::store_conformance_tests!(Arc::new(auth_core::testkit::MemoryStore::new()));
/// }
/// mod without_emailed_tokens {
///     use std::sync::Arc;
///     auth_core::store_conformance_tests!(
///         Arc::new(auth_core::testkit::MemoryStore::new());
///         users, sessions, challenges, counters, housekeeping
///     );
/// }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! store_conformance_tests {
    ($make_store:expr $(,)?) => {
        $crate::store_conformance_tests!(
            $make_store;
            users, sessions, challenges, one_time_tokens, counters, housekeeping
        );
    };
    ($make_store:expr; $($part:ident),+ $(,)?) => {
        $( $crate::store_conformance_tests!(@part ($make_store) $part); )+
    };
    (@part ($make_store:expr) users) => {
        $crate::store_conformance_tests!(@each ($make_store) users;
            check_user_round_trip,
            check_user_uniqueness,
            check_update_user,
            check_record_login,
            check_concurrent_create_user,
            check_concurrent_update_user,
            check_concurrent_record_login,
        );
    };
    (@part ($make_store:expr) challenges) => {
        $crate::store_conformance_tests!(@each ($make_store) challenges;
            check_challenge_round_trip,
            check_claim_challenge_attempt,
            check_consume_challenge,
            check_purge_expired_challenges,
            check_concurrent_consume_challenge,
            check_concurrent_claim_challenge_attempt,
        );
    };
    (@part ($make_store:expr) one_time_tokens) => {
        $crate::store_conformance_tests!(@each ($make_store) one_time_tokens;
            check_email_tokens,
            check_purge_expired_email_tokens,
            check_concurrent_consume_email_token,
        );
    };
    (@part ($make_store:expr) sessions) => {
        $crate::store_conformance_tests!(@each ($make_store) sessions;
            check_session_round_trip,
            check_session_with_owner,
            check_rotate_refresh,
            check_revoke_session,
            check_sessions_of_user,
            check_revoke_user_sessions,
            check_purge_expired_sessions,
            check_concurrent_rotate_refresh,
            check_concurrent_revoke_session,
        );
    };
    (@part ($make_store:expr) counters) => {
        $crate::store_conformance_tests!(@each ($make_store) counters;
            check_hit_counter,
            check_failures,
            check_purge_expired_counters,
            check_concurrent_hit_counter,
            check_concurrent_add_failure,
        );
    };
    (@part ($make_store:expr) housekeeping) => {
        #[::tokio::test(flavor = "multi_thread")]
        async fn check_purge_expired() {
            let store = $make_store;
            $crate::testkit::conformance::check_purge_expired(store).await;
        }
    };
    (@each ($make_store:expr) $part:ident; $($check:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread")]
            async fn $check() {
                let store = $make_store;
                $crate::testkit::conformance::$part::$check(store).await;
            }
        )*
    };
}

/// Fails the check.
#[allow(clippy::panic)]
#[track_caller]
fn fail(check: &str, what: std::fmt::Arguments<'_>) -> ! {
    panic!("store conformance check `{check}` failed: {what}")
}

/// The value of a store call that must succeed.
#[track_caller]
fn ok<T>(check: &str, call: &str, result: Result<T, StoreError>) -> T {
    match result {
        Ok(value) => value,
        Err(e) => fail(
            check,
            format_args!("{call} returned Err({e:?}); expected it to succeed"),
        ),
    }
}

/// The record a lookup must find.
#[track_caller]
fn found<T>(check: &str, call: &str, result: Result<Option<T>, StoreError>) -> T {
    match ok(check, call, result) {
        Some(value) => value,
        None => fail(
            check,
            format_args!("{call} returned None; expected the record stored before"),
        ),
    }
}

/// Asserts that a write failed with `Conflict(field)`.
#[track_caller]
fn expect_conflict<T: Debug>(
    check: &str,
    call: &str,
    result: Result<T, StoreError>,
    field: UniqueField,
) {
    ensure!(
        check,
        matches!(result, Err(StoreError::Conflict(f)) if f == field),
        "{call} returned {result:?}; expected Err(Conflict({field:?}))"
    );
}

/// The real current time, truncated to whole milliseconds.
fn now_ms() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

fn minutes(n: i64) -> Duration {
    Duration::minutes(n)
}

/// A fresh random UUID in simple (32 hex digits) form.
fn uuid() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A phone `+1555` + 7 random digits that no user of the store has.
async fn fresh_phone<S: UserStore + ?Sized>(check: &str, store: &S) -> Phone {
    for _ in 0..100 {
        let digits: u32 = rand::rng().random_range(0..10_000_000);
        let Ok(phone) = Phone::parse(&format!("+1555{digits:07}"), false) else {
            continue;
        };
        if ok(check, "user_by_phone", store.user_by_phone(&phone).await).is_none() {
            return phone;
        }
    }
    fail(
        check,
        format_args!("found no free +1555 phone number in 100 random tries"),
    )
}

/// A phone `+1555` + 7 random digits (for records that need not be unique by phone).
fn random_phone(check: &str) -> Phone {
    for _ in 0..100 {
        let digits: u32 = rand::rng().random_range(0..10_000_000);
        if let Ok(phone) = Phone::parse(&format!("+1555{digits:07}"), false) {
            return phone;
        }
    }
    fail(
        check,
        format_args!("found no valid +1555 phone number in 100 random tries"),
    )
}

/// A fresh email address.
fn fresh_email(check: &str) -> Email {
    match Email::parse(&format!("conformance-{}@example.com", uuid())) {
        Ok(email) => email,
        Err(e) => fail(check, format_args!("test email rejected: {e}")),
    }
}

/// A fresh username (32 characters).
fn fresh_username(check: &str) -> Username {
    let mut name = uuid();
    name.replace_range(0..1, "u");
    match Username::parse(&name) {
        Ok(username) => username,
        Err(e) => fail(check, format_args!("test username rejected: {e}")),
    }
}

/// A fresh counter key of printable ASCII, with characters that are special in SQL `LIKE`,
/// Redis glob patterns and key separators.
fn fresh_key(kind: &str) -> String {
    format!(
        "conformance:{kind}:{}:+15550001111/2001:db8::1%_*?[a]",
        uuid()
    )
}

fn random_hash() -> SecretHash {
    SecretHash::from_bytes(rand::random())
}

fn ipv4() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7))
}

fn ipv6() -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0xbeef, 1))
}

/// `::ffff:192.0.2.1`: must come back as this IPv6 address, not as an IPv4 one.
fn ipv4_mapped() -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201))
}

/// A user with every field set to a non-default value.
async fn full_user<S: UserStore + ?Sized>(check: &str, store: &S) -> User {
    let now = now_ms();
    let mut user = User::new(UserId::new_random(), now - minutes(90));
    user.phone = Some(fresh_phone(check, store).await);
    user.email = Some(fresh_email(check));
    user.username = Some(fresh_username(check));
    user.password_hash = Some(PasswordHash::from_phc(
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
         RdescudvJCsgt3ub+b+dWRWJTmaaJObG+b+dWRWJTmaa",
    ));
    user.roles = vec![
        "support".to_owned(),
        "admin".to_owned(),
        "beta-tester".to_owned(),
    ];
    user.profile = serde_json::json!({
        "display_name": "Zoë \"Z\" O'Brien 🎉",
        "age": 42,
        "balance": -17,
        "big": 9_007_199_254_740_993_u64,
        "ratio": 1.5,
        "verified": true,
        "nickname": null,
        "tags": ["a", "b", 3, {"nested": [1, 2]}],
        "address": { "city": "Zürich", "zip": "8001", "lines": [] },
        "empty": {},
    });
    user.status = UserStatus::PendingActivation;
    user.login_count = 41;
    user.last_login_at = Some(now - minutes(60));
    user.last_login_ip = Some(ipv4());
    user.current_login_at = Some(now - minutes(5));
    user.current_login_ip = Some(ipv6());
    user.credentials_changed_at = Some(now - minutes(30));
    user
}

/// A user with only an id (no phone, email or username), created in the store.
async fn created_bare_user<S: UserStore + ?Sized>(check: &str, store: &S) -> User {
    let user = User::new(UserId::new_random(), now_ms());
    ok(check, "create_user", store.create_user(&user).await);
    user
}

fn challenge(phone: Phone, user_id: Option<UserId>, now: DateTime<Utc>) -> Challenge {
    Challenge {
        id: ChallengeId::new_random(),
        purpose: ChallengePurpose::Login,
        phone,
        user_id,
        code_hash: random_hash(),
        created_at: now,
        expires_at: now + minutes(60),
        attempts: 0,
        consumed_at: None,
    }
}

/// A fresh challenge (with a random phone), inserted into the store.
async fn inserted_challenge<S: ChallengeStore + ?Sized>(check: &str, store: &S) -> Challenge {
    let phone = random_phone(check);
    let c = challenge(phone, None, now_ms());
    ok(check, "insert_challenge", store.insert_challenge(&c).await);
    c
}

fn session(user_id: UserId, created_at: DateTime<Utc>) -> Session {
    Session {
        id: SessionId::new_random(),
        user_id,
        created_at,
        last_used_at: created_at,
        expires_at: now_ms() + Duration::hours(12),
        ip: Some(ipv4()),
        user_agent: Some("conformance/1.0".to_owned()),
        refresh: RefreshState {
            generation: 0,
            hash: random_hash(),
            issued_at: created_at,
        },
        status: SessionStatus::Active,
    }
}

/// A fresh active session of `user_id`, inserted into the store.
async fn inserted_session<S: SessionStore + ?Sized>(
    check: &str,
    store: &S,
    user_id: UserId,
    created_at: DateTime<Utc>,
) -> Session {
    let s = session(user_id, created_at);
    ok(check, "insert_session", store.insert_session(&s).await);
    s
}

/// Runs `n` tasks on the runtime at once (released together by a barrier) and returns
/// their outputs in task order.
async fn race<T, Fut>(check: &str, n: usize, mut task: impl FnMut(usize) -> Fut) -> Vec<T>
where
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let mut handles = Vec::with_capacity(n);
    for i in 0..n {
        let barrier = Arc::clone(&barrier);
        let work = task(i);
        handles.push(tokio::spawn(async move {
            let _leader = barrier.wait().await;
            work.await
        }));
    }
    let mut outputs = Vec::with_capacity(n);
    for handle in handles {
        match handle.await {
            Ok(output) => outputs.push(output),
            Err(e) => fail(check, format_args!("a concurrent task did not finish: {e}")),
        }
    }
    outputs
}

// ---------------------------------------------------------------------------------------------
// housekeeping

/// [`Store::purge_expired`] runs the purge of every part of a [`Store`]: an expired challenge,
/// session, counter and failure count all go (counted), and users stay. Each part's own purge
/// is checked in its part.
pub async fn check_purge_expired<S: Store + ?Sized>(store: Arc<S>) {
    const C: &str = "purge_expired";
    let store = store.as_ref();
    let base = now_ms();
    let soon = base + minutes(1);
    let later = base + minutes(60);
    let purge_at = base + minutes(2);
    let user = created_bare_user(C, store).await;

    let mut expired_challenge = challenge(random_phone(C), Some(user.id), base);
    expired_challenge.expires_at = soon;
    ok(
        C,
        "insert_challenge",
        store.insert_challenge(&expired_challenge).await,
    );
    let mut expired_session = session(user.id, base);
    expired_session.expires_at = soon;
    ok(
        C,
        "insert_session",
        store.insert_session(&expired_session).await,
    );
    let expired_counter = fresh_key("purge");
    ok(
        C,
        "hit_counter",
        store.hit_counter(&expired_counter, soon, base).await,
    );
    let expired_failure_key = fresh_key("purge-failures");
    ok(
        C,
        "add_failure",
        store.add_failure(&expired_failure_key, base, soon).await,
    );

    let purged = ok(C, "purge_expired", store.purge_expired(purge_at).await);
    ensure!(
        C,
        purged >= 4,
        "purge_expired returned {purged}; expected at least the 4 expired records this check \
         created (1 challenge, 1 session, 1 counter, 1 failure count)"
    );
    ensure_eq!(
        C,
        ok(C, "challenge", store.challenge(expired_challenge.id).await),
        None,
        "an expired challenge must be gone after purge_expired"
    );
    ensure_eq!(
        C,
        ok(C, "session", store.session(expired_session.id).await),
        None,
        "an expired session must be gone after purge_expired"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "hit_counter(purged key)",
            store.hit_counter(&expired_counter, later, base).await
        )
        .count,
        1,
        "an expired counter must be gone after purge_expired (a hit must start a new one)"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "failures",
            store.failures(&expired_failure_key, base).await
        ),
        None,
        "an expired failure count must be gone after purge_expired"
    );
    ensure!(
        C,
        ok(C, "user_by_id", store.user_by_id(user.id).await).is_some(),
        "users must survive purge_expired"
    );
}
