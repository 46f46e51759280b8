//! Helpers shared by the flow tests.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::net::{IpAddr, Ipv4Addr};

use auth_core::api::{ClientInfo, RegisterRequest, TokenPair};
use auth_core::testkit::TestKit;
use auth_core::{AuthConfig, OneTimeCode, Password};

pub const PHONE: &str = "+15551234567";
pub const PASSWORD: &str = "velvet quarry lantern mosaic";

pub fn client() -> ClientInfo {
    ClientInfo::new(
        Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7))),
        Some("test-agent/1.0"),
    )
}

pub fn client_from(last_octet: u8) -> ClientInfo {
    ClientInfo::new(
        Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, last_octet))),
        None,
    )
}

pub fn kit() -> TestKit {
    TestKit::new()
}

pub fn kit_with(f: impl FnOnce(&mut AuthConfig)) -> TestKit {
    let mut cfg = TestKit::config();
    f(&mut cfg);
    TestKit::with_config(cfg)
}

pub async fn register_phone(kit: &TestKit, phone: &str) -> auth_core::UserId {
    kit.auth
        .register(
            RegisterRequest {
                phone: Some(phone.into()),
                ..Default::default()
            },
            &client(),
        )
        .await
        .unwrap()
        .user_id
}

/// Registers an email account and activates it with the mailed token.
pub async fn register_email(kit: &TestKit, email: &str) -> auth_core::UserId {
    let res = kit
        .auth
        .register(
            RegisterRequest {
                email: Some(email.into()),
                password: Some(Password::new(PASSWORD)),
                ..Default::default()
            },
            &client(),
        )
        .await
        .unwrap();
    assert!(res.activation_required);
    let token = kit.mail.last_token_for(email).expect("an activation mail");
    kit.auth.activate(&token, &client()).await.unwrap();
    res.user_id
}

/// Starts an SMS login and returns (challenge id, the code that was sent).
pub async fn start(kit: &TestKit, phone: &str) -> (String, OneTimeCode) {
    let ch = kit.auth.start_sms_login(phone, &client()).await.unwrap();
    let code = kit.sms.last_code_for(phone).expect("an SMS was sent");
    (ch.challenge_id.to_string(), code)
}

/// A full SMS login of an already registered phone.
pub async fn sms_login(kit: &TestKit, phone: &str) -> TokenPair {
    let (id, code) = start(kit, phone).await;
    kit.auth.verify_sms(&id, &code, &client()).await.unwrap()
}

/// A code that differs from `code` in its last digit.
pub fn wrong(code: &OneTimeCode) -> OneTimeCode {
    let mut s = code.expose().to_owned();
    let last = s.pop().unwrap();
    s.push(if last == '9' {
        '0'
    } else {
        char::from(last as u8 + 1)
    });
    OneTimeCode::new(s)
}

pub fn secs(n: u64) -> std::time::Duration {
    std::time::Duration::from_secs(n)
}
