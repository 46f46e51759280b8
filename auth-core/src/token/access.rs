//! Access tokens: short-lived HS256 JWTs.
//!
//! * Header `typ` is `at+jwt` (RFC 9068) and is required on verify, so no other JWT signed
//!   with the same key (an ID token, a link token) can pass as an access token.
//! * The algorithm is pinned to HS256; `iss` and `aud` are checked; `exp`, `nbf`, `iat`, `sub`,
//!   `sid` and `jti` are required and must have the right JSON types.
//! * `exp` and `nbf` are checked against the injected [`crate::Clock`] with a small leeway,
//!   not against the system clock, so tests can move time.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::AuthError;
use crate::config::AuthConfig;
use crate::ids::{SessionId, UserId};

/// The JWT `typ` of an access token.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id.
    pub sub: UserId,
    /// The session id.
    pub sid: SessionId,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Not before (Unix seconds).
    pub nbf: i64,
    /// Expires (Unix seconds).
    pub exp: i64,
    /// Unique token id.
    pub jti: uuid::Uuid,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// The user's roles when the token was issued.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// Who a request speaks for: the holder of a valid access token, or (only where the app turned
/// it on) of a valid HTTP Basic email and password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user.
    pub user_id: UserId,
    /// The session the access token belongs to; `None` for HTTP Basic, which has no session.
    pub session_id: Option<SessionId>,
    /// The user's roles.
    pub roles: Vec<String>,
}

impl Principal {
    /// The session, for actions that need one (logout, …): `missing_token` for an HTTP Basic
    /// principal, which has none.
    pub fn session(&self) -> Result<SessionId, AuthError> {
        self.session_id.ok_or(AuthError::MissingToken)
    }

    /// Whether the principal holds `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// Issues and verifies access tokens.
#[derive(Clone)]
pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    header: Header,
    issuer: String,
    audience: String,
    ttl: i64,
    leeway: i64,
}

impl std::fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokens")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl AccessTokens {
    /// Keys and validation rules from the configuration.
    pub fn new(config: &AuthConfig) -> Self {
        let key = config.secret.expose();
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        Self {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation: validation(config),
            header,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            ttl: i64::try_from(config.access.ttl_secs).unwrap_or(i64::MAX / 4),
            leeway: i64::try_from(config.access.leeway_secs).unwrap_or(0),
        }
    }

    /// Signs a new access token. Returns the token and its lifetime in seconds.
    pub fn issue(
        &self,
        user_id: UserId,
        session_id: SessionId,
        roles: Vec<String>,
        now: DateTime<Utc>,
    ) -> Result<(String, u64), AuthError> {
        let iat = now.timestamp();
        let claims = AccessClaims {
            sub: user_id,
            sid: session_id,
            iat,
            nbf: iat,
            exp: iat.saturating_add(self.ttl),
            jti: uuid::Uuid::new_v4(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            roles,
        };
        let token = jsonwebtoken::encode(&self.header, &claims, &self.encoding).map_err(|e| {
            tracing::error!(error = %e, "signing an access token failed");
            AuthError::Internal
        })?;
        Ok((token, self.ttl.unsigned_abs()))
    }

    /// Verifies signature, type, algorithm, issuer, audience and required claims, then `exp`
    /// and `nbf` against `now` with the leeway.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaims, AuthError> {
        if token.len() > 8192 {
            return Err(AuthError::InvalidToken);
        }
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map_err(|_| AuthError::InvalidToken)?;
        if data.header.typ.as_deref() != Some(ACCESS_TOKEN_TYPE) {
            return Err(AuthError::InvalidToken);
        }
        let claims = data.claims;
        let now = now.timestamp();
        if claims.nbf > now.saturating_add(self.leeway) {
            return Err(AuthError::InvalidToken);
        }
        if claims.exp <= now.saturating_sub(self.leeway) {
            return Err(AuthError::TokenExpired);
        }
        Ok(claims)
    }
}

/// The validation rules, also used by the benchmarks' raw-decode baseline.
pub fn validation(config: &AuthConfig) -> Validation {
    let mut v = Validation::new(Algorithm::HS256);
    v.algorithms = vec![Algorithm::HS256];
    v.set_issuer(&[config.issuer.as_str()]);
    v.set_audience(&[config.audience.as_str()]);
    v.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
    // exp/nbf are checked against the injected clock in `AccessTokens::verify`.
    v.validate_exp = false;
    v.validate_nbf = false;
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SigningSecret;
    use chrono::Duration;

    fn tokens() -> (AccessTokens, AuthConfig) {
        let cfg = AuthConfig::new(
            SigningSecret::new(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap(),
        );
        (AccessTokens::new(&cfg), cfg)
    }

    #[test]
    fn issue_then_verify() {
        let (t, _) = tokens();
        let now = Utc::now();
        let (user, sid) = (UserId::new_random(), SessionId::new_random());
        let (jwt, ttl) = t.issue(user, sid, vec!["admin".into()], now).unwrap();
        assert_eq!(ttl, 600);
        let c = t.verify(&jwt, now).unwrap();
        assert_eq!(
            (c.sub, c.sid, c.roles.clone()),
            (user, sid, vec!["admin".to_owned()])
        );
        assert_eq!(c.exp - c.iat, 600);
        assert_eq!(
            t.verify(&jwt, now + Duration::seconds(604)).map(|_| ()),
            Ok(())
        );
        assert_eq!(
            t.verify(&jwt, now + Duration::seconds(605)),
            Err(AuthError::TokenExpired)
        );
        assert_eq!(
            t.verify(&jwt, now - Duration::seconds(60)),
            Err(AuthError::InvalidToken)
        );
    }

    fn sign(header: &Header, claims: &serde_json::Value, key: &[u8]) -> String {
        jsonwebtoken::encode(header, claims, &EncodingKey::from_secret(key)).unwrap()
    }

    #[test]
    fn wrong_type_alg_key_issuer_audience_or_claims_are_rejected() {
        let (t, cfg) = tokens();
        let now = Utc::now();
        let key = cfg.secret.expose();
        let good = serde_json::json!({
            "sub": UserId::new_random(), "sid": SessionId::new_random(),
            "iat": now.timestamp(), "nbf": now.timestamp(), "exp": now.timestamp() + 600,
            "jti": uuid::Uuid::new_v4(), "iss": cfg.issuer, "aud": cfg.audience, "roles": []
        });
        let mut at = Header::new(Algorithm::HS256);
        at.typ = Some(ACCESS_TOKEN_TYPE.into());
        assert!(t.verify(&sign(&at, &good, key), now).is_ok());

        // Plain JWT type (e.g. some other token signed with the same key).
        let plain = Header::new(Algorithm::HS256);
        assert_eq!(
            t.verify(&sign(&plain, &good, key), now),
            Err(AuthError::InvalidToken)
        );
        // Another algorithm from the same family.
        let mut hs512 = Header::new(Algorithm::HS512);
        hs512.typ = Some(ACCESS_TOKEN_TYPE.into());
        assert_eq!(
            t.verify(&sign(&hs512, &good, key), now),
            Err(AuthError::InvalidToken)
        );
        // Another key.
        assert_eq!(
            t.verify(&sign(&at, &good, b"another-secret-another-secret-xx"), now),
            Err(AuthError::InvalidToken)
        );
        let with = |k: &str, v: serde_json::Value| {
            let mut c = good.clone();
            c[k] = v;
            sign(&at, &c, key)
        };
        let without = |k: &str| {
            let mut c = good.clone();
            c.as_object_mut().unwrap().remove(k);
            sign(&at, &c, key)
        };
        for bad in [
            with("iss", "evil".into()),
            with("aud", "evil".into()),
            with("exp", "9999999999".into()),
            with("nbf", serde_json::json!(null)),
            with("sub", "not-a-uuid".into()),
            without("exp"),
            without("nbf"),
            without("sid"),
            without("jti"),
        ] {
            assert_eq!(t.verify(&bad, now), Err(AuthError::InvalidToken));
        }
        // alg=none and garbage.
        let none = format!(
            "{}.{}.",
            crate::secret::b64_encode(br#"{"alg":"none","typ":"at+jwt"}"#),
            crate::secret::b64_encode(good.to_string().as_bytes())
        );
        for bad in [none.as_str(), "", "a.b.c", "not a token"] {
            assert_eq!(t.verify(bad, now), Err(AuthError::InvalidToken));
        }
    }
}
