//! Property tests: what must hold for any input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::api::RegisterRequest;
use auth_core::http::{HttpRequest, Route};
use auth_core::{AuthError, OneTimeCode};
use common::*;
use proptest::prelude::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// No sequence of wrong codes ever logs in, whatever they are, and the challenge never
    /// allows more than 5 tries.
    #[test]
    fn no_sequence_of_wrong_codes_ever_logs_in(guesses in proptest::collection::vec("[0-9]{6}", 1..12)) {
        runtime().block_on(async {
            let kit = kit();
            register_phone(&kit, PHONE).await;
            let (id, code) = start(&kit, PHONE).await;
            let mut tries = 0;
            for g in guesses.iter().filter(|g| g.as_str() != code.expose()) {
                let r = kit.auth.verify_sms(cid(&id), &OneTimeCode::new(g.clone()), &client()).await;
                tries += 1;
                match r {
                    Ok(_) => panic!("wrong code {g} logged in"),
                    Err(AuthError::InvalidCode) => assert!(tries <= 5),
                    Err(AuthError::TooManyAttempts { .. }) => assert!(tries > 5),
                    Err(e) => panic!("unexpected {e:?}"),
                }
            }
            assert_eq!(kit.store.session_count(), 0);
        });
    }

    /// Arbitrary strings as refresh or access tokens are rejected, never accepted, never panic.
    #[test]
    fn arbitrary_tokens_are_rejected(tok in "\\PC{0,200}") {
        runtime().block_on(async {
            let kit = kit();
            let r = kit.auth.refresh(&tok, &client()).await;
            assert_eq!(r.unwrap_err(), AuthError::InvalidToken);
            let r = kit.auth.authenticate(&tok).await;
            assert_eq!(r.unwrap_err(), AuthError::InvalidToken);
        });
    }

    /// Arbitrary bytes as request bodies give a 4xx, never a panic.
    #[test]
    fn arbitrary_bodies_are_4xx_or_parse(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        runtime().block_on(async {
            let kit = kit();
            for route in [Route::Login, Route::Register, Route::VerifySms] {
                let req = HttpRequest {
                    content_type: Some("application/json"),
                    body: &body,
                    ..HttpRequest::default()
                };
                let r = kit.auth.handle(route, &req).await;
                assert!(r.status < 500, "{route:?}: {}", r.status);
            }
        });
    }

    /// Arbitrary registration input never panics and never gives a 5xx.
    #[test]
    fn arbitrary_registrations_are_never_5xx(
        phone in proptest::option::of("\\PC{0,20}"),
        email in proptest::option::of("\\PC{0,30}"),
        username in proptest::option::of("\\PC{0,12}"),
    ) {
        runtime().block_on(async {
            let kit = kit();
            let request = RegisterRequest { phone, email, username, ..Default::default() };
            let r = match request.parse(kit.auth.config()) {
                Ok(account) => kit.auth.register(account, &client()).await,
                Err(e) => Err(e),
            };
            if let Err(e) = r {
                assert!((400..500).contains(&e.status()), "{e:?}");
            }
        });
    }
}
