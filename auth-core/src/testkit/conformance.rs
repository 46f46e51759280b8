//! The store conformance suite: checks a [`Store`] implementation against every contract the
//! trait documents, including the compare-and-set methods under real concurrency.
//!
//! Run it all at once with [`run_store_conformance`]:
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
//! or as one test per check with [`store_conformance_tests!`](crate::store_conformance_tests),
//! so a failure names its check in the test list (the calling crate needs `tokio` with the
//! `macros` and `rt-multi-thread` features as a dev-dependency):
//!
//! ```
//! mod memory_store_conformance {
//!     use std::sync::Arc;
//!     use auth_core::testkit::MemoryStore;
//!
//!     auth_core::store_conformance_tests!(Arc::new(MemoryStore::new()));
//! }
//! # fn main() {}
//! ```
//!
//! The expression is evaluated inside each (async) test, so it may `.await`.
//!
//! # What the suite assumes of the store it is given
//! * It may be shared and already hold data (a persistent database, other test runs at the
//!   same time): every check uses fresh random ids, phones (`+1555` and 7 random digits, picked
//!   among those no user has), emails, usernames and counter keys, and never counts records.
//! * Timestamps are close to the real current time (within a day), so backends that derive
//!   TTLs from them keep the records long enough, and are whole milliseconds: a store must
//!   give back every timestamp it was given with at least millisecond precision.
//! * The store honours the `now` arguments: window ends and expiries are tested by passing a
//!   later `now`, never by sleeping.
//! * Records created by a check other than [`check_purge_expired`] expire at least ten
//!   minutes after the real current time, so the purge check (which purges at "now + 2 min")
//!   does not disturb checks running at the same time against the same store.
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
use crate::email_token::{EmailToken, EmailTokenPurpose};
use crate::ids::{ChallengeId, SessionId, UserId};
use crate::password::PasswordHash;
use crate::phone::Phone;
use crate::secret::SecretHash;
use crate::session::{RefreshState, RevokeReason, Session, SessionOwner, SessionStatus};
use crate::store::{Counter, Store, StoreError, UniqueField};

/// Runs every check of the suite in sequence against `store`.
///
/// Call it on a multi-thread runtime (`#[tokio::test(flavor = "multi_thread")]`): the
/// concurrency checks spawn their racing calls as tasks, and only worker threads make them run
/// truly in parallel.
///
/// # Panics
/// At the first check the store fails, with a message naming the check and what was expected.
pub async fn run_store_conformance(store: Arc<dyn Store>) {
    check_user_round_trip(Arc::clone(&store)).await;
    check_user_uniqueness(Arc::clone(&store)).await;
    check_update_user(Arc::clone(&store)).await;
    check_record_login(Arc::clone(&store)).await;
    check_challenge_round_trip(Arc::clone(&store)).await;
    check_claim_challenge_attempt(Arc::clone(&store)).await;
    check_consume_challenge(Arc::clone(&store)).await;
    check_email_tokens(Arc::clone(&store)).await;
    check_session_round_trip(Arc::clone(&store)).await;
    check_session_with_owner(Arc::clone(&store)).await;
    check_rotate_refresh(Arc::clone(&store)).await;
    check_revoke_session(Arc::clone(&store)).await;
    check_sessions_of_user(Arc::clone(&store)).await;
    check_revoke_user_sessions(Arc::clone(&store)).await;
    check_hit_counter(Arc::clone(&store)).await;
    check_hit_counter_window_ending_now(Arc::clone(&store)).await;
    check_failures(Arc::clone(&store)).await;
    check_purge_expired(Arc::clone(&store)).await;
    check_concurrent_rotate_refresh(Arc::clone(&store)).await;
    check_concurrent_consume_challenge(Arc::clone(&store)).await;
    check_concurrent_consume_email_token(Arc::clone(&store)).await;
    check_concurrent_claim_challenge_attempt(Arc::clone(&store)).await;
    check_concurrent_hit_counter(Arc::clone(&store)).await;
    check_concurrent_create_user(Arc::clone(&store)).await;
    check_concurrent_update_user(Arc::clone(&store)).await;
    check_concurrent_add_failure(Arc::clone(&store)).await;
    check_concurrent_record_login(Arc::clone(&store)).await;
    check_concurrent_revoke_session(store).await;
}

/// Generates one `#[tokio::test(flavor = "multi_thread")]` per conformance check, each calling
/// the matching `check_*` function of [`crate::testkit::conformance`] with a store built by
/// the given expression (evaluated inside the async test, so it may `.await`; it must give an
/// `Arc` of the store, which is coerced to `Arc<dyn Store>`).
///
/// The calling crate needs `tokio` (features `macros`, `rt-multi-thread`). Invoke it inside a
/// module of its own: the tests are named after the checks.
///
/// ```
/// mod conformance {
///     use std::sync::Arc;
///     auth_core::store_conformance_tests!(Arc::new(auth_core::testkit::MemoryStore::new()));
/// }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! store_conformance_tests {
    ($make_store:expr $(,)?) => {
        $crate::store_conformance_tests!(@each ($make_store);
            check_user_round_trip,
            check_user_uniqueness,
            check_update_user,
            check_record_login,
            check_challenge_round_trip,
            check_claim_challenge_attempt,
            check_consume_challenge,
            check_email_tokens,
            check_session_round_trip,
            check_session_with_owner,
            check_rotate_refresh,
            check_revoke_session,
            check_sessions_of_user,
            check_revoke_user_sessions,
            check_hit_counter,
            check_hit_counter_window_ending_now,
            check_failures,
            check_purge_expired,
            check_concurrent_rotate_refresh,
            check_concurrent_consume_challenge,
            check_concurrent_consume_email_token,
            check_concurrent_claim_challenge_attempt,
            check_concurrent_hit_counter,
            check_concurrent_create_user,
            check_concurrent_update_user,
            check_concurrent_add_failure,
            check_concurrent_record_login,
            check_concurrent_revoke_session,
        );
    };
    (@each ($make_store:expr); $($check:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread")]
            async fn $check() {
                let store: ::std::sync::Arc<dyn $crate::Store> = $make_store;
                $crate::testkit::conformance::$check(store).await;
            }
        )*
    };
}

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
async fn fresh_phone(check: &str, store: &dyn Store) -> Phone {
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
async fn full_user(check: &str, store: &dyn Store) -> User {
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
    user
}

/// A user with only an id (no phone, email or username), created in the store.
async fn created_bare_user(check: &str, store: &dyn Store) -> User {
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

/// A fresh challenge (with a fresh phone), inserted into the store.
async fn inserted_challenge(check: &str, store: &dyn Store) -> Challenge {
    let phone = fresh_phone(check, store).await;
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
async fn inserted_session(
    check: &str,
    store: &dyn Store,
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
// users

/// `create_user` then `user_by_id` / `user_by_phone` / `user_by_email` / `user_by_username`
/// give back the full record (every field, profile JSON and role order included); lookups of
/// unknown values give `None`.
pub async fn check_user_round_trip(store: Arc<dyn Store>) {
    const C: &str = "user_round_trip";
    let store = store.as_ref();

    let full = full_user(C, store).await;
    ok(C, "create_user(full user)", store.create_user(&full).await);
    let by_id = found(C, "user_by_id", store.user_by_id(full.id).await);
    ensure_eq!(
        C,
        by_id,
        full,
        "user_by_id must return every field as stored"
    );
    if let (Some(phone), Some(email), Some(username)) = (&full.phone, &full.email, &full.username) {
        let by_phone = found(C, "user_by_phone", store.user_by_phone(phone).await);
        ensure_eq!(
            C,
            by_phone,
            full,
            "user_by_phone must return the full record"
        );
        let by_email = found(C, "user_by_email", store.user_by_email(email).await);
        ensure_eq!(
            C,
            by_email,
            full,
            "user_by_email must return the full record"
        );
        let by_username = found(
            C,
            "user_by_username",
            store.user_by_username(username).await,
        );
        ensure_eq!(
            C,
            by_username,
            full,
            "user_by_username must return the full record"
        );
    }

    let mut other = User::new(UserId::new_random(), now_ms());
    other.status = UserStatus::Disabled;
    ok(C, "create_user(bare user)", store.create_user(&other).await);
    let got = found(C, "user_by_id", store.user_by_id(other.id).await);
    ensure_eq!(
        C,
        got,
        other,
        "a user with no phone, email, username, password or logins must round-trip (empty \
         roles, empty profile object, None fields)"
    );

    let unknown_id = UserId::new_random();
    ensure_eq!(
        C,
        ok(C, "user_by_id", store.user_by_id(unknown_id).await),
        None,
        "user_by_id of an unknown id"
    );
    let unknown_phone = fresh_phone(C, store).await;
    ensure_eq!(
        C,
        ok(
            C,
            "user_by_phone",
            store.user_by_phone(&unknown_phone).await
        ),
        None,
        "user_by_phone of an unknown phone"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "user_by_email",
            store.user_by_email(&fresh_email(C)).await
        ),
        None,
        "user_by_email of an unknown email"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "user_by_username",
            store.user_by_username(&fresh_username(C)).await
        ),
        None,
        "user_by_username of an unknown username"
    );
}

/// `create_user` fails with `Conflict(Id | Phone | Email | Username)` on a taken value,
/// writes nothing when it fails, and lets users without phone/email/username coexist.
pub async fn check_user_uniqueness(store: Arc<dyn Store>) {
    const C: &str = "user_uniqueness";
    let store = store.as_ref();
    let taken = full_user(C, store).await;
    ok(C, "create_user", store.create_user(&taken).await);

    // Each attempt takes exactly one value of `taken` and fresh values for the rest.
    let cases = [
        (UniqueField::Id, "the same id"),
        (UniqueField::Phone, "a taken phone"),
        (UniqueField::Email, "a taken email"),
        (UniqueField::Username, "a taken username"),
    ];
    for (field, what) in cases {
        let mut dup = full_user(C, store).await;
        match field {
            UniqueField::Id => dup.id = taken.id,
            UniqueField::Phone => dup.phone = taken.phone.clone(),
            UniqueField::Email => dup.email = taken.email.clone(),
            UniqueField::Username => dup.username = taken.username.clone(),
        }
        expect_conflict(
            C,
            &format!("create_user with {what}"),
            store.create_user(&dup).await,
            field,
        );
        let still = found(C, "user_by_id", store.user_by_id(taken.id).await);
        ensure_eq!(
            C,
            still,
            taken,
            "the existing user must be unchanged after a conflicting create_user ({what})"
        );
        if field != UniqueField::Id {
            ensure_eq!(
                C,
                ok(C, "user_by_id", store.user_by_id(dup.id).await),
                None,
                "a create_user that failed with Conflict({field:?}) must not store the user"
            );
        }
        // Nothing of the failed attempt was kept: its fresh values are still free.
        if field != UniqueField::Phone
            && let Some(phone) = &dup.phone
        {
            ensure_eq!(
                C,
                ok(C, "user_by_phone", store.user_by_phone(phone).await),
                None,
                "the phone of a create_user that failed with Conflict({field:?}) must stay free"
            );
        }
        if field != UniqueField::Email
            && let Some(email) = &dup.email
        {
            ensure_eq!(
                C,
                ok(C, "user_by_email", store.user_by_email(email).await),
                None,
                "the email of a create_user that failed with Conflict({field:?}) must stay free"
            );
        }
        if field != UniqueField::Username
            && let Some(username) = &dup.username
        {
            ensure_eq!(
                C,
                ok(
                    C,
                    "user_by_username",
                    store.user_by_username(username).await
                ),
                None,
                "the username of a create_user that failed with Conflict({field:?}) must stay \
                 free"
            );
        }
        // And a later user can take them.
        let mut retry = dup.clone();
        retry.id = UserId::new_random();
        match field {
            UniqueField::Id => {}
            UniqueField::Phone => retry.phone = Some(fresh_phone(C, store).await),
            UniqueField::Email => retry.email = Some(fresh_email(C)),
            UniqueField::Username => retry.username = Some(fresh_username(C)),
        }
        ok(
            C,
            &format!("create_user reusing the free values of a failed attempt ({what})"),
            store.create_user(&retry).await,
        );
    }

    // Absent values never conflict (like SQL NULLs).
    let bare_a = created_bare_user(C, store).await;
    let bare_b = created_bare_user(C, store).await;
    ensure!(
        C,
        ok(C, "user_by_id", store.user_by_id(bare_a.id).await).is_some()
            && ok(C, "user_by_id", store.user_by_id(bare_b.id).await).is_some(),
        "two users without phone, email and username must both be stored"
    );
    let mut phone_only = User::new(UserId::new_random(), now_ms());
    phone_only.phone = Some(fresh_phone(C, store).await);
    let mut email_only = User::new(UserId::new_random(), now_ms());
    email_only.email = Some(fresh_email(C));
    let mut username_only = User::new(UserId::new_random(), now_ms());
    username_only.username = Some(fresh_username(C));
    for (user, what) in [
        (&phone_only, "phone only"),
        (&email_only, "email only"),
        (&username_only, "username only"),
    ] {
        ok(
            C,
            &format!("create_user with {what}"),
            store.create_user(user).await,
        );
        let got = found(C, "user_by_id", store.user_by_id(user.id).await);
        ensure_eq!(C, &got, user, "a user with {what} must round-trip");
    }
}

/// `update_user`: `false` for an unknown id (and nothing stored); replaces every field;
/// keeping its own unique values is no conflict; changed values are taken and the old ones
/// freed; taking another user's value fails with `Conflict` and changes nothing.
pub async fn check_update_user(store: Arc<dyn Store>) {
    const C: &str = "update_user";
    let store = store.as_ref();

    let mut ghost = full_user(C, store).await;
    ghost.id = UserId::new_random();
    ensure_eq!(
        C,
        ok(
            C,
            "update_user(unknown id)",
            store.update_user(&ghost).await
        ),
        false,
        "update_user of an unknown id must return false"
    );
    ensure_eq!(
        C,
        ok(C, "user_by_id", store.user_by_id(ghost.id).await),
        None,
        "update_user of an unknown id must not create the user"
    );
    if let Some(phone) = &ghost.phone {
        ensure_eq!(
            C,
            ok(C, "user_by_phone", store.user_by_phone(phone).await),
            None,
            "update_user of an unknown id must not claim its phone"
        );
    }

    let a = full_user(C, store).await;
    let b = full_user(C, store).await;
    ok(C, "create_user(a)", store.create_user(&a).await);
    ok(C, "create_user(b)", store.create_user(&b).await);

    // Same unique values, every other field changed.
    let mut a2 = a.clone();
    a2.password_hash = None;
    a2.roles = vec!["viewer".to_owned()];
    a2.profile = serde_json::json!({ "display_name": "Renamed", "n": [1, 2, 3] });
    a2.status = UserStatus::Active;
    a2.login_count = 7;
    a2.last_login_at = None;
    a2.last_login_ip = None;
    a2.current_login_at = Some(now_ms());
    a2.current_login_ip = Some(ipv4_mapped());
    a2.created_at = a.created_at - minutes(1);
    ensure_eq!(
        C,
        ok(
            C,
            "update_user(same unique values)",
            store.update_user(&a2).await
        ),
        true,
        "update_user of an existing user that keeps its own phone/email/username must succeed"
    );
    // Registration time and login statistics are not update_user's to change (only
    // record_login changes the latter), so a concurrent login is never lost.
    let a2 = User {
        created_at: a.created_at,
        login_count: a.login_count,
        last_login_at: a.last_login_at,
        last_login_ip: a.last_login_ip,
        current_login_at: a.current_login_at,
        current_login_ip: a.current_login_ip,
        ..a2
    };
    ensure_eq!(
        C,
        found(C, "user_by_id", store.user_by_id(a.id).await),
        a2.clone(),
        "update_user must replace every field but created_at and the login statistics"
    );
    if let (Some(phone), Some(email), Some(username)) = (&a2.phone, &a2.email, &a2.username) {
        ensure_eq!(
            C,
            found(C, "user_by_phone", store.user_by_phone(phone).await),
            a2.clone(),
            "user_by_phone after update_user"
        );
        ensure_eq!(
            C,
            found(C, "user_by_email", store.user_by_email(email).await),
            a2.clone(),
            "user_by_email after update_user"
        );
        ensure_eq!(
            C,
            found(
                C,
                "user_by_username",
                store.user_by_username(username).await
            ),
            a2.clone(),
            "user_by_username after update_user"
        );
    }

    // New unique values: taken, and the old ones freed.
    let mut a3 = a2.clone();
    a3.phone = Some(fresh_phone(C, store).await);
    a3.email = Some(fresh_email(C));
    a3.username = Some(fresh_username(C));
    ensure_eq!(
        C,
        ok(
            C,
            "update_user(new unique values)",
            store.update_user(&a3).await
        ),
        true,
        "update_user changing phone, email and username to free values"
    );
    if let (Some(old_phone), Some(old_email), Some(old_username)) =
        (&a.phone, &a.email, &a.username)
    {
        ensure_eq!(
            C,
            ok(
                C,
                "user_by_phone(old phone)",
                store.user_by_phone(old_phone).await
            ),
            None,
            "the old phone must be free after update_user changed it"
        );
        ensure_eq!(
            C,
            ok(
                C,
                "user_by_email(old email)",
                store.user_by_email(old_email).await
            ),
            None,
            "the old email must be free after update_user changed it"
        );
        ensure_eq!(
            C,
            ok(
                C,
                "user_by_username(old username)",
                store.user_by_username(old_username).await
            ),
            None,
            "the old username must be free after update_user changed it"
        );
        // Another user can now take them.
        let mut b2 = b.clone();
        b2.phone = Some(old_phone.clone());
        b2.email = Some(old_email.clone());
        b2.username = Some(old_username.clone());
        ensure_eq!(
            C,
            ok(
                C,
                "update_user(b takes a's old values)",
                store.update_user(&b2).await
            ),
            true,
            "another user must be able to take values freed by update_user"
        );
        ensure_eq!(
            C,
            found(C, "user_by_phone", store.user_by_phone(old_phone).await).id,
            b.id,
            "user_by_phone of a phone that moved to another user"
        );
    }
    if let (Some(phone), Some(email), Some(username)) = (&a3.phone, &a3.email, &a3.username) {
        ensure_eq!(
            C,
            found(
                C,
                "user_by_phone(new phone)",
                store.user_by_phone(phone).await
            ),
            a3.clone(),
            "user_by_phone of the new phone"
        );
        ensure_eq!(
            C,
            found(
                C,
                "user_by_email(new email)",
                store.user_by_email(email).await
            ),
            a3.clone(),
            "user_by_email of the new email"
        );
        ensure_eq!(
            C,
            found(
                C,
                "user_by_username(new username)",
                store.user_by_username(username).await
            ),
            a3.clone(),
            "user_by_username of the new username"
        );
    }

    // Removing a value frees it.
    let mut a4 = a3.clone();
    a4.email = None;
    ensure_eq!(
        C,
        ok(
            C,
            "update_user(email removed)",
            store.update_user(&a4).await
        ),
        true,
        "update_user removing the email"
    );
    if let Some(removed) = &a3.email {
        ensure_eq!(
            C,
            ok(
                C,
                "user_by_email(removed email)",
                store.user_by_email(removed).await
            ),
            None,
            "an email removed by update_user must be free"
        );
        let mut c = User::new(UserId::new_random(), now_ms());
        c.email = Some(removed.clone());
        ok(
            C,
            "create_user with an email removed from another user",
            store.create_user(&c).await,
        );
    }

    // Taking another user's value: Conflict, and nothing changes (not even the fresh values
    // changed in the same update).
    let b_now = found(C, "user_by_id(b)", store.user_by_id(b.id).await);
    let fields = [
        UniqueField::Phone,
        UniqueField::Email,
        UniqueField::Username,
    ];
    for field in fields {
        let mut bad = a4.clone();
        bad.profile = serde_json::json!({ "must": "not be stored" });
        let fresh_username_value = fresh_username(C);
        let fresh_phone_value = fresh_phone(C, store).await;
        match field {
            UniqueField::Phone => {
                bad.phone = b_now.phone.clone();
                bad.username = Some(fresh_username_value.clone());
            }
            UniqueField::Email => {
                bad.email = b_now.email.clone();
                bad.username = Some(fresh_username_value.clone());
            }
            UniqueField::Username | UniqueField::Id => {
                bad.username = b_now.username.clone();
                bad.phone = Some(fresh_phone_value.clone());
            }
        }
        expect_conflict(
            C,
            &format!("update_user taking another user's {field:?}"),
            store.update_user(&bad).await,
            field,
        );
        ensure_eq!(
            C,
            found(C, "user_by_id", store.user_by_id(a.id).await),
            a4.clone(),
            "a user must be unchanged after update_user failed with Conflict({field:?})"
        );
        ensure_eq!(
            C,
            found(C, "user_by_id", store.user_by_id(b.id).await),
            b_now.clone(),
            "the other user must be unchanged after update_user failed with Conflict({field:?})"
        );
        ensure_eq!(
            C,
            ok(
                C,
                "user_by_username",
                store.user_by_username(&fresh_username_value).await
            ),
            None,
            "a value changed by an update_user that failed with Conflict({field:?}) must stay \
             free"
        );
        ensure_eq!(
            C,
            ok(
                C,
                "user_by_phone",
                store.user_by_phone(&fresh_phone_value).await
            ),
            None,
            "a value changed by an update_user that failed with Conflict({field:?}) must stay \
             free"
        );
    }
}

/// `record_login`: `login_count + 1`, current login moved to last, `(at, ip)` made current,
/// other fields untouched; `false` for an unknown id.
pub async fn check_record_login(store: Arc<dyn Store>) {
    const C: &str = "record_login";
    let store = store.as_ref();
    let mut expected = User::new(UserId::new_random(), now_ms() - minutes(10));
    expected.phone = Some(fresh_phone(C, store).await);
    expected.roles = vec!["admin".to_owned()];
    expected.profile = serde_json::json!({ "k": "v" });
    ok(C, "create_user", store.create_user(&expected).await);

    let t0 = now_ms();
    let logins = [
        (t0, Some(ipv4())),
        (t0 + Duration::seconds(1), None),
        (t0 + Duration::seconds(2), Some(ipv6())),
        (t0 + Duration::seconds(3), Some(ipv4_mapped())),
    ];
    for (i, (at, ip)) in logins.into_iter().enumerate() {
        ensure_eq!(
            C,
            ok(
                C,
                "record_login",
                store.record_login(expected.id, at, ip).await
            ),
            true,
            "record_login of an existing user must return true"
        );
        expected.login_count += 1;
        expected.last_login_at = expected.current_login_at;
        expected.last_login_ip = expected.current_login_ip;
        expected.current_login_at = Some(at);
        expected.current_login_ip = ip;
        ensure_eq!(
            C,
            found(C, "user_by_id", store.user_by_id(expected.id).await),
            expected.clone(),
            "after login #{} (ip {ip:?}): count + 1, current -> last, (at, ip) current, nothing \
             else changed",
            i + 1
        );
    }

    let unknown = UserId::new_random();
    ensure_eq!(
        C,
        ok(
            C,
            "record_login(unknown id)",
            store.record_login(unknown, t0, None).await
        ),
        false,
        "record_login of an unknown id must return false"
    );
    ensure_eq!(
        C,
        ok(C, "user_by_id", store.user_by_id(unknown).await),
        None,
        "record_login of an unknown id must not create a user"
    );
}

// ---------------------------------------------------------------------------------------------
// challenges

/// `insert_challenge` then `challenge` gives back every field; unknown ids give `None`.
pub async fn check_challenge_round_trip(store: Arc<dyn Store>) {
    const C: &str = "challenge_round_trip";
    let store = store.as_ref();
    let owner = created_bare_user(C, store).await;
    let now = now_ms();

    let with_user = challenge(fresh_phone(C, store).await, Some(owner.id), now);
    let mut without_user = challenge(fresh_phone(C, store).await, None, now - minutes(1));
    without_user.expires_at = now + minutes(15);
    without_user.attempts = 2;
    for (c, what) in [
        (&with_user, "with a user id"),
        (&without_user, "without a user id"),
    ] {
        ok(C, "insert_challenge", store.insert_challenge(c).await);
        let got = found(C, "challenge", store.challenge(c.id).await);
        ensure_eq!(C, &got, c, "a challenge {what} must round-trip every field");
    }
    ensure_eq!(
        C,
        ok(
            C,
            "challenge(unknown id)",
            store.challenge(ChallengeId::new_random()).await
        ),
        None,
        "challenge of an unknown id"
    );
}

/// `claim_challenge_attempt` counts up to (never past) `max_attempts`, returns `None` at the
/// limit, for a consumed challenge and for an unknown id, and changes nothing then.
pub async fn check_claim_challenge_attempt(store: Arc<dyn Store>) {
    const C: &str = "claim_challenge_attempt";
    let store = store.as_ref();
    let mut c = inserted_challenge(C, store).await;

    for n in 1..=3 {
        ensure_eq!(
            C,
            ok(
                C,
                "claim_challenge_attempt",
                store.claim_challenge_attempt(c.id, 3).await
            ),
            Some(n),
            "attempt {n} of 3 must be granted and return the new count"
        );
    }
    for _ in 0..2 {
        ensure_eq!(
            C,
            ok(
                C,
                "claim_challenge_attempt",
                store.claim_challenge_attempt(c.id, 3).await
            ),
            None,
            "no attempt may be granted once `attempts` reached max_attempts (3)"
        );
    }
    c.attempts = 3;
    ensure_eq!(
        C,
        found(C, "challenge", store.challenge(c.id).await),
        c.clone(),
        "attempts must stay at max_attempts after refused claims"
    );
    // The limit is the argument of each call.
    ensure_eq!(
        C,
        ok(
            C,
            "claim_challenge_attempt",
            store.claim_challenge_attempt(c.id, 4).await
        ),
        Some(4),
        "with max_attempts 4 and 3 attempts made, one more attempt must be granted"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "claim_challenge_attempt",
            store.claim_challenge_attempt(c.id, 4).await
        ),
        None,
        "with max_attempts 4 and 4 attempts made, no attempt may be granted"
    );

    let consumed = inserted_challenge(C, store).await;
    ensure_eq!(
        C,
        ok(
            C,
            "claim_challenge_attempt",
            store.claim_challenge_attempt(consumed.id, 5).await
        ),
        Some(1),
        "first attempt on a fresh challenge"
    );
    let at = now_ms();
    ensure_eq!(
        C,
        ok(
            C,
            "consume_challenge",
            store.consume_challenge(consumed.id, at).await
        ),
        true,
        "consume_challenge of an open challenge"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "claim_challenge_attempt",
            store.claim_challenge_attempt(consumed.id, 5).await
        ),
        None,
        "no attempt may be granted on a consumed challenge"
    );
    let mut expected = consumed.clone();
    expected.attempts = 1;
    expected.consumed_at = Some(at);
    ensure_eq!(
        C,
        found(C, "challenge", store.challenge(consumed.id).await),
        expected,
        "a refused claim on a consumed challenge must change nothing"
    );

    ensure_eq!(
        C,
        ok(
            C,
            "claim_challenge_attempt(unknown id)",
            store
                .claim_challenge_attempt(ChallengeId::new_random(), 5)
                .await
        ),
        None,
        "claim_challenge_attempt of an unknown id"
    );
}

/// `consume_challenge`: `true` once (and `consumed_at` is set to `at`, nothing else changes),
/// then `false`; `false` for an unknown id.
pub async fn check_consume_challenge(store: Arc<dyn Store>) {
    const C: &str = "consume_challenge";
    let store = store.as_ref();
    let c = inserted_challenge(C, store).await;
    let at = now_ms() + Duration::seconds(5);
    ensure_eq!(
        C,
        ok(
            C,
            "consume_challenge",
            store.consume_challenge(c.id, at).await
        ),
        true,
        "the first consume_challenge must return true"
    );
    let mut expected = c.clone();
    expected.consumed_at = Some(at);
    ensure_eq!(
        C,
        found(C, "challenge", store.challenge(c.id).await),
        expected.clone(),
        "consume_challenge must set consumed_at = at and change nothing else"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "consume_challenge (again)",
            store.consume_challenge(c.id, at + minutes(1)).await
        ),
        false,
        "a second consume_challenge must return false"
    );
    ensure_eq!(
        C,
        found(C, "challenge", store.challenge(c.id).await),
        expected,
        "a refused consume_challenge must not move consumed_at"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "consume_challenge(unknown id)",
            store.consume_challenge(ChallengeId::new_random(), at).await
        ),
        false,
        "consume_challenge of an unknown id must return false"
    );
}

// ---------------------------------------------------------------------------------------------
// emailed one-time tokens

/// A fresh open emailed token of a new user, inserted into the store.
async fn inserted_email_token(
    check: &str,
    store: &dyn Store,
    purpose: EmailTokenPurpose,
) -> EmailToken {
    let user = full_user(check, store).await;
    ok(check, "create_user", store.create_user(&user).await);
    let now = now_ms();
    let token = EmailToken {
        hash: random_hash(),
        purpose,
        user_id: user.id,
        email: fresh_email(check),
        created_at: now,
        expires_at: now + Duration::hours(1),
        consumed_at: None,
    };
    ok(
        check,
        "insert_email_token",
        store.insert_email_token(&token).await,
    );
    token
}

/// Emailed tokens: every purpose round-trips, unknown hashes read `None`, a duplicate hash is
/// `Conflict(Id)`, `consume_email_token` is `true` once (setting only `consumed_at`), then
/// `false`, and `false` for an unknown hash.
pub async fn check_email_tokens(store: Arc<dyn Store>) {
    const C: &str = "email_tokens";
    let store = store.as_ref();
    for purpose in [
        EmailTokenPurpose::Activation,
        EmailTokenPurpose::PasswordReset,
        EmailTokenPurpose::EmailChange,
    ] {
        let t = inserted_email_token(C, store, purpose).await;
        ensure_eq!(
            C,
            found(C, "email_token", store.email_token(&t.hash).await),
            t.clone(),
            "an emailed token must read back exactly as inserted"
        );
    }
    ensure_eq!(
        C,
        ok(
            C,
            "email_token(unknown)",
            store.email_token(&random_hash()).await
        ),
        None,
        "an unknown hash reads None"
    );
    let t = inserted_email_token(C, store, EmailTokenPurpose::Activation).await;
    match store.insert_email_token(&t).await {
        Err(StoreError::Conflict(UniqueField::Id)) => {}
        other => fail(
            C,
            format_args!("inserting a duplicate hash gave {other:?}, expected Conflict(Id)"),
        ),
    }
    let at = now_ms() + Duration::seconds(3);
    ensure_eq!(
        C,
        ok(
            C,
            "consume_email_token",
            store.consume_email_token(&t.hash, at).await
        ),
        true,
        "the first consume_email_token must return true"
    );
    let mut expected = t.clone();
    expected.consumed_at = Some(at);
    ensure_eq!(
        C,
        found(C, "email_token", store.email_token(&t.hash).await),
        expected.clone(),
        "consume_email_token must set consumed_at = at and change nothing else"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "consume_email_token (again)",
            store.consume_email_token(&t.hash, at + minutes(1)).await
        ),
        false,
        "a second consume_email_token must return false"
    );
    ensure_eq!(
        C,
        found(C, "email_token", store.email_token(&t.hash).await),
        expected,
        "a refused consume_email_token must not move consumed_at"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "consume_email_token(unknown)",
            store.consume_email_token(&random_hash(), at).await
        ),
        false,
        "consume_email_token of an unknown hash must return false"
    );
}

/// 32 concurrent `consume_email_token` calls: exactly one `true`.
pub async fn check_concurrent_consume_email_token(store: Arc<dyn Store>) {
    const C: &str = "concurrent_consume_email_token";
    let t = inserted_email_token(C, store.as_ref(), EmailTokenPurpose::PasswordReset).await;
    let at = now_ms();
    let hash = t.hash;
    let results = race(C, 32, |_| {
        let store = Arc::clone(&store);
        async move { store.consume_email_token(&hash, at).await }
    })
    .await;
    let wins = results
        .into_iter()
        .filter(|r| matches!(r, Ok(true)))
        .count();
    ensure_eq!(
        C,
        wins,
        1,
        "of 32 concurrent consume_email_token calls, exactly one must return true"
    );
}

// ---------------------------------------------------------------------------------------------
// sessions

/// `insert_session` then `session` gives back every field (IP absent / v4 / v6 /
/// IPv4-mapped v6, user agent absent / empty / 512 non-ASCII characters); every
/// `RevokeReason` and revocation time round-trips.
pub async fn check_session_round_trip(store: Arc<dyn Store>) {
    const C: &str = "session_round_trip";
    let store = store.as_ref();
    let user = created_bare_user(C, store).await;
    let now = now_ms();

    let long_agent: String = "Mozilla/5.0 (X11; Linux x86_64) «ünïcödé» ✓ 日本語 "
        .chars()
        .cycle()
        .take(512)
        .collect();
    let variants: [(Option<IpAddr>, Option<String>); 5] = [
        (None, None),
        (Some(ipv4()), Some("curl/8.5.0".to_owned())),
        (
            Some(ipv4()),
            Some("agent \"quoted\" back\\slash\ttab \u{1} {\"user_id\":\"x\"}".to_owned()),
        ),
        (Some(ipv6()), Some(long_agent)),
        (Some(ipv4_mapped()), Some(String::new())),
    ];
    for (i, (ip, user_agent)) in variants.into_iter().enumerate() {
        let mut s = session(user.id, now - minutes(30));
        s.last_used_at = now - minutes(3);
        s.expires_at = now + Duration::hours(20);
        s.ip = ip;
        s.user_agent = user_agent;
        s.refresh = RefreshState {
            generation: 3 + i as u64,
            hash: random_hash(),
            issued_at: now - minutes(3),
        };
        ok(C, "insert_session", store.insert_session(&s).await);
        let got = found(C, "session", store.session(s.id).await);
        ensure_eq!(
            C,
            got,
            s,
            "a session (ip {ip:?}, user agent {}) must round-trip every field",
            s.user_agent.as_ref().map_or("None".to_owned(), |a| format!(
                "Some(<{} chars>)",
                a.chars().count()
            ))
        );
    }

    let reasons = [
        RevokeReason::Logout,
        RevokeReason::RevokedByUser,
        RevokeReason::PasswordChanged,
        RevokeReason::RefreshTokenReused,
        RevokeReason::UserDisabled,
        RevokeReason::Admin,
    ];
    for (i, reason) in reasons.into_iter().enumerate() {
        let s = inserted_session(C, store, user.id, now).await;
        let at = now + Duration::seconds(i as i64 + 1);
        ensure_eq!(
            C,
            ok(
                C,
                "revoke_session",
                store.revoke_session(s.id, at, reason).await
            ),
            true,
            "revoke_session of an active session"
        );
        let mut expected = s.clone();
        expected.status = SessionStatus::Revoked { at, reason };
        ensure_eq!(
            C,
            found(C, "session", store.session(s.id).await),
            expected,
            "a session revoked with {reason:?} must read back as revoked with that reason and \
             time, other fields unchanged"
        );
    }

    ensure_eq!(
        C,
        ok(
            C,
            "session(unknown id)",
            store.session(SessionId::new_random()).await
        ),
        None,
        "session of an unknown id"
    );
}

/// `session_with_owner` gives what `session` and `user_by_id` give, read now: the session as
/// stored (active or revoked), and the user's current status and roles, so a role taken away
/// or an account disabled shows on the next read. An unknown id is `None`. Every read is made
/// three times, with no claimed user, the session's own and another user, and all three must
/// give the session's own user: the claim is a hint, never the answer.
pub async fn check_session_with_owner(store: Arc<dyn Store>) {
    const C: &str = "session_with_owner";
    let store = store.as_ref();
    let now = now_ms();
    let mut user = User::new(UserId::new_random(), now);
    user.roles = vec!["admin".to_owned(), "editor".to_owned()];
    ok(C, "create_user", store.create_user(&user).await);
    let other = created_bare_user(C, store).await;
    // A user agent that spells out another user's id must not confuse the lookup.
    let mut s = session(user.id, now);
    s.user_agent = Some(format!("evil \"user_id\":\"{}\" agent", other.id));
    ok(C, "insert_session", store.insert_session(&s).await);
    let _ = inserted_session(C, store, other.id, now).await;

    let (user_id, other_id) = (user.id, other.id);
    let read = |what: &'static str| async move {
        let mut answers = Vec::new();
        for claimed in [None, Some(user_id), Some(other_id)] {
            match ok(
                C,
                "session_with_owner",
                store.session_with_owner(s.id, claimed).await,
            ) {
                Some(found) => answers.push(found),
                None => fail(
                    C,
                    format_args!("no session found {what} (claimed user {claimed:?})"),
                ),
            }
        }
        let first = answers.swap_remove(0);
        for other in answers {
            ensure_eq!(
                C,
                other,
                first.clone(),
                "the claimed user must not change the answer"
            );
        }
        first
    };
    let owner = |user: &User| Some(SessionOwner::of(user));

    ensure_eq!(
        C,
        read("after insert_session").await,
        (s.clone(), owner(&user)),
        "an active session with its user's status and roles"
    );

    user.roles = vec!["editor".to_owned()];
    ensure!(
        C,
        ok(C, "update_user", store.update_user(&user).await),
        "update_user of an existing user"
    );
    ensure_eq!(
        C,
        read("after a role was taken away").await,
        (s.clone(), owner(&user)),
        "the roles must be the user's current ones"
    );

    user.status = UserStatus::Disabled;
    ensure!(
        C,
        ok(C, "update_user", store.update_user(&user).await),
        "update_user of an existing user"
    );
    ensure_eq!(
        C,
        read("after the account was disabled").await,
        (s.clone(), owner(&user)),
        "the status must be the user's current one"
    );

    let at = now + minutes(1);
    ensure!(
        C,
        ok(
            C,
            "revoke_session",
            store
                .revoke_session(s.id, at, RevokeReason::UserDisabled)
                .await
        ),
        "revoke_session of an active session"
    );
    let mut revoked = s.clone();
    revoked.status = SessionStatus::Revoked {
        at,
        reason: RevokeReason::UserDisabled,
    };
    ensure_eq!(
        C,
        read("after revoke_session").await,
        (revoked, owner(&user)),
        "a revoked session must read back as revoked"
    );

    ensure_eq!(
        C,
        ok(
            C,
            "session_with_owner(unknown id)",
            store
                .session_with_owner(SessionId::new_random(), Some(user.id))
                .await
        ),
        None,
        "session_with_owner of an unknown id"
    );
}

/// `rotate_refresh` is a compare-and-set on the generation: a wrong or stale generation,
/// an unknown id and a revoked session give `false` and change nothing; success stores `next`
/// and `last_used_at = now` and nothing else.
pub async fn check_rotate_refresh(store: Arc<dyn Store>) {
    const C: &str = "rotate_refresh";
    let store = store.as_ref();
    let user = created_bare_user(C, store).await;
    let t0 = now_ms();
    let mut expected = inserted_session(C, store, user.id, t0).await;

    let next = |generation: u64, at: DateTime<Utc>| RefreshState {
        generation,
        hash: random_hash(),
        issued_at: at,
    };

    ensure_eq!(
        C,
        ok(
            C,
            "rotate_refresh(unknown id)",
            store
                .rotate_refresh(SessionId::new_random(), 0, &next(1, t0), t0)
                .await
        ),
        false,
        "rotate_refresh of an unknown session must return false"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "rotate_refresh(wrong generation)",
            store.rotate_refresh(expected.id, 1, &next(2, t0), t0).await
        ),
        false,
        "rotate_refresh with an expected generation (1) other than the stored one (0)"
    );
    ensure_eq!(
        C,
        found(C, "session", store.session(expected.id).await),
        expected.clone(),
        "a refused rotate_refresh must change nothing"
    );

    let t1 = t0 + Duration::seconds(10);
    let first = next(1, t1);
    ensure_eq!(
        C,
        ok(
            C,
            "rotate_refresh",
            store.rotate_refresh(expected.id, 0, &first, t1).await
        ),
        true,
        "rotate_refresh with the current generation (0) must succeed"
    );
    expected.refresh = first;
    expected.last_used_at = t1;
    ensure_eq!(
        C,
        found(C, "session", store.session(expected.id).await),
        expected.clone(),
        "after rotate_refresh: refresh = next, last_used_at = now, nothing else changed"
    );

    ensure_eq!(
        C,
        ok(
            C,
            "rotate_refresh(stale generation)",
            store
                .rotate_refresh(expected.id, 0, &next(1, t1), t1 + Duration::seconds(1))
                .await
        ),
        false,
        "rotate_refresh with the generation that was just rotated away (0) must fail"
    );
    ensure_eq!(
        C,
        found(C, "session", store.session(expected.id).await),
        expected.clone(),
        "a refused rotate_refresh must change nothing"
    );

    let t2 = t1 + Duration::seconds(10);
    let second = next(2, t2);
    ensure_eq!(
        C,
        ok(
            C,
            "rotate_refresh",
            store.rotate_refresh(expected.id, 1, &second, t2).await
        ),
        true,
        "rotate_refresh with the new current generation (1) must succeed"
    );
    expected.refresh = second;
    expected.last_used_at = t2;

    let revoked_at = t2 + Duration::seconds(1);
    ensure_eq!(
        C,
        ok(
            C,
            "revoke_session",
            store
                .revoke_session(expected.id, revoked_at, RevokeReason::Logout)
                .await
        ),
        true,
        "revoke_session of an active session"
    );
    expected.status = SessionStatus::Revoked {
        at: revoked_at,
        reason: RevokeReason::Logout,
    };
    ensure_eq!(
        C,
        ok(
            C,
            "rotate_refresh(revoked)",
            store
                .rotate_refresh(expected.id, 2, &next(3, revoked_at), revoked_at)
                .await
        ),
        false,
        "rotate_refresh of a revoked session must return false, even with the right generation"
    );
    ensure_eq!(
        C,
        found(C, "session", store.session(expected.id).await),
        expected,
        "a refused rotate_refresh on a revoked session must change nothing"
    );
}

/// `revoke_session`: `true` once (status = revoked at `at` for `reason`), then `false` without
/// overwriting the first revocation; `false` for an unknown id.
pub async fn check_revoke_session(store: Arc<dyn Store>) {
    const C: &str = "revoke_session";
    let store = store.as_ref();
    let user = created_bare_user(C, store).await;
    let t0 = now_ms();
    let s = inserted_session(C, store, user.id, t0).await;

    ensure_eq!(
        C,
        ok(
            C,
            "revoke_session(unknown id)",
            store
                .revoke_session(SessionId::new_random(), t0, RevokeReason::Logout)
                .await
        ),
        false,
        "revoke_session of an unknown session must return false"
    );
    let at = t0 + Duration::seconds(1);
    ensure_eq!(
        C,
        ok(
            C,
            "revoke_session",
            store
                .revoke_session(s.id, at, RevokeReason::RefreshTokenReused)
                .await
        ),
        true,
        "revoke_session of an active session must return true"
    );
    let mut expected = s.clone();
    expected.status = SessionStatus::Revoked {
        at,
        reason: RevokeReason::RefreshTokenReused,
    };
    ensure_eq!(
        C,
        found(C, "session", store.session(s.id).await),
        expected.clone(),
        "a revoked session keeps its record with status revoked (at, reason)"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "revoke_session (again)",
            store
                .revoke_session(s.id, at + minutes(1), RevokeReason::Admin)
                .await
        ),
        false,
        "revoke_session of an already revoked session must return false"
    );
    ensure_eq!(
        C,
        found(C, "session", store.session(s.id).await),
        expected,
        "a second revoke_session must not overwrite the first revocation's time and reason"
    );
}

/// `sessions_of_user` returns exactly the user's non-revoked sessions, newest first, and
/// nothing for a user without sessions.
pub async fn check_sessions_of_user(store: Arc<dyn Store>) {
    const C: &str = "sessions_of_user";
    let store = store.as_ref();
    let user = created_bare_user(C, store).await;
    let other = created_bare_user(C, store).await;
    let now = now_ms();

    // Inserted out of order, so a store returning insertion order fails.
    let middle = inserted_session(C, store, user.id, now - minutes(120)).await;
    let oldest = inserted_session(C, store, user.id, now - minutes(180)).await;
    let newest = inserted_session(C, store, user.id, now - minutes(60)).await;
    let revoked = inserted_session(C, store, user.id, now - minutes(30)).await;
    ensure_eq!(
        C,
        ok(
            C,
            "revoke_session",
            store
                .revoke_session(revoked.id, now, RevokeReason::Logout)
                .await
        ),
        true,
        "revoke_session of an active session"
    );
    let others = inserted_session(C, store, other.id, now - minutes(10)).await;

    ensure_eq!(
        C,
        ok(C, "sessions_of_user", store.sessions_of_user(user.id).await),
        vec![newest, middle, oldest],
        "sessions_of_user must return the user's non-revoked sessions (full records), newest \
         first, and no other user's"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "sessions_of_user",
            store.sessions_of_user(other.id).await
        ),
        vec![others],
        "sessions_of_user of the other user"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "sessions_of_user(no sessions)",
            store.sessions_of_user(UserId::new_random()).await
        ),
        Vec::<Session>::new(),
        "sessions_of_user of a user without sessions"
    );
}

/// `revoke_user_sessions` revokes every active session of the user but `except`, returns how
/// many, leaves already revoked sessions and other users' sessions alone, and revoked
/// sessions cannot rotate afterwards.
pub async fn check_revoke_user_sessions(store: Arc<dyn Store>) {
    const C: &str = "revoke_user_sessions";
    let store = store.as_ref();
    let user = created_bare_user(C, store).await;
    let other = created_bare_user(C, store).await;
    let t0 = now_ms();
    let kept = inserted_session(C, store, user.id, t0 - minutes(40)).await;
    let logged_out = inserted_session(C, store, user.id, t0 - minutes(30)).await;
    let a = inserted_session(C, store, user.id, t0 - minutes(20)).await;
    let b = inserted_session(C, store, user.id, t0 - minutes(10)).await;
    let others = inserted_session(C, store, other.id, t0 - minutes(10)).await;

    let logout_at = t0 - minutes(1);
    ensure_eq!(
        C,
        ok(
            C,
            "revoke_session",
            store
                .revoke_session(logged_out.id, logout_at, RevokeReason::Logout)
                .await
        ),
        true,
        "revoke_session of an active session"
    );

    let t1 = t0 + Duration::seconds(1);
    ensure_eq!(
        C,
        ok(
            C,
            "revoke_user_sessions(except one)",
            store
                .revoke_user_sessions(user.id, Some(kept.id), t1, RevokeReason::PasswordChanged)
                .await
        ),
        2,
        "revoke_user_sessions must return how many active sessions it revoked (4 sessions: \
         one excepted, one already revoked)"
    );
    for s in [&a, &b] {
        let mut expected = s.clone();
        expected.status = SessionStatus::Revoked {
            at: t1,
            reason: RevokeReason::PasswordChanged,
        };
        ensure_eq!(
            C,
            found(C, "session", store.session(s.id).await),
            expected,
            "a session revoked by revoke_user_sessions: status revoked (at, reason), nothing \
             else changed"
        );
        ensure_eq!(
            C,
            ok(
                C,
                "rotate_refresh(after revoke_user_sessions)",
                store
                    .rotate_refresh(
                        s.id,
                        s.refresh.generation,
                        &RefreshState {
                            generation: s.refresh.generation + 1,
                            hash: random_hash(),
                            issued_at: t1,
                        },
                        t1,
                    )
                    .await
            ),
            false,
            "a session revoked by revoke_user_sessions must not rotate any more"
        );
    }
    ensure_eq!(
        C,
        found(C, "session", store.session(kept.id).await),
        kept.clone(),
        "the excepted session must stay active and unchanged"
    );
    let mut expected_logged_out = logged_out.clone();
    expected_logged_out.status = SessionStatus::Revoked {
        at: logout_at,
        reason: RevokeReason::Logout,
    };
    ensure_eq!(
        C,
        found(C, "session", store.session(logged_out.id).await),
        expected_logged_out,
        "revoke_user_sessions must not overwrite an earlier revocation's time and reason"
    );
    ensure_eq!(
        C,
        found(C, "session", store.session(others.id).await),
        others.clone(),
        "revoke_user_sessions must not touch another user's sessions"
    );
    ensure_eq!(
        C,
        ok(C, "sessions_of_user", store.sessions_of_user(user.id).await),
        vec![kept.clone()],
        "sessions_of_user after revoke_user_sessions must list only the excepted session"
    );

    let t2 = t1 + Duration::seconds(1);
    ensure_eq!(
        C,
        ok(
            C,
            "revoke_user_sessions(no exception)",
            store
                .revoke_user_sessions(user.id, None, t2, RevokeReason::UserDisabled)
                .await
        ),
        1,
        "revoke_user_sessions without exception must revoke the one session left"
    );
    let mut expected_kept = kept.clone();
    expected_kept.status = SessionStatus::Revoked {
        at: t2,
        reason: RevokeReason::UserDisabled,
    };
    ensure_eq!(
        C,
        found(C, "session", store.session(kept.id).await),
        expected_kept,
        "the last session after revoke_user_sessions without exception"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "revoke_user_sessions(again)",
            store
                .revoke_user_sessions(user.id, None, t2, RevokeReason::Admin)
                .await
        ),
        0,
        "revoke_user_sessions when every session is already revoked"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "revoke_user_sessions(no sessions)",
            store
                .revoke_user_sessions(UserId::new_random(), None, t2, RevokeReason::Admin)
                .await
        ),
        0,
        "revoke_user_sessions of a user without sessions"
    );
    ensure_eq!(
        C,
        ok(C, "sessions_of_user", store.sessions_of_user(user.id).await),
        Vec::<Session>::new(),
        "sessions_of_user once every session is revoked"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "rotate_refresh(other user's session)",
            store
                .rotate_refresh(
                    others.id,
                    0,
                    &RefreshState {
                        generation: 1,
                        hash: random_hash(),
                        issued_at: t2,
                    },
                    t2,
                )
                .await
        ),
        true,
        "another user's session must still rotate"
    );
}

// ---------------------------------------------------------------------------------------------
// counters

/// `hit_counter`: starts at 1 with `resets_at = window_ends`, counts up keeping `resets_at`,
/// restarts once `resets_at <= now` (boundary included); keys are independent, case-sensitive
/// and may be 200 bytes long.
pub async fn check_hit_counter(store: Arc<dyn Store>) {
    const C: &str = "hit_counter";
    let store = store.as_ref();
    let key = fresh_key("hits");
    let base = now_ms();
    let w1 = base + minutes(10);

    let hit = |window_ends: DateTime<Utc>, now: DateTime<Utc>| {
        let key = key.clone();
        async move {
            ok(
                C,
                "hit_counter",
                store.hit_counter(&key, window_ends, now).await,
            )
        }
    };

    ensure_eq!(
        C,
        hit(w1, base).await,
        Counter {
            count: 1,
            resets_at: w1
        },
        "the first hit on a new key"
    );
    ensure_eq!(
        C,
        hit(base + minutes(15), base + Duration::seconds(1)).await,
        Counter {
            count: 2,
            resets_at: w1
        },
        "a hit inside the window counts up and keeps resets_at (ignores the new window_ends)"
    );
    ensure_eq!(
        C,
        hit(base + minutes(20), w1 - Duration::milliseconds(1)).await,
        Counter {
            count: 3,
            resets_at: w1
        },
        "a hit 1 ms before resets_at is still inside the window"
    );
    let w2 = w1 + minutes(10);
    ensure_eq!(
        C,
        hit(w2, w1).await,
        Counter {
            count: 1,
            resets_at: w2
        },
        "a hit with now == resets_at restarts the window at 1 with resets_at = window_ends"
    );
    ensure_eq!(
        C,
        hit(w2 + minutes(5), w1 + Duration::seconds(1)).await,
        Counter {
            count: 2,
            resets_at: w2
        },
        "a hit inside the restarted window"
    );
    let w3 = w2 + minutes(10);
    ensure_eq!(
        C,
        hit(w3, w2 + minutes(1)).await,
        Counter {
            count: 1,
            resets_at: w3
        },
        "a hit after the window ended restarts it"
    );

    let other = fresh_key("hits");
    ensure_eq!(
        C,
        ok(C, "hit_counter", store.hit_counter(&other, w1, base).await),
        Counter {
            count: 1,
            resets_at: w1
        },
        "another key is an independent counter"
    );
    let upper = key.to_uppercase();
    ensure_eq!(
        C,
        ok(C, "hit_counter", store.hit_counter(&upper, w1, base).await),
        Counter {
            count: 1,
            resets_at: w1
        },
        "keys are opaque and case-sensitive: the upper-case key is another counter"
    );

    let mut long = fresh_key("long");
    while long.len() < 200 {
        long.push('x');
    }
    long.truncate(200);
    for count in 1..=2 {
        ensure_eq!(
            C,
            ok(
                C,
                "hit_counter(200-byte key)",
                store.hit_counter(&long, w1, base).await
            ),
            Counter {
                count,
                resets_at: w1
            },
            "a counter with a 200-byte key"
        );
    }
}

/// `hit_counter` with `window_ends == now`, as the core's refresh limits use it to look at a
/// marker without opening it: on a missing or ended counter it starts a window that has
/// already ended (the next hit, even at the same `now`, starts afresh with its own
/// `window_ends`); on an open window it counts and reports that window's end.
pub async fn check_hit_counter_window_ending_now(store: Arc<dyn Store>) {
    const C: &str = "hit_counter_window_ending_now";
    let store = store.as_ref();
    let key = fresh_key("marker");
    let base = now_ms();
    let hit = |window_ends: DateTime<Utc>, now: DateTime<Utc>| {
        let key = key.clone();
        async move {
            ok(
                C,
                "hit_counter",
                store.hit_counter(&key, window_ends, now).await,
            )
        }
    };
    for _ in 0..2 {
        ensure_eq!(
            C,
            hit(base, base).await,
            Counter {
                count: 1,
                resets_at: base
            },
            "a hit with window_ends == now on a missing or ended counter"
        );
    }
    let open_until = base + minutes(15);
    ensure_eq!(
        C,
        hit(open_until, base).await,
        Counter {
            count: 1,
            resets_at: open_until
        },
        "a hit at the same now after a window ending now starts a fresh window"
    );
    let later = base + minutes(5);
    ensure_eq!(
        C,
        hit(later, later).await,
        Counter {
            count: 2,
            resets_at: open_until
        },
        "a hit with window_ends == now on an open window counts and keeps its end"
    );
    ensure_eq!(
        C,
        hit(open_until, open_until).await,
        Counter {
            count: 1,
            resets_at: open_until
        },
        "once the window has ended, a hit with window_ends == now leaves it ended"
    );
}

/// `add_failure` / `failures` / `clear_failures`: counts from 0, per key, back to 0 on clear.
pub async fn check_failures(store: Arc<dyn Store>) {
    const C: &str = "failures";
    let store = store.as_ref();
    let key = fresh_key("failures");
    let other = fresh_key("failures");

    ensure_eq!(
        C,
        ok(C, "failures", store.failures(&key).await),
        0,
        "failures of a new key"
    );
    for n in 1..=3 {
        ensure_eq!(
            C,
            ok(C, "add_failure", store.add_failure(&key).await),
            n,
            "add_failure must return the new count"
        );
    }
    ensure_eq!(
        C,
        ok(C, "failures", store.failures(&key).await),
        3,
        "failures after three add_failure"
    );
    ensure_eq!(
        C,
        ok(C, "failures", store.failures(&other).await),
        0,
        "failures of another key"
    );
    ok(C, "clear_failures", store.clear_failures(&key).await);
    ensure_eq!(
        C,
        ok(C, "failures", store.failures(&key).await),
        0,
        "failures after clear_failures"
    );
    ensure_eq!(
        C,
        ok(C, "add_failure", store.add_failure(&key).await),
        1,
        "add_failure after clear_failures starts again at 1"
    );
    ok(
        C,
        "clear_failures(absent key)",
        store.clear_failures(&other).await,
    );
    ensure_eq!(
        C,
        ok(C, "failures", store.failures(&other).await),
        0,
        "failures after clear_failures of an absent key"
    );
}

// ---------------------------------------------------------------------------------------------
// housekeeping

/// `purge_expired(now)` removes challenges, sessions (active or revoked) and counters that
/// expired before `now`, counts them, and keeps live ones (consumed challenges and revoked
/// sessions included), failure counts and users.
pub async fn check_purge_expired(store: Arc<dyn Store>) {
    const C: &str = "purge_expired";
    let store = store.as_ref();
    let base = now_ms();
    let soon = base + minutes(1);
    let later = base + minutes(60);
    let purge_at = base + minutes(2);
    let user = created_bare_user(C, store).await;

    // Expiring at `soon`: all of these must go.
    let mut expired_challenge = challenge(fresh_phone(C, store).await, None, base);
    expired_challenge.expires_at = soon;
    let mut expired_consumed = challenge(fresh_phone(C, store).await, Some(user.id), base);
    expired_consumed.expires_at = soon;
    let mut expired_session = session(user.id, base);
    expired_session.expires_at = soon;
    let mut expired_revoked = session(user.id, base);
    expired_revoked.expires_at = soon;
    let expired_counter = fresh_key("purge");

    // Expiring at `later`: all of these must stay.
    let live_challenge = challenge(fresh_phone(C, store).await, None, base);
    let mut live_consumed = challenge(fresh_phone(C, store).await, Some(user.id), base);
    live_consumed.expires_at = later;
    let mut live_session = session(user.id, base);
    live_session.expires_at = later;
    let mut live_revoked = session(user.id, base);
    live_revoked.expires_at = later;
    let live_counter = fresh_key("purge");
    let failure_key = fresh_key("purge-failures");

    for c in [
        &expired_challenge,
        &expired_consumed,
        &live_challenge,
        &live_consumed,
    ] {
        ok(C, "insert_challenge", store.insert_challenge(c).await);
    }
    for c in [&expired_consumed, &live_consumed] {
        ensure_eq!(
            C,
            ok(
                C,
                "consume_challenge",
                store.consume_challenge(c.id, base).await
            ),
            true,
            "consume_challenge of an open challenge"
        );
    }
    for s in [
        &expired_session,
        &expired_revoked,
        &live_session,
        &live_revoked,
    ] {
        ok(C, "insert_session", store.insert_session(s).await);
    }
    for s in [&expired_revoked, &live_revoked] {
        ensure_eq!(
            C,
            ok(
                C,
                "revoke_session",
                store.revoke_session(s.id, base, RevokeReason::Logout).await
            ),
            true,
            "revoke_session of an active session"
        );
    }
    ok(
        C,
        "hit_counter",
        store.hit_counter(&expired_counter, soon, base).await,
    );
    ok(
        C,
        "hit_counter",
        store.hit_counter(&live_counter, later, base).await,
    );
    ok(C, "add_failure", store.add_failure(&failure_key).await);
    let token = |expires_at| EmailToken {
        hash: random_hash(),
        purpose: EmailTokenPurpose::Activation,
        user_id: user.id,
        email: fresh_email(C),
        created_at: base,
        expires_at,
        consumed_at: None,
    };
    let (expired_token, live_token) = (token(soon), token(later));
    for t in [&expired_token, &live_token] {
        ok(C, "insert_email_token", store.insert_email_token(t).await);
    }

    let purged = ok(C, "purge_expired", store.purge_expired(purge_at).await);
    ensure!(
        C,
        purged >= 6,
        "purge_expired returned {purged}; expected at least the 6 expired records this check \
         created (2 challenges, 2 sessions, 1 counter, 1 emailed token)"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "email_token",
            store.email_token(&expired_token.hash).await
        ),
        None,
        "an expired emailed token must be gone after purge_expired"
    );
    ensure!(
        C,
        ok(C, "email_token", store.email_token(&live_token.hash).await).is_some(),
        "a live emailed token must survive purge_expired"
    );

    for (c, what) in [
        (&expired_challenge, "an expired challenge"),
        (&expired_consumed, "an expired consumed challenge"),
    ] {
        ensure_eq!(
            C,
            ok(C, "challenge", store.challenge(c.id).await),
            None,
            "{what} must be gone after purge_expired"
        );
    }
    for (s, what) in [
        (&expired_session, "an expired active session"),
        (&expired_revoked, "an expired revoked session"),
    ] {
        ensure_eq!(
            C,
            ok(C, "session", store.session(s.id).await),
            None,
            "{what} must be gone after purge_expired"
        );
    }
    // A purged counter starts again at 1 even for a `now` inside its old window.
    ensure_eq!(
        C,
        ok(
            C,
            "hit_counter(purged key)",
            store.hit_counter(&expired_counter, later, base).await
        ),
        Counter {
            count: 1,
            resets_at: later
        },
        "an expired counter must be gone after purge_expired (a hit must start a new one)"
    );

    ensure!(
        C,
        ok(C, "challenge", store.challenge(live_challenge.id).await).is_some(),
        "a live challenge must survive purge_expired"
    );
    ensure!(
        C,
        ok(C, "challenge", store.challenge(live_consumed.id).await).is_some(),
        "a consumed challenge not yet past its expiry must survive purge_expired (replays must \
         still read as consumed)"
    );
    ensure_eq!(
        C,
        found(C, "session", store.session(live_session.id).await),
        live_session.clone(),
        "a live session must survive purge_expired unchanged"
    );
    ensure!(
        C,
        ok(C, "session", store.session(live_revoked.id).await).is_some(),
        "a revoked session not yet past expires_at must survive purge_expired (reuse detection \
         reads it)"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "hit_counter(live key)",
            store
                .hit_counter(&live_counter, later + minutes(1), purge_at)
                .await
        ),
        Counter {
            count: 2,
            resets_at: later
        },
        "a live counter must survive purge_expired"
    );
    ensure_eq!(
        C,
        ok(C, "failures", store.failures(&failure_key).await),
        1,
        "failure counts never expire by themselves and must survive purge_expired"
    );
    ensure!(
        C,
        ok(C, "user_by_id", store.user_by_id(user.id).await).is_some(),
        "users must survive purge_expired"
    );
}

// ---------------------------------------------------------------------------------------------
// concurrency

/// 32 concurrent `rotate_refresh` calls with the same expected generation: exactly one wins,
/// and the stored refresh state is the winner's.
pub async fn check_concurrent_rotate_refresh(store: Arc<dyn Store>) {
    const C: &str = "concurrent_rotate_refresh";
    let user = created_bare_user(C, store.as_ref()).await;
    let t0 = now_ms();
    let s = inserted_session(C, store.as_ref(), user.id, t0).await;
    let nexts: Vec<RefreshState> = (0..32)
        .map(|i| RefreshState {
            generation: 1,
            hash: random_hash(),
            issued_at: t0 + Duration::milliseconds(i),
        })
        .collect();

    let id = s.id;
    let results = race(C, nexts.len(), |i| {
        let store = Arc::clone(&store);
        let next = nexts.get(i).copied();
        async move {
            match next {
                Some(next) => store.rotate_refresh(id, 0, &next, next.issued_at).await,
                None => Ok(false),
            }
        }
    })
    .await;
    let wins: Vec<usize> = results
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| ok(C, "rotate_refresh", r).then_some(i))
        .collect();
    ensure_eq!(
        C,
        wins.len(),
        1,
        "of 32 concurrent rotate_refresh calls expecting generation 0, exactly one must win"
    );
    let stored = found(C, "session", store.session(s.id).await);
    if let Some(winner) = wins.first().and_then(|&i| nexts.get(i)) {
        ensure_eq!(
            C,
            stored.refresh,
            *winner,
            "the stored refresh state must be the winner's"
        );
        ensure_eq!(
            C,
            stored.last_used_at,
            winner.issued_at,
            "last_used_at must be the winner's now"
        );
    }
}

/// 32 concurrent `consume_challenge` calls: exactly one `true`, and `consumed_at` is the
/// winner's.
pub async fn check_concurrent_consume_challenge(store: Arc<dyn Store>) {
    const C: &str = "concurrent_consume_challenge";
    let c = inserted_challenge(C, store.as_ref()).await;
    let t0 = now_ms();
    let at = move |i: usize| t0 + Duration::milliseconds(i as i64);

    let id = c.id;
    let results = race(C, 32, |i| {
        let store = Arc::clone(&store);
        async move { store.consume_challenge(id, at(i)).await }
    })
    .await;
    let wins: Vec<usize> = results
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| ok(C, "consume_challenge", r).then_some(i))
        .collect();
    ensure_eq!(
        C,
        wins.len(),
        1,
        "of 32 concurrent consume_challenge calls, exactly one must return true"
    );
    let stored = found(C, "challenge", store.challenge(c.id).await);
    ensure_eq!(
        C,
        stored.consumed_at,
        wins.first().map(|&i| at(i)),
        "consumed_at must be the winner's time"
    );
}

/// 32 concurrent `claim_challenge_attempt` calls with `max_attempts` 5: exactly 5 are granted,
/// numbered 1 to 5, and `attempts` ends at 5.
pub async fn check_concurrent_claim_challenge_attempt(store: Arc<dyn Store>) {
    const C: &str = "concurrent_claim_challenge_attempt";
    let c = inserted_challenge(C, store.as_ref()).await;

    let id = c.id;
    let results = race(C, 32, |_| {
        let store = Arc::clone(&store);
        async move { store.claim_challenge_attempt(id, 5).await }
    })
    .await;
    let mut granted: Vec<u32> = results
        .into_iter()
        .filter_map(|r| ok(C, "claim_challenge_attempt", r))
        .collect();
    granted.sort_unstable();
    ensure_eq!(
        C,
        granted,
        vec![1, 2, 3, 4, 5],
        "of 32 concurrent claims with max_attempts 5, exactly 5 must be granted, returning 1 to \
         5 once each"
    );
    ensure_eq!(
        C,
        found(C, "challenge", store.challenge(c.id).await).attempts,
        5,
        "attempts after 32 concurrent claims with max_attempts 5"
    );
}

/// 32 concurrent `hit_counter` calls on one key: the returned counts are exactly 1 to 32, all
/// with the same `resets_at`.
pub async fn check_concurrent_hit_counter(store: Arc<dyn Store>) {
    const C: &str = "concurrent_hit_counter";
    let key = Arc::new(fresh_key("concurrent-hits"));
    let now = now_ms();
    let window_ends = now + minutes(10);

    let results = race(C, 32, |_| {
        let store = Arc::clone(&store);
        let key = Arc::clone(&key);
        async move { store.hit_counter(&key, window_ends, now).await }
    })
    .await;
    let counters: Vec<Counter> = results
        .into_iter()
        .map(|r| ok(C, "hit_counter", r))
        .collect();
    let mut counts: Vec<u64> = counters.iter().map(|c| c.count).collect();
    counts.sort_unstable();
    ensure_eq!(
        C,
        counts,
        (1..=32).collect::<Vec<u64>>(),
        "32 concurrent hits on one key must return the counts 1 to 32 once each"
    );
    ensure!(
        C,
        counters.iter().all(|c| c.resets_at == window_ends),
        "every concurrent hit must report resets_at = {window_ends}; got {:?}",
        counters.iter().map(|c| c.resets_at).collect::<Vec<_>>()
    );
}

/// 16 concurrent `create_user` calls with the same phone (then email, then username): exactly
/// one succeeds, the others fail with the matching `Conflict`, and the lookup finds the
/// winner.
pub async fn check_concurrent_create_user(store: Arc<dyn Store>) {
    const C: &str = "concurrent_create_user";
    let phone = fresh_phone(C, store.as_ref()).await;
    let email = fresh_email(C);
    let username = fresh_username(C);

    for field in [
        UniqueField::Phone,
        UniqueField::Email,
        UniqueField::Username,
    ] {
        let users: Vec<User> = (0..16)
            .map(|_| {
                let mut u = User::new(UserId::new_random(), now_ms());
                match field {
                    UniqueField::Phone => u.phone = Some(phone.clone()),
                    UniqueField::Email => u.email = Some(email.clone()),
                    UniqueField::Username | UniqueField::Id => {
                        u.username = Some(username.clone());
                    }
                }
                u
            })
            .collect();
        let users = Arc::new(users);
        let results = race(C, users.len(), |i| {
            let store = Arc::clone(&store);
            let users = Arc::clone(&users);
            async move {
                match users.get(i) {
                    Some(u) => store.create_user(u).await,
                    None => Ok(()),
                }
            }
        })
        .await;

        let mut winners = Vec::new();
        for (i, result) in results.into_iter().enumerate() {
            match result {
                Ok(()) => winners.push(i),
                Err(StoreError::Conflict(f)) if f == field => {}
                Err(e) => fail(
                    C,
                    format_args!(
                        "concurrent create_user with the same {field:?} returned Err({e:?}); \
                         expected Ok or Err(Conflict({field:?}))"
                    ),
                ),
            }
        }
        ensure_eq!(
            C,
            winners.len(),
            1,
            "of 16 concurrent create_user calls with the same {field:?}, exactly one must \
             succeed"
        );
        let winner = winners.first().and_then(|&i| users.get(i)).map(|u| u.id);
        let holder = match field {
            UniqueField::Phone => store.user_by_phone(&phone).await,
            UniqueField::Email => store.user_by_email(&email).await,
            UniqueField::Username | UniqueField::Id => store.user_by_username(&username).await,
        };
        ensure_eq!(
            C,
            found(C, "lookup of the contested value", holder).id,
            winner.unwrap_or_else(UserId::new_random),
            "the contested {field:?} must belong to the winner"
        );
        for (i, u) in users.iter().enumerate() {
            if !winners.contains(&i) {
                ensure_eq!(
                    C,
                    ok(C, "user_by_id", store.user_by_id(u.id).await),
                    None,
                    "a user whose create_user lost the race on {field:?} must not be stored"
                );
            }
        }
    }
}

/// 16 existing users concurrently `update_user` to take the same free phone: exactly one
/// succeeds, the others fail with `Conflict(Phone)` and keep their old phone.
pub async fn check_concurrent_update_user(store: Arc<dyn Store>) {
    const C: &str = "concurrent_update_user";
    let target = fresh_phone(C, store.as_ref()).await;
    let mut originals = Vec::with_capacity(16);
    for _ in 0..16 {
        let mut u = User::new(UserId::new_random(), now_ms());
        u.phone = Some(fresh_phone(C, store.as_ref()).await);
        ok(C, "create_user", store.create_user(&u).await);
        originals.push(u);
    }
    let originals = Arc::new(originals);

    let results = race(C, originals.len(), |i| {
        let store = Arc::clone(&store);
        let originals = Arc::clone(&originals);
        let target = target.clone();
        async move {
            match originals.get(i) {
                Some(u) => {
                    let mut changed = u.clone();
                    changed.phone = Some(target);
                    store.update_user(&changed).await
                }
                None => Ok(false),
            }
        }
    })
    .await;

    let mut winners = Vec::new();
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok(true) => winners.push(i),
            Err(StoreError::Conflict(UniqueField::Phone)) => {}
            other => fail(
                C,
                format_args!(
                    "concurrent update_user taking the same phone returned {other:?}; expected \
                     Ok(true) or Err(Conflict(Phone))"
                ),
            ),
        }
    }
    ensure_eq!(
        C,
        winners.len(),
        1,
        "of 16 concurrent update_user calls taking the same free phone, exactly one must succeed"
    );
    let holder = found(C, "user_by_phone", store.user_by_phone(&target).await);
    for (i, u) in originals.iter().enumerate() {
        let stored = found(C, "user_by_id", store.user_by_id(u.id).await);
        if winners.contains(&i) {
            ensure_eq!(
                C,
                holder.id,
                u.id,
                "the contested phone must belong to the winner"
            );
            ensure_eq!(
                C,
                stored.phone.as_ref(),
                Some(&target),
                "the winner's stored phone"
            );
            if let Some(old) = &u.phone {
                ensure_eq!(
                    C,
                    ok(
                        C,
                        "user_by_phone(old phone)",
                        store.user_by_phone(old).await
                    ),
                    None,
                    "the winner's old phone must be free"
                );
            }
        } else {
            ensure_eq!(
                C,
                &stored,
                u,
                "a user whose update_user lost the race must be unchanged"
            );
        }
    }
}

/// 32 concurrent `add_failure` calls on one key: they return 1 to 32 once each and the count
/// ends at 32.
pub async fn check_concurrent_add_failure(store: Arc<dyn Store>) {
    const C: &str = "concurrent_add_failure";
    let key = Arc::new(fresh_key("concurrent-failures"));
    let results = race(C, 32, |_| {
        let store = Arc::clone(&store);
        let key = Arc::clone(&key);
        async move { store.add_failure(&key).await }
    })
    .await;
    let mut counts: Vec<u32> = results
        .into_iter()
        .map(|r| ok(C, "add_failure", r))
        .collect();
    counts.sort_unstable();
    ensure_eq!(
        C,
        counts,
        (1..=32).collect::<Vec<u32>>(),
        "32 concurrent add_failure calls must return 1 to 32 once each"
    );
    ensure_eq!(
        C,
        ok(C, "failures", store.failures(&key).await),
        32,
        "failures after 32 concurrent add_failure calls"
    );
}

/// 16 concurrent `record_login` calls on one user: `login_count` ends at 16 and the current
/// login is one of them.
pub async fn check_concurrent_record_login(store: Arc<dyn Store>) {
    const C: &str = "concurrent_record_login";
    let user = created_bare_user(C, store.as_ref()).await;
    let t0 = now_ms();
    let at = move |i: usize| t0 + Duration::milliseconds(i as i64);
    let id = user.id;
    let results = race(C, 16, |i| {
        let store = Arc::clone(&store);
        async move { store.record_login(id, at(i), Some(ipv4())).await }
    })
    .await;
    for r in results {
        ensure_eq!(
            C,
            ok(C, "record_login", r),
            true,
            "record_login of an existing user"
        );
    }
    let stored = found(C, "user_by_id", store.user_by_id(user.id).await);
    ensure_eq!(
        C,
        stored.login_count,
        16,
        "login_count after 16 concurrent record_login calls (lost updates?)"
    );
    let times: Vec<DateTime<Utc>> = (0..16).map(at).collect();
    ensure!(
        C,
        stored.current_login_at.is_some_and(|t| times.contains(&t))
            && stored.last_login_at.is_some_and(|t| times.contains(&t))
            && stored.current_login_at != stored.last_login_at,
        "after concurrent logins, current and last login must be two different ones of them; \
         got current {:?}, last {:?}",
        stored.current_login_at,
        stored.last_login_at
    );
}

/// 32 concurrent `revoke_session` calls on one session: exactly one returns `true`.
pub async fn check_concurrent_revoke_session(store: Arc<dyn Store>) {
    const C: &str = "concurrent_revoke_session";
    let user = created_bare_user(C, store.as_ref()).await;
    let t0 = now_ms();
    let s = inserted_session(C, store.as_ref(), user.id, t0).await;
    let at = move |i: usize| t0 + Duration::milliseconds(i as i64);
    let id = s.id;
    let results = race(C, 32, |i| {
        let store = Arc::clone(&store);
        async move { store.revoke_session(id, at(i), RevokeReason::Admin).await }
    })
    .await;
    let wins: Vec<usize> = results
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| ok(C, "revoke_session", r).then_some(i))
        .collect();
    ensure_eq!(
        C,
        wins.len(),
        1,
        "of 32 concurrent revoke_session calls, exactly one must return true"
    );
    ensure_eq!(
        C,
        found(C, "session", store.session(s.id).await).status,
        SessionStatus::Revoked {
            at: wins.first().map_or(t0, |&i| at(i)),
            reason: RevokeReason::Admin
        },
        "the stored revocation must be the winner's"
    );
}
