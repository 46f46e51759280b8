//! Helpers shared by the flow tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use auth_core::api::{ClientInfo, RegisterRequest, TokenPair};
use auth_core::testkit::TestKit;
use auth_core::{AuthError, OneTimeCode};

/// The phone the tests register.
pub const PHONE: &str = "+15551234567";

/// What the adapters would pass: the client's IP and user agent.
pub fn client() -> ClientInfo {
    ClientInfo {
        ip: Some("203.0.113.7".parse().unwrap()),
        user_agent: Some("flow-tests".into()),
    }
}

/// Registers `phone` (an SMS account).
pub async fn register(kit: &TestKit, phone: &str) {
    let request = RegisterRequest {
        phone: Some(phone.into()),
        ..Default::default()
    };
    kit.auth
        .register(request.parse(kit.auth.config()).unwrap(), &client())
        .await
        .unwrap();
}

/// Starts an SMS login and returns the challenge id with the code the fake SMS received.
pub async fn start_login(kit: &TestKit, phone: &str) -> (String, OneTimeCode) {
    let challenge = kit
        .auth
        .start_sms_login(&parse_phone(phone), &client())
        .await
        .unwrap();
    let code = kit.sms.last_code_for(phone).expect("an SMS with a code");
    (challenge.challenge_id.to_string(), code)
}

/// A phone as the HTTP layer parses it.
pub fn parse_phone(phone: &str) -> auth_core::Phone {
    auth_core::Phone::parse(phone, false).unwrap()
}

/// Tries a code on a challenge.
pub async fn verify(kit: &TestKit, challenge_id: &str, code: &str) -> Result<TokenPair, AuthError> {
    kit.auth
        .verify_sms(challenge_id.parse()?, &OneTimeCode::new(code), &client())
        .await
}

/// Registers `phone` and logs it in by SMS.
pub async fn signed_in(kit: &TestKit, phone: &str) -> TokenPair {
    register(kit, phone).await;
    let (challenge_id, code) = start_login(kit, phone).await;
    verify(kit, &challenge_id, code.expose()).await.unwrap()
}

/// A wrong code of the right length: the real one with its first digit changed.
pub fn wrong(code: &OneTimeCode) -> String {
    let mut digits = code.expose().chars();
    let first = if digits.next() == Some('0') { '1' } else { '0' };
    std::iter::once(first).chain(digits).collect()
}
