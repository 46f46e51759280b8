//! The client IP as the per-IP limits and the sessions see it: IPv4 clients on a dual-stack
//! listener (`::ffff:a.b.c.d`) are their IPv4 addresses, each in its own bucket, and requests
//! whose IP is unknown share one bucket instead of skipping the limits.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::net::IpAddr;

use auth_core::AuthError;
use auth_core::api::ClientInfo;
use auth_core::store::UserStore;
use common::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A client as an app calling the core directly might build it: the IP exactly as given.
fn raw_client(ip: Option<IpAddr>) -> ClientInfo {
    ClientInfo {
        ip,
        user_agent: None,
    }
}

#[tokio::test]
async fn ipv4_clients_on_a_dual_stack_listener_have_their_own_buckets() {
    let kit = kit_with(|c| c.sms.per_ip_per_hour = 1);
    let a = raw_client(Some(ip("::ffff:198.51.100.1")));
    let b = raw_client(Some(ip("::ffff:198.51.100.2")));
    kit.auth
        .start_sms_login(&to_phone("+15550000001"), &a)
        .await
        .unwrap();
    // Another IPv4 client: not the same bucket (it was, as the IPv6 /64 `::ffff:0:0/64`).
    kit.auth
        .start_sms_login(&to_phone("+15550000002"), &b)
        .await
        .unwrap();
    // The first one again, mapped or plain: its bucket is spent.
    for again in [a, raw_client(Some(ip("198.51.100.1")))] {
        let e = kit
            .auth
            .start_sms_login(&to_phone("+15550000003"), &again)
            .await
            .unwrap_err();
        assert!(matches!(e, AuthError::RateLimited { .. }), "{e:?}");
    }
}

#[tokio::test]
async fn unknown_client_ips_share_one_bucket() {
    let kit = kit_with(|c| c.sms.per_ip_per_hour = 2);
    let unknown = ClientInfo::default();
    kit.auth
        .start_sms_login(&to_phone("+15550000011"), &unknown)
        .await
        .unwrap();
    kit.auth
        .start_sms_login(&to_phone("+15550000012"), &unknown)
        .await
        .unwrap();
    let e = kit
        .auth
        .start_sms_login(&to_phone("+15550000013"), &unknown)
        .await
        .unwrap_err();
    assert!(matches!(e, AuthError::RateLimited { .. }), "{e:?}");
    // A client whose IP is known has its own bucket.
    kit.auth
        .start_sms_login(&to_phone("+15550000013"), &client())
        .await
        .unwrap();
}

#[tokio::test]
async fn sessions_and_logins_record_the_ipv4_form_of_a_mapped_address() {
    assert_eq!(
        ClientInfo::new(Some(ip("::ffff:203.0.113.7")), None).ip,
        Some(ip("203.0.113.7"))
    );
    let kit = kit();
    let user = register_phone(&kit, PHONE).await;
    let mapped = raw_client(Some(ip("::ffff:203.0.113.7")));
    let ch = kit
        .auth
        .start_sms_login(&to_phone(PHONE), &mapped)
        .await
        .unwrap();
    let code = kit.sms.last_code_for(PHONE).unwrap();
    let pair = kit
        .auth
        .verify_sms(ch.challenge_id, &code, &mapped)
        .await
        .unwrap();
    let me = kit
        .auth
        .authenticate(pair.access_token.expose())
        .await
        .unwrap();
    let sessions = kit.auth.list_sessions(&me, &client()).await.unwrap();
    assert_eq!(sessions[0].ip, Some(ip("203.0.113.7")));
    let user = kit.store.user_by_id(user).await.unwrap().unwrap();
    assert_eq!(user.current_login_ip, Some(ip("203.0.113.7")));
}
