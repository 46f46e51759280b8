//! The request pipeline: the one path every action of [`Auth`] takes.
//!
//! [`Auth::run`] reads the clock once into the run's [`Ctx`], builds the flow's own narrow
//! context from it ([`Flow::Ctx`]), runs [`Flow::prepare`] (parsing and look-ups; nothing
//! written, counted or sent), the app's before hook with what preparation found (a veto ends
//! the action there: `Vetoed`, nothing done), then [`Flow::execute`], then the after hook
//! with the result, and logs a refusal. Flows never call the hooks and never read the clock.
//!
//! A flow's context ([`flow_ctx!`]) holds the time, the client and the store, plus only the
//! parts the flow needs, each one section of the configuration with its keys:
//! [`Ctx::sms`] (SMS challenges), [`Ctx::lockouts`] (throttles, lockouts, failure caps),
//! [`Ctx::issuer`] (sessions and token pairs), [`Ctx::mailer`] (mail and emailed tokens),
//! [`Ctx::passwords`] (policy and hashing), [`Ctx::reauth`] (re-authentication),
//! [`Ctx::counters`], [`Ctx::accounts`] and [`Ctx::idle`].
//!
//! The trait is an `async_trait` (a boxed future per step): with native async functions, a
//! context type tied to the run's lifetime trips the compiler's higher-ranked `Send` check
//! where a caller spawns the action (`tokio::spawn(auth.verify_sms(..))`).

use chrono::{DateTime, Utc};

use crate::account::{Email, User, Username};
use crate::api::ClientInfo;
use crate::auth::Inner;
use crate::flows::credentials::Passwords;
use crate::flows::issuing::Issuer;
use crate::flows::mailing::Mailer;
use crate::flows::reauth::Reauth;
use crate::flows::sms_challenge::SmsChallenges;
use crate::hooks::{Action, AfterHook, BeforeHook};
use crate::ids::{SessionId, UserId};
use crate::limits::{Counters, Lockouts};
use crate::phone::Phone;
use crate::token::access::Principal;
use crate::{Auth, AuthError};

/// What one run of an action works with: the moment it runs at, the client, and the service's
/// parts (configuration, keys, store and senders).
pub(crate) struct Ctx<'a> {
    /// The time of the request, read once from the clock.
    pub(crate) now: DateTime<Utc>,
    /// The client, as the adapter saw it (an empty one for admin operations).
    pub(crate) client: &'a ClientInfo,
    /// The service's configuration, keys and plugged-in parts; flows reach them only through
    /// the narrow parts below ([`Ctx::sms`], [`Ctx::issuer`], ...), picked by their context.
    inner: &'a Inner,
}

impl<'a> Ctx<'a> {
    /// The store.
    pub(crate) fn store(&self) -> &'a dyn crate::store::Store {
        self.inner.store.as_ref()
    }

    /// The store's rate-limit and failure counters, under hashed keys.
    pub(crate) fn counters(&self) -> Counters<'a> {
        Counters {
            store: self.inner.store.as_ref(),
            key: &self.inner.counter_key,
        }
    }

    /// The accounts section of the configuration.
    pub(crate) fn accounts(&self) -> &'a crate::config::AccountConfig {
        &self.inner.config.accounts
    }

    /// How long a session may sit unused.
    pub(crate) fn idle(&self) -> chrono::Duration {
        crate::clock::secs(self.inner.config.session.idle_timeout_secs)
    }

    /// Re-authentication for sensitive changes.
    pub(crate) fn reauth(&self) -> Reauth<'a> {
        Reauth {
            now: self.now,
            store: self.store(),
            lockouts: self.lockouts(),
            hasher: &self.inner.hasher,
            recent_login: crate::clock::secs(self.inner.config.accounts.recent_login_secs),
            idle: self.idle(),
        }
    }

    /// The SMS challenge machinery.
    pub(crate) fn sms(&self) -> SmsChallenges<'a> {
        let inner = self.inner;
        SmsChallenges {
            now: self.now,
            client_ip: self.client.ip,
            store: inner.store.as_ref(),
            cfg: &inner.config.sms,
            code_key: &inner.code_key,
            sender: inner.sms.as_ref(),
            down_until: &inner.sms_down_until,
            counters: self.counters(),
        }
    }

    /// The password throttle and the lockouts.
    pub(crate) fn lockouts(&self) -> Lockouts<'a> {
        Lockouts {
            now: self.now,
            client_ip: self.client.ip,
            passwords: &self.inner.config.password,
            counters: self.counters(),
        }
    }

    /// Issuing sessions and token pairs.
    pub(crate) fn issuer(&self) -> Issuer<'a> {
        let inner = self.inner;
        Issuer {
            now: self.now,
            client: self.client,
            store: inner.store.as_ref(),
            cfg: &inner.config.session,
            refresh_keys: &inner.refresh_keys,
            access: &inner.access,
            opaque: inner.opaque.as_ref(),
        }
    }

    /// Mail and emailed tokens.
    pub(crate) fn mailer(&self) -> Mailer<'a> {
        let inner = self.inner;
        Mailer {
            now: self.now,
            store: inner.store.as_ref(),
            cfg: &inner.config.accounts,
            sender: inner.mail.as_deref(),
            tokens: inner.one_time_tokens.as_deref(),
            email_key: &inner.email_key,
            counters: self.counters(),
        }
    }

    /// Checking and hashing passwords.
    pub(crate) fn passwords(&self) -> Passwords<'a> {
        let inner = self.inner;
        Passwords {
            cfg: &inner.config.password,
            hasher: &inner.hasher,
            policy: &inner.policy,
            breached: inner.breached.as_deref(),
        }
    }
}

/// What the before hook is told an action is about (see [`BeforeHook`]'s fields).
#[derive(Default)]
pub(crate) struct Subject<'a> {
    pub(crate) user_id: Option<UserId>,
    pub(crate) session_id: Option<SessionId>,
    pub(crate) phone: Option<&'a Phone>,
    pub(crate) email: Option<&'a Email>,
    pub(crate) username: Option<&'a Username>,
    pub(crate) profile: Option<&'a serde_json::Value>,
}

impl Subject<'_> {
    /// The subject of an action by a signed-in user.
    pub(crate) fn principal(principal: &Principal) -> Self {
        Self {
            user_id: Some(principal.user_id),
            session_id: principal.session_id,
            ..Self::default()
        }
    }
}

/// What the after hook is told about a finished action (see [`AfterHook`]'s fields).
#[derive(Default)]
pub(crate) struct Outcome {
    pub(crate) user: Option<User>,
    pub(crate) user_id: Option<UserId>,
    pub(crate) session_id: Option<SessionId>,
    /// The after hook is not run (a concealed registration of a taken email).
    pub(crate) unseen: bool,
}

impl Outcome {
    /// An outcome the after hook is not told of.
    pub(crate) fn unseen() -> Self {
        Self {
            unseen: true,
            ..Self::default()
        }
    }

    /// An action about `user`, as it stands after the action.
    pub(crate) fn user(user: User) -> Self {
        Self {
            user_id: Some(user.id),
            user: Some(user),
            ..Self::default()
        }
    }

    /// An action about `user` that created, refreshed or ended `session_id`.
    pub(crate) fn session(user: User, session_id: SessionId) -> Self {
        Self {
            session_id: Some(session_id),
            ..Self::user(user)
        }
    }

    /// An action by a signed-in user that did not load the account.
    pub(crate) fn principal(principal: &Principal) -> Self {
        Self {
            user_id: Some(principal.user_id),
            session_id: principal.session_id,
            ..Self::default()
        }
    }

    /// An action by a signed-in user, with the account as it stands after the action.
    pub(crate) fn principal_user(principal: &Principal, user: User) -> Self {
        Self {
            user: Some(user),
            ..Self::principal(principal)
        }
    }
}

/// One action: what it prepares (reads only), what the before hook sees of that, and what it
/// then does, over its own narrow context.
#[async_trait::async_trait]
pub(crate) trait Flow<'a> {
    /// The action hooks see.
    const ACTION: Action;
    /// The context the flow works with: the time, the client, the store and only the parts
    /// of the service it needs (see [`flow_ctx!`]).
    type Ctx: FromCtx<'a>;
    /// The typed input.
    type Input;
    /// What preparation found, handed to execution.
    type Prepared;
    /// The action's answer.
    type Output;

    /// Parsing and look-ups: nothing written, counted or sent.
    async fn prepare(ctx: &Self::Ctx, input: Self::Input) -> Result<Self::Prepared, AuthError>;

    /// What the before hook is told, from what preparation found.
    fn subject(prepared: &Self::Prepared) -> Subject<'_>;

    /// The action itself, once the before hook let it through; its answer and what the after
    /// hook is told.
    async fn execute(
        ctx: &Self::Ctx,
        prepared: Self::Prepared,
    ) -> Result<(Self::Output, Outcome), AuthError>;
}

/// A flow's narrow context, taken from the run's [`Ctx`].
pub(crate) trait FromCtx<'a> {
    /// The parts this context holds, from `ctx`.
    fn from_ctx(ctx: &Ctx<'a>) -> Self;
}

/// Declares a flow's narrow context: the time, the client and the store, plus the listed
/// parts of [`Ctx`] (each a `name: Type` of a [`Ctx`] method and what it returns), each
/// reachable by a method of the same name.
macro_rules! flow_ctx {
    ($(#[$doc:meta])* $name:ident { $($part:ident: $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        pub(crate) struct $name<'a> {
            /// The time of the request, read once from the clock.
            #[allow(dead_code, reason = "not every flow reads the time or the client itself")]
            pub(crate) now: chrono::DateTime<chrono::Utc>,
            /// The client, as the adapter saw it.
            #[allow(dead_code, reason = "not every flow reads the time or the client itself")]
            pub(crate) client: &'a crate::api::ClientInfo,
            store: &'a dyn crate::store::Store,
            $($part: $ty,)*
        }

        impl<'a> crate::pipeline::FromCtx<'a> for $name<'a> {
            fn from_ctx(ctx: &crate::pipeline::Ctx<'a>) -> Self {
                Self {
                    now: ctx.now,
                    client: ctx.client,
                    store: ctx.store(),
                    $($part: ctx.$part(),)*
                }
            }
        }

        impl<'a> $name<'a> {
            /// The store.
            pub(crate) fn store(&self) -> &'a dyn crate::store::Store {
                self.store
            }
            $(
                #[doc = concat!("The `", stringify!($part), "` part.")]
                pub(crate) fn $part(&self) -> $ty {
                    self.$part
                }
            )*
        }
    };
}
pub(crate) use flow_ctx;

/// The client of actions that come from no client (admin operations).
pub(crate) static NO_CLIENT: ClientInfo = ClientInfo {
    ip: None,
    user_agent: None,
};

impl Auth {
    /// The context of one action at `now`.
    pub(crate) fn ctx<'a>(&'a self, client: &'a ClientInfo) -> Ctx<'a> {
        Ctx {
            now: self.inner.clock.now(),
            client,
            inner: &self.inner,
        }
    }

    /// Runs the action `F`: see the module docs. Every refusal is logged here, once, with
    /// the action it ended (a veto at `info`, the rest at `debug`; what is logged where it is
    /// made, such as an unreachable store or an internal error, is at `error` there).
    pub(crate) async fn run<'a, F: Flow<'a>>(
        &'a self,
        input: F::Input,
        client: &'a ClientInfo,
    ) -> Result<F::Output, AuthError> {
        let ctx = self.ctx(client);
        let result = self.steps::<F>(&ctx, input).await;
        match &result {
            Ok(_) => {}
            Err(AuthError::Vetoed(veto)) => {
                tracing::info!(action = ?F::ACTION, code = veto.code(), "vetoed by an app hook");
            }
            Err(e) => tracing::debug!(action = ?F::ACTION, code = e.code(), "action refused"),
        }
        result
    }

    /// Prepare, before hook, execute, after hook.
    async fn steps<'a, F: Flow<'a>>(
        &self,
        ctx: &Ctx<'a>,
        input: F::Input,
    ) -> Result<F::Output, AuthError> {
        let fctx = F::Ctx::from_ctx(ctx);
        let prepared = F::prepare(&fctx, input).await?;
        {
            let s = F::subject(&prepared);
            let hook = BeforeHook {
                action: F::ACTION,
                client: ctx.client,
                user_id: s.user_id,
                session_id: s.session_id,
                phone: s.phone,
                email: s.email,
                username: s.username,
                profile: s.profile,
            };
            self.inner
                .hooks
                .before(&hook)
                .await
                .map_err(AuthError::Vetoed)?;
        }
        let (output, outcome) = F::execute(&fctx, prepared).await?;
        if outcome.unseen {
            return Ok(output);
        }
        let hook = AfterHook {
            action: F::ACTION,
            client: ctx.client,
            user: outcome.user.as_ref(),
            user_id: outcome.user_id,
            session_id: outcome.session_id,
        };
        self.inner.hooks.after(&hook).await;
        Ok(output)
    }
}
