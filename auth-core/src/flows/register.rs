//! Registration: an SMS account by phone, or a password account by email.
//!
//! The order of the steps is what keeps a taken identifier from being told apart from a free
//! one by anything but the v1 contract's 409:
//! 1. validate the parsed request ([`RegisterRequest::parse`](crate::api::RegisterRequest::parse)
//!    did the shape and identifiers) against the server (400), run the before hook;
//! 2. count the registration limits (per client IP, per identifier; 429), before any lookup or
//!    hashing, the same for taken and free identifiers;
//! 3. for a password account, check the password policy (422 `weak_password`) and hash it:
//!    both depend only on the request, so a taken email or username gets the same 422, or
//!    costs the same one argon2 hash, as a free one;
//! 4. only then look up the username and phone (409 `already_registered`) and insert the
//!    account, whose unique email the store enforces: a taken one is 409 too, or, with
//!    `accounts.conceal_existing`, answered like a free one;
//! 5. mail the activation link, within the address's mail limits
//!    (over them no mail goes out; a later login with the password sends one).

use crate::AuthError;
use crate::account::{Email, User, UserStatus, Username};
use crate::api::{Credentials, NewAccount, RegisterResponse};
use crate::config::AccountConfig;
use crate::email_token::{EmailToken, EmailTokenPurpose, new_token};
use crate::flows::credentials::Passwords;
use crate::flows::mailing::Mailer;
use crate::hooks::Action;
use crate::ids::UserId;
use crate::limits::Counters;
use crate::pipeline::{Flow, Outcome, Subject, flow_ctx};
use crate::store::{StoreError, UniqueField};

flow_ctx!(
    /// What registration works with: the accounts section of the configuration, the
    /// registration counters, the password policy and hasher, and mail.
    RegisterCtx {
        accounts: &'a AccountConfig,
        counters: Counters<'a>,
        passwords: Passwords<'a>,
        mailer: Mailer<'a>,
    }
);

/// A registration, validated: what the before hook sees.
pub(crate) struct Registration {
    credentials: Credentials,
    username: Option<Username>,
    profile: serde_json::Value,
}

/// `POST /register`: creates an account from `{"phone"}` or `{"email","password"}`, with
/// an optional unique `username` and a `profile` object. Answers `already_registered` when
/// the phone, email or username is taken, after the same argon2 work as a free one (see
/// the module docs for the order of the checks), except a taken email when
/// `accounts.conceal_existing` is on: that one gets a 201 like a free one. Over the
/// registration limits: `rate_limited`.
pub(crate) struct Register;

#[async_trait::async_trait]
impl<'a> Flow<'a> for Register {
    const ACTION: Action = Action::Register;
    type Ctx = RegisterCtx<'a>;
    type Input = NewAccount;
    type Prepared = Registration;
    type Output = RegisterResponse;

    async fn prepare(ctx: &Self::Ctx, account: NewAccount) -> Result<Registration, AuthError> {
        let cfg = ctx.accounts();
        let NewAccount {
            credentials,
            username,
            profile,
        } = account;
        if matches!(credentials, Credentials::EmailPassword(..))
            && cfg.require_email_activation
            && ctx.mailer().sender.is_none()
        {
            return Err(AuthError::invalid_request(
                "email is not enabled on this server",
            ));
        }
        let profile = match profile {
            None => serde_json::Value::Object(serde_json::Map::new()),
            Some(p @ serde_json::Value::Object(_)) => p,
            Some(_) => return Err(AuthError::invalid_request("profile must be a JSON object")),
        };
        // With declared fields, registration may set only the editable ones, typed.
        let profile = if cfg.profile_fields.is_empty() {
            profile
        } else {
            crate::profile::apply_patch(&cfg.profile_fields, &serde_json::Value::Null, &profile)?
        };
        if profile.to_string().len() > cfg.max_profile_bytes {
            return Err(AuthError::invalid_request(format!(
                "profile is larger than {} bytes",
                cfg.max_profile_bytes
            )));
        }

        Ok(Registration {
            credentials,
            username,
            profile,
        })
    }

    fn subject(r: &Registration) -> Subject<'_> {
        let mut s = Subject {
            username: r.username.as_ref(),
            profile: Some(&r.profile),
            ..Subject::default()
        };
        match &r.credentials {
            Credentials::Phone(phone) => s.phone = Some(phone),
            Credentials::EmailPassword(email, _) => s.email = Some(email),
        }
        s
    }

    async fn execute(
        ctx: &Self::Ctx,
        r: Registration,
    ) -> Result<(RegisterResponse, Outcome), AuthError> {
        let cfg = ctx.accounts();
        let Registration {
            credentials,
            username,
            profile,
        } = r;
        let store = ctx.store();
        let mut identifiers = vec![credentials.identifier()];
        identifiers.extend(username.as_ref().map(Username::as_str));
        ctx.counters()
            .check_register(cfg, &identifiers, ctx.client.ip, ctx.now)
            .await?;

        let mut user = User::new(UserId::new_random(), ctx.now);
        user.username = username;
        user.profile = profile;
        match credentials {
            Credentials::Phone(phone) => user.phone = Some(phone),
            Credentials::EmailPassword(email, password) => {
                // Policy and hash before any lookup: the same 422 or the same argon2 work
                // whether the email or username is taken.
                let mut context = vec![email.as_str().to_owned()];
                context.extend(email.as_str().split('@').next().map(str::to_owned));
                context.extend(user.username.as_ref().map(|u| u.as_str().to_owned()));
                let hash = ctx
                    .passwords()
                    .hasher
                    .hash_new(
                        ctx.passwords().policy,
                        &password,
                        context,
                        ctx.passwords().breached,
                    )
                    .await?;
                user.email = Some(email);
                user.password_hash = Some(hash);
            }
        }

        // The insert below is what enforces uniqueness, atomically; these lookups only save
        // it for the common case. A taken email is left to the insert itself, so a taken and a
        // free one both go as far as the write. A taken username or phone stays 409 even with
        // `conceal_existing`: a username is a handle others see, and whoever picks one must
        // learn that it is taken to pick another; a phone registration has no activation step
        // to hide behind, and concealing it would cost an SMS to the owner.
        if let Some(name) = &user.username
            && store.user_by_username(name).await?.is_some()
        {
            return Err(AuthError::AlreadyRegistered);
        }
        if let Some(phone) = &user.phone
            && store.user_by_phone(phone).await?.is_some()
        {
            return Err(AuthError::AlreadyRegistered);
        }
        let activation = user.email.clone().filter(|_| cfg.require_email_activation);
        user.status = if activation.is_some() {
            UserStatus::PendingActivation
        } else {
            UserStatus::Active
        };
        match store.create_user(&user).await {
            Ok(()) => {}
            Err(StoreError::Conflict(UniqueField::Email)) => {
                return match &user.email {
                    // Answered as if the email were free; the app's after hook is not told
                    // of an account that was not created.
                    Some(email) => Ok((taken_email(ctx, email).await?, Outcome::unseen())),
                    None => Err(AuthError::AlreadyRegistered),
                };
            }
            Err(StoreError::Conflict(_)) => return Err(AuthError::AlreadyRegistered),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(user_id = %user.id, "registered");
        if let Some(email) = &activation {
            if ctx.mailer().mail_allowed(email).await? {
                ctx.mailer()
                    .mail_token(user.id, email, EmailTokenPurpose::Activation)
                    .await?;
            } else {
                tracing::info!(
                    user_id = %user.id,
                    "activation mail not sent: the address's mail limit is reached"
                );
            }
        }
        let response = RegisterResponse {
            user_id: user.id,
            activation_required: user.status == UserStatus::PendingActivation,
        };
        Ok((response, Outcome::user(user)))
    }
}

/// A registration whose email is taken: 409 `already_registered`, or with
/// `accounts.conceal_existing` the answer a free email gets (201, a random `user_id` that
/// belongs to no account, `activation_required: true`), and the owner is told by mail,
/// within the address's mail limits, instead of getting an activation link. The password
/// was hashed already, as for a free email.
async fn taken_email(ctx: &RegisterCtx<'_>, email: &Email) -> Result<RegisterResponse, AuthError> {
    if !ctx.accounts().conceal_existing {
        return Err(AuthError::AlreadyRegistered);
    }
    let user_id = UserId::new_random();
    // The store work of a free email too, so the answer takes the same time: its two
    // durable writes (the account, the activation token) are matched by a counter hit and
    // an activation token that names no account and whose secret nobody holds.
    let now = ctx.now;
    let ttl = crate::clock::secs(ctx.accounts().activation_ttl_secs);
    let store = ctx.store();
    store
        .hit_counter(
            &ctx.counters().key(&format!("registerpad:{user_id}")),
            now + crate::clock::secs(1),
            now,
        )
        .await?;
    // There is a token store whenever there is a mail sender; without one no activation
    // token is ever written, so there is none to match.
    if let Some(tokens) = ctx.mailer().tokens {
        tokens
            .insert_email_token(&EmailToken {
                hash: new_token(ctx.mailer().email_key).1,
                purpose: EmailTokenPurpose::Activation,
                user_id,
                email: email.clone(),
                created_at: now,
                expires_at: now + ttl,
                consumed_at: None,
            })
            .await?;
    }
    if ctx.mailer().mail_allowed(email).await? {
        ctx.mailer().mail_registration_attempt(email).await?;
    }
    tracing::info!("registration of a taken email answered as if it were free");
    Ok(RegisterResponse {
        user_id,
        activation_required: true,
    })
}
