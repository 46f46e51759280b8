//! The one-time warnings about the client IP, captured from `tracing`. They are per process,
//! so this file (its own test binary) holds a single test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use auth_core::api::ClientInfo;
use auth_core::http::client_ip::ClientIpPolicy;
use auth_core::testkit::TestKit;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// Collects the message of every warning.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

impl Warnings {
    fn containing(&self, text: &str) -> usize {
        let all = self.0.lock().unwrap();
        all.iter().filter(|w| w.contains(text)).count()
    }
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S: Subscriber> Layer<S> for Warnings {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if *event.metadata().level() == Level::WARN {
            let mut message = Message(String::new());
            event.record(&mut message);
            self.0.lock().unwrap().push(message.0);
        }
    }
}

#[tokio::test]
async fn unknown_and_single_private_peers_are_warned_about_once() {
    let warnings = Warnings::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(warnings.clone()));

    // An unknown client IP, through the adapter's policy and through the core's limits: one
    // warning, saying how to give the adapter the peer address.
    const UNKNOWN: &str = "client IP is unknown";
    let policy = ClientIpPolicy::default();
    assert_eq!(
        policy.client_ip_of(None, &[("x-forwarded-for", "203.0.113.9")]),
        None
    );
    let kit = TestKit::new();
    for phone in ["+15550000021", "+15550000022"] {
        kit.auth
            .start_sms_login(
                &auth_core::Phone::parse(phone, false).unwrap(),
                &ClientInfo::default(),
            )
            .await
            .unwrap();
    }
    assert_eq!(warnings.containing(UNKNOWN), 1);
    assert_eq!(
        warnings.containing("into_make_service_with_connect_info::<SocketAddr>()"),
        1
    );

    // With no trusted proxy, 100 requests in a row from one private address: one warning,
    // at the 100th.
    const ONE_IP: &str = "no trusted proxy is configured";
    let balancer: IpAddr = "10.1.2.3".parse().unwrap();
    for _ in 0..99 {
        assert_eq!(
            policy.client_ip_of(Some(balancer), &[("x-forwarded-for", "203.0.113.9")]),
            Some(balancer)
        );
    }
    assert_eq!(warnings.containing(ONE_IP), 0);
    policy.client_ip_of(Some(balancer), &[]);
    assert_eq!(warnings.containing(ONE_IP), 1);
    for _ in 0..200 {
        policy.client_ip_of(Some(balancer), &[]);
    }
    assert_eq!(warnings.containing(ONE_IP), 1);
    assert_eq!(warnings.containing(UNKNOWN), 1);
}
