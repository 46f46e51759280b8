//! Hooks: before hooks see each action first and can veto it leaving nothing half-done;
//! after hooks see results.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use auth_core::api::{ChangePasswordRequest, LoginRequest, RegisterRequest};
use auth_core::hooks::{Action, AfterHook, BeforeHook, Hooks, Veto};
use auth_core::store::{ChallengeStore as _, SessionStore as _, UserStore as _};
use auth_core::testkit::{FakeSms, ManualClock, MemoryStore, TestKit};
use auth_core::{Auth, AuthError};
use common::*;

type Seen<T> = Arc<Mutex<Vec<T>>>;

#[derive(Clone, Default)]
struct Recorder {
    veto: Arc<Mutex<Option<Action>>>,
    before: Seen<(Action, Option<String>)>,
    after: Seen<(Action, bool, bool)>,
}

#[auth_core::async_trait]
impl Hooks for Recorder {
    async fn before(&self, ctx: &BeforeHook<'_>) -> Result<(), Veto> {
        let subject = ctx
            .phone
            .map(|p| p.to_string())
            .or(ctx.email.map(|e| e.to_string()))
            .or(ctx.user_id.map(|u| u.to_string()));
        self.before.lock().unwrap().push((ctx.action, subject));
        if *self.veto.lock().unwrap() == Some(ctx.action) {
            return Err(Veto::new(451, "blocked_by_app", "the app said no"));
        }
        Ok(())
    }
    async fn after(&self, ctx: &AfterHook<'_>) {
        self.after.lock().unwrap().push((
            ctx.action,
            ctx.user_id.is_some(),
            ctx.session_id.is_some(),
        ));
    }
}

struct Kit {
    auth: Auth,
    store: MemoryStore,
    sms: FakeSms,
    clock: ManualClock,
    hooks: Recorder,
}

fn hooked() -> Kit {
    let (store, sms, clock, hooks) = (
        MemoryStore::new(),
        FakeSms::new(),
        ManualClock::new(),
        Recorder::default(),
    );
    let mut config = TestKit::config();
    // Email accounts here log in at once; activation has its own tests.
    config.accounts.require_email_activation = false;
    let auth = Auth::builder(config)
        .store(store.clone())
        .sms(sms.clone())
        .clock(clock.clone())
        .hooks(hooks.clone())
        .build()
        .unwrap();
    Kit {
        auth,
        store,
        sms,
        clock,
        hooks,
    }
}

impl Kit {
    fn veto(&self, action: Action) {
        *self.hooks.veto.lock().unwrap() = Some(action);
    }
    fn actions_after(&self) -> Vec<Action> {
        self.hooks
            .after
            .lock()
            .unwrap()
            .iter()
            .map(|a| a.0)
            .collect()
    }
}

fn assert_vetoed(e: AuthError) {
    assert_eq!((e.code(), e.status()), ("blocked_by_app", 451));
    assert_eq!(e.body().error, "blocked_by_app");
}

#[tokio::test]
async fn vetoed_registration_creates_nothing() {
    let k = hooked();
    k.veto(Action::Register);
    let e = k
        .auth
        .register(
            reg(
                &k.auth,
                RegisterRequest {
                    email: Some("a@example.com".into()),
                    password: Some(PASSWORD.into()),
                    ..Default::default()
                },
            ),
            &client(),
        )
        .await
        .unwrap_err();
    assert_vetoed(e);
    assert!(
        // The store itself: the admin lookup is an action the hooks would see.
        k.store
            .user_by_email(&to_email("a@example.com"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(k.actions_after().is_empty());
    let before = k.hooks.before.lock().unwrap().clone();
    assert_eq!(
        before,
        vec![(Action::Register, Some("a@example.com".to_owned()))]
    );
}

#[tokio::test]
async fn vetoed_sms_start_sends_and_counts_nothing() {
    let k = hooked();
    k.auth
        .register(
            reg(
                &k.auth,
                RegisterRequest {
                    phone: Some(PHONE.into()),
                    ..Default::default()
                },
            ),
            &client(),
        )
        .await
        .unwrap();
    k.veto(Action::SmsStart);
    assert_vetoed(
        k.auth
            .start_sms_login(&to_phone(PHONE), &client())
            .await
            .unwrap_err(),
    );
    assert_eq!(k.sms.count(), 0);
    assert_eq!(k.store.challenge_count(), 0);
    // No cooldown was consumed: the next start (allowed) goes through at once.
    *k.hooks.veto.lock().unwrap() = None;
    assert!(
        k.auth
            .start_sms_login(&to_phone(PHONE), &client())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn vetoed_verify_consumes_no_attempt_and_creates_no_session() {
    let k = hooked();
    k.auth
        .register(
            reg(
                &k.auth,
                RegisterRequest {
                    phone: Some(PHONE.into()),
                    ..Default::default()
                },
            ),
            &client(),
        )
        .await
        .unwrap();
    let ch = k
        .auth
        .start_sms_login(&to_phone(PHONE), &client())
        .await
        .unwrap();
    let code = k.sms.last_code_for(PHONE).unwrap();
    k.veto(Action::SmsVerify);
    for _ in 0..6 {
        assert_vetoed(
            k.auth
                .verify_sms(ch.challenge_id, &code, &client())
                .await
                .unwrap_err(),
        );
    }
    assert_eq!(k.store.session_count(), 0);
    assert_eq!(
        k.store
            .challenge(ch.challenge_id)
            .await
            .unwrap()
            .unwrap()
            .attempts,
        0
    );
    *k.hooks.veto.lock().unwrap() = None;
    assert!(
        k.auth
            .verify_sms(ch.challenge_id, &code, &client())
            .await
            .is_ok()
    );
    assert_eq!(
        k.actions_after(),
        vec![Action::Register, Action::SmsStart, Action::SmsVerify]
    );
}

#[tokio::test]
async fn every_action_calls_both_hooks_and_each_can_be_vetoed() {
    let k = hooked();
    k.auth
        .register(
            reg(
                &k.auth,
                RegisterRequest {
                    email: Some("b@example.com".into()),
                    password: Some(PASSWORD.into()),
                    ..Default::default()
                },
            ),
            &client(),
        )
        .await
        .unwrap();
    let login = || LoginRequest {
        email: Some("b@example.com".into()),
        password: Some(PASSWORD.into()),
        ..Default::default()
    };
    let pair = match k
        .auth
        .login(login().parse(k.auth.config()).unwrap(), &client())
        .await
        .unwrap()
    {
        auth_core::api::LoginOutcome::LoggedIn(p) => p,
        other => panic!("{other:?}"),
    };
    let p = k
        .auth
        .authenticate(pair.access_token.expose())
        .await
        .unwrap();
    k.auth
        .refresh(pair.refresh_token.expose(), &client())
        .await
        .unwrap();
    k.auth.me(&p, &client()).await.unwrap();
    k.auth
        .update_profile(&p, &serde_json::json!({}), &client())
        .await
        .unwrap();
    k.auth
        .logout_all_other_sessions(&p, &client())
        .await
        .unwrap();
    let new_pw = "another long passphrase entirely";
    k.auth
        .change_password(
            &p,
            ChangePasswordRequest {
                old_password: Some(PASSWORD.into()),
                new_password: new_pw.into(),
            },
            &client(),
        )
        .await
        .unwrap();
    k.auth.logout(&p, &client()).await.unwrap();
    let expected = vec![
        Action::Register,
        Action::PasswordLogin,
        Action::Refresh,
        Action::ProfileRead,
        Action::ProfileUpdate,
        Action::LogoutOthers,
        Action::ChangePassword,
        Action::Logout,
    ];
    assert_eq!(k.actions_after(), expected);
    let befores: Vec<Action> = k.hooks.before.lock().unwrap().iter().map(|b| b.0).collect();
    assert_eq!(befores, expected);
    assert!(
        k.hooks
            .after
            .lock()
            .unwrap()
            .iter()
            .all(|(_, user, _)| *user),
        "after hooks know the user"
    );

    // Each vetoed action fails with the app's error and changes nothing.
    let pair = match k
        .auth
        .login(
            LoginRequest {
                email: Some("b@example.com".into()),
                password: Some(new_pw.into()),
                ..Default::default()
            }
            .parse(k.auth.config())
            .unwrap(),
            &client(),
        )
        .await
        .unwrap()
    {
        auth_core::api::LoginOutcome::LoggedIn(p) => p,
        other => panic!("{other:?}"),
    };
    let p = k
        .auth
        .authenticate(pair.access_token.expose())
        .await
        .unwrap();
    k.veto(Action::PasswordLogin);
    assert_vetoed(
        k.auth
            .login(login().parse(k.auth.config()).unwrap(), &client())
            .await
            .unwrap_err(),
    );
    k.veto(Action::Refresh);
    assert_vetoed(
        k.auth
            .refresh(pair.refresh_token.expose(), &client())
            .await
            .unwrap_err(),
    );
    let session = k.store.session(pair.session_id).await.unwrap().unwrap();
    assert_eq!(
        session.refresh.generation, 0,
        "a vetoed refresh does not rotate"
    );
    k.veto(Action::ProfileRead);
    assert_vetoed(k.auth.me(&p, &client()).await.unwrap_err());
    k.veto(Action::ProfileUpdate);
    assert_vetoed(
        k.auth
            .update_profile(&p, &serde_json::json!({}), &client())
            .await
            .unwrap_err(),
    );
    k.veto(Action::ChangePassword);
    assert_vetoed(
        k.auth
            .change_password(
                &p,
                ChangePasswordRequest {
                    old_password: Some(new_pw.into()),
                    new_password: PASSWORD.into(),
                },
                &client(),
            )
            .await
            .unwrap_err(),
    );
    k.veto(Action::LogoutOthers);
    assert_vetoed(
        k.auth
            .logout_all_other_sessions(&p, &client())
            .await
            .unwrap_err(),
    );
    k.veto(Action::Logout);
    assert_vetoed(k.auth.logout(&p, &client()).await.unwrap_err());
    assert!(
        k.auth
            .authenticate(pair.access_token.expose())
            .await
            .is_ok(),
        "still logged in"
    );
    let _ = &k.clock;
}

#[test]
fn vetoes_are_always_4xx_with_a_clean_code() {
    let v = Veto::new(500, "Bad Code!", "x");
    assert_eq!((v.status(), v.code()), (403, "bad_code_"));
    assert_eq!(Veto::new(418, "", "x").code(), "vetoed");
}
