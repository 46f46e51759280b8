//! Opaque access tokens, the alternative to JWTs (`access.mode = "opaque"`).
//!
//! A token reads `oat.<session id>.<expiry>.<nonce>.<mac>`: a random 128-bit nonce and an
//! HMAC-SHA-256 (under a key derived from the signing secret) over the session id, the expiry
//! and the nonce. Nothing about the user is in it. Every check verifies the MAC in constant
//! time, then reads the session and the user from the store: revocation (logout, disable,
//! password change) and role changes take effect at once, at the cost of store reads per
//! request. Nothing extra is stored: the token is bound to its session.

use chrono::{DateTime, Utc};

use crate::AuthError;
use crate::ids::SessionId;
use crate::secret::{MacKey, b64_decode_exact, b64_encode, random_bytes};

const PREFIX: &str = "oat";

/// Issues and checks opaque access tokens.
#[derive(Debug, Clone)]
pub(crate) struct OpaqueTokens {
    key: MacKey,
    ttl: i64,
}

impl OpaqueTokens {
    pub(crate) fn new(key: MacKey, ttl_secs: u64) -> Self {
        Self {
            key,
            ttl: i64::try_from(ttl_secs).unwrap_or(i64::MAX / 4),
        }
    }

    fn mac(&self, sid: SessionId, exp: i64, nonce: &[u8; 16]) -> [u8; 32] {
        *self
            .key
            .hash(&[sid.as_uuid().as_bytes(), &exp.to_be_bytes(), nonce])
            .as_bytes()
    }

    /// A new token for `sid`, and its lifetime in seconds.
    pub(crate) fn issue(&self, sid: SessionId, now: DateTime<Utc>) -> (String, u64) {
        let exp = now.timestamp().saturating_add(self.ttl);
        let nonce = random_bytes::<16>();
        let mac = self.mac(sid, exp, &nonce);
        let token = format!(
            "{PREFIX}.{}.{exp}.{}.{}",
            sid.as_uuid().simple(),
            b64_encode(&nonce),
            b64_encode(&mac)
        );
        (token, self.ttl.unsigned_abs())
    }

    /// The session a token belongs to, when its MAC is right and it has not expired.
    pub(crate) fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<SessionId, AuthError> {
        if token.len() > 160 {
            return Err(AuthError::InvalidToken);
        }
        let mut parts = token.split('.');
        let (Some(PREFIX), Some(sid), Some(exp), Some(nonce), Some(mac), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(AuthError::InvalidToken);
        };
        let sid = uuid::Uuid::try_parse(sid)
            .map(SessionId::from_uuid)
            .map_err(|_| AuthError::InvalidToken)?;
        if exp.is_empty() || !exp.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AuthError::InvalidToken);
        }
        let exp: i64 = exp.parse().map_err(|_| AuthError::InvalidToken)?;
        let nonce = b64_decode_exact::<16>(nonce).ok_or(AuthError::InvalidToken)?;
        let mac = b64_decode_exact::<32>(mac).ok_or(AuthError::InvalidToken)?;
        if !crate::secret::constant_time_eq(&self.mac(sid, exp, &nonce), &mac) {
            return Err(AuthError::InvalidToken);
        }
        if exp <= now.timestamp() {
            return Err(AuthError::TokenExpired);
        }
        Ok(sid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SigningSecret;

    #[test]
    fn issue_verify_expire_and_forge() {
        let t = OpaqueTokens::new(SigningSecret::generate().derive("o"), 600);
        let now = Utc::now();
        let sid = SessionId::new_random();
        let (tok, ttl) = t.issue(sid, now);
        assert_eq!(ttl, 600);
        assert_eq!(t.verify(&tok, now), Ok(sid));
        assert_eq!(
            t.verify(&tok, now + chrono::Duration::seconds(600)),
            Err(AuthError::TokenExpired)
        );
        // Changing any part breaks the MAC.
        let parts: Vec<&str> = tok.split('.').collect();
        let later = (parts[2].parse::<i64>().unwrap() + 3600).to_string();
        let forged = [parts[0], parts[1], &later, parts[3], parts[4]].join(".");
        assert_eq!(t.verify(&forged, now), Err(AuthError::InvalidToken));
        let other = SessionId::new_random().as_uuid().simple().to_string();
        let forged = [parts[0], &other, parts[2], parts[3], parts[4]].join(".");
        assert_eq!(t.verify(&forged, now), Err(AuthError::InvalidToken));
        let other_key = OpaqueTokens::new(SigningSecret::generate().derive("o"), 600);
        assert_eq!(other_key.verify(&tok, now), Err(AuthError::InvalidToken));
        for bad in ["", "oat", "oat.a.b.c.d", &format!("{tok}.x"), "jwt.x.y"] {
            assert_eq!(t.verify(bad, now), Err(AuthError::InvalidToken));
        }
    }
}
