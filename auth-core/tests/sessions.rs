//! Tokens and sessions: refresh rotation, the grace window, reuse detection, expiry, logout,
//! listing and revoking sessions, disabling users, stateless mode.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::session::SessionStatus;
use auth_core::store::{SessionStore as _, UserStore as _};
use auth_core::{AuthError, Store as _};
use common::*;

#[tokio::test]
async fn refresh_rotates_and_the_new_pair_works() {
    let kit = kit();
    register_phone(&kit, PHONE).await;
    let first = sms_login(&kit, PHONE).await;
    kit.clock.advance(secs(60));
    let second = kit
        .auth
        .refresh(first.refresh_token.expose(), &client())
        .await
        .unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_ne!(second.access_token, first.access_token);
    assert_eq!(second.session_id, first.session_id);
    let p = kit
        .auth
        .authenticate(second.access_token.expose())
        .await
        .unwrap();
    assert_eq!(p.session_id, Some(first.session_id));
    // Refreshes do not count as logins.
    assert_eq!(kit.auth.me(&p, &client()).await.unwrap().login_count, 1);
    // The store keeps no refresh token in clear.
    let s = kit.store.session(first.session_id).await.unwrap().unwrap();
    let dump = format!("{s:?}");
    for tok in [&first.refresh_token, &second.refresh_token] {
        let secret = tok.expose().rsplit('.').next().unwrap();
        assert!(!dump.contains(secret));
    }
}

#[tokio::test]
async fn a_retry_within_the_grace_window_gets_the_same_new_token() {
    let kit = kit();
    register_phone(&kit, PHONE).await;
    let first = sms_login(&kit, PHONE).await;
    let a = kit
        .auth
        .refresh(first.refresh_token.expose(), &client())
        .await
        .unwrap();
    kit.clock.advance(secs(9));
    let b = kit
        .auth
        .refresh(first.refresh_token.expose(), &client())
        .await
        .unwrap();
    assert_eq!(a.refresh_token, b.refresh_token);
    assert!(kit.auth.authenticate(b.access_token.expose()).await.is_ok());
    // And the shared new token rotates normally.
    let c = kit
        .auth
        .refresh(b.refresh_token.expose(), &client())
        .await
        .unwrap();
    assert!(kit.auth.authenticate(c.access_token.expose()).await.is_ok());
}

#[tokio::test]
async fn the_rotated_token_after_the_grace_window_is_reuse_and_kills_the_session() {
    let kit = kit();
    register_phone(&kit, PHONE).await;
    let first = sms_login(&kit, PHONE).await;
    let second = kit
        .auth
        .refresh(first.refresh_token.expose(), &client())
        .await
        .unwrap();
    kit.clock.advance(secs(11));
    let e = kit
        .auth
        .refresh(first.refresh_token.expose(), &client())
        .await
        .unwrap_err();
    assert_eq!((e.code(), e.status()), ("refresh_token_reused", 401));
    // The whole session is dead: the legitimate new tokens too.
    assert_eq!(
        kit.auth
            .refresh(second.refresh_token.expose(), &client())
            .await
            .unwrap_err(),
        AuthError::RefreshTokenReused
    );
    assert_eq!(
        kit.auth
            .authenticate(second.access_token.expose())
            .await
            .unwrap_err(),
        AuthError::TokenRevoked
    );
}

/// Regression (found by the refresh race of `testkit::model::race`): a zero grace window
/// still answered a second presentation made in the same instant as the rotation (or with a
/// clock read before it) with the same new pair, so with `refresh_grace_secs = 0` two of
/// many racing refreshes could both succeed. Zero now means no window at all.
#[tokio::test]
async fn with_no_grace_window_the_rotated_token_is_reuse_even_at_the_same_instant() {
    let kit = kit_with(|c| c.session.refresh_grace_secs = 0);
    register_phone(&kit, PHONE).await;
    let first = sms_login(&kit, PHONE).await;
    let second = kit
        .auth
        .refresh(first.refresh_token.expose(), &client())
        .await
        .unwrap();
    // The clock has not moved: the same instant as the rotation.
    let e = kit
        .auth
        .refresh(first.refresh_token.expose(), &client())
        .await
        .unwrap_err();
    assert_eq!(e, AuthError::RefreshTokenReused);
    assert_eq!(
        kit.auth
            .authenticate(second.access_token.expose())
            .await
            .unwrap_err(),
        AuthError::TokenRevoked
    );
}

#[tokio::test]
async fn an_older_token_is_reuse_even_inside_the_grace_window() {
    let kit = kit();
    register_phone(&kit, PHONE).await;
    let t0 = sms_login(&kit, PHONE).await;
    let t1 = kit
        .auth
        .refresh(t0.refresh_token.expose(), &client())
        .await
        .unwrap();
    let t2 = kit
        .auth
        .refresh(t1.refresh_token.expose(), &client())
        .await
        .unwrap();
    let e = kit
        .auth
        .refresh(t0.refresh_token.expose(), &client())
        .await
        .unwrap_err();
    assert_eq!(e, AuthError::RefreshTokenReused);
    assert!(
        kit.auth
            .refresh(t2.refresh_token.expose(), &client())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn forged_tokens_naming_a_real_session_are_invalid_and_harmless() {
    let kit = kit();
    register_phone(&kit, PHONE).await;
    let pair = sms_login(&kit, PHONE).await;
    let tok = pair.refresh_token.expose();
    let (prefix, secret) = tok.rsplit_once('.').unwrap();
    let mut forged_secret = secret.to_owned();
    let c = forged_secret.remove(0);
    forged_secret.insert(0, if c == 'A' { 'B' } else { 'A' });
    let (sid, _) = prefix.split_once('.').unwrap();
    for forged in [
        format!("{prefix}.{forged_secret}"),
        format!("{sid}.7.{secret}"),
        format!("{sid}.0.{forged_secret}"),
        "garbage".to_owned(),
        String::new(),
        format!("{tok}.extra"),
    ] {
        let e = kit.auth.refresh(&forged, &client()).await.unwrap_err();
        assert_eq!(e, AuthError::InvalidToken, "{forged}");
    }
    // The real session is untouched.
    assert!(kit.auth.refresh(tok, &client()).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_refreshes_all_succeed_with_one_rotation() {
    let kit = kit();
    register_phone(&kit, PHONE).await;
    let pair = sms_login(&kit, PHONE).await;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let auth = kit.auth.clone();
        let tok = pair.refresh_token.clone();
        tasks.push(tokio::spawn(async move {
            auth.refresh(tok.expose(), &client()).await
        }));
    }
    let mut tokens = std::collections::HashSet::new();
    for t in tasks {
        let p = t.await.unwrap().unwrap();
        tokens.insert(p.refresh_token.expose().to_owned());
    }
    assert_eq!(
        tokens.len(),
        1,
        "every racer got the same new refresh token"
    );
    let s = kit.store.session(pair.session_id).await.unwrap().unwrap();
    assert_eq!(s.refresh.generation, 1, "exactly one rotation took effect");
}

#[tokio::test]
async fn access_tokens_expire_and_sessions_end_by_idle_timeout_and_absolute_lifetime() {
    let kit = kit_with(|c| {
        c.session.idle_timeout_secs = 3600;
        c.session.absolute_lifetime_secs = 3 * 3600;
    });
    register_phone(&kit, PHONE).await;
    let pair = sms_login(&kit, PHONE).await;
    assert_eq!(pair.refresh_expires_in, 3600);
    kit.clock.advance(secs(606));
    assert_eq!(
        kit.auth
            .authenticate(pair.access_token.expose())
            .await
            .unwrap_err(),
        AuthError::TokenExpired
    );
    // Keep it alive by refreshing every 50 minutes...
    let mut tok = pair.refresh_token.clone();
    for _ in 0..3 {
        kit.clock.advance(secs(50 * 60 - 606));
        let next = kit.auth.refresh(tok.expose(), &client()).await.unwrap();
        tok = next.refresh_token;
        kit.clock.advance(secs(606));
    }
    // ...until the absolute lifetime (3 h) ends it, though it was used 20 minutes ago.
    let next = kit.auth.refresh(tok.expose(), &client()).await.unwrap();
    tok = next.refresh_token;
    assert_eq!(
        next.refresh_expires_in,
        3 * 3600 - 9606,
        "capped by the absolute lifetime"
    );
    kit.clock.advance(secs(3 * 3600 - 9606 - 1));
    let next = kit.auth.refresh(tok.expose(), &client()).await.unwrap();
    tok = next.refresh_token;
    kit.clock.advance(secs(1));
    assert_eq!(
        kit.auth.refresh(tok.expose(), &client()).await.unwrap_err(),
        AuthError::TokenExpired
    );

    // Idle: a new session left alone for an hour.
    let kit = kit_with(|c| c.session.idle_timeout_secs = 3600);
    register_phone(&kit, PHONE).await;
    let pair = sms_login(&kit, PHONE).await;
    kit.clock.advance(secs(3600));
    assert_eq!(
        kit.auth
            .refresh(pair.refresh_token.expose(), &client())
            .await
            .unwrap_err(),
        AuthError::TokenExpired
    );
}

#[tokio::test]
async fn logout_revokes_refresh_and_access_tokens_at_once() {
    let kit = kit();
    register_phone(&kit, PHONE).await;
    let pair = sms_login(&kit, PHONE).await;
    let p = kit
        .auth
        .authenticate(pair.access_token.expose())
        .await
        .unwrap();
    kit.auth.logout(&p, &client()).await.unwrap();
    assert_eq!(
        kit.auth
            .authenticate(pair.access_token.expose())
            .await
            .unwrap_err(),
        AuthError::TokenRevoked
    );
    assert_eq!(
        kit.auth
            .refresh(pair.refresh_token.expose(), &client())
            .await
            .unwrap_err(),
        AuthError::TokenRevoked
    );
}

#[tokio::test]
async fn stateless_mode_skips_the_session_check() {
    let kit = kit_with(|c| c.access.mode = auth_core::config::AccessMode::Stateless);
    register_phone(&kit, PHONE).await;
    let pair = sms_login(&kit, PHONE).await;
    let p = kit
        .auth
        .authenticate(pair.access_token.expose())
        .await
        .unwrap();
    kit.auth.logout(&p, &client()).await.unwrap();
    // The access token lives on until it expires; the refresh token is dead.
    assert!(
        kit.auth
            .authenticate(pair.access_token.expose())
            .await
            .is_ok()
    );
    assert!(
        kit.auth
            .refresh(pair.refresh_token.expose(), &client())
            .await
            .is_err()
    );
    kit.store.set_unavailable(true);
    assert!(
        kit.auth
            .authenticate(pair.access_token.expose())
            .await
            .is_ok(),
        "no store call"
    );
}

#[tokio::test]
async fn session_checking_fails_closed_when_the_store_is_down() {
    let kit = kit();
    register_phone(&kit, PHONE).await;
    let pair = sms_login(&kit, PHONE).await;
    kit.store.set_unavailable(true);
    assert_eq!(
        kit.auth
            .authenticate(pair.access_token.expose())
            .await
            .unwrap_err(),
        AuthError::StoreUnavailable
    );
    assert_eq!(
        kit.auth
            .refresh(pair.refresh_token.expose(), &client())
            .await
            .unwrap_err(),
        AuthError::StoreUnavailable
    );
}

#[tokio::test]
async fn list_and_revoke_own_sessions() {
    let kit = kit_with(|c| c.sms.resend_cooldown_secs = 0);
    register_phone(&kit, PHONE).await;
    let other_user = register_phone(&kit, "+15559990000").await;
    let a = sms_login(&kit, PHONE).await;
    kit.clock.advance(secs(5));
    let b = sms_login(&kit, PHONE).await;
    kit.clock.advance(secs(5));
    let c = sms_login(&kit, PHONE).await;
    let foreign = sms_login(&kit, "+15559990000").await;
    let pb = kit
        .auth
        .authenticate(b.access_token.expose())
        .await
        .unwrap();
    let list = kit.auth.list_sessions(&pb, &client()).await.unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0].session_id, c.session_id, "newest first");
    assert_eq!(list.iter().filter(|s| s.current).count(), 1);
    assert!(list.iter().find(|s| s.current).unwrap().session_id == b.session_id);
    assert_eq!(list[0].user_agent.as_deref(), Some("test-agent/1.0"));
    assert!(list[0].ip.is_some());

    // Another user's session is not found (and not revoked); nor is garbage.
    let e = kit
        .auth
        .revoke_own_session(&pb, foreign.session_id, &client())
        .await
        .unwrap_err();
    assert_eq!((e.code(), e.status()), ("not_found", 404));
    assert!(
        kit.auth
            .authenticate(foreign.access_token.expose())
            .await
            .is_ok()
    );
    assert_eq!(
        // A malformed id in the path is the HTTP layer's to answer.
        http_call(
            &kit,
            auth_core::http::Route::RevokeSession,
            Some("nope"),
            b.access_token.expose()
        )
        .await,
        auth_core::http::HttpResponse::error(&AuthError::NotFound)
    );

    kit.auth
        .revoke_own_session(&pb, a.session_id, &client())
        .await
        .unwrap();
    assert_eq!(
        kit.auth
            .authenticate(a.access_token.expose())
            .await
            .unwrap_err(),
        AuthError::TokenRevoked
    );
    assert_eq!(
        kit.auth
            .revoke_own_session(&pb, a.session_id, &client())
            .await
            .unwrap_err(),
        AuthError::NotFound
    );

    let revoked = kit
        .auth
        .logout_all_other_sessions(&pb, &client())
        .await
        .unwrap();
    assert_eq!(revoked.revoked, 1);
    assert!(
        kit.auth
            .authenticate(c.access_token.expose())
            .await
            .is_err()
    );
    assert!(kit.auth.authenticate(b.access_token.expose()).await.is_ok());
    assert_eq!(
        kit.auth.list_sessions(&pb, &client()).await.unwrap().len(),
        1
    );
    let _ = other_user;
}

#[tokio::test]
async fn disabling_a_user_kills_all_sessions_at_once() {
    let kit = kit_with(|c| c.sms.resend_cooldown_secs = 0);
    let user = register_phone(&kit, PHONE).await;
    let a = sms_login(&kit, PHONE).await;
    let b = sms_login(&kit, PHONE).await;
    assert_eq!(kit.auth.disable_user(user).await.unwrap(), 2);
    for pair in [&a, &b] {
        assert_eq!(
            kit.auth
                .authenticate(pair.access_token.expose())
                .await
                .unwrap_err(),
            AuthError::TokenRevoked
        );
        assert!(
            kit.auth
                .refresh(pair.refresh_token.expose(), &client())
                .await
                .is_err()
        );
    }
    assert!(kit.auth.user_sessions(user).await.unwrap().is_empty());
}

#[tokio::test]
async fn roles_travel_in_the_token_and_reach_it_at_the_next_refresh() {
    let kit = kit();
    let user = register_phone(&kit, PHONE).await;
    let pair = sms_login(&kit, PHONE).await;
    assert_eq!(
        kit.auth
            .authorize(pair.access_token.expose(), "admin")
            .await
            .unwrap_err(),
        AuthError::Forbidden
    );
    kit.auth
        .set_roles(user, vec!["admin".into()])
        .await
        .unwrap();
    let next = kit
        .auth
        .refresh(pair.refresh_token.expose(), &client())
        .await
        .unwrap();
    let p = kit
        .auth
        .authorize(next.access_token.expose(), "admin")
        .await
        .unwrap();
    assert!(p.has_role("admin"));
}

#[tokio::test]
async fn bad_access_tokens() {
    let kit = kit();
    for bad in ["", "x", "a.b.c", "Bearer abc"] {
        assert_eq!(
            kit.auth.authenticate(bad).await.unwrap_err(),
            AuthError::InvalidToken
        );
    }
    // A token from another deployment (another secret) is invalid here.
    let other = auth_core::testkit::TestKit::with_config({
        let mut c = auth_core::testkit::TestKit::config();
        c.secret = auth_core::SigningSecret::generate();
        c
    });
    register_phone(&other, PHONE).await;
    let pair = sms_login(&other, PHONE).await;
    assert_eq!(
        kit.auth
            .authenticate(pair.access_token.expose())
            .await
            .unwrap_err(),
        AuthError::InvalidToken
    );
    // A refresh token is not an access token, and vice versa.
    register_phone(&kit, PHONE).await;
    let pair = sms_login(&kit, PHONE).await;
    assert_eq!(
        kit.auth
            .authenticate(pair.refresh_token.expose())
            .await
            .unwrap_err(),
        AuthError::InvalidToken
    );
    assert_eq!(
        kit.auth
            .refresh(pair.access_token.expose(), &client())
            .await
            .unwrap_err(),
        AuthError::InvalidToken
    );
}

#[tokio::test]
async fn purge_removes_only_dead_records() {
    let kit = kit_with(|c| c.session.absolute_lifetime_secs = 3600);
    register_phone(&kit, PHONE).await;
    let pair = sms_login(&kit, PHONE).await;
    assert_eq!(kit.store.challenge_count(), 1);
    kit.clock.advance(secs(601));
    let removed = kit
        .store
        .purge_expired(auth_core::Clock::now(&kit.clock))
        .await
        .unwrap();
    assert!(removed >= 1);
    assert_eq!(kit.store.challenge_count(), 0);
    assert_eq!(kit.store.session_count(), 1);
    assert!(
        kit.auth
            .refresh(pair.refresh_token.expose(), &client())
            .await
            .is_ok()
    );
    kit.clock.advance(secs(3600));
    kit.store
        .purge_expired(auth_core::Clock::now(&kit.clock))
        .await
        .unwrap();
    assert_eq!(kit.store.session_count(), 0);
}

#[tokio::test]
async fn with_session_checking_a_revoked_role_stops_at_once() {
    let kit = kit();
    let user = register_phone(&kit, PHONE).await;
    kit.auth
        .set_roles(user, vec!["admin".into()])
        .await
        .unwrap();
    let pair = sms_login(&kit, PHONE).await;
    assert!(
        kit.auth
            .authorize(pair.access_token.expose(), "admin")
            .await
            .is_ok()
    );
    kit.auth.set_roles(user, vec![]).await.unwrap();
    assert_eq!(
        kit.auth
            .authorize(pair.access_token.expose(), "admin")
            .await
            .unwrap_err(),
        AuthError::Forbidden
    );
}

#[tokio::test]
async fn a_disabled_account_is_refused_even_if_its_sessions_were_not_revoked() {
    // Disabling revokes every session; this covers a store written behind the core's back
    // (an admin tool setting the status alone): the per-request check reads the status too.
    let kit = kit();
    let user = register_phone(&kit, PHONE).await;
    let pair = sms_login(&kit, PHONE).await;
    assert!(
        kit.auth
            .authenticate(pair.access_token.expose())
            .await
            .is_ok()
    );
    let mut record = kit.store.user_by_id(user).await.unwrap().unwrap();
    record.status = auth_core::UserStatus::Disabled;
    assert!(kit.store.update_user(&record).await.unwrap());
    assert_eq!(
        kit.auth
            .authenticate(pair.access_token.expose())
            .await
            .unwrap_err(),
        AuthError::TokenRevoked
    );
}

#[tokio::test]
async fn stateless_role_changes_arrive_with_the_next_refresh() {
    let kit = kit_with(|c| c.access.mode = auth_core::config::AccessMode::Stateless);
    let user = register_phone(&kit, PHONE).await;
    kit.auth
        .set_roles(user, vec!["admin".into()])
        .await
        .unwrap();
    let pair = sms_login(&kit, PHONE).await;
    kit.auth.set_roles(user, vec![]).await.unwrap();
    assert!(
        kit.auth
            .authorize(pair.access_token.expose(), "admin")
            .await
            .is_ok(),
        "documented lag"
    );
    let next = kit
        .auth
        .refresh(pair.refresh_token.expose(), &client())
        .await
        .unwrap();
    assert_eq!(
        kit.auth
            .authorize(next.access_token.expose(), "admin")
            .await
            .unwrap_err(),
        AuthError::Forbidden
    );
}

#[tokio::test]
async fn opaque_access_tokens_work_with_the_same_api_and_revoke_at_once() {
    let kit = kit_with(|c| c.access.mode = auth_core::config::AccessMode::Opaque);
    let user = register_phone(&kit, PHONE).await;
    let pair = sms_login(&kit, PHONE).await;
    assert!(pair.access_token.expose().starts_with("oat."));
    assert_eq!(pair.expires_in, 600);
    let p = kit
        .auth
        .authenticate(pair.access_token.expose())
        .await
        .unwrap();
    assert_eq!((p.user_id, p.session_id), (user, Some(pair.session_id)));
    // Roles come from the store at once.
    kit.auth
        .set_roles(user, vec!["admin".into()])
        .await
        .unwrap();
    assert!(
        kit.auth
            .authorize(pair.access_token.expose(), "admin")
            .await
            .is_ok()
    );
    // A JWT is not accepted in opaque mode, a forged handle neither.
    let jwt_kit = kit_with(|_| {});
    register_phone(&jwt_kit, PHONE).await;
    let jwt = sms_login(&jwt_kit, PHONE).await;
    assert_eq!(
        kit.auth
            .authenticate(jwt.access_token.expose())
            .await
            .unwrap_err(),
        AuthError::InvalidToken
    );
    let forged = format!("{}x", pair.access_token.expose());
    assert_eq!(
        kit.auth.authenticate(&forged).await.unwrap_err(),
        AuthError::InvalidToken
    );
    // Refresh issues a new opaque token; logout kills it at once; expiry applies.
    let next = kit
        .auth
        .refresh(pair.refresh_token.expose(), &client())
        .await
        .unwrap();
    assert!(next.access_token.expose().starts_with("oat."));
    kit.clock.advance(secs(600));
    assert_eq!(
        kit.auth
            .authenticate(next.access_token.expose())
            .await
            .unwrap_err(),
        AuthError::TokenExpired
    );
    let last = kit
        .auth
        .refresh(next.refresh_token.expose(), &client())
        .await
        .unwrap();
    let p = kit
        .auth
        .authenticate(last.access_token.expose())
        .await
        .unwrap();
    kit.auth.logout(&p, &client()).await.unwrap();
    assert_eq!(
        kit.auth
            .authenticate(last.access_token.expose())
            .await
            .unwrap_err(),
        AuthError::TokenRevoked
    );
    // Disabling the user is instant too.
    let again = sms_login(&kit, PHONE).await;
    kit.auth.disable_user(user).await.unwrap();
    assert!(
        kit.auth
            .authenticate(again.access_token.expose())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn grant_and_revoke_role() {
    let kit = kit();
    let user = register_phone(&kit, PHONE).await;
    kit.auth.grant_role(user, "admin").await.unwrap();
    kit.auth.grant_role(user, "admin").await.unwrap();
    kit.auth.grant_role(user, "editor").await.unwrap();
    assert_eq!(
        kit.auth.find_user(user).await.unwrap().unwrap().roles,
        vec!["admin", "editor"]
    );
    kit.auth.revoke_role(user, "admin").await.unwrap();
    assert_eq!(
        kit.auth.find_user(user).await.unwrap().unwrap().roles,
        vec!["editor"]
    );
    let unknown = auth_core::UserId::new_random();
    assert_eq!(
        kit.auth.grant_role(unknown, "x").await.unwrap_err(),
        AuthError::NotFound
    );
}

#[tokio::test]
async fn ten_thousand_refresh_tokens_are_distinct_with_256_random_bits_each() {
    use base64::Engine as _;
    const N: usize = 10_000;
    let kit = kit();
    register_phone(&kit, PHONE).await;
    let mut tokens = std::collections::HashSet::new();
    let mut secrets = Vec::with_capacity(N);
    for _ in 0..N {
        // A day apart, so no SMS cap of the phone or the client gets in the way.
        kit.clock.advance(secs(24 * 3600 + 1));
        let token = sms_login(&kit, PHONE).await.refresh_token;
        let token = token.expose().to_owned();
        // `<session id>.<generation>.<base64url(secret ‖ tag)>` (token/refresh.rs): a new
        // session's secret (generation 0) is the CSPRNG output itself, 32 bytes, followed by
        // a 16-byte tag.
        let mut fields = token.split('.');
        let (_, generation, secret) = (fields.next(), fields.next(), fields.next());
        assert_eq!(generation, Some("0"), "{token}");
        let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(secret.unwrap())
            .unwrap();
        assert_eq!(secret.len(), 48, "{token}");
        secrets.push(<[u8; 32]>::try_from(&secret[..32]).unwrap());
        assert!(tokens.insert(token), "a refresh token was minted twice");
    }
    assert_random_256_bit_secrets(&secrets);
}

#[tokio::test]
async fn the_aal2_preset_ends_sessions_after_an_idle_hour_and_24_hours_overall() {
    let kit = kit_with(|c| c.session = auth_core::config::SessionConfig::aal2());
    register_phone(&kit, PHONE).await;

    // Inactivity: a refresh just inside the hour works and restarts it; a full hour idle ends
    // the session.
    let first = sms_login(&kit, PHONE).await;
    assert_eq!(first.refresh_expires_in, 3600);
    kit.clock.advance(secs(3599));
    let second = kit
        .auth
        .refresh(first.refresh_token.expose(), &client())
        .await
        .unwrap();
    assert_eq!(second.refresh_expires_in, 3600);
    kit.clock.advance(secs(3600));
    assert_eq!(
        kit.auth
            .refresh(second.refresh_token.expose(), &client())
            .await
            .unwrap_err(),
        AuthError::TokenExpired
    );

    // Overall: refreshed every 30 minutes, the session still ends 24 hours after login.
    let mut pair = sms_login(&kit, PHONE).await;
    for _ in 0..47 {
        kit.clock.advance(secs(30 * 60));
        pair = kit
            .auth
            .refresh(pair.refresh_token.expose(), &client())
            .await
            .unwrap();
    }
    // 23 h 55 min: refreshing works, for the 5 minutes left.
    kit.clock.advance(secs(25 * 60));
    pair = kit
        .auth
        .refresh(pair.refresh_token.expose(), &client())
        .await
        .unwrap();
    assert_eq!(pair.refresh_expires_in, 300);
    assert!(
        kit.auth
            .authenticate(pair.access_token.expose())
            .await
            .is_ok()
    );
    // 24 h: over, though the access token itself has 5 minutes to go.
    kit.clock.advance(secs(5 * 60));
    assert_eq!(
        kit.auth
            .authenticate(pair.access_token.expose())
            .await
            .unwrap_err(),
        AuthError::TokenExpired
    );
    assert_eq!(
        kit.auth
            .refresh(pair.refresh_token.expose(), &client())
            .await
            .unwrap_err(),
        AuthError::TokenExpired
    );
}

/// `token` with its last character (part of its tag) changed: well-formed, names the same
/// session and generation, and was never issued.
fn forge(token: &str) -> String {
    let (head, last) = token.split_at(token.len() - 1);
    format!("{head}{}", if last == "A" { "B" } else { "A" })
}

/// The error of refreshing with `token` from `from`.
async fn refresh_error(kit: &auth_core::testkit::TestKit, token: &str, from: u8) -> AuthError {
    kit.auth
        .refresh(token, &client_from(from))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn failed_refreshes_from_one_ip_get_429_after_the_limit_and_other_ips_are_unaffected() {
    // The per-session limit out of the way, to see the per-IP one alone.
    let kit = kit_with(|c| c.session.refresh_failures_per_session = 1000);
    register_phone(&kit, PHONE).await;
    let victim = sms_login(&kit, PHONE).await;
    kit.clock.advance(secs(60));
    let own = sms_login(&kit, PHONE).await;
    let never_issued = forge(
        &victim.refresh_token.expose().replacen(
            &victim.session_id.as_uuid().simple().to_string(),
            &auth_core::SessionId::new_random()
                .as_uuid()
                .simple()
                .to_string(),
            1,
        ),
    );
    const ATTACKER: u8 = 66;
    // 60 failures of every kind: malformed, forged for a real session, naming no session.
    for i in 0..60 {
        let bad = match i % 3 {
            0 => "garbage".to_owned(),
            1 => forge(victim.refresh_token.expose()),
            _ => never_issued.clone(),
        };
        assert_eq!(
            refresh_error(&kit, &bad, ATTACKER).await,
            AuthError::InvalidToken,
            "failure {i}"
        );
    }
    // The 61st: 429 until 15 minutes after the latest failure, with no further store read of a
    // session.
    let e = refresh_error(&kit, "garbage", ATTACKER).await;
    assert_eq!(
        e,
        AuthError::RateLimited {
            retry_after: secs(900)
        }
    );
    assert_eq!((e.code(), e.status()), ("rate_limited", 429));
    kit.clock.advance(secs(300));
    assert_eq!(
        refresh_error(&kit, &forge(own.refresh_token.expose()), ATTACKER).await,
        AuthError::RateLimited {
            retry_after: secs(600)
        }
    );
    // A genuine token is never held up, even from the refused IP: the session rotates, and an
    // old genuine token is still caught as reuse.
    let rotated = kit
        .auth
        .refresh(own.refresh_token.expose(), &client_from(ATTACKER))
        .await
        .unwrap();
    let store = &kit.store;
    let state = |id| async move {
        let s = store.session(id).await.unwrap().unwrap();
        (s.refresh.generation, s.status)
    };
    assert_eq!(state(own.session_id).await, (1, SessionStatus::Active));
    // Other IPs are unaffected: the victim refreshes, and another IP's failures count apart.
    let victim = kit
        .auth
        .refresh(victim.refresh_token.expose(), &client())
        .await
        .unwrap();
    assert_eq!(
        refresh_error(&kit, "garbage", ATTACKER + 1).await,
        AuthError::InvalidToken
    );
    // The window the first failure opened over (refusals do not count), the IP may fail
    // again.
    kit.clock.advance(secs(600));
    assert_eq!(
        refresh_error(&kit, "garbage", ATTACKER).await,
        AuthError::InvalidToken
    );
    for tok in [&rotated.refresh_token, &victim.refresh_token] {
        assert!(
            kit.auth
                .refresh(tok.expose(), &client_from(ATTACKER))
                .await
                .is_ok()
        );
    }
}

#[tokio::test]
async fn failed_refreshes_naming_one_session_get_429_after_the_session_limit() {
    let kit = kit();
    register_phone(&kit, PHONE).await;
    let target = sms_login(&kit, PHONE).await;
    kit.clock.advance(secs(60));
    let other = sms_login(&kit, PHONE).await;
    let forged = forge(target.refresh_token.expose());
    // 20 failures naming the session, each from its own IP (under every per-IP limit).
    for ip in 0..20 {
        assert_eq!(
            refresh_error(&kit, &forged, ip).await,
            AuthError::InvalidToken,
            "failure from IP {ip}"
        );
    }
    let e = refresh_error(&kit, &forged, 200).await;
    assert_eq!(
        e,
        AuthError::RateLimited {
            retry_after: secs(900)
        }
    );
    // Forged tokens naming the session are refused from any IP until the window ends…
    kit.clock.advance(secs(100));
    assert_eq!(
        refresh_error(&kit, &forged, 201).await,
        AuthError::RateLimited {
            retry_after: secs(800)
        }
    );
    // …but its owner's genuine token is not held up, nor is any other session.
    let next = kit
        .auth
        .refresh(target.refresh_token.expose(), &client())
        .await
        .unwrap();
    assert_eq!(next.session_id, target.session_id);
    assert!(
        kit.auth
            .refresh(other.refresh_token.expose(), &client())
            .await
            .is_ok()
    );
    kit.clock.advance(secs(800));
    assert_eq!(
        refresh_error(&kit, &forged, 202).await,
        AuthError::InvalidToken
    );
}

#[tokio::test]
async fn a_zero_failure_window_turns_the_refresh_limits_off() {
    let kit = kit_with(|c| c.session.refresh_failure_window_secs = 0);
    register_phone(&kit, PHONE).await;
    let pair = sms_login(&kit, PHONE).await;
    let forged = forge(pair.refresh_token.expose());
    for _ in 0..100 {
        assert_eq!(
            refresh_error(&kit, &forged, 66).await,
            AuthError::InvalidToken
        );
    }
    assert!(
        kit.auth
            .refresh(pair.refresh_token.expose(), &client_from(66))
            .await
            .is_ok()
    );
}

#[test]
fn the_refresh_failure_limits_default_to_60_per_ip_and_20_per_session_per_15_minutes() {
    let cfg = auth_core::AuthConfig::new(auth_core::SigningSecret::generate());
    assert_eq!(cfg.session.refresh_failures_per_ip, 60);
    assert_eq!(cfg.session.refresh_failures_per_session, 20);
    assert_eq!(cfg.session.refresh_failure_window_secs, 900);
}
