//! Refresh tokens: opaque 256-bit secrets bound to a session, rotated on every use.
//!
//! A token reads `<session id>.<generation>.<secret>` (secret in base64url). The store keeps
//! only a keyed hash of the current secret. Each next secret is derived from the previous one
//! with a keyed hash (`next = HMAC(k, secret)`), so without storing any token in clear:
//!
//! * a retry with the just-rotated token inside the grace window gets the *same* new token
//!   back (two tabs or a flaky network racing one refresh do not log the user out);
//! * any genuinely issued older token is recognized (derive forward and compare), so
//!   presenting it is detected as reuse and revokes the session — while a forged token that
//!   merely names a session id is just `invalid_token` and cannot be used to log others out.

use std::fmt;

use crate::ids::SessionId;
use crate::secret::{MacKey, SecretHash, b64_decode_exact, b64_encode, random_bytes};
use crate::session::RefreshState;

/// Generations an old token may lag behind before we stop deriving forward to recognize it
/// (about 2 years of refreshing every 10 minutes). Older tokens are simply invalid.
const MAX_LAG: u64 = 100_000;

/// The secret part of a refresh token.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct RefreshSecret([u8; 32]);

impl fmt::Debug for RefreshSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshSecret(<redacted>)")
    }
}

impl RefreshSecret {
    /// A fresh random secret.
    pub(crate) fn random() -> Self {
        Self(random_bytes::<32>())
    }
}

/// A parsed refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RefreshToken {
    pub(crate) session_id: SessionId,
    pub(crate) generation: u64,
    pub(crate) secret: RefreshSecret,
}

impl RefreshToken {
    /// The longest string that can be a valid token.
    const MAX_LEN: usize = 36 + 1 + 20 + 1 + 43;

    /// Parses a token string; `None` for anything malformed.
    pub(crate) fn parse(token: &str) -> Option<Self> {
        if token.len() > Self::MAX_LEN {
            return None;
        }
        let mut parts = token.split('.');
        let (sid, generation, secret) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let session_id = uuid::Uuid::try_parse(sid).ok().map(SessionId::from_uuid)?;
        if generation.is_empty() || !generation.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let generation = generation.parse().ok()?;
        let secret = RefreshSecret(b64_decode_exact::<32>(secret)?);
        Some(Self {
            session_id,
            generation,
            secret,
        })
    }

    /// The string handed to the client.
    pub(crate) fn encode(&self) -> String {
        format!(
            "{}.{}.{}",
            self.session_id.as_uuid().simple(),
            self.generation,
            b64_encode(&self.secret.0)
        )
    }
}

/// The keys of the refresh-token scheme.
#[derive(Debug, Clone)]
pub(crate) struct RefreshKeys {
    /// Derives each next secret from the previous one.
    pub(crate) chain: MacKey,
    /// Hashes a secret for storage.
    pub(crate) storage: MacKey,
}

/// How a presented token relates to the session's current refresh state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Presented {
    /// It is the current token: rotate it.
    Current,
    /// It is the token rotated just before the current one; `current` is the current token's
    /// secret, recomputed from it.
    Previous { current: RefreshSecret },
    /// It is an older genuine token: reuse.
    Older,
    /// Not a token this session ever issued.
    Unknown,
}

impl RefreshKeys {
    /// The secret that follows `secret`.
    pub(crate) fn next(&self, secret: &RefreshSecret) -> RefreshSecret {
        RefreshSecret(*self.chain.hash(&[&secret.0]).as_bytes())
    }

    /// What the store keeps of `secret` for `session_id`.
    pub(crate) fn storage_hash(&self, session_id: SessionId, secret: &RefreshSecret) -> SecretHash {
        self.storage
            .hash(&[session_id.as_uuid().as_bytes(), &secret.0])
    }

    /// Classifies a presented token (already known to name this session).
    pub(crate) fn classify(&self, state: &RefreshState, token: &RefreshToken) -> Presented {
        let current = state.generation;
        if token.generation > current {
            return Presented::Unknown;
        }
        let lag = current - token.generation;
        if lag > MAX_LAG {
            return Presented::Unknown;
        }
        let mut secret = token.secret.clone();
        for _ in 0..lag {
            secret = self.next(&secret);
        }
        if !self
            .storage_hash(token.session_id, &secret)
            .ct_eq(&state.hash)
        {
            return Presented::Unknown;
        }
        match lag {
            0 => Presented::Current,
            1 => Presented::Previous { current: secret },
            _ => Presented::Older,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SigningSecret;
    use chrono::Utc;

    fn keys() -> RefreshKeys {
        let s = SigningSecret::generate();
        RefreshKeys {
            chain: s.derive("chain"),
            storage: s.derive("storage"),
        }
    }

    #[test]
    fn random_secrets_are_32_fresh_bytes_from_the_csprng() {
        // `random_bytes` reads `rand::rng()`: ChaCha12, seeded and periodically reseeded from
        // the operating system's CSPRNG. 10 000 draws are all distinct and span all 256 bits
        // over GF(2): a secret holding fewer random bits (padding, repeated bytes, stuck bits)
        // could span at most that many.
        let mut seen = std::collections::HashSet::new();
        let (mut basis, mut rank): (Vec<Option<[u8; 32]>>, usize) = (vec![None; 256], 0);
        for _ in 0..10_000 {
            let RefreshSecret(mut row) = RefreshSecret::random();
            assert!(seen.insert(row));
            if rank == 256 {
                continue;
            }
            // Gaussian elimination, one basis row per pivot bit.
            while let Some(pivot) = (0..256).find(|&b| row[b / 8] >> (7 - b % 8) & 1 == 1) {
                match basis[pivot] {
                    Some(b) => row.iter_mut().zip(b).for_each(|(x, y)| *x ^= y),
                    None => {
                        basis[pivot] = Some(row);
                        rank += 1;
                        break;
                    }
                }
            }
        }
        assert_eq!(rank, 256);
    }

    #[test]
    fn encode_parse_round_trip_and_garbage_is_rejected() {
        let t = RefreshToken {
            session_id: SessionId::new_random(),
            generation: 42,
            secret: RefreshSecret::random(),
        };
        assert_eq!(RefreshToken::parse(&t.encode()), Some(t.clone()));
        let enc = t.encode();
        for bad in [
            "",
            "a.b.c",
            &enc.replace(".42.", ".-1."),
            &enc.replace(".42.", ".."),
            &enc.replace(".42.", ".+4."),
            &format!("{enc}.x"),
            &format!("{enc}A"),
            &"x".repeat(500),
        ] {
            assert_eq!(RefreshToken::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn classify_current_previous_older_unknown() {
        let k = keys();
        let sid = SessionId::new_random();
        let s0 = RefreshSecret::random();
        let s1 = k.next(&s0);
        let s2 = k.next(&s1);
        let s3 = k.next(&s2);
        let state = RefreshState {
            generation: 3,
            hash: k.storage_hash(sid, &s3),
            issued_at: Utc::now(),
        };
        let tok = |generation, secret: &RefreshSecret| RefreshToken {
            session_id: sid,
            generation,
            secret: secret.clone(),
        };
        assert_eq!(k.classify(&state, &tok(3, &s3)), Presented::Current);
        assert_eq!(
            k.classify(&state, &tok(2, &s2)),
            Presented::Previous {
                current: s3.clone()
            }
        );
        assert_eq!(k.classify(&state, &tok(1, &s1)), Presented::Older);
        assert_eq!(k.classify(&state, &tok(0, &s0)), Presented::Older);
        // Wrong generation label, forged secret, future generation, other session.
        assert_eq!(k.classify(&state, &tok(2, &s3)), Presented::Unknown);
        assert_eq!(
            k.classify(&state, &tok(3, &RefreshSecret::random())),
            Presented::Unknown
        );
        assert_eq!(
            k.classify(&state, &tok(1, &RefreshSecret::random())),
            Presented::Unknown
        );
        assert_eq!(
            k.classify(&state, &tok(4, &k.next(&s3))),
            Presented::Unknown
        );
        let mut other = tok(3, &s3);
        other.session_id = SessionId::new_random();
        assert_eq!(k.classify(&state, &other), Presented::Unknown);
    }
}
