//! Registration: an SMS account by phone, or a password account by email.

use crate::account::{Email, User, UserStatus, Username};
use crate::api::{ClientInfo, RegisterRequest, RegisterResponse};
use crate::email_token::EmailTokenPurpose;
use crate::hooks::{Action, AfterHook, BeforeHook};
use crate::ids::UserId;
use crate::phone::Phone;
use crate::store::StoreError;
use crate::{Auth, AuthError};

/// A registration request, validated.
enum Credentials {
    Phone(Phone),
    EmailPassword(Email, crate::secret::Password),
}

impl Auth {
    /// `POST /register`: creates an account from `{"phone"}` or `{"email","password"}`, with
    /// an optional unique `username` and a `profile` object. Answers `already_registered` when
    /// the phone, email or username is taken.
    pub async fn register(
        &self,
        request: RegisterRequest,
        client: &ClientInfo,
    ) -> Result<RegisterResponse, AuthError> {
        let cfg = &self.inner.config;
        let credentials = match (request.phone, request.email, request.password) {
            (Some(phone), None, None) => {
                Credentials::Phone(Phone::parse(&phone, cfg.sms.strict_phone_validation)?)
            }
            (None, Some(email), Some(password)) => {
                Credentials::EmailPassword(Email::parse(&email)?, password)
            }
            (None, Some(_), None) => {
                return Err(AuthError::invalid_request(
                    "password is required with email",
                ));
            }
            (Some(_), _, _) => {
                return Err(AuthError::invalid_request(
                    "register with either {\"phone\"} or {\"email\",\"password\"}",
                ));
            }
            (None, None, _) => {
                return Err(AuthError::invalid_request("phone or email is required"));
            }
        };
        let username = request
            .username
            .as_deref()
            .map(Username::parse)
            .transpose()?;
        let profile = match request.profile {
            None => serde_json::Value::Object(serde_json::Map::new()),
            Some(p @ serde_json::Value::Object(_)) => p,
            Some(_) => return Err(AuthError::invalid_request("profile must be a JSON object")),
        };
        // With declared fields, registration may set only the editable ones, typed.
        let profile = if cfg.accounts.profile_fields.is_empty() {
            profile
        } else {
            crate::profile::apply_patch(
                &cfg.accounts.profile_fields,
                &serde_json::Value::Null,
                &profile,
            )?
        };
        if profile.to_string().len() > cfg.accounts.max_profile_bytes {
            return Err(AuthError::invalid_request(format!(
                "profile is larger than {} bytes",
                cfg.accounts.max_profile_bytes
            )));
        }

        let mut hook = BeforeHook::new(Action::Register, client);
        hook.username = username.as_ref();
        hook.profile = Some(&profile);
        match &credentials {
            Credentials::Phone(phone) => hook.phone = Some(phone),
            Credentials::EmailPassword(email, _) => hook.email = Some(email),
        }
        self.before(hook).await?;

        let store = &self.inner.store;
        // Cheap uniqueness checks first, so a duplicate does not cost an argon2 hash. The
        // insert below is what enforces uniqueness, atomically.
        if let Some(name) = &username
            && store.user_by_username(name).await?.is_some()
        {
            return Err(AuthError::AlreadyRegistered);
        }
        let mut user = User::new(UserId::new_random(), self.now());
        user.username = username;
        user.profile = profile;
        match credentials {
            Credentials::Phone(phone) => {
                if store.user_by_phone(&phone).await?.is_some() {
                    return Err(AuthError::AlreadyRegistered);
                }
                user.phone = Some(phone);
            }
            Credentials::EmailPassword(email, password) => {
                if cfg.accounts.require_email_activation && self.inner.mail.is_none() {
                    return Err(AuthError::invalid_request(
                        "email is not enabled on this server",
                    ));
                }
                if store.user_by_email(&email).await?.is_some() {
                    return Err(AuthError::AlreadyRegistered);
                }
                let mut context = vec![email.as_str().to_owned()];
                context.extend(email.as_str().split('@').next().map(str::to_owned));
                context.extend(user.username.as_ref().map(|u| u.as_str().to_owned()));
                let hash = self
                    .inner
                    .hasher
                    .hash_new(
                        &self.inner.policy,
                        &password,
                        context,
                        self.inner.breached.as_deref(),
                    )
                    .await?;
                user.email = Some(email);
                user.password_hash = Some(hash);
            }
        }
        let activation = user
            .email
            .clone()
            .filter(|_| cfg.accounts.require_email_activation);
        user.status = if activation.is_some() {
            UserStatus::PendingActivation
        } else {
            UserStatus::Active
        };
        match store.create_user(&user).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(AuthError::AlreadyRegistered),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(user_id = %user.id, "registered");
        if let Some(email) = &activation {
            self.mail_token(user.id, email, EmailTokenPurpose::Activation)
                .await?;
        }
        self.after(AfterHook {
            action: Action::Register,
            client,
            user: Some(&user),
            user_id: Some(user.id),
            session_id: None,
        })
        .await;
        Ok(RegisterResponse {
            user_id: user.id,
            activation_required: user.status == UserStatus::PendingActivation,
        })
    }
}
