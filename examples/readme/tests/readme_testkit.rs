//! The README's "Test your login flows without HTTP" snippet, as it is there.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::api::{ClientInfo, NewAccount};
use auth_core::testkit::TestKit;
use std::time::Duration;

#[tokio::test]
async fn a_code_expires_after_ten_minutes() {
    let kit = TestKit::new(); // Auth + MemoryStore + FakeSms + ManualClock
    let client = ClientInfo::default();
    let phone = "+15551234567";
    let parsed = auth_core::Phone::parse(phone, false).unwrap();
    let account = NewAccount::phone(parsed.clone());
    kit.auth.register(account, &client).await.unwrap();

    let challenge = kit.auth.start_sms_login(&parsed, &client).await.unwrap();
    let code = kit.sms.last_code_for(phone).unwrap();
    kit.clock.advance(Duration::from_secs(600));
    let err = kit
        .auth
        .verify_sms(challenge.challenge_id, &code, &client)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "code_expired");
}
