//! `AUTH_ADMINS`: the accounts that get the `admin` role, and the [`AdminGrants`] hook that
//! grants it when one of them registers.
//!
//! A hook is part of the [`Auth`] it runs in, so it cannot own that `Auth` (that would be a
//! reference cycle, and the store would never be dropped). It holds a [`Weak`] reference
//! instead, filled in once the `Auth` is built: [`AdminGrants::attach`].

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock, Weak};

use auth_core::hooks::{Action, AfterHook, Hooks};
use auth_core::{Auth, AuthError, Email, Phone, User};

use crate::ADMIN_ROLE;

/// The phones (normalized E.164) and emails (lower-cased) listed in `AUTH_ADMINS`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdminList {
    phones: BTreeSet<String>,
    emails: BTreeSet<String>,
}

impl AdminList {
    /// Parses a comma-separated list; an entry with `@` is an email, any other a phone.
    pub fn parse(list: &str) -> Result<Self, AuthError> {
        let mut admins = Self::default();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry.contains('@') {
                admins
                    .emails
                    .insert(Email::parse(entry)?.as_str().to_owned());
            } else {
                admins
                    .phones
                    .insert(Phone::parse(entry, false)?.as_str().to_owned());
            }
        }
        Ok(admins)
    }

    /// Whether the list names the user's phone or email.
    pub fn contains(&self, user: &User) -> bool {
        user.phone
            .as_ref()
            .is_some_and(|p| self.phones.contains(p.as_str()))
            || user
                .email
                .as_ref()
                .is_some_and(|e| self.emails.contains(e.as_str()))
    }

    /// How many entries the list has.
    pub fn len(&self) -> usize {
        self.phones.len() + self.emails.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Grants the role to the listed accounts that already exist (e.g. registered before
    /// they were listed). Returns how many accounts were looked at and found.
    pub async fn grant_existing(&self, auth: &Auth) -> Result<usize, AuthError> {
        let mut found = 0;
        for phone in &self.phones {
            if let Some(user) = auth
                .find_user_by_phone(&auth_core::Phone::parse(phone, false)?)
                .await?
            {
                auth.grant_role(user.id, ADMIN_ROLE).await?;
                found += 1;
            }
        }
        for email in &self.emails {
            if let Some(user) = auth
                .find_user_by_email(&auth_core::Email::parse(email)?)
                .await?
            {
                auth.grant_role(user.id, ADMIN_ROLE).await?;
                found += 1;
            }
        }
        Ok(found)
    }
}

/// A [`Hooks`] implementation: after a registration whose phone or email is in the
/// [`AdminList`], grants the `admin` role with [`Auth::grant_role`], before the client gets
/// its 201.
#[derive(Debug, Clone)]
pub struct AdminGrants {
    admins: AdminList,
    auth: Arc<OnceLock<Weak<Auth>>>,
}

impl AdminGrants {
    /// A hook for `admins`; call [`AdminGrants::attach`] once the `Auth` is built.
    pub fn new(admins: AdminList) -> Self {
        Self {
            admins,
            auth: Arc::new(OnceLock::new()),
        }
    }

    /// Points the hook (and its clones) at the `Auth` it runs in. Keep the `Arc` alive as long
    /// as the server runs: the hook holds only a weak reference.
    pub fn attach(&self, auth: &Arc<Auth>) {
        if self.auth.set(Arc::downgrade(auth)).is_err() {
            tracing::warn!("AdminGrants::attach called twice; keeping the first Auth");
        }
    }
}

#[auth_core::async_trait]
impl Hooks for AdminGrants {
    async fn after(&self, ctx: &AfterHook<'_>) {
        let Some(user) = ctx.user else { return };
        if ctx.action != Action::Register || !self.admins.contains(user) {
            return;
        }
        let Some(auth) = self.auth.get().and_then(Weak::upgrade) else {
            tracing::warn!(user_id = %user.id, "admin not granted: the hook is not attached");
            return;
        };
        match auth.grant_role(user.id, ADMIN_ROLE).await {
            Ok(()) => tracing::info!(user_id = %user.id, role = ADMIN_ROLE, "role granted"),
            Err(e) => tracing::warn!(user_id = %user.id, error = %e, "admin not granted"),
        }
    }
}

#[cfg(test)]
mod tests {
    use auth_core::api::{ClientInfo, RegisterRequest};
    use auth_core::testkit::{FakeSms, MemoryStore, TestKit};

    use super::*;

    #[test]
    fn parses_phones_and_emails() {
        let list = AdminList::parse(" +1 555-000-0001 ,, Boss@Example.com ").unwrap();
        assert_eq!(list.len(), 2);
        let mut user = User::new(auth_core::UserId::new_random(), chrono::Utc::now());
        assert!(!list.contains(&user));
        user.phone = Some(Phone::parse("+15550000001", false).unwrap());
        assert!(list.contains(&user));
        user.phone = None;
        user.email = Some(Email::parse("boss@example.com").unwrap());
        assert!(list.contains(&user));
        assert!(AdminList::parse("").unwrap().is_empty());
        assert!(AdminList::parse("12345").is_err());
        assert!(AdminList::parse("a@b").is_err());
    }

    #[tokio::test]
    async fn grants_admin_on_registration_to_listed_accounts_only() {
        let hook = AdminGrants::new(AdminList::parse("+15550000001").unwrap());
        let auth = Auth::builder(TestKit::config())
            .store(MemoryStore::new())
            .sms(FakeSms::new())
            .hooks(hook.clone())
            .build()
            .unwrap();
        let auth = Arc::new(auth);
        hook.attach(&auth);
        let client = ClientInfo::default();
        let register = |phone: &str| RegisterRequest {
            phone: Some(phone.to_owned()),
            ..Default::default()
        };
        let admin = auth
            .register(
                register("+1 555 000 0001").parse(auth.config()).unwrap(),
                &client,
            )
            .await
            .unwrap();
        let other = auth
            .register(
                register("+15550000002").parse(auth.config()).unwrap(),
                &client,
            )
            .await
            .unwrap();
        let roles = |id| {
            let auth = Arc::clone(&auth);
            async move { auth.find_user(id).await.unwrap().unwrap().roles }
        };
        assert_eq!(roles(admin.user_id).await, vec![ADMIN_ROLE.to_owned()]);
        assert!(roles(other.user_id).await.is_empty());
    }

    #[tokio::test]
    async fn grants_existing_accounts_at_startup() {
        let kit = TestKit::new();
        let client = ClientInfo::default();
        let user = kit
            .auth
            .register(
                RegisterRequest {
                    phone: Some("+15550000003".into()),
                    ..Default::default()
                }
                .parse(kit.auth.config())
                .unwrap(),
                &client,
            )
            .await
            .unwrap();
        let list = AdminList::parse("+15550000003, +15550000004").unwrap();
        assert_eq!(list.grant_existing(&kit.auth).await.unwrap(), 1);
        let found = kit.auth.find_user(user.user_id).await.unwrap().unwrap();
        assert!(found.has_role(ADMIN_ROLE));
    }
}
