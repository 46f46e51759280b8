//! Session events over `LISTEN/NOTIFY` (`PgSessionEvents`): what is published arrives on the
//! schema's channel and only there, and two app instances with session caches on one schema
//! keep each other's caches right: a logout on one is refused by the other at once (not
//! after the cache's `max_age`), and a killed listening connection empties the cache and
//! comes back by itself.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use auth_core::api::{ClientInfo, RegisterRequest, TokenPair};
use auth_core::ids::SessionId;
use auth_core::phone::Phone;
use auth_core::session_cache::{SessionCacheConfig, SessionEvent, SessionEventBus as _};
use auth_core::testkit::{FakeSms, TestKit};
use auth_core::{Auth, SystemClock};
use store_postgres::PgStore;
use tokio_postgres::AsyncMessage;

/// `publish` is a `NOTIFY` on `<schema>.session_events` carrying the encoded event; a
/// listener on another schema's channel hears nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_events_arrive_on_the_schema_channel_only() {
    common::with_fresh_schema(|schema| async move {
        let store = common::store_in(&schema).await;
        let bus = store.session_events();
        assert_eq!(bus.channel(), format!("{schema}.session_events"));
        let other = store_postgres::PgStoreConfig::new(common::database_url())
            .schema("auth_test_other_channel");
        let other_channel = format!("{}.session_events", other.schema_name());

        let (client, mut connection) =
            tokio_postgres::connect(&common::database_url(), tokio_postgres::NoTls)
                .await
                .unwrap();
        let (sender, mut received) = tokio::sync::mpsc::unbounded_channel();
        let _driver = tokio::spawn(async move {
            while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                if let Ok(AsyncMessage::Notification(n)) = message {
                    let _ = sender.send((n.channel().to_owned(), n.payload().to_owned()));
                }
            }
        });
        client
            .batch_execute(&format!(
                "LISTEN \"{}\"; LISTEN \"{other_channel}\"",
                bus.channel()
            ))
            .await
            .unwrap();

        let event = SessionEvent::Session(SessionId::new_random());
        bus.publish(event).await.unwrap();
        let (channel, payload) = tokio::time::timeout(Duration::from_secs(2), received.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(channel, bus.channel());
        assert_eq!(SessionEvent::decode(&payload), Some(event));
        // Nothing else came, on either channel.
        assert!(
            tokio::time::timeout(Duration::from_millis(300), received.recv())
                .await
                .is_err()
        );
    })
    .await;
}

fn random_phone() -> Phone {
    let digits = (uuid::Uuid::new_v4().as_u128() % 10_000_000) as u32;
    Phone::parse(&format!("+1555{digits:07}"), false).unwrap()
}

/// Registers a new phone user through `auth` and logs it in by SMS code.
async fn new_session(auth: &Auth, sms: &FakeSms) -> TokenPair {
    let client = ClientInfo::default();
    let phone = random_phone();
    let _ = auth
        .register(
            RegisterRequest {
                phone: Some(phone.as_str().to_owned()),
                ..Default::default()
            }
            .parse(auth.config())
            .unwrap(),
            &client,
        )
        .await
        .unwrap();
    let sent = auth.start_sms_login(&phone, &client).await.unwrap();
    let code = sms.last_code_for(phone.as_str()).unwrap();
    auth.verify_sms(sent.challenge_id, &code, &client)
        .await
        .unwrap()
}

/// The pid of the listening connection of the store named `app`, once it has run `LISTEN`.
async fn listener_pid(raw: &tokio_postgres::Client, app: &str) -> Option<i32> {
    raw.query_opt(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 \
         AND query LIKE 'LISTEN%' AND state = 'idle'",
        &[&format!("{app} (session events)")],
    )
    .await
    .unwrap()
    .map(|row| row.get(0))
}

async fn wait_for_listener(raw: &tokio_postgres::Client, app: &str, not: Option<i32>) -> i32 {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(pid) = listener_pid(raw, app).await.filter(|pid| Some(*pid) != not) {
            // `connected` is reported right after `LISTEN` answered.
            tokio::time::sleep(Duration::from_millis(100)).await;
            return pid;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no listening connection of {app}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_logout_on_one_instance_is_refused_by_the_other_at_once() {
    common::with_fresh_schema(|schema| async move {
        let sms = FakeSms::new();
        let suffix = &schema[schema.len() - 12..];
        let (app_a, app_b) = (format!("events-a-{suffix}"), format!("events-b-{suffix}"));
        // Answers are kept for up to a minute: only an event can end one sooner.
        let cache = SessionCacheConfig::default().max_age(Duration::from_secs(60));
        let instance = |store: PgStore| {
            Auth::builder(TestKit::config())
                .store(store.clone())
                .sms(sms.clone())
                .clock(SystemClock)
                .session_cache(store.session_events(), cache)
                .build()
                .unwrap()
        };
        let store_a = PgStore::connect(common::config(&schema).application_name(&app_a))
            .await
            .unwrap();
        let store_b = PgStore::connect(common::config(&schema).application_name(&app_b))
            .await
            .unwrap();
        let (a, b) = (instance(store_a), instance(store_b));
        let raw = common::raw().await;
        let client = ClientInfo::default();

        let t1 = new_session(&a, &sms).await;
        let t2 = new_session(&a, &sms).await;
        let t3 = new_session(&a, &sms).await;
        let token = |t: &TokenPair| t.access_token.expose().to_owned();

        // B's first check subscribes; once it listens, its answers are cached.
        let _ = b.authenticate(&token(&t1)).await.unwrap();
        let first = wait_for_listener(&raw, &app_b, None).await;
        let _ = b.authenticate(&token(&t1)).await.unwrap();
        let _ = b.authenticate(&token(&t2)).await.unwrap();

        // Revoked behind the caches' backs (no event): B still answers from its cache, which
        // shows the cache is in use.
        let _ = raw
            .execute(
                &format!(
                    "UPDATE \"{schema}\".sessions SET revoked_at = 1, revoke_reason = 'admin' \
                     WHERE id = $1"
                ),
                &[&t1.session_id.as_uuid()],
            )
            .await
            .unwrap();
        assert!(
            b.authenticate(&token(&t1)).await.is_ok(),
            "B's cache is not in use"
        );

        // A logout on A reaches B's cache through NOTIFY.
        let principal = a.authenticate(&token(&t2)).await.unwrap();
        a.logout(&principal, &client).await.unwrap();
        let refused = common::eventually(Duration::from_secs(1), || async {
            b.authenticate(&token(&t2)).await.is_err()
        })
        .await;
        assert!(refused, "B still accepts a session logged out on A");
        // The event named that session only.
        assert!(b.authenticate(&token(&t1)).await.is_ok());

        // Kill B's listening connection: B's cache empties (the session revoked behind its
        // back is refused now) and B listens again on a new connection.
        let _ = raw
            .execute("SELECT pg_terminate_backend($1)", &[&first])
            .await
            .unwrap();
        let emptied = common::eventually(Duration::from_secs(2), || async {
            b.authenticate(&token(&t1)).await.is_err()
        })
        .await;
        assert!(
            emptied,
            "B kept answering from its cache without a subscription"
        );
        let second = wait_for_listener(&raw, &app_b, Some(first)).await;
        assert_ne!(first, second);

        // And events flow again.
        let _ = b.authenticate(&token(&t3)).await.unwrap();
        let principal = a.authenticate(&token(&t3)).await.unwrap();
        a.logout(&principal, &client).await.unwrap();
        let refused = common::eventually(Duration::from_secs(1), || async {
            b.authenticate(&token(&t3)).await.is_err()
        })
        .await;
        assert!(refused, "no events after the listener reconnected");
    })
    .await;
}
