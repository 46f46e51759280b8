//! `RedisSessionEvents`: two app instances (two `Auth`s with a session cache, on one store
//! prefix) on the shared Redis and on the Redis Cluster (`REDIS_CLUSTER_URLS`). A logout on
//! one is refused by the other within a second although its cache would keep the answer for
//! a minute; a subscription killed on the server (`CLIENT KILL`) empties the cache at once and
//! subscribes again, after which events flow again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use auth_core::api::{ClientInfo, RegisterRequest, TokenPair};
use auth_core::phone::Phone;
use auth_core::session::RevokeReason;
use auth_core::session_cache::SessionCacheConfig;
use auth_core::store::SessionStore;
use auth_core::testkit::{FakeSms, TestKit};
use auth_core::{Auth, AuthError, SystemClock};
use chrono::Utc;
use store_redis::RedisStore;

/// An instance whose cache keeps answers for a minute: only an event (or a lost
/// subscription) makes it read the store again sooner.
fn instance(store: &RedisStore, sms: &FakeSms) -> Auth {
    Auth::builder(TestKit::config())
        .store(store.clone())
        .sms(sms.clone())
        .clock(SystemClock)
        .session_cache(
            store.session_events(),
            SessionCacheConfig::default().max_age(Duration::from_secs(60)),
        )
        .build()
        .unwrap()
}

async fn sign_in(auth: &Auth, sms: &FakeSms) -> TokenPair {
    let digits = uuid::Uuid::new_v4().as_u128() % 10_000_000;
    let phone = Phone::parse(&format!("+1555{digits:07}"), false).unwrap();
    let client = ClientInfo::default();
    let request = RegisterRequest {
        phone: Some(phone.as_str().to_owned()),
        ..Default::default()
    };
    let _ = auth
        .register(request.parse(auth.config()).unwrap(), &client)
        .await
        .unwrap();
    let sent = auth.start_sms_login(&phone, &client).await.unwrap();
    let code = sms.last_code_for(phone.as_str()).unwrap();
    auth.verify_sms(sent.challenge_id, &code, &client)
        .await
        .unwrap()
}

/// Polls until `auth` refuses the token as revoked; panics after `within`.
async fn refused_within(auth: &Auth, tokens: &TokenPair, within: Duration, what: &str) {
    let start = Instant::now();
    loop {
        match auth.authenticate(tokens.access_token.expose()).await {
            Err(AuthError::TokenRevoked) => return,
            Ok(_) => assert!(
                start.elapsed() < within,
                "{what}: still accepted after {within:?}"
            ),
            Err(e) => panic!("{what}: {e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The ids of the subscribed pub/sub connections named `name`, on each node.
async fn subscriptions(nodes: &[String], name: &str) -> Vec<(String, u64)> {
    let mut found = Vec::new();
    for node in nodes {
        let mut conn = common::node_connection(node).await;
        let list: String = redis::cmd("CLIENT")
            .arg("LIST")
            .arg("TYPE")
            .arg("pubsub")
            .query_async(&mut conn)
            .await
            .unwrap();
        for line in list.lines() {
            let field = |key: &str| {
                line.split(' ')
                    .find_map(|f| f.strip_prefix(key).map(str::to_owned))
            };
            if field("name=").as_deref() == Some(name) && field("sub=").as_deref() == Some("1") {
                found.push((node.clone(), field("id=").unwrap().parse().unwrap()));
            }
        }
    }
    found
}

async fn wait_for_subscriptions(nodes: &[String], name: &str, count: usize) {
    let start = Instant::now();
    while subscriptions(nodes, name).await.len() < count {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{count} subscriptions named {name} never appeared"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The scenario on `store` (whose subscriptions live on `nodes`).
async fn two_instances(store: RedisStore, nodes: Vec<String>) {
    let sms = FakeSms::new();
    let (a, b) = (instance(&store, &sms), instance(&store, &sms));
    let name = store.session_events().client_name().to_owned();
    let (first, second) = (sign_in(&a, &sms).await, sign_in(&a, &sms).await);
    // The first checks subscribe each instance.
    let _ = a.authenticate(first.access_token.expose()).await.unwrap();
    let _ = b.authenticate(first.access_token.expose()).await.unwrap();
    wait_for_subscriptions(&nodes, &name, 2).await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    // b caches `second`; revoked in the store without an event, b keeps accepting it: the
    // cache answers (so the refusals below come from events, not from the store).
    let second_user = b.authenticate(second.access_token.expose()).await.unwrap();
    let _ = b.authenticate(second.access_token.expose()).await.unwrap();
    let revoked = store
        .revoke_session(
            second_user.session_id.unwrap(),
            Utc::now(),
            RevokeReason::Admin,
        )
        .await
        .unwrap();
    assert!(revoked);
    let _ = b.authenticate(second.access_token.expose()).await.unwrap();

    // A logout on a: refused on b within a second, by the event.
    let _ = b.authenticate(first.access_token.expose()).await.unwrap();
    let principal = a.authenticate(first.access_token.expose()).await.unwrap();
    a.logout(&principal, &ClientInfo::default()).await.unwrap();
    refused_within(&b, &first, Duration::from_secs(1), "logged out on a").await;
    // `second` is still served from b's cache (no event named it).
    let _ = b.authenticate(second.access_token.expose()).await.unwrap();

    // The subscriptions are killed on the server: b's cache empties at once (it refuses
    // `second`, now read from the store), and both subscribe again.
    for (node, id) in subscriptions(&nodes, &name).await {
        let mut conn = common::node_connection(&node).await;
        let killed: u64 = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("ID")
            .arg(id)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(killed, 1);
    }
    refused_within(
        &b,
        &second,
        Duration::from_secs(1),
        "cached when the subscription died",
    )
    .await;
    wait_for_subscriptions(&nodes, &name, 2).await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Events flow again through the new subscriptions.
    let third = sign_in(&a, &sms).await;
    let _ = b.authenticate(third.access_token.expose()).await.unwrap();
    let _ = b.authenticate(third.access_token.expose()).await.unwrap();
    let principal = a.authenticate(third.access_token.expose()).await.unwrap();
    a.logout(&principal, &ClientInfo::default()).await.unwrap();
    refused_within(
        &b,
        &third,
        Duration::from_secs(1),
        "logged out after the reconnection",
    )
    .await;

    // Dropping both instances ends their subscription tasks (checked every second).
    drop((a, b));
    let start = Instant::now();
    while !subscriptions(&nodes, &name).await.is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "subscriptions outlived their Auth"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn session_events_on_a_single_redis() {
    common::with_fresh_prefix("events", |prefix| async move {
        let store = common::store_at(&prefix).await;
        two_instances(store, vec![common::redis_url()]).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn session_events_on_the_cluster() {
    let prefix = common::fresh_prefix("cluster-events");
    let store = common::cluster_store_at(&prefix).await;
    let outcome = tokio::spawn(two_instances(store.clone(), common::cluster_urls())).await;
    let _ = store.clear_prefix().await.unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
