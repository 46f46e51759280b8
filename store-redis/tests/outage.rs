//! Redis going away mid-run, on a private `redis-server` child process (never the shared
//! Redis other tests use): every call fails promptly with `StoreError::Unavailable` (the core
//! answers `store_unavailable`, 503), nothing hangs or panics, and the same store instance
//! works again once Redis is back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::future::Future;
use std::time::{Duration, Instant};

use auth_core::account::User;
use auth_core::api::{ClientInfo, RegisterRequest};
use auth_core::ids::{SessionId, UserId};
use auth_core::phone::Phone;
use auth_core::secret::SecretHash;
use auth_core::session::RefreshState;
use auth_core::store::{CounterStore, Failures, SessionStore, Store, StoreError, UserStore};
use auth_core::testkit::{FakeSms, ManualClock, TestKit};
use auth_core::{Auth, AuthError};
use chrono::Utc;
use common::PrivateRedis;
use store_redis::{RedisStore, RedisStoreConfig};

/// One failure of `key` now, expiring in an hour.
async fn add_failure(store: &RedisStore, key: &str) -> Result<Failures, StoreError> {
    let now = Utc::now();
    store
        .add_failure(key, now, now + chrono::Duration::hours(1))
        .await
}

/// How long a call may take to report an outage.
const PROMPT: Duration = Duration::from_secs(3);

fn config(server: &PrivateRedis) -> RedisStoreConfig {
    RedisStoreConfig::new(server.url())
        .prefix("outage-test:")
        .connection_timeout(Duration::from_millis(500))
        .response_timeout(Duration::from_secs(1))
        .operation_timeout(Duration::from_secs(2))
}

/// Awaits `call` and asserts it failed with `Unavailable` within [`PROMPT`].
async fn fails_promptly<T: std::fmt::Debug>(
    what: &str,
    call: impl Future<Output = Result<T, StoreError>>,
) {
    let started = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(30), call)
        .await
        .unwrap_or_else(|_| panic!("{what} hung while Redis was down"));
    let took = started.elapsed();
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{what} while Redis was down returned {result:?}; expected Unavailable"
    );
    assert!(took < PROMPT, "{what} took {took:?} to report the outage");
}

/// Retries `ping` until it succeeds, for at most `within`.
async fn recovers(store: &RedisStore, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        match store.ping().await {
            Ok(()) => return,
            Err(e) if Instant::now() < deadline => {
                eprintln!("not yet reconnected: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the store did not reconnect within {within:?}: {e}"),
        }
    }
}

fn phone() -> Phone {
    Phone::parse("+15550007777", false).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_fails_fast_while_redis_is_down_and_recovers_without_a_restart() {
    let mut server = PrivateRedis::start();
    let store = RedisStore::connect(config(&server)).await.unwrap();
    let mut user = User::new(UserId::new_random(), Utc::now());
    user.phone = Some(phone());
    store.create_user(&user).await.unwrap();
    assert!(store.user_by_id(user.id).await.unwrap().is_some());

    server.kill();

    // Several rounds, so calls made while a reconnection is pending or has failed are covered.
    for _ in 0..3 {
        let now = Utc::now();
        fails_promptly("user_by_id", store.user_by_id(user.id)).await;
        fails_promptly("user_by_phone", store.user_by_phone(&phone())).await;
        fails_promptly(
            "create_user",
            store.create_user(&User::new(UserId::new_random(), now)),
        )
        .await;
        fails_promptly(
            "rotate_refresh",
            store.rotate_refresh(
                SessionId::new_random(),
                0,
                &RefreshState {
                    generation: 1,
                    hash: SecretHash::from_bytes([1; 32]),
                    issued_at: now,
                },
                now,
            ),
        )
        .await;
        fails_promptly("hit_counter", store.hit_counter("k", now, now)).await;
        fails_promptly("add_failure", add_failure(&store, "k")).await;
        fails_promptly("sessions_of_user", store.sessions_of_user(user.id)).await;
        fails_promptly("purge_expired", store.purge_expired(now)).await;
        fails_promptly("ping", store.ping()).await;
    }

    // Back on the same port, empty (no persistence): the same instance reconnects and the
    // scripts are loaded again on first use.
    server.restart();
    recovers(&store, Duration::from_secs(10)).await;
    assert_eq!(
        store.user_by_id(user.id).await.unwrap(),
        None,
        "a fresh server"
    );
    store.create_user(&user).await.unwrap();
    assert_eq!(
        store.user_by_phone(&phone()).await.unwrap(),
        Some(user.clone())
    );
    assert_eq!(add_failure(&store, "k").await.unwrap().count, 1);

    // A second outage is handled the same way.
    server.kill();
    fails_promptly("user_by_phone", store.user_by_phone(&phone())).await;
    server.restart();
    recovers(&store, Duration::from_secs(10)).await;
    assert_eq!(store.user_by_phone(&phone()).await.unwrap(), None);
}

/// A server that hangs (process frozen, connection open) makes calls time out instead of
/// waiting forever; once it answers again the same connection carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_time_out_while_redis_hangs() {
    let server = PrivateRedis::start();
    let store = RedisStore::connect(config(&server)).await.unwrap();
    assert_eq!(store.failures("k", Utc::now()).await.unwrap(), None);

    server.freeze();
    fails_promptly("failures", store.failures("k", Utc::now())).await;
    fails_promptly("add_failure", add_failure(&store, "k")).await;
    fails_promptly("user_by_phone", store.user_by_phone(&phone())).await;

    server.thaw();
    recovers(&store, Duration::from_secs(10)).await;
    // The add_failure sent before the freeze may or may not have been applied (it failed
    // from the caller's view, which is the safe side); the store counts on from there.
    let before = store
        .failures("k", Utc::now())
        .await
        .unwrap()
        .map_or(0, |f| f.count);
    assert!(before <= 1, "{before}");
    assert_eq!(add_failure(&store, "k").await.unwrap().count, before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_to_a_stopped_server_fails_promptly() {
    let mut server = PrivateRedis::start();
    let config = config(&server);
    server.kill();

    let started = Instant::now();
    let result = RedisStore::connect(config.clone()).await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    assert!(started.elapsed() < PROMPT, "took {:?}", started.elapsed());

    // A lazily built store can be created while Redis is down, fails until it is up, and
    // then works.
    let lazy = RedisStore::connect_lazy(config).unwrap();
    fails_promptly("user_by_id", lazy.user_by_id(UserId::new_random())).await;
    server.restart();
    recovers(&lazy, Duration::from_secs(10)).await;
    assert_eq!(lazy.user_by_id(UserId::new_random()).await.unwrap(), None);
}

/// Through the core: with Redis stopped, flows answer `store_unavailable` (503) and never
/// succeed, and the same `Auth` works again once Redis is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_answers_store_unavailable_while_redis_is_down() {
    let mut server = PrivateRedis::start();
    let store = RedisStore::connect(config(&server)).await.unwrap();
    let sms = FakeSms::new();
    let auth = Auth::builder(TestKit::config())
        .store(store)
        .sms(sms.clone())
        .clock(ManualClock::new())
        .build()
        .unwrap();
    let client = ClientInfo::default();
    let register = |phone: &str| RegisterRequest {
        phone: Some(phone.to_owned()),
        ..Default::default()
    };
    let login = async |auth: &Auth| {
        let sent = auth.start_sms_login(&phone(), &client).await?;
        let code = sms.last_code_for(phone().as_str()).unwrap();
        auth.verify_sms(sent.challenge_id, &code, &client).await
    };
    let _ = auth
        .register(
            register(phone().as_str()).parse(auth.config()).unwrap(),
            &client,
        )
        .await
        .unwrap();
    let tokens = login(&auth).await.unwrap();
    let sms_before = sms.count();

    server.kill();

    let started = Instant::now();
    let unavailable = |what: &str, err: AuthError| {
        assert_eq!(err, AuthError::StoreUnavailable, "{what}");
        assert_eq!(
            (err.code(), err.status()),
            ("store_unavailable", 503),
            "{what}"
        );
    };
    unavailable(
        "start_sms_login",
        auth.start_sms_login(&phone(), &client).await.unwrap_err(),
    );
    unavailable(
        "register",
        auth.register(
            register("+15550008888").parse(auth.config()).unwrap(),
            &client,
        )
        .await
        .unwrap_err(),
    );
    unavailable(
        "refresh",
        auth.refresh(tokens.refresh_token.expose(), &client)
            .await
            .unwrap_err(),
    );
    unavailable(
        "authenticate",
        auth.authenticate(tokens.access_token.expose())
            .await
            .unwrap_err(),
    );
    assert!(
        started.elapsed() < 4 * PROMPT,
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(
        sms.count(),
        sms_before,
        "no SMS goes out while the store is down"
    );

    // Back, but empty (no persistence): the old session is unknown, not accepted.
    server.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match auth
            .register(
                register(phone().as_str()).parse(auth.config()).unwrap(),
                &client,
            )
            .await
        {
            Ok(_) => break,
            Err(AuthError::StoreUnavailable) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the flow did not recover: {e:?}"),
        }
    }
    assert!(
        auth.refresh(tokens.refresh_token.expose(), &client)
            .await
            .is_err()
    );
    let fresh = login(&auth).await.unwrap();
    let _ = auth
        .authenticate(fresh.access_token.expose())
        .await
        .unwrap();
}
