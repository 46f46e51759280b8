//! The app's store under a real `Auth`: logins land in the app's own `users` table, and auth's
//! updates leave the app's own columns alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::api::{ClientInfo, RegisterRequest};
use auth_core::testkit::{FakeSms, ManualClock, TestKit};
use auth_core::{Auth, OneTimeCode};
use example_custom_store::{AppDatabase, AppStore};

#[tokio::test]
async fn sms_login_lands_in_the_apps_users_table_and_keeps_its_columns() {
    let db = AppDatabase::new();
    let sms = FakeSms::new();
    let auth = Auth::builder(TestKit::config())
        .store(AppStore::new(db.clone()))
        .sms(sms.clone())
        .clock(ManualClock::new())
        .build()
        .unwrap();
    let client = ClientInfo::default();
    let phone = "+15551234567";

    let registered = auth
        .register(
            RegisterRequest {
                phone: Some(phone.into()),
                ..Default::default()
            }
            .parse(auth.config())
            .unwrap(),
            &client,
        )
        .await
        .unwrap();
    let id = registered.user_id.as_uuid();
    let row = db.account(id).expect("the app's table has the new user");
    assert_eq!(row.phone.as_deref(), Some(phone));
    assert_eq!(row.plan, "free");

    // The app changes its own column; auth's writes must keep it.
    assert!(db.set_plan(id, "pro"));
    auth.grant_role(registered.user_id, "admin").await.unwrap();

    let parsed = auth_core::Phone::parse(phone, false).unwrap();
    let challenge = auth.start_sms_login(&parsed, &client).await.unwrap();
    let code: OneTimeCode = sms.last_code_for(phone).unwrap();
    let tokens = auth
        .verify_sms(challenge.challenge_id, &code, &client)
        .await
        .unwrap();
    let principal = auth
        .authenticate(tokens.access_token.expose())
        .await
        .unwrap();
    assert!(principal.has_role("admin"));

    let row = db.account(id).unwrap();
    assert_eq!(row.plan, "pro");
    assert_eq!(row.login_count, 1);
    assert_eq!(row.roles_json, r#"["admin"]"#);
}
