//! Profiles with declared fields: registration, PATCH /me, GET /users/{id}.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::AuthError;
use auth_core::api::RegisterRequest;
use auth_core::profile::{FieldKind, ProfileField};
use auth_core::store::UserStore as _;
use common::*;
use serde_json::json;

fn kit_with_fields() -> auth_core::testkit::TestKit {
    kit_with(|c| {
        let f = &mut c.accounts.profile_fields;
        f.insert(
            "name".into(),
            ProfileField {
                kind: FieldKind::String { max_len: 20 },
                editable: true,
                exposed: true,
            },
        );
        f.insert(
            "age".into(),
            ProfileField {
                kind: FieldKind::Integer,
                editable: true,
                exposed: false,
            },
        );
        f.insert(
            "verified".into(),
            ProfileField {
                kind: FieldKind::Boolean,
                editable: false,
                exposed: true,
            },
        );
    })
}

#[tokio::test]
async fn patch_me_changes_only_editable_fields() {
    let kit = kit_with_fields();
    let user = kit
        .auth
        .register(
            reg(
                &kit.auth,
                RegisterRequest {
                    phone: Some(PHONE.into()),
                    profile: Some(json!({"name": "Ann", "age": 30})),
                    ..Default::default()
                },
            ),
            &client(),
        )
        .await
        .unwrap()
        .user_id;
    let pair = sms_login(&kit, PHONE).await;
    let p = kit
        .auth
        .authenticate(pair.access_token.expose())
        .await
        .unwrap();
    let me = kit
        .auth
        .update_profile(&p, &json!({"name": "Anna"}), &client())
        .await
        .unwrap();
    assert_eq!(me.profile, json!({"name": "Anna", "age": 30}));
    // A field the user may not change: 400 and nothing changes.
    let e = kit
        .auth
        .update_profile(&p, &json!({"name": "X", "verified": true}), &client())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid_request");
    let e = kit
        .auth
        .update_profile(&p, &json!({"age": "old"}), &client())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid_request");
    let stored = kit.store.user_by_id(user).await.unwrap().unwrap();
    assert_eq!(stored.profile, json!({"name": "Anna", "age": 30}));
    // null clears a field.
    let me = kit
        .auth
        .update_profile(&p, &json!({"age": null}), &client())
        .await
        .unwrap();
    assert_eq!(me.profile, json!({"name": "Anna"}));
}

#[tokio::test]
async fn registration_follows_the_declaration_too() {
    let kit = kit_with_fields();
    let e = kit
        .auth
        .register(
            reg(
                &kit.auth,
                RegisterRequest {
                    phone: Some(PHONE.into()),
                    profile: Some(json!({"verified": true})),
                    ..Default::default()
                },
            ),
            &client(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid_request");
    assert!(
        kit.auth
            .find_user_by_phone(&to_phone(PHONE))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn public_profiles_show_only_exposed_fields() {
    let kit = kit_with_fields();
    let user = kit
        .auth
        .register(
            reg(
                &kit.auth,
                RegisterRequest {
                    phone: Some(PHONE.into()),
                    profile: Some(json!({"name": "Ann", "age": 30})),
                    ..Default::default()
                },
            ),
            &client(),
        )
        .await
        .unwrap()
        .user_id;
    let mut u = kit.store.user_by_id(user).await.unwrap().unwrap();
    u.profile["verified"] = json!(true);
    kit.store.update_user(&u).await.unwrap();
    let shown = kit.auth.public_profile(user, &client()).await.unwrap();
    assert_eq!(
        shown,
        json!({"user_id": user.to_string(), "name": "Ann", "verified": true})
    );
    assert_eq!(
        kit.auth
            .public_profile(auth_core::UserId::new_random(), &client())
            .await
            .unwrap_err(),
        AuthError::NotFound
    );
    // A malformed id in the path is the HTTP layer's to answer.
    let viewer = sms_login(&kit, PHONE).await;
    assert_eq!(
        http_call(
            &kit,
            auth_core::http::Route::GetUser,
            Some("garbage"),
            viewer.access_token.expose()
        )
        .await,
        auth_core::http::HttpResponse::error(&AuthError::NotFound)
    );
}

#[tokio::test]
async fn without_declared_fields_patch_accepts_nothing() {
    let kit = kit();
    register_phone(&kit, PHONE).await;
    let pair = sms_login(&kit, PHONE).await;
    let p = kit
        .auth
        .authenticate(pair.access_token.expose())
        .await
        .unwrap();
    assert_eq!(
        kit.auth
            .update_profile(&p, &json!({"name": "x"}), &client())
            .await
            .unwrap_err()
            .code(),
        "invalid_request"
    );
    assert!(
        kit.auth
            .update_profile(&p, &json!({}), &client())
            .await
            .is_ok()
    );
}
