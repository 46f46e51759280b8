//! The floor every guard is measured against: what an app would write by hand without this
//! library — take the bearer token from the header and `jsonwebtoken::decode` it with the same
//! key and exactly the validation the core uses ([`validation`]).

use std::sync::Arc;

use auth_core::AuthConfig;
use auth_core::token::access::{AccessClaims, validation};
use jsonwebtoken::{DecodingKey, Validation};

/// The decoding key and validation of one configuration. Cheap to clone.
#[derive(Clone)]
pub(crate) struct RawDecoder {
    key: Arc<DecodingKey>,
    validation: Arc<Validation>,
}

impl RawDecoder {
    /// The key and validation of `config`, as the core builds them.
    pub(crate) fn new(config: &AuthConfig) -> Self {
        Self {
            key: Arc::new(DecodingKey::from_secret(config.secret.expose())),
            validation: Arc::new(validation(config)),
        }
    }

    /// The user id of a valid `Authorization: Bearer <token>` value, `None` otherwise.
    pub(crate) fn user_of(&self, authorization: Option<&str>) -> Option<String> {
        let token = authorization?.strip_prefix("Bearer ")?;
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.key, &self.validation).ok()?;
        Some(data.claims.sub.to_string())
    }
}
