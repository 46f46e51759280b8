//! Registration and password login: policy, enumeration resistance, throttling, lockout,
//! rehashing, change of password.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::api::{ChangePasswordRequest, LoginOutcome, LoginRequest, RegisterRequest};
use auth_core::store::UserStore as _;
use auth_core::{AuthError, LoginIdentifier, Password};
use common::*;

fn email_login(email: &str, password: &str) -> LoginRequest {
    LoginRequest {
        email: Some(email.into()),
        password: Some(Password::new(password)),
        ..Default::default()
    }
}

async fn login(
    kit: &auth_core::testkit::TestKit,
    email: &str,
    password: &str,
) -> Result<auth_core::api::TokenPair, AuthError> {
    match kit
        .auth
        .login(
            email_login(email, password).parse(kit.auth.config())?,
            &client(),
        )
        .await?
    {
        LoginOutcome::LoggedIn(pair) => Ok(pair),
        LoginOutcome::ChallengeSent(_) => panic!("expected a password login"),
    }
}

async fn login_from(
    kit: &auth_core::testkit::TestKit,
    email: &str,
    password: &str,
    client: &auth_core::api::ClientInfo,
) -> Result<auth_core::api::TokenPair, AuthError> {
    kit.auth
        .login_with_password(
            &LoginIdentifier::Email(auth_core::Email::parse(email).unwrap()),
            &password.into(),
            client,
        )
        .await
}

#[tokio::test]
async fn register_then_login_with_email_or_username() {
    let kit = kit();
    let res = kit
        .auth
        .register(
            reg(
                &kit.auth,
                RegisterRequest {
                    email: Some("Alice@Example.com".into()),
                    password: Some(Password::new(PASSWORD)),
                    username: Some("alice".into()),
                    profile: Some(serde_json::json!({"name": "Alice"})),
                    ..Default::default()
                },
            ),
            &client(),
        )
        .await
        .unwrap();
    assert!(res.activation_required);
    // Pending: the right password answers activation_required (and mails a fresh link).
    assert_eq!(
        login(&kit, "alice@example.com", PASSWORD)
            .await
            .unwrap_err(),
        AuthError::ActivationRequired
    );
    let token = kit.mail.last_token_for("alice@example.com").unwrap();
    kit.auth.activate(&token, &client()).await.unwrap();
    let pair = login(&kit, "alice@example.com", PASSWORD).await.unwrap();
    assert_eq!(pair.user_id, res.user_id);
    let by_name = kit
        .auth
        .login_with_password(
            &LoginIdentifier::Username(auth_core::Username::parse("ALICE").unwrap()),
            &PASSWORD.into(),
            &client(),
        )
        .await
        .unwrap();
    assert_eq!(by_name.user_id, res.user_id);
    let p = kit
        .auth
        .authenticate(by_name.access_token.expose())
        .await
        .unwrap();
    let me = kit.auth.me(&p, &client()).await.unwrap();
    assert_eq!(me.email.as_deref(), Some("alice@example.com"));
    assert_eq!(me.username.as_deref(), Some("alice"));
    assert_eq!(me.profile, serde_json::json!({"name": "Alice"}));
    assert_eq!(me.login_count, 2);
}

#[tokio::test]
async fn duplicates_are_already_registered() {
    let kit = kit();
    register_email(&kit, "bob@example.com").await;
    let e = try_register_email(&kit, "BOB@example.com ")
        .await
        .unwrap_err();
    assert_eq!((e.code(), e.status()), ("already_registered", 409));
    register_phone(&kit, PHONE).await;
    let e = kit
        .auth
        .register(
            reg(
                &kit.auth,
                RegisterRequest {
                    phone: Some("+1-555-123-4567".into()),
                    ..Default::default()
                },
            ),
            &client(),
        )
        .await
        .unwrap_err();
    assert_eq!(e, AuthError::AlreadyRegistered);
}

#[tokio::test]
async fn registration_rejects_bad_shapes_and_weak_passwords() {
    let kit = kit();
    let cases: Vec<(RegisterRequest, &str)> = vec![
        (RegisterRequest::default(), "invalid_request"),
        (
            RegisterRequest {
                email: Some("a@b.co".into()),
                ..Default::default()
            },
            "invalid_request",
        ),
        (
            RegisterRequest {
                phone: Some(PHONE.into()),
                password: Some(PASSWORD.into()),
                ..Default::default()
            },
            "invalid_request",
        ),
        (
            RegisterRequest {
                phone: Some(PHONE.into()),
                email: Some("a@b.co".into()),
                ..Default::default()
            },
            "invalid_request",
        ),
        (
            RegisterRequest {
                phone: Some("12345".into()),
                ..Default::default()
            },
            "invalid_request",
        ),
        (
            RegisterRequest {
                email: Some("not-an-email".into()),
                password: Some(PASSWORD.into()),
                ..Default::default()
            },
            "invalid_request",
        ),
        (
            RegisterRequest {
                phone: Some(PHONE.into()),
                username: Some("x".into()),
                ..Default::default()
            },
            "invalid_request",
        ),
        (
            RegisterRequest {
                phone: Some(PHONE.into()),
                profile: Some(serde_json::json!([1])),
                ..Default::default()
            },
            "invalid_request",
        ),
        (
            RegisterRequest {
                phone: Some(PHONE.into()),
                profile: Some(serde_json::json!({"bio": "x".repeat(5000)})),
                ..Default::default()
            },
            "invalid_request",
        ),
        (
            RegisterRequest {
                email: Some("c@d.co".into()),
                password: Some("short pass".into()),
                ..Default::default()
            },
            "weak_password",
        ),
        (
            RegisterRequest {
                email: Some("c@d.co".into()),
                password: Some("passwordpassword".into()),
                ..Default::default()
            },
            "weak_password",
        ),
        (
            RegisterRequest {
                email: Some("c@d.co".into()),
                password: Some(Password::new("x7#".repeat(100))),
                ..Default::default()
            },
            "weak_password",
        ),
    ];
    for (req, code) in cases {
        let dbg = format!("{req:?}");
        // The shape and the identifiers fail to parse; the rest fails in the flow.
        let e = match req.parse(kit.auth.config()) {
            Ok(account) => kit.auth.register(account, &client()).await.unwrap_err(),
            Err(e) => e,
        };
        assert_eq!(e.code(), code, "{dbg}");
    }
    // Nothing was created by any of them.
    assert!(
        kit.auth
            .find_user_by_phone(&to_phone(PHONE))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn weak_password_messages_say_why() {
    let kit = kit();
    let e = kit
        .auth
        .register(
            reg(
                &kit.auth,
                RegisterRequest {
                    email: Some("c@d.co".into()),
                    password: Some("short".into()),
                    ..Default::default()
                },
            ),
            &client(),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("too short"), "{e}");
    let e = kit
        .auth
        .register(
            reg(
                &kit.auth,
                RegisterRequest {
                    email: Some("c@d.co".into()),
                    password: Some(Password::new("a".repeat(300))),
                    ..Default::default()
                },
            ),
            &client(),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("too long"), "{e}");
}

#[tokio::test]
async fn registration_takes_15_characters_and_refuses_14() {
    let kit = kit();
    assert_eq!(kit.auth.config().password.min_length, 15, "the default");
    let fifteen = "qz7!Rv#p2Lm@9xK";
    let request = |password: &str| RegisterRequest {
        email: Some("pia@example.com".into()),
        password: Some(password.into()),
        ..Default::default()
    };
    let e = kit
        .auth
        .register(reg(&kit.auth, request(&fifteen[..14])), &client())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "weak_password");
    assert!(e.to_string().contains("at least 15 characters"), "{e}");
    assert!(
        kit.auth
            .register(reg(&kit.auth, request(fifteen)), &client())
            .await
            .is_ok()
    );
}

/// Registers a phone account (no password) with a username and an email address, the two
/// identifiers a password login could name it by.
async fn register_passwordless(kit: &auth_core::testkit::TestKit, username: &str, email: &str) {
    let id = kit
        .auth
        .register(
            reg(
                &kit.auth,
                RegisterRequest {
                    phone: Some(PHONE.into()),
                    username: Some(username.into()),
                    ..Default::default()
                },
            ),
            &client(),
        )
        .await
        .unwrap()
        .user_id;
    let mut user = kit.store.user_by_id(id).await.unwrap().unwrap();
    assert!(user.password_hash.is_none());
    user.email = Some(auth_core::Email::parse(email).unwrap());
    kit.store.update_user(&user).await.unwrap();
}

#[tokio::test]
async fn wrong_password_and_unknown_user_are_indistinguishable() {
    let kit = kit();
    register_email(&kit, "carol@example.com").await;
    register_passwordless(&kit, "smsonly", "sms.only@example.com").await;
    let email = |e: &str| LoginIdentifier::Email(auth_core::Email::parse(e).unwrap());
    let name = |u: &str| LoginIdentifier::Username(auth_core::Username::parse(u).unwrap());
    let cases = [
        (
            "a wrong password",
            email("carol@example.com"),
            "not the right password at all",
        ),
        ("an unknown email", email("nobody@example.com"), PASSWORD),
        ("an unknown username", name("nobody"), PASSWORD),
        (
            "a passwordless account's username",
            name("smsonly"),
            PASSWORD,
        ),
        (
            "a passwordless account's email",
            email("sms.only@example.com"),
            PASSWORD,
        ),
    ];
    let mut answers = Vec::new();
    for (what, identifier, password) in &cases {
        let before = kit.hashes();
        let e = kit
            .auth
            .login_with_password(identifier, &(*password).into(), &client())
            .await
            .unwrap_err();
        assert_eq!(e, AuthError::InvalidCredentials, "{what}");
        assert_eq!(kit.hashes() - before, 1, "{what}: one argon2 verification");
        answers.push(e.to_string());
    }
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    // The right password costs the same one verification.
    let before = kit.hashes();
    assert!(login(&kit, "carol@example.com", PASSWORD).await.is_ok());
    assert_eq!(kit.hashes() - before, 1);
}

#[tokio::test]
async fn http_basic_spends_the_same_hashing_work_for_unknown_and_wrong() {
    use auth_core::http::Requirement;
    use base64::Engine as _;
    let basic = |credentials: &str| {
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        format!("Basic {encoded}")
    };
    let kit = kit_with(|c| c.transport.basic_auth = true);
    register_email(&kit, "dan@example.com").await;
    register_passwordless(&kit, "smsonly", "sms.only@example.com").await;
    for credentials in [
        "dan@example.com:not the right password at all".to_owned(),
        format!("nobody@example.com:{PASSWORD}"),
        format!("nobody:{PASSWORD}"),
        format!("smsonly:{PASSWORD}"),
        format!("sms.only@example.com:{PASSWORD}"),
    ] {
        let before = kit.hashes();
        let header = basic(&credentials);
        assert_eq!(
            kit.auth
                .guard(
                    None,
                    &[("authorization", header.as_str())],
                    Requirement::User
                )
                .await,
            Err(AuthError::InvalidCredentials),
            "{credentials}"
        );
        assert_eq!(kit.hashes() - before, 1, "{credentials}");
    }
    let before = kit.hashes();
    let header = basic(&format!("dan@example.com:{PASSWORD}"));
    assert!(
        kit.auth
            .guard(
                None,
                &[("authorization", header.as_str())],
                Requirement::User
            )
            .await
            .is_ok()
    );
    assert_eq!(kit.hashes() - before, 1);
}

#[tokio::test]
async fn attempts_are_throttled_per_account_for_known_and_unknown_alike() {
    let kit = kit_with(|c| c.password.attempts_per_window = 3);
    register_email(&kit, "dave@example.com").await;
    for email in ["dave@example.com", "ghost@example.com"] {
        for _ in 0..3 {
            assert_eq!(
                login(&kit, email, "wrong wrong wrong wrong")
                    .await
                    .unwrap_err(),
                AuthError::InvalidCredentials
            );
        }
        let e = login(&kit, email, PASSWORD).await.unwrap_err();
        assert!(matches!(e, AuthError::RateLimited { .. }), "{email}: {e:?}");
        assert_eq!(e.retry_after_secs(), Some(900));
    }
    // Throttling is per account, not per IP: a fresh window lets the right password in.
    kit.clock.advance(secs(900));
    assert!(login(&kit, "dave@example.com", PASSWORD).await.is_ok());
}

#[tokio::test]
async fn a_password_lockout_is_temporary_and_escalates_up_to_its_cap() {
    let kit = kit_with(|c| {
        c.password.lockout_after = 4;
        c.password.attempts_per_window = 1000;
    });
    register_email(&kit, "erin@example.com").await;
    let wrong = "wrong wrong wrong wrong";
    for _ in 0..4 {
        let _ = login(&kit, "erin@example.com", wrong).await;
    }
    // Locked for 15 minutes from the 4th failure, with the time left in Retry-After.
    let e = login(&kit, "erin@example.com", PASSWORD).await.unwrap_err();
    assert_eq!(
        e,
        AuthError::TooManyAttempts {
            retry_after: Some(secs(900))
        }
    );
    kit.clock.advance(secs(899));
    assert!(login(&kit, "erin@example.com", PASSWORD).await.is_err());
    // Time unlocks it; each further failure doubles the next lock: 30 min, 1 h, 2 h, …
    let mut expected = 900;
    for _ in 0..10 {
        kit.clock.advance(secs(1));
        expected = (expected * 2).min(86_400);
        assert_eq!(
            login(&kit, "erin@example.com", wrong).await.unwrap_err(),
            AuthError::InvalidCredentials
        );
        assert_eq!(
            login(&kit, "erin@example.com", PASSWORD).await.unwrap_err(),
            AuthError::TooManyAttempts {
                retry_after: Some(secs(expected))
            },
        );
        kit.clock.advance(secs(expected - 1));
    }
    assert_eq!(expected, 86_400, "the lock is capped at 24 hours");
    // Once the lock ends the right password works and clears the count.
    kit.clock.advance(secs(1));
    assert!(login(&kit, "erin@example.com", PASSWORD).await.is_ok());
    assert_eq!(
        login(&kit, "erin@example.com", wrong).await.unwrap_err(),
        AuthError::InvalidCredentials,
        "the count starts again after a success"
    );
}

#[tokio::test]
async fn a_password_lockout_leaves_sms_login_and_sms_reset_open_to_the_owner() {
    let kit = kit_with(|c| {
        c.password.lockout_after = 3;
        c.password.attempts_per_window = 1000;
        c.sms.resend_cooldown_secs = 0;
    });
    let user = register_email(&kit, "erin@example.com").await;
    let mut u = kit.store.user_by_id(user).await.unwrap().unwrap();
    u.phone = Some(auth_core::Phone::parse(PHONE, false).unwrap());
    kit.store.update_user(&u).await.unwrap();
    for _ in 0..3 {
        let _ = login(&kit, "erin@example.com", "wrong wrong wrong wrong").await;
    }
    assert!(matches!(
        login(&kit, "erin@example.com", PASSWORD).await,
        Err(AuthError::TooManyAttempts { .. })
    ));
    // A stranger's password guesses do not block the owner's SMS reset…
    let ch = kit
        .auth
        .request_password_reset_sms(&to_phone(PHONE), &client())
        .await
        .unwrap();
    let code = kit.sms.last_code_for(PHONE).unwrap();
    kit.auth
        .confirm_password_reset_sms(
            ch.challenge_id,
            &code,
            &Password::new("a brand new passphrase here"),
            &client(),
        )
        .await
        .unwrap();
    // …which also clears the password lockout.
    assert!(
        login(&kit, "erin@example.com", "a brand new passphrase here")
            .await
            .is_ok()
    );
    // Nor an SMS login.
    for _ in 0..3 {
        let _ = login(&kit, "erin@example.com", "wrong wrong wrong wrong").await;
    }
    sms_login(&kit, PHONE).await;
    assert!(
        login(&kit, "erin@example.com", "a brand new passphrase here")
            .await
            .is_ok(),
        "proving the account by SMS unlocks passwords"
    );
}

#[tokio::test]
async fn the_per_ip_password_cap_counts_in_a_window_the_first_failure_opens() {
    let kit = kit_with(|c| {
        c.password.failures_per_ip = 3;
        c.password.failures_per_ip_window_secs = 900;
    });
    register_email(&kit, "ivy@example.com").await;
    let office = client_from(10);
    let typo = |i: u32| format!("typo{i}@example.com");
    // Two failures in the first window, a third just after it: a trickle of typos is not a
    // flood, so the third opens a new window instead of reaching the cap.
    for (i, wait) in [(0, 0), (1, 800), (2, 101)] {
        kit.clock.advance(secs(wait));
        assert_eq!(
            login_from(&kit, &typo(i), "wrong wrong wrong wrong", &office)
                .await
                .unwrap_err(),
            AuthError::InvalidCredentials
        );
    }
    kit.clock.advance(secs(1));
    assert!(
        login_from(&kit, "ivy@example.com", PASSWORD, &office)
            .await
            .is_ok()
    );
    // Three in one window do reach it, until that window ends.
    for i in 3..5 {
        let _ = login_from(&kit, &typo(i), "wrong wrong wrong wrong", &office).await;
    }
    let e = login_from(&kit, "ivy@example.com", PASSWORD, &office)
        .await
        .unwrap_err();
    assert_eq!(
        e,
        AuthError::RateLimited {
            retry_after: secs(899)
        }
    );
}

#[tokio::test]
async fn failed_passwords_are_capped_per_client_ip_across_accounts() {
    let kit = kit_with(|c| {
        c.password.failures_per_ip = 5;
        c.password.failures_per_ip_window_secs = 600;
    });
    register_email(&kit, "ivy@example.com").await;
    let attacker = client_from(9);
    // Five wrong passwords on five different accounts from one IP…
    for i in 0..5 {
        let email = format!("victim{i}@example.com");
        assert_eq!(
            login_from(&kit, &email, "wrong wrong wrong wrong", &attacker)
                .await
                .unwrap_err(),
            AuthError::InvalidCredentials
        );
    }
    // …and that IP is refused before any hashing, even with a right password.
    let before = kit.hashes();
    let e = login_from(&kit, "ivy@example.com", PASSWORD, &attacker)
        .await
        .unwrap_err();
    assert!(matches!(e, AuthError::RateLimited { .. }), "{e:?}");
    assert_eq!(e.retry_after_secs(), Some(600));
    assert_eq!(kit.hashes(), before, "a capped IP costs no argon2 work");
    // Another IP is not affected.
    assert!(
        login_from(&kit, "ivy@example.com", PASSWORD, &client())
            .await
            .is_ok()
    );
    // The window the first failure opened ends.
    kit.clock.advance(secs(600));
    assert!(
        login_from(&kit, "ivy@example.com", PASSWORD, &attacker)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn admin_reset_unlocks_a_password_lockout() {
    let kit = kit_with(|c| c.password.lockout_after = 2);
    let user = register_email(&kit, "fay@example.com").await;
    for _ in 0..2 {
        let _ = login(&kit, "fay@example.com", "wrong wrong wrong wrong").await;
    }
    assert!(login(&kit, "fay@example.com", PASSWORD).await.is_err());
    kit.auth.reset_lockouts(user).await.unwrap();
    assert!(login(&kit, "fay@example.com", PASSWORD).await.is_ok());
}

#[tokio::test]
async fn disabled_and_pending_accounts_are_revealed_only_after_the_right_password() {
    let kit = kit();
    let user = register_email(&kit, "gus@example.com").await;
    kit.auth.disable_user(user).await.unwrap();
    assert_eq!(
        login(&kit, "gus@example.com", "wrong wrong wrong wrong")
            .await
            .unwrap_err(),
        AuthError::InvalidCredentials
    );
    assert_eq!(
        login(&kit, "gus@example.com", PASSWORD).await.unwrap_err(),
        AuthError::AccountDisabled
    );
    kit.auth.enable_user(user).await.unwrap();
    assert!(login(&kit, "gus@example.com", PASSWORD).await.is_ok());
    let mut u = kit.store.user_by_id(user).await.unwrap().unwrap();
    u.status = auth_core::UserStatus::PendingActivation;
    kit.store.update_user(&u).await.unwrap();
    assert_eq!(
        login(&kit, "gus@example.com", "wrong wrong wrong wrong")
            .await
            .unwrap_err(),
        AuthError::InvalidCredentials
    );
    assert_eq!(
        login(&kit, "gus@example.com", PASSWORD).await.unwrap_err(),
        AuthError::ActivationRequired
    );
}

#[tokio::test]
async fn passwords_are_normalized_not_truncated() {
    let kit = kit();
    kit.auth
        .register(
            reg(
                &kit.auth,
                RegisterRequest {
                    email: Some("hal@example.com".into()),
                    // "ﬁ" (U+FB01) is NFKC-equivalent to "fi".
                    password: Some("\u{FB01}ve velvet quarry lanterns".into()),
                    ..Default::default()
                },
            ),
            &client(),
        )
        .await
        .unwrap();
    let token = kit.mail.last_token_for("hal@example.com").unwrap();
    kit.auth.activate(&token, &client()).await.unwrap();
    assert!(
        login(&kit, "hal@example.com", "five velvet quarry lanterns")
            .await
            .is_ok()
    );
    assert!(
        login(&kit, "hal@example.com", "five velvet quarry lanterns!")
            .await
            .is_err()
    );
    assert!(
        login(&kit, "hal@example.com", "five velvet quarry lantern")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn hashes_are_upgraded_when_parameters_rise() {
    let kit = kit();
    let user = register_email(&kit, "ivy@example.com").await;
    let before = kit
        .store
        .user_by_id(user)
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap();
    assert!(before.as_phc().contains("m=1024,t=1"));
    // Same store, stronger configuration.
    let mut cfg = auth_core::testkit::TestKit::config();
    cfg.password.argon2_m_cost_kib = 2048;
    cfg.password.argon2_t_cost = 2;
    let stronger = auth_core::Auth::builder(cfg)
        .store(kit.store.clone())
        .sms(kit.sms.clone())
        .clock(kit.clock.clone())
        .build()
        .unwrap();
    stronger
        .login(
            email_login("ivy@example.com", PASSWORD)
                .parse(stronger.config())
                .unwrap(),
            &client(),
        )
        .await
        .unwrap();
    let after = kit
        .store
        .user_by_id(user)
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap();
    assert!(after.as_phc().contains("m=2048,t=2"), "{}", after.as_phc());
    assert!(
        stronger
            .login(
                email_login("ivy@example.com", PASSWORD)
                    .parse(stronger.config())
                    .unwrap(),
                &client()
            )
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn change_password_needs_the_old_one_and_revokes_other_sessions() {
    let kit = kit();
    register_email(&kit, "jan@example.com").await;
    let a = login(&kit, "jan@example.com", PASSWORD).await.unwrap();
    let b = login(&kit, "jan@example.com", PASSWORD).await.unwrap();
    let pa = kit
        .auth
        .authenticate(a.access_token.expose())
        .await
        .unwrap();
    let new = "another long passphrase entirely";
    let wrong_old = kit
        .auth
        .change_password(
            &pa,
            ChangePasswordRequest {
                old_password: Some("nope nope nope nope".into()),
                new_password: new.into(),
            },
            &client(),
        )
        .await
        .unwrap_err();
    assert_eq!(wrong_old, AuthError::InvalidCredentials);
    let missing_old = kit
        .auth
        .change_password(
            &pa,
            ChangePasswordRequest {
                old_password: None,
                new_password: new.into(),
            },
            &client(),
        )
        .await
        .unwrap_err();
    assert_eq!(missing_old.code(), "invalid_request");
    let weak = kit
        .auth
        .change_password(
            &pa,
            ChangePasswordRequest {
                old_password: Some(PASSWORD.into()),
                new_password: "short".into(),
            },
            &client(),
        )
        .await
        .unwrap_err();
    assert_eq!(weak.code(), "weak_password");
    kit.auth
        .change_password(
            &pa,
            ChangePasswordRequest {
                old_password: Some(PASSWORD.into()),
                new_password: new.into(),
            },
            &client(),
        )
        .await
        .unwrap();
    // The other session is gone, this one lives; the old password no longer works.
    assert_eq!(
        kit.auth
            .authenticate(b.access_token.expose())
            .await
            .unwrap_err(),
        AuthError::TokenRevoked
    );
    assert_eq!(
        kit.auth
            .refresh(b.refresh_token.expose(), &client())
            .await
            .unwrap_err(),
        AuthError::TokenRevoked
    );
    assert!(kit.auth.authenticate(a.access_token.expose()).await.is_ok());
    assert_eq!(
        login(&kit, "jan@example.com", PASSWORD).await.unwrap_err(),
        AuthError::InvalidCredentials
    );
    assert!(login(&kit, "jan@example.com", new).await.is_ok());
}

#[tokio::test]
async fn an_sms_account_can_set_a_first_password_without_an_old_one() {
    let kit = kit();
    register_phone(&kit, PHONE).await;
    let pair = sms_login(&kit, PHONE).await;
    let p = kit
        .auth
        .authenticate(pair.access_token.expose())
        .await
        .unwrap();
    let e = kit
        .auth
        .change_password(
            &p,
            ChangePasswordRequest {
                old_password: Some(PASSWORD.into()),
                new_password: PASSWORD.into(),
            },
            &client(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid_request");
    kit.auth
        .change_password(
            &p,
            ChangePasswordRequest {
                old_password: None,
                new_password: PASSWORD.into(),
            },
            &client(),
        )
        .await
        .unwrap();
    let user = kit.store.user_by_id(p.user_id).await.unwrap().unwrap();
    assert!(user.password_hash.is_some());
}

#[tokio::test]
async fn login_request_shapes() {
    let kit = kit();
    for req in [
        LoginRequest::default(),
        LoginRequest {
            phone: Some(PHONE.into()),
            password: Some(PASSWORD.into()),
            ..Default::default()
        },
        LoginRequest {
            email: Some("a@b.co".into()),
            ..Default::default()
        },
        LoginRequest {
            email: Some("a@b.co".into()),
            username: Some("abc".into()),
            password: Some(PASSWORD.into()),
            ..Default::default()
        },
    ] {
        let e = match req.parse(kit.auth.config()) {
            Err(e) => e,
            Ok(login) => kit.auth.login(login, &client()).await.unwrap_err(),
        };
        assert_eq!(e.code(), "invalid_request");
    }
    let out = kit
        .auth
        .login(
            LoginRequest {
                phone: Some(PHONE.into()),
                ..Default::default()
            }
            .parse(kit.auth.config())
            .unwrap(),
            &client(),
        )
        .await
        .unwrap();
    assert!(matches!(out, LoginOutcome::ChallengeSent(_)));
}

#[tokio::test]
async fn overlong_passwords_are_refused_without_hashing() {
    let kit = kit();
    register_email(&kit, "kim@example.com").await;
    let max = kit.auth.config().password.max_length;
    // U+FB00 "ﬀ" is one character that NFKC turns into two ("ff"): this password has fewer
    // than `max` characters as typed but more than `max` as the policy counts them.
    let ligatures = "\u{FB00}".repeat(max / 2 + 1);
    assert!(ligatures.chars().count() <= max);
    for overlong in ["x".repeat(10_000), "x".repeat(max + 1), ligatures] {
        let before = kit.hashes();
        let e = login(&kit, "kim@example.com", &overlong).await.unwrap_err();
        assert_eq!(e, AuthError::InvalidCredentials);
        assert_eq!(
            kit.hashes(),
            before,
            "no argon2 work for a password of {} characters",
            overlong.chars().count()
        );
    }
    // The counter does move: a wrong password of exactly the maximum is verified.
    let before = kit.hashes();
    let e = login(&kit, "kim@example.com", &"x".repeat(max))
        .await
        .unwrap_err();
    assert_eq!(e, AuthError::InvalidCredentials);
    assert_eq!(kit.hashes(), before + 1);
}

/// A strong passphrase followed by `accents` letters "é" typed as "e" plus a combining acute
/// accent (U+0301): two characters each as typed, one after NFKC.
fn decomposed_passphrase(accents: usize) -> String {
    format!("{PASSWORD} {}", "e\u{301}".repeat(accents))
}

#[tokio::test]
async fn login_counts_password_length_as_the_policy_does() {
    let kit = kit_with(|c| c.accounts.require_email_activation = false);
    let max = kit.auth.config().password.max_length;
    let accents = max - PASSWORD.chars().count() - 1;
    let at_max = decomposed_passphrase(accents);
    assert_eq!(
        auth_core::password::normalize(&at_max.as_str().into())
            .expose()
            .chars()
            .count(),
        max
    );
    assert!(
        at_max.chars().count() > max,
        "longer than the maximum as typed"
    );
    // The policy counts after NFKC: exactly the maximum, accepted.
    kit.auth
        .register(
            reg(
                &kit.auth,
                RegisterRequest {
                    email: Some("nia@example.com".into()),
                    password: Some(at_max.as_str().into()),
                    ..Default::default()
                },
            ),
            &client(),
        )
        .await
        .unwrap();
    // So the same password, as typed, must log in (and its NFKC form too).
    assert!(login(&kit, "nia@example.com", &at_max).await.is_ok());
    let nfkc = auth_core::password::normalize(&at_max.as_str().into());
    assert!(login(&kit, "nia@example.com", nfkc.expose()).await.is_ok());
    // One accent more is over the maximum both for the policy and at login (unhashed).
    let over = decomposed_passphrase(accents + 1);
    let e = kit
        .auth
        .register(
            reg(
                &kit.auth,
                RegisterRequest {
                    email: Some("oli@example.com".into()),
                    password: Some(over.as_str().into()),
                    ..Default::default()
                },
            ),
            &client(),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("too long"), "{e}");
    let before = kit.hashes();
    assert_eq!(
        login(&kit, "nia@example.com", &over).await.unwrap_err(),
        AuthError::InvalidCredentials
    );
    assert_eq!(kit.hashes(), before);
}

#[tokio::test]
async fn store_outage_is_503_for_password_flows() {
    let kit = kit();
    register_email(&kit, "lee@example.com").await;
    kit.store.set_unavailable(true);
    assert_eq!(
        login(&kit, "lee@example.com", PASSWORD).await.unwrap_err(),
        AuthError::StoreUnavailable
    );
    let e = kit
        .auth
        .register(
            reg(
                &kit.auth,
                RegisterRequest {
                    phone: Some(PHONE.into()),
                    ..Default::default()
                },
            ),
            &client(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 503);
}

#[tokio::test]
async fn a_full_hashing_queue_refuses_at_once_and_counts_no_attempt() {
    let kit = kit_with(|c| {
        c.password.attempts_per_window = 2;
        c.password.lockout_after = 1;
        c.password.failures_per_ip = 1;
        c.password.max_concurrent_hashes = 1;
        c.password.max_queued_hashes = Some(1);
    });
    register_email(&kit, "fay@example.com").await;
    let signed_in = login(&kit, "fay@example.com", PASSWORD).await.unwrap();
    let principal = kit
        .auth
        .authenticate(signed_in.access_token.expose())
        .await
        .unwrap();
    kit.clock.advance(secs(900)); // a fresh throttle window
    let held = kit.saturate_password_hashing().await;
    let refused = AuthError::RateLimited {
        retry_after: secs(1),
    };
    let hashes = kit.hashes();
    // Known and unknown accounts, right and wrong passwords: all the same 429, at once.
    for _ in 0..3 {
        for (email, password) in [
            ("fay@example.com", PASSWORD),
            ("fay@example.com", "wrong wrong wrong wrong"),
            ("ghost@example.com", PASSWORD),
        ] {
            let e = login(&kit, email, password).await.unwrap_err();
            assert_eq!(e, refused, "{email}");
            assert_eq!(e.retry_after_secs(), Some(1));
        }
    }
    // So do the flows that need a new hash, and re-authentication by password.
    let e = try_register_email(&kit, "gus@example.com")
        .await
        .unwrap_err();
    assert_eq!(e, refused);
    let e = kit
        .auth
        .change_password(
            &principal,
            ChangePasswordRequest {
                old_password: Some(PASSWORD.into()),
                new_password: "another long passphrase entirely".into(),
            },
            &client(),
        )
        .await
        .unwrap_err();
    assert_eq!(e, refused);
    assert_eq!(kit.hashes(), hashes, "nothing was hashed");
    held.release().await;
    // Nothing was counted: 9 refused logins neither used the 2 attempts of the window nor
    // failed towards the lockout (after 1) or the per-IP cap (1 failure), for either account.
    assert!(login(&kit, "fay@example.com", PASSWORD).await.is_ok());
    assert_eq!(
        login(&kit, "ghost@example.com", PASSWORD)
            .await
            .unwrap_err(),
        AuthError::InvalidCredentials
    );
    assert_eq!(kit.hashes(), hashes + 2);
}
