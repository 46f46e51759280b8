//! The session cache across instances: two `Auth`s on one store, each with a cache, joined by
//! a `LocalEventBus`. Every revoking change made on one is refused on the other as soon as
//! the event arrives; a lost event is bounded by `max_age`; a dropped subscription turns the
//! cache off until it is back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use auth_core::api::TokenPair;
use auth_core::session_cache::SessionCacheConfig;
use auth_core::testkit::{LocalEventBus, TestKit};
use auth_core::{Auth, AuthConfig, AuthError};

use common::{PHONE, client};

/// The test kit's store, SMS outbox and clock, shared by two instances with caches.
struct TwoInstances {
    kit: TestKit,
    bus: LocalEventBus,
    a: Auth,
    b: Auth,
}

fn instance(
    kit: &TestKit,
    bus: &LocalEventBus,
    config: AuthConfig,
    cache: SessionCacheConfig,
) -> Auth {
    Auth::builder(config)
        .store(kit.store.clone())
        .one_time_tokens(kit.store.clone())
        .sms(kit.sms.clone())
        .mail(kit.mail.clone())
        .clock(kit.clock.clone())
        .session_cache(bus.clone(), cache)
        .build()
        .unwrap()
}

fn two_instances_with(config: impl Fn() -> AuthConfig, cache: SessionCacheConfig) -> TwoInstances {
    let kit = TestKit::new();
    let bus = LocalEventBus::new();
    let a = instance(&kit, &bus, config(), cache);
    let b = instance(&kit, &bus, config(), cache);
    TwoInstances { kit, bus, a, b }
}

fn two_instances() -> TwoInstances {
    two_instances_with(TestKit::config, SessionCacheConfig::default())
}

impl TwoInstances {
    /// Signs in on instance A and checks the token once on each instance, so both have
    /// subscribed and cached the answer.
    async fn signed_in(&self, phone: &str) -> TokenPair {
        let tokens = self.kit.sign_in_by_sms(phone).await.unwrap();
        for auth in [&self.a, &self.b] {
            auth.authenticate(tokens.access_token.expose())
                .await
                .unwrap();
        }
        tokens
    }
}

/// Polls `auth` until it refuses `token`, and returns how long that took; fails after `limit`.
async fn refused_within(auth: &Auth, token: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        match auth.authenticate(token).await {
            Err(AuthError::TokenRevoked) => return start.elapsed(),
            Err(e) => panic!("expected token_revoked, got {e:?}"),
            Ok(_) if start.elapsed() > limit => {
                panic!("still accepted {:?} after the change", start.elapsed())
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_checks_are_answered_without_the_store() {
    let t = two_instances();
    let tokens = t.signed_in(PHONE).await;
    // Both instances have checked the token once; take the store away: B answers from its
    // cache, while a session it has not seen fails closed.
    t.kit.store.set_unavailable(true);
    let me =
        t.b.authenticate(tokens.access_token.expose())
            .await
            .unwrap();
    assert_eq!(me.user_id, tokens.user_id);
    t.kit.store.set_unavailable(false);
    let other = t.kit.sign_in_by_sms("+15557654321").await.unwrap();
    t.kit.store.set_unavailable(true);
    assert!(matches!(
        t.b.authenticate(other.access_token.expose()).await,
        Err(AuthError::StoreUnavailable)
    ));
    // That failure emptied B's cache: the outage now fails closed for every session.
    assert!(matches!(
        t.b.authenticate(tokens.access_token.expose()).await,
        Err(AuthError::StoreUnavailable)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_on_one_instance_is_refused_on_the_other_when_the_event_arrives() {
    let t = two_instances();
    let tokens = t.signed_in(PHONE).await;
    let principal =
        t.a.authenticate(tokens.access_token.expose())
            .await
            .unwrap();
    t.a.logout(&principal, &client()).await.unwrap();
    // On A at once (applied locally before logout returned).
    assert!(matches!(
        t.a.authenticate(tokens.access_token.expose()).await,
        Err(AuthError::TokenRevoked)
    ));
    // On B as soon as the event is delivered: far below max_age.
    let took = refused_within(
        &t.b,
        tokens.access_token.expose(),
        Duration::from_millis(500),
    )
    .await;
    assert!(
        t.bus.delivered() >= 1,
        "B refused without the event: was it cached at all?"
    );
    eprintln!("refused on the other instance after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_revoking_change_reaches_the_other_instance() {
    let t = two_instances();

    // Logout everywhere else (a User event).
    let keep = t.signed_in(PHONE).await;
    t.kit.clock.advance(Duration::from_secs(61)); // past the SMS resend interval
    let other = t.signed_in(PHONE).await;
    let principal = t.a.authenticate(keep.access_token.expose()).await.unwrap();
    t.a.logout_all_other_sessions(&principal, &client())
        .await
        .unwrap();
    refused_within(
        &t.b,
        other.access_token.expose(),
        Duration::from_millis(500),
    )
    .await;
    t.b.authenticate(keep.access_token.expose()).await.unwrap();

    // An administrator's revocation of one session.
    t.a.admin_revoke_session(principal.session_id.unwrap())
        .await
        .unwrap();
    refused_within(&t.b, keep.access_token.expose(), Duration::from_millis(500)).await;

    // A role taken away: B sees the new roles, not its cached ones.
    let tokens = t.signed_in("+15557654321").await;
    t.a.grant_role(tokens.user_id, "admin").await.unwrap();
    let start = Instant::now();
    while t
        .b
        .authorize(tokens.access_token.expose(), "admin")
        .await
        .is_err()
    {
        assert!(
            start.elapsed() < Duration::from_millis(500),
            "the grant never reached B"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    t.a.revoke_role(tokens.user_id, "admin").await.unwrap();
    let start = Instant::now();
    while t
        .b
        .authorize(tokens.access_token.expose(), "admin")
        .await
        .is_ok()
    {
        assert!(
            start.elapsed() < Duration::from_millis(500),
            "B still grants the revoked role"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

    // A disabled account.
    t.a.disable_user(tokens.user_id).await.unwrap();
    refused_within(
        &t.b,
        tokens.access_token.expose(),
        Duration::from_millis(500),
    )
    .await;

    // Refresh-token reuse: the replayed token revokes the session everywhere.
    let tokens = t.signed_in("+15550001111").await;
    let _rotated =
        t.a.refresh(tokens.refresh_token.expose(), &client())
            .await
            .unwrap();
    t.b.authenticate(tokens.access_token.expose())
        .await
        .unwrap();
    t.kit.clock.advance(Duration::from_secs(11)); // past the refresh grace window
    let replay = t.a.refresh(tokens.refresh_token.expose(), &client()).await;
    assert!(
        replay.is_err(),
        "a replayed refresh token was accepted: {replay:?}"
    );
    refused_within(
        &t.b,
        tokens.access_token.expose(),
        Duration::from_millis(500),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_event_is_bounded_by_max_age() {
    let max_age = Duration::from_millis(300);
    let t = two_instances_with(
        TestKit::config,
        SessionCacheConfig::default().max_age(max_age),
    );
    let tokens = t.signed_in(PHONE).await;
    t.b.authenticate(tokens.access_token.expose())
        .await
        .unwrap();
    let cached_at = Instant::now();

    t.bus.lose_messages(true);
    let principal =
        t.a.authenticate(tokens.access_token.expose())
            .await
            .unwrap();
    t.a.logout(&principal, &client()).await.unwrap();
    // B has not heard: it answers from its cache (this is what the bound is for) ...
    assert!(t.b.authenticate(tokens.access_token.expose()).await.is_ok());
    // ... but never longer than max_age after it read the session.
    refused_within(&t.b, tokens.access_token.expose(), max_age * 2).await;
    assert!(
        cached_at.elapsed() <= max_age + Duration::from_millis(200),
        "refused only {:?} after the answer was cached",
        cached_at.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_live_subscription_every_check_goes_to_the_store() {
    let t = two_instances();
    let tokens = t.signed_in(PHONE).await;

    // The subscription drops: B's cache empties and stays off, so the logout (whose event is
    // lost while the bus is down) is refused at once.
    t.bus.set_connected(false);
    tokio::time::sleep(Duration::from_millis(50)).await;
    t.kit.store.set_unavailable(true);
    assert!(
        matches!(
            t.b.authenticate(tokens.access_token.expose()).await,
            Err(AuthError::StoreUnavailable)
        ),
        "B answered from its cache without a subscription"
    );
    t.kit.store.set_unavailable(false);
    let principal =
        t.a.authenticate(tokens.access_token.expose())
            .await
            .unwrap();
    t.a.logout(&principal, &client()).await.unwrap();
    assert!(matches!(
        t.b.authenticate(tokens.access_token.expose()).await,
        Err(AuthError::TokenRevoked)
    ));

    // Back up: B caches again.
    t.bus.set_connected(true);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let fresh = t.signed_in("+15557654321").await;
    t.kit.store.set_unavailable(true);
    t.b.authenticate(fresh.access_token.expose()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_session_expires_by_the_clock() {
    let t = two_instances_with(
        || {
            let mut config = TestKit::config();
            config.session.idle_timeout_secs = 3600;
            config.access.ttl_secs = 7200;
            config
        },
        SessionCacheConfig::default().max_age(Duration::from_secs(30)),
    );
    let tokens = t.signed_in(PHONE).await;
    t.kit.clock.advance(Duration::from_secs(3601));
    assert!(matches!(
        t.b.authenticate(tokens.access_token.expose()).await,
        Err(AuthError::TokenExpired)
    ));
}

#[test]
fn a_max_age_over_a_minute_is_refused() {
    let kit = TestKit::new();
    let built = Auth::builder(TestKit::config())
        .store(kit.store.clone())
        .sms(kit.sms.clone())
        .session_cache(
            LocalEventBus::new(),
            SessionCacheConfig::default().max_age(Duration::from_secs(61)),
        )
        .build();
    assert!(built.is_err());
}
