//! Sessions after an SMS login: access-token expiry, refresh-token rotation, the grace window,
//! reuse detection and logout, with the manual clock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use auth_core::testkit::TestKit;
use common::{PHONE, client, signed_in};

#[tokio::test]
async fn the_refresh_token_renews_an_expired_access_token() {
    let kit = TestKit::new();
    let tokens = signed_in(&kit, PHONE).await;

    // Access tokens live 10 minutes (plus 5 s of leeway for clock skew).
    kit.clock.advance(Duration::from_secs(606));
    let err = kit
        .auth
        .authenticate(tokens.access_token.expose())
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (401, "token_expired"));

    let fresh = kit
        .auth
        .refresh(tokens.refresh_token.expose(), &client())
        .await
        .unwrap();
    assert_eq!(fresh.session_id, tokens.session_id);
    assert!(
        kit.auth
            .authenticate(fresh.access_token.expose())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_the_session() {
    let kit = TestKit::new();
    let first = signed_in(&kit, PHONE).await;
    let refresh = |token: &str| {
        let (auth, token) = (kit.auth.clone(), token.to_owned());
        async move { auth.refresh(&token, &client()).await }
    };

    // Rotation: a new refresh token each time.
    let second = refresh(first.refresh_token.expose()).await.unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);

    // Within the grace window (10 s) the old token is a racing tab or a retried request:
    // it gets the same new refresh token again.
    kit.clock.advance(Duration::from_secs(5));
    let raced = refresh(first.refresh_token.expose()).await.unwrap();
    assert_eq!(raced.refresh_token, second.refresh_token);

    // After the window it is reuse, presumed theft: the whole session is revoked.
    kit.clock.advance(Duration::from_secs(6));
    let err = refresh(first.refresh_token.expose()).await.unwrap_err();
    assert_eq!((err.status(), err.code()), (401, "refresh_token_reused"));

    // The legitimate holder's newest tokens are dead too.
    let err = refresh(second.refresh_token.expose()).await.unwrap_err();
    assert_eq!(err.code(), "refresh_token_reused");
    let err = kit
        .auth
        .authenticate(second.access_token.expose())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "token_revoked");
}

#[tokio::test]
async fn logout_ends_the_session_at_once() {
    let kit = TestKit::new();
    let tokens = signed_in(&kit, PHONE).await;
    let me = kit
        .auth
        .authenticate(tokens.access_token.expose())
        .await
        .unwrap();

    kit.auth.logout(&me, &client()).await.unwrap();

    let err = kit
        .auth
        .authenticate(tokens.access_token.expose())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "token_revoked");
    let err = kit
        .auth
        .refresh(tokens.refresh_token.expose(), &client())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "token_revoked");
}
