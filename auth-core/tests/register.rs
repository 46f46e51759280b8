//! `POST /register` as an abuse channel: its limits, the same hashing work for taken and free
//! identifiers, the mail caps on activation mail, and `accounts.conceal_existing`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::api::{ClientInfo, LoginOutcome, LoginRequest, RegisterRequest, RegisterResponse};
use auth_core::mail::MailKind;
use auth_core::testkit::TestKit;
use auth_core::{AuthError, Password};
use common::*;

const EMAIL: &str = "mia@example.com";
const OTHER_PASSWORD: &str = "granite orchard whistle compass";

fn by_email(email: &str, password: &str) -> RegisterRequest {
    RegisterRequest {
        email: Some(email.into()),
        password: Some(Password::new(password)),
        ..Default::default()
    }
}

fn by_phone(phone: &str) -> RegisterRequest {
    RegisterRequest {
        phone: Some(phone.into()),
        ..Default::default()
    }
}

fn with_username(mut request: RegisterRequest, username: &str) -> RegisterRequest {
    request.username = Some(username.into());
    request
}

/// Registers and returns the answer with the argon2 computations the call started.
async fn register_counting(
    kit: &TestKit,
    request: RegisterRequest,
    client: &ClientInfo,
) -> (Result<RegisterResponse, AuthError>, u64) {
    let before = kit.hashes();
    let res = kit.auth.register(reg(&kit.auth, request), client).await;
    (res, kit.hashes() - before)
}

fn conceal() -> TestKit {
    kit_with(|c| c.accounts.conceal_existing = true)
}

async fn password_login(kit: &TestKit, email: &str, password: &str) -> Result<(), AuthError> {
    let request = LoginRequest {
        email: Some(email.into()),
        password: Some(Password::new(password)),
        ..Default::default()
    };
    match kit
        .auth
        .login(request.parse(kit.auth.config())?, &client())
        .await?
    {
        LoginOutcome::LoggedIn(_) => Ok(()),
        other => panic!("{other:?}"),
    }
}

fn retry_after(err: AuthError) -> std::time::Duration {
    match err {
        AuthError::RateLimited { retry_after } => retry_after,
        other => panic!("expected rate_limited, got {other:?}"),
    }
}

#[tokio::test]
async fn registrations_are_limited_per_client_ip_per_hour_and_per_day() {
    let kit = kit();
    let nat = client_from(1);
    let mut n = 0u32;
    let mut phone = || {
        n += 1;
        format!("+1555100{n:04}")
    };
    // Default: 20 per IP per hour, 100 per day.
    for hour in 0..5 {
        for _ in 0..20 {
            kit.auth
                .register(reg(&kit.auth, by_phone(&phone())), &nat)
                .await
                .unwrap();
        }
        let err = kit
            .auth
            .register(reg(&kit.auth, by_phone(&phone())), &nat)
            .await
            .unwrap_err();
        let wait = retry_after(err);
        assert!(
            wait > secs(0) && wait <= secs(3600),
            "hour {hour}: {wait:?}"
        );
        // Another client is not affected.
        kit.auth
            .register(reg(&kit.auth, by_phone(&phone())), &client_from(2 + hour))
            .await
            .unwrap();
        kit.clock.advance(secs(3600));
    }
    // 100 today: the daily cap holds though the hour is new.
    let err = kit
        .auth
        .register(reg(&kit.auth, by_phone(&phone())), &nat)
        .await
        .unwrap_err();
    let wait = retry_after(err);
    assert!(wait > secs(3600) && wait <= secs(19 * 3600), "{wait:?}");
    kit.clock.advance(wait);
    kit.auth
        .register(reg(&kit.auth, by_phone(&phone())), &nat)
        .await
        .unwrap();
}

#[tokio::test]
async fn registrations_are_limited_per_identifier_from_any_ip() {
    let kit = kit();
    // A phone: one account, then 409s, from five IPs; the sixth attempt is refused before
    // the lookup, so it answers 429 instead of 409.
    kit.auth
        .register(reg(&kit.auth, by_phone(PHONE)), &client_from(1))
        .await
        .unwrap();
    for ip in 2..=5 {
        assert_eq!(
            kit.auth
                .register(reg(&kit.auth, by_phone(PHONE)), &client_from(ip))
                .await
                .unwrap_err(),
            AuthError::AlreadyRegistered
        );
    }
    let err = kit
        .auth
        .register(
            reg(&kit.auth, by_phone(" +1 555 123 4567 ")),
            &client_from(6),
        )
        .await
        .unwrap_err();
    assert!(retry_after(err) <= secs(3600));
    kit.auth
        .register(reg(&kit.auth, by_phone("+15557654321")), &client_from(6))
        .await
        .unwrap();

    // An email, from a client whose IP is unknown: five weak passwords (422), then 429 with
    // no policy check and no hash at all.
    let unknown_ip = ClientInfo::default();
    for _ in 0..5 {
        let (res, hashes) = register_counting(&kit, by_email(EMAIL, "short"), &unknown_ip).await;
        assert_eq!(res.unwrap_err().code(), "weak_password");
        assert_eq!(hashes, 0);
    }
    let (res, hashes) = register_counting(&kit, by_email(EMAIL, PASSWORD), &unknown_ip).await;
    assert_eq!(res.unwrap_err().code(), "rate_limited");
    assert_eq!(hashes, 0, "the limit comes before any argon2 work");
    // The address is not registered: after the hour it is free.
    kit.clock.advance(secs(3600));
    let (res, hashes) = register_counting(&kit, by_email(EMAIL, PASSWORD), &unknown_ip).await;
    assert!(res.unwrap().activation_required);
    assert_eq!(hashes, 1);

    // A username counts on its own, whatever the email beside it.
    kit.auth
        .register(
            reg(&kit.auth, with_username(by_phone("+15552000000"), "mia")),
            &client_from(10),
        )
        .await
        .unwrap();
    for i in 1..5 {
        let err = kit
            .auth
            .register(
                reg(
                    &kit.auth,
                    with_username(by_phone(&format!("+1555200000{i}")), "mia"),
                ),
                &client_from(10 + i),
            )
            .await
            .unwrap_err();
        assert_eq!(err, AuthError::AlreadyRegistered);
    }
    let err = kit
        .auth
        .register(
            reg(&kit.auth, with_username(by_phone("+15552000009"), "Mia")),
            &client_from(20),
        )
        .await
        .unwrap_err();
    retry_after(err);
}

#[tokio::test]
async fn taken_and_free_identifiers_cost_the_same_argon2_work() {
    let kit = kit();
    let (free, free_hashes) = register_counting(
        &kit,
        with_username(by_email(EMAIL, PASSWORD), "mia"),
        &client_from(1),
    )
    .await;
    free.unwrap();
    assert_eq!(free_hashes, 1);

    // A taken email, a taken username: the same 409 as ever, after the same one hash.
    let (res, hashes) =
        register_counting(&kit, by_email(EMAIL, OTHER_PASSWORD), &client_from(2)).await;
    assert_eq!(res.unwrap_err(), AuthError::AlreadyRegistered);
    assert_eq!(hashes, free_hashes, "a taken email");
    let (res, hashes) = register_counting(
        &kit,
        with_username(by_email("noah@example.com", PASSWORD), "mia"),
        &client_from(3),
    )
    .await;
    assert_eq!(res.unwrap_err(), AuthError::AlreadyRegistered);
    assert_eq!(hashes, free_hashes, "a taken username");

    // The password policy comes first: a weak password is 422 for a taken email as for a
    // free one, with no hash either way.
    for email in [EMAIL, "free@example.com"] {
        let (res, hashes) =
            register_counting(&kit, by_email(email, "short"), &client_from(4)).await;
        assert_eq!(res.unwrap_err().code(), "weak_password", "{email}");
        assert_eq!(hashes, 0, "{email}");
    }

    // Concealed, a taken email costs the same too.
    let kit = conceal();
    register_email(&kit, EMAIL).await;
    kit.clock.advance(secs(61));
    let (free, free_hashes) =
        register_counting(&kit, by_email("free@example.com", PASSWORD), &client()).await;
    let (taken, taken_hashes) =
        register_counting(&kit, by_email(EMAIL, OTHER_PASSWORD), &client()).await;
    assert!(free.unwrap().activation_required);
    assert!(taken.unwrap().activation_required);
    assert_eq!((free_hashes, taken_hashes), (1, 1));
}

#[tokio::test]
async fn activation_mail_counts_against_the_mail_caps() {
    let kit = kit();
    register_email(&kit, EMAIL).await;
    // The activation mail started the address's cooldown: a reset mail must wait.
    let err = kit
        .auth
        .request_password_reset_email(&to_email(EMAIL), &client())
        .await
        .unwrap_err();
    assert!(retry_after(err) <= secs(60));
    kit.clock.advance(secs(60));
    kit.auth
        .request_password_reset_email(&to_email(EMAIL), &client())
        .await
        .unwrap();

    // An address already at its cap gets no activation mail; the registration still
    // succeeds, and a login with the password mails the link once the cap allows.
    let capped = "capped@example.com";
    kit.auth.resend_activation(&to_email(capped)).await.unwrap(); // an unknown address: counted, no mail
    let sent = kit.mail.count();
    let res = kit
        .auth
        .register(reg(&kit.auth, by_email(capped, PASSWORD)), &client())
        .await
        .unwrap();
    assert!(res.activation_required);
    assert_eq!(kit.mail.count(), sent, "no mail over the cap");
    kit.clock.advance(secs(60));
    let req = LoginRequest {
        email: Some(capped.into()),
        password: Some(PASSWORD.into()),
        ..Default::default()
    };
    assert_eq!(
        kit.auth
            .login(req.parse(kit.auth.config()).unwrap(), &client())
            .await
            .unwrap_err(),
        AuthError::ActivationRequired
    );
    let token = kit.mail.last_token_for(capped).expect("an activation mail");
    kit.auth.activate(&token, &client()).await.unwrap();
}

#[tokio::test]
async fn without_conceal_existing_a_taken_email_is_409() {
    let kit = kit();
    register_email(&kit, EMAIL).await;
    kit.clock.advance(secs(61));
    let sent = kit.mail.count();
    assert_eq!(
        kit.auth
            .register(reg(&kit.auth, by_email(EMAIL, OTHER_PASSWORD)), &client())
            .await
            .unwrap_err(),
        AuthError::AlreadyRegistered
    );
    assert_eq!(kit.mail.count(), sent, "no mail");
}

#[tokio::test]
async fn conceal_existing_answers_a_taken_email_like_a_free_one_and_tells_the_owner() {
    let kit = conceal();
    let owner = register_email(&kit, EMAIL).await;
    kit.clock.advance(secs(61));

    let (writes, hashes) = (kit.store.writes(), kit.hashes());
    let free = kit
        .auth
        .register(
            reg(&kit.auth, by_email("free@example.com", PASSWORD)),
            &client(),
        )
        .await
        .unwrap();
    let free_work = (kit.store.writes() - writes, kit.hashes() - hashes);
    let (writes, hashes) = (kit.store.writes(), kit.hashes());
    let taken = kit
        .auth
        .register(
            reg(&kit.auth, by_email(" Mia@Example.com", OTHER_PASSWORD)),
            &client(),
        )
        .await
        .unwrap();
    let taken_work = (kit.store.writes() - writes, kit.hashes() - hashes);
    // The same argon2 work and the same number of store writes, so the same time.
    assert_eq!(taken_work, free_work);
    assert_eq!(free_work.1, 1);
    // The same body shape and values a free email gets.
    let keys = |r: &RegisterResponse| {
        let v = serde_json::to_value(r).unwrap();
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(keys(&taken), keys(&free));
    assert_eq!(taken.activation_required, free.activation_required);
    assert_eq!(taken.user_id.as_uuid().get_version_num(), 4);
    assert_ne!(taken.user_id, owner);
    // The id is nobody's.
    assert!(kit.auth.find_user(taken.user_id).await.unwrap().is_none());
    assert!(kit.auth.find_user(free.user_id).await.unwrap().is_some());

    // The owner got a notice, without a token, instead of an activation link.
    let notice = kit.mail.sent().pop().unwrap();
    assert_eq!(notice.to.as_str(), EMAIL);
    assert_eq!(notice.kind, MailKind::RegistrationAttempt);
    assert!(notice.token.is_none());
    assert!(notice.body.contains("tried to create a new account"));

    // Nothing about the account changed: the stranger's password does not log in (like an
    // unknown account), the owner's does.
    assert_eq!(
        password_login(&kit, EMAIL, OTHER_PASSWORD)
            .await
            .unwrap_err(),
        AuthError::InvalidCredentials
    );
    assert_eq!(
        password_login(&kit, "nobody@example.com", OTHER_PASSWORD)
            .await
            .unwrap_err(),
        AuthError::InvalidCredentials
    );
    password_login(&kit, EMAIL, PASSWORD).await.unwrap();

    // Within the mail cooldown: still 201, silently no mail.
    let sent = kit.mail.count();
    let again = kit
        .auth
        .register(reg(&kit.auth, by_email(EMAIL, OTHER_PASSWORD)), &client())
        .await
        .unwrap();
    assert!(again.activation_required);
    assert_ne!(again.user_id, taken.user_id);
    assert_eq!(kit.mail.count(), sent);
}

#[tokio::test]
async fn conceal_existing_leaves_taken_usernames_and_phones_at_409() {
    let kit = conceal();
    kit.auth
        .register(
            reg(&kit.auth, with_username(by_email(EMAIL, PASSWORD), "mia")),
            &client(),
        )
        .await
        .unwrap();
    register_phone(&kit, PHONE).await;
    assert_eq!(
        kit.auth
            .register(
                reg(
                    &kit.auth,
                    with_username(by_email("noah@example.com", PASSWORD), "mia")
                ),
                &client()
            )
            .await
            .unwrap_err(),
        AuthError::AlreadyRegistered
    );
    // A taken username beside a taken email: 409 as with a free email.
    assert_eq!(
        kit.auth
            .register(
                reg(
                    &kit.auth,
                    with_username(by_email(EMAIL, OTHER_PASSWORD), "mia")
                ),
                &client()
            )
            .await
            .unwrap_err(),
        AuthError::AlreadyRegistered
    );
    assert_eq!(
        kit.auth
            .register(reg(&kit.auth, by_phone(PHONE)), &client())
            .await
            .unwrap_err(),
        AuthError::AlreadyRegistered
    );
}

#[tokio::test]
async fn conceal_existing_needs_email_activation() {
    let mut config = TestKit::config();
    config.accounts.conceal_existing = true;
    config.accounts.require_email_activation = false;
    let err = auth_core::Auth::builder(config)
        .store(auth_core::testkit::MemoryStore::new())
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("conceal_existing"), "{err}");
}
