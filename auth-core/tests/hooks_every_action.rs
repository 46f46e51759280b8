//! Every action of `Auth` runs through the one pipeline: for each, a before-hook veto stops it
//! with the app's error and nothing changed (no store write, no SMS, no mail), the after hook
//! is not told of it; let through, the after hook sees it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use auth_core::api::{ChangePasswordRequest, ClientInfo, RegisterRequest, TokenPair};
use auth_core::hooks::{Action, AfterHook, BeforeHook, Hooks, Veto};
use auth_core::testkit::{FakeMail, FakeSms, ManualClock, MemoryStore, TestKit};
use auth_core::{Auth, AuthError, LoginIdentifier, Password, Principal};
use common::{PASSWORD, PHONE, client, reg, secs, to_email, to_phone};
use serde_json::json;

const EMAIL: &str = "eve@example.com";

#[derive(Clone, Default)]
struct Recorder {
    veto: Arc<Mutex<Option<Action>>>,
    before: Arc<Mutex<Vec<Action>>>,
    after: Arc<Mutex<Vec<Action>>>,
}

#[auth_core::async_trait]
impl Hooks for Recorder {
    async fn before(&self, ctx: &BeforeHook<'_>) -> Result<(), Veto> {
        self.before.lock().unwrap().push(ctx.action);
        if *self.veto.lock().unwrap() == Some(ctx.action) {
            return Err(Veto::new(451, "blocked_by_app", "the app said no"));
        }
        Ok(())
    }
    async fn after(&self, ctx: &AfterHook<'_>) {
        self.after.lock().unwrap().push(ctx.action);
    }
}

struct Kit {
    auth: Auth,
    store: MemoryStore,
    sms: FakeSms,
    mail: FakeMail,
    clock: ManualClock,
    hooks: Recorder,
    /// The actions checked so far.
    checked: HashSet<Action>,
}

/// What an action may change: store writes, SMS sent, mail sent.
type Snapshot = (u64, usize, usize);

impl Kit {
    fn new() -> Self {
        let (store, sms, mail, clock, hooks) = (
            MemoryStore::new(),
            FakeSms::new(),
            FakeMail::new(),
            ManualClock::new(),
            Recorder::default(),
        );
        let mut config = TestKit::config();
        config.sms.resend_cooldown_secs = 0;
        config.sms.per_phone_per_hour = 100;
        config.sms.per_phone_per_day = 100;
        config.accounts.mail_cooldown_secs = 0;
        config.accounts.mail_per_address_per_hour = 100;
        let auth = Auth::builder(config)
            .store(store.clone())
            .one_time_tokens(store.clone())
            .sms(sms.clone())
            .mail(mail.clone())
            .clock(clock.clone())
            .hooks(hooks.clone())
            .build()
            .unwrap();
        Self {
            auth,
            store,
            sms,
            mail,
            clock,
            hooks,
            checked: HashSet::new(),
        }
    }

    fn snapshot(&self) -> Snapshot {
        (self.store.writes(), self.sms.count(), self.mail.count())
    }

    fn veto(&self, action: Option<Action>) {
        *self.hooks.veto.lock().unwrap() = action;
    }

    fn after_count(&self, action: Action) -> usize {
        let after = self.hooks.after.lock().unwrap();
        after.iter().filter(|a| **a == action).count()
    }

    async fn principal(&self, pair: &TokenPair) -> Principal {
        self.auth
            .authenticate(pair.access_token.expose())
            .await
            .unwrap()
    }
}

/// A whole SMS login (no veto in force).
async fn sms_login(k: &Kit, phone: &str) -> TokenPair {
    let sent = k
        .auth
        .start_sms_login(&to_phone(phone), &client())
        .await
        .unwrap();
    let code = k.sms.last_code_for(phone).unwrap();
    k.auth
        .verify_sms(sent.challenge_id, &code, &client())
        .await
        .unwrap()
}

/// Runs `$call` vetoed (it must fail with the app's error, change nothing and not reach the
/// after hook), then let through (it must succeed and reach the after hook). Evaluates to the
/// second run's output.
macro_rules! check {
    ($k:expr, $action:expr, $call:expr) => {{
        let action = $action;
        $k.veto(Some(action));
        let (before, seen) = ($k.snapshot(), $k.after_count(action));
        let e = $call.await.map(|_| ()).unwrap_err();
        assert_eq!(
            (e.code(), e.status()),
            ("blocked_by_app", 451),
            "{action:?} vetoed"
        );
        assert_eq!($k.snapshot(), before, "a vetoed {action:?} changes nothing");
        assert_eq!(
            $k.after_count(action),
            seen,
            "a vetoed {action:?} has no after"
        );
        $k.veto(None);
        let out = $call
            .await
            .unwrap_or_else(|e| panic!("{action:?} let through: {e:?}"));
        assert_eq!($k.after_count(action), seen + 1, "after hook of {action:?}");
        $k.checked.insert(action);
        out
    }};
}

#[tokio::test]
async fn every_action_can_be_vetoed_and_is_seen_after() {
    let mut k = Kit::new();
    let c: ClientInfo = client();

    // Accounts: a phone one and a pending email one.
    let phone_user = check!(
        k,
        Action::Register,
        k.auth.register(
            reg(
                &k.auth,
                RegisterRequest {
                    phone: Some(PHONE.into()),
                    ..Default::default()
                }
            ),
            &c,
        )
    )
    .user_id;
    let email_user = k
        .auth
        .register(
            reg(
                &k.auth,
                RegisterRequest {
                    email: Some(EMAIL.into()),
                    password: Some(PASSWORD.into()),
                    ..Default::default()
                },
            ),
            &c,
        )
        .await
        .unwrap()
        .user_id;
    check!(
        k,
        Action::ResendActivation,
        k.auth.resend_activation(&to_email(EMAIL))
    );
    let token = k.mail.last_token_for(EMAIL).unwrap();
    check!(k, Action::Activate, k.auth.activate(&token, &c));

    // Logins and sessions.
    let sent = check!(
        k,
        Action::SmsStart,
        k.auth.start_sms_login(&to_phone(PHONE), &c)
    );
    let code = k.sms.last_code_for(PHONE).unwrap();
    let a = check!(
        k,
        Action::SmsVerify,
        k.auth.verify_sms(sent.challenge_id, &code, &c)
    );
    let pa = k.principal(&a).await;
    let by_email = LoginIdentifier::Email(to_email(EMAIL));
    let password = Password::new(PASSWORD);
    let b = check!(
        k,
        Action::PasswordLogin,
        k.auth.login_with_password(&by_email, &password, &c)
    );
    let b = check!(
        k,
        Action::Refresh,
        k.auth.refresh(b.refresh_token.expose(), &c)
    );
    let pb = k.principal(&b).await;
    check!(k, Action::ProfileRead, k.auth.me(&pa, &c));
    check!(
        k,
        Action::ProfileUpdate,
        k.auth.update_profile(&pa, &json!({}), &c)
    );
    check!(
        k,
        Action::PublicProfile,
        k.auth.public_profile(email_user, &c)
    );
    check!(k, Action::ListSessions, k.auth.list_sessions(&pa, &c));
    let other = sms_login(&k, PHONE).await;
    check!(
        k,
        Action::RevokeSession,
        k.auth.revoke_own_session(&pa, other.session_id, &c)
    );
    sms_login(&k, PHONE).await;
    check!(
        k,
        Action::LogoutOthers,
        k.auth.logout_all_other_sessions(&pa, &c)
    );

    // Credentials.
    let new_password = Password::new("a brand new long passphrase");
    check!(
        k,
        Action::ChangePassword,
        k.auth.change_password(
            &pb,
            ChangePasswordRequest {
                old_password: Some(password.clone()),
                new_password: new_password.clone(),
            },
            &c,
        )
    );
    let sent = check!(
        k,
        Action::PhoneChangeRequest,
        k.auth
            .request_phone_change(&pa, &to_phone("+15557654321"), None, &c)
    );
    let code = k.sms.last_code_for("+15557654321").unwrap();
    check!(
        k,
        Action::PhoneChangeConfirm,
        k.auth
            .confirm_phone_change(&pa, sent.challenge_id, &code, &c)
    );
    check!(
        k,
        Action::EmailChangeRequest,
        k.auth
            .request_email_change(&pb, &to_email("eve2@example.com"), Some(&new_password), &c)
    );
    let token = k.mail.last_token_for("eve2@example.com").unwrap();
    check!(
        k,
        Action::EmailChangeConfirm,
        k.auth.confirm_email_change(&token, &c)
    );
    // Resets: the email one, then the SMS one (each also counted as the other kind's action).
    check!(
        k,
        Action::PasswordResetRequest,
        k.auth
            .request_password_reset_email(&to_email("eve2@example.com"), &c)
    );
    let token = k.mail.last_token_for("eve2@example.com").unwrap();
    check!(
        k,
        Action::PasswordResetConfirm,
        k.auth
            .confirm_password_reset_email(&token, &Password::new("yet another passphrase"), &c)
    );
    let sent = check!(
        k,
        Action::PasswordResetRequest,
        k.auth
            .request_password_reset_sms(&to_phone("+15557654321"), &c)
    );
    let code = k.sms.last_code_for("+15557654321").unwrap();
    check!(
        k,
        Action::PasswordResetConfirm,
        k.auth.confirm_password_reset_sms(
            sent.challenge_id,
            &code,
            &Password::new("a phone account's first passphrase"),
            &c,
        )
    );
    let fresh = sms_login(&k, "+15557654321").await;
    let pf = k.principal(&fresh).await;
    check!(k, Action::Logout, k.auth.logout(&pf, &c));

    // Admin operations.
    check!(k, Action::AdminFindUser, k.auth.find_user(phone_user));
    check!(
        k,
        Action::AdminFindUser,
        k.auth.find_user_by_phone(&to_phone("+15557654321"))
    );
    check!(
        k,
        Action::AdminFindUser,
        k.auth.find_user_by_email(&to_email("eve2@example.com"))
    );
    let live = sms_login(&k, "+15557654321").await;
    check!(
        k,
        Action::AdminListSessions,
        k.auth.user_sessions(phone_user)
    );
    check!(
        k,
        Action::AdminRevokeSession,
        k.auth.admin_revoke_session(live.session_id)
    );
    check!(k, Action::AdminDisableUser, k.auth.disable_user(phone_user));
    check!(k, Action::AdminEnableUser, k.auth.enable_user(phone_user));
    check!(
        k,
        Action::AdminResetLockouts,
        k.auth.reset_lockouts(phone_user)
    );
    check!(
        k,
        Action::AdminResetPhoneLockout,
        k.auth.reset_phone_lockout(&to_phone(PHONE))
    );
    check!(
        k,
        Action::AdminGrantRole,
        k.auth.grant_role(phone_user, "editor")
    );
    check!(
        k,
        Action::AdminRevokeRole,
        k.auth.revoke_role(phone_user, "editor")
    );
    check!(
        k,
        Action::AdminSetRoles,
        k.auth.set_roles(phone_user, vec!["admin".to_owned()])
    );

    k.clock.advance(secs(1));
    let all = [
        Action::Register,
        Action::SmsStart,
        Action::SmsVerify,
        Action::PasswordLogin,
        Action::Refresh,
        Action::Logout,
        Action::LogoutOthers,
        Action::ChangePassword,
        Action::ProfileRead,
        Action::ProfileUpdate,
        Action::PasswordResetRequest,
        Action::PasswordResetConfirm,
        Action::PhoneChangeRequest,
        Action::PhoneChangeConfirm,
        Action::Activate,
        Action::EmailChangeRequest,
        Action::EmailChangeConfirm,
        Action::ResendActivation,
        Action::ListSessions,
        Action::RevokeSession,
        Action::PublicProfile,
        Action::AdminFindUser,
        Action::AdminDisableUser,
        Action::AdminEnableUser,
        Action::AdminResetLockouts,
        Action::AdminResetPhoneLockout,
        Action::AdminListSessions,
        Action::AdminRevokeSession,
        Action::AdminGrantRole,
        Action::AdminRevokeRole,
        Action::AdminSetRoles,
    ];
    let missing: Vec<_> = all.iter().filter(|a| !k.checked.contains(a)).collect();
    assert!(missing.is_empty(), "not checked: {missing:?}");
}

#[tokio::test]
async fn a_failed_action_has_no_after_hook() {
    let k = Kit::new();
    let e = k
        .auth
        .public_profile(auth_core::UserId::new_random(), &client())
        .await
        .unwrap_err();
    assert_eq!(e, AuthError::NotFound);
    assert!(k.hooks.after.lock().unwrap().is_empty());
    // Preparation failed before the before hook: it was not asked either.
    assert!(k.hooks.before.lock().unwrap().is_empty());
}
