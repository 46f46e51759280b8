//! Refresh tokens: opaque 256-bit secrets bound to a session, rotated on every use.
//!
//! A token reads `<session id>.<generation>.<secret and tag>`: the last part is base64url of
//! 48 bytes, the 32-byte secret followed by a 16-byte tag. Clients treat the whole string as
//! opaque. The store keeps only a keyed hash of the current secret. Two keyed hashes make the
//! scheme work without storing any token in clear:
//!
//! * **the chain**: each next secret is derived from the previous one
//!   (`next = HMAC(chain key, secret)`), so a retry with the just-rotated token inside the
//!   grace window gets the *same* new token back (two tabs or a flaky network racing one
//!   refresh do not log the user out): one step forward from it, compared with the stored
//!   hash;
//! * **the tag**: every token carries `HMAC(tag key, session id, generation, secret)`
//!   truncated to 128 bits, checked in constant time before anything else. Only the server
//!   can make it, so a token with a valid tag is one the server issued for that session and
//!   generation. A forged token — one that merely names a session id, or moves a real token to
//!   another session or generation — fails it, is `invalid_token` without a store read, and
//!   can never revoke anyone's session. A token with a valid tag two or more generations
//!   behind the session's is an older genuine token however old it is: presenting it is
//!   reuse and revokes the session.
//!
//! Classifying a presented token (`RefreshKeys::classify`) therefore costs the same three
//! MACs whatever its age: the tag, one chain step and one storage hash (computed for every
//! class, used or not). Nothing walks the chain.
//!
//! Tokens of the earlier three-part form without a tag are `invalid_token`.

use std::fmt;

use crate::ids::SessionId;
use crate::secret::{
    MacKey, SecretHash, b64_decode_exact, b64_encode, constant_time_eq, random_bytes,
};
use crate::session::RefreshState;

/// Bytes of a secret.
const SECRET_LEN: usize = 32;
/// Bytes of a tag (128 bits: forging one takes 2^128 guesses).
const TAG_LEN: usize = 16;
/// Bytes of the last part of a token, before base64url: the secret, then the tag.
const SECRET_AND_TAG_LEN: usize = SECRET_LEN + TAG_LEN;

#[cfg(test)]
thread_local! {
    /// MACs computed by [`RefreshKeys`] on this thread, so tests can prove the work is bounded.
    static MACS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts one MAC (tests only).
fn count_mac() {
    #[cfg(test)]
    MACS.with(|m| m.set(m.get() + 1));
}

/// The secret part of a refresh token.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct RefreshSecret([u8; SECRET_LEN]);

impl fmt::Debug for RefreshSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshSecret(<redacted>)")
    }
}

impl RefreshSecret {
    /// A fresh random secret.
    pub(crate) fn random() -> Self {
        Self(random_bytes::<SECRET_LEN>())
    }
}

/// The tag of a refresh token: binds its secret to its session and generation.
#[derive(Clone, PartialEq, Eq)]
struct RefreshTag([u8; TAG_LEN]);

impl fmt::Debug for RefreshTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshTag(<redacted>)")
    }
}

/// A parsed refresh token, its tag not yet checked (see [`RefreshKeys::authenticate`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RefreshToken {
    pub(crate) session_id: SessionId,
    pub(crate) generation: u64,
    pub(crate) secret: RefreshSecret,
    tag: RefreshTag,
}

impl RefreshToken {
    /// The longest string that can be a valid token: a hyphenated UUID, the largest `u64`, and
    /// 48 bytes in base64url without padding.
    pub(crate) const MAX_LEN: usize = 36 + 1 + 20 + 1 + 64;

    /// Parses a token string; `None` for anything malformed (including the earlier form
    /// without a tag).
    pub(crate) fn parse(token: &str) -> Option<Self> {
        if token.len() > Self::MAX_LEN {
            return None;
        }
        let mut parts = token.split('.');
        let (sid, generation, last) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let session_id = uuid::Uuid::try_parse(sid).ok().map(SessionId::from_uuid)?;
        if generation.is_empty() || !generation.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let generation = generation.parse().ok()?;
        let bytes = b64_decode_exact::<SECRET_AND_TAG_LEN>(last)?;
        let (secret, tag) = bytes.split_first_chunk::<SECRET_LEN>()?;
        Some(Self {
            session_id,
            generation,
            secret: RefreshSecret(*secret),
            tag: RefreshTag(tag.try_into().ok()?),
        })
    }

    /// The string handed to the client.
    pub(crate) fn encode(&self) -> String {
        let mut last = Vec::with_capacity(SECRET_AND_TAG_LEN);
        last.extend_from_slice(&self.secret.0);
        last.extend_from_slice(&self.tag.0);
        format!(
            "{}.{}.{}",
            self.session_id.as_uuid().simple(),
            self.generation,
            b64_encode(&last)
        )
    }
}

/// A token whose tag checked out: the server issued it, for the session and generation it
/// names. Only [`RefreshKeys::authenticate`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Authentic(RefreshToken);

impl Authentic {
    /// The token.
    pub(crate) fn token(&self) -> &RefreshToken {
        &self.0
    }
}

/// The keys of the refresh-token scheme.
#[derive(Debug, Clone)]
pub(crate) struct RefreshKeys {
    /// Derives each next secret from the previous one.
    pub(crate) chain: MacKey,
    /// Hashes a secret for storage.
    pub(crate) storage: MacKey,
    /// Tags each issued token with its session and generation.
    pub(crate) tag: MacKey,
}

/// How a presented token relates to the session's current refresh state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Presented {
    /// It is the current token: rotate it; `next` is the secret that follows it.
    Current { next: RefreshSecret },
    /// It is the token rotated just before the current one; `current` is the current token's
    /// secret, recomputed from it.
    Previous { current: RefreshSecret },
    /// It is an older genuine token, however old: reuse.
    Older,
    /// Not a token this session issued.
    Unknown,
}

impl RefreshKeys {
    /// The secret that follows `secret`.
    pub(crate) fn next(&self, secret: &RefreshSecret) -> RefreshSecret {
        count_mac();
        RefreshSecret(*self.chain.hash(&[&secret.0]).as_bytes())
    }

    /// What the store keeps of `secret` for `session_id`.
    pub(crate) fn storage_hash(&self, session_id: SessionId, secret: &RefreshSecret) -> SecretHash {
        count_mac();
        self.storage
            .hash(&[session_id.as_uuid().as_bytes(), &secret.0])
    }

    /// The tag of `secret` as generation `generation` of `session_id`.
    fn tag_of(&self, session_id: SessionId, generation: u64, secret: &RefreshSecret) -> RefreshTag {
        count_mac();
        let full = self.tag.hash(&[
            session_id.as_uuid().as_bytes(),
            &generation.to_be_bytes(),
            &secret.0,
        ]);
        let mut tag = [0u8; TAG_LEN];
        for (t, b) in tag.iter_mut().zip(full.as_bytes()) {
            *t = *b;
        }
        RefreshTag(tag)
    }

    /// The token of generation `generation` of `session_id`, tagged.
    pub(crate) fn token(
        &self,
        session_id: SessionId,
        generation: u64,
        secret: RefreshSecret,
    ) -> RefreshToken {
        let tag = self.tag_of(session_id, generation, &secret);
        RefreshToken {
            session_id,
            generation,
            secret,
            tag,
        }
    }

    /// Checks a token's tag in constant time (one MAC, no store read): `None` for a token this
    /// server never issued, or one moved to another session or generation.
    pub(crate) fn authenticate(&self, token: RefreshToken) -> Option<Authentic> {
        let expected = self.tag_of(token.session_id, token.generation, &token.secret);
        constant_time_eq(&expected.0, &token.tag.0).then_some(Authentic(token))
    }

    /// Classifies an authentic token against the refresh state of session `session_id` (the
    /// session the token names). Costs one chain step and one storage hash whatever the
    /// token's age: an older genuine token is recognized by its tag, not by walking the chain.
    pub(crate) fn classify(
        &self,
        session_id: SessionId,
        state: &RefreshState,
        token: &Authentic,
    ) -> Presented {
        let token = token.token();
        if token.session_id != session_id {
            return Presented::Unknown;
        }
        let Some(lag) = state.generation.checked_sub(token.generation) else {
            return Presented::Unknown;
        };
        // The same work for every age: the stored hash is checked for the current token
        // (lag 0) or the one step ahead of the previous token (lag 1), and computed and
        // ignored for older ones.
        let next = self.next(&token.secret);
        let candidate = if lag == 1 { &next } else { &token.secret };
        let stored = self.storage_hash(session_id, candidate).ct_eq(&state.hash);
        match lag {
            0 if stored => Presented::Current { next },
            1 if stored => Presented::Previous { current: next },
            0 | 1 => Presented::Unknown,
            _ => Presented::Older,
        }
    }
}

/// A benchmark hook, not an API (hidden from the docs and only built with the `testkit`
/// feature): what `/refresh` spends on a presented token before and after it reads the
/// session, without the store, for `auth-core/benches/core.rs`.
#[cfg(feature = "testkit")]
#[doc(hidden)]
pub mod bench {
    use super::{Presented, RefreshKeys, RefreshSecret};
    use crate::ids::SessionId;
    use crate::secret::SigningSecret;
    use crate::session::RefreshState;

    /// A genuine session and one of its tokens, some generations behind its current one.
    #[derive(Debug)]
    pub struct ClassifyOld {
        keys: RefreshKeys,
        session_id: SessionId,
        state: RefreshState,
        token: String,
    }

    impl ClassifyOld {
        /// A session rotated `age` times since the token was issued: the chain is walked `age`
        /// steps once here, to build the genuine current state.
        pub fn new(age: u64) -> Self {
            let secret = SigningSecret::generate();
            let keys = RefreshKeys {
                chain: secret.derive("bench/refresh-chain"),
                storage: secret.derive("bench/refresh-storage"),
                tag: secret.derive("bench/refresh-tag"),
            };
            let session_id = SessionId::new_random();
            let first = RefreshSecret::random();
            let mut current = first.clone();
            for _ in 0..age {
                current = keys.next(&current);
            }
            let state = RefreshState {
                generation: age,
                hash: keys.storage_hash(session_id, &current),
                issued_at: chrono::DateTime::UNIX_EPOCH,
            };
            let token = keys.token(session_id, 0, first).encode();
            Self {
                keys,
                session_id,
                state,
                token,
            }
        }

        /// Parses, authenticates and classifies the token; the name of its class (`current`,
        /// `previous`, `older`, `unknown`).
        pub fn classify(&self) -> &'static str {
            let Some(token) = super::RefreshToken::parse(&self.token) else {
                return "unknown";
            };
            let Some(token) = self.keys.authenticate(token) else {
                return "unknown";
            };
            match self.keys.classify(self.session_id, &self.state, &token) {
                Presented::Current { .. } => "current",
                Presented::Previous { .. } => "previous",
                Presented::Older => "older",
                Presented::Unknown => "unknown",
            }
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
            tag: s.derive("tag"),
        }
    }

    /// MACs computed on this thread while running `f`.
    fn macs<T>(f: impl FnOnce() -> T) -> (T, u64) {
        let before = MACS.with(std::cell::Cell::get);
        let out = f();
        (out, MACS.with(std::cell::Cell::get) - before)
    }

    /// Parses, authenticates and classifies `token` against `sid`'s `state`.
    fn present(k: &RefreshKeys, sid: SessionId, state: &RefreshState, token: &str) -> Presented {
        RefreshToken::parse(token)
            .and_then(|t| k.authenticate(t))
            .map_or(Presented::Unknown, |t| k.classify(sid, state, &t))
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
        let k = keys();
        let t = k.token(SessionId::new_random(), 42, RefreshSecret::random());
        assert_eq!(RefreshToken::parse(&t.encode()), Some(t.clone()));
        let enc = t.encode();
        assert!(enc.len() <= RefreshToken::MAX_LEN);
        let (head, last) = enc.rsplit_once('.').unwrap();
        // The earlier form: the secret alone, without a tag.
        let untagged = format!("{head}.{}", b64_encode(&t.secret.0));
        for bad in [
            "",
            "a.b.c",
            &enc.replace(".42.", ".-1."),
            &enc.replace(".42.", ".."),
            &enc.replace(".42.", ".+4."),
            &format!("{enc}.x"),
            &format!("{enc}A"),
            &format!("{head}.{}", &last[..last.len() - 1]),
            &untagged,
            &"x".repeat(500),
        ] {
            assert_eq!(RefreshToken::parse(bad), None, "{bad:?}");
        }
        let longest = k.token(SessionId::new_random(), u64::MAX, RefreshSecret::random());
        let hyphenated = longest.encode().replacen(
            &longest.session_id.as_uuid().simple().to_string(),
            &longest.session_id.as_uuid().hyphenated().to_string(),
            1,
        );
        assert_eq!(hyphenated.len(), RefreshToken::MAX_LEN);
        assert_eq!(RefreshToken::parse(&hyphenated), Some(longest));
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
        let tok =
            |generation, secret: &RefreshSecret| k.token(sid, generation, secret.clone()).encode();
        assert_eq!(
            present(&k, sid, &state, &tok(3, &s3)),
            Presented::Current { next: k.next(&s3) }
        );
        assert_eq!(
            present(&k, sid, &state, &tok(2, &s2)),
            Presented::Previous {
                current: s3.clone()
            }
        );
        assert_eq!(present(&k, sid, &state, &tok(1, &s1)), Presented::Older);
        assert_eq!(present(&k, sid, &state, &tok(0, &s0)), Presented::Older);
        // Tagged by this server but not of this session's chain (a bug or a restored store):
        // a wrong generation label, a secret that is not the current or previous one.
        assert_eq!(present(&k, sid, &state, &tok(2, &s3)), Presented::Unknown);
        assert_eq!(
            present(&k, sid, &state, &tok(3, &RefreshSecret::random())),
            Presented::Unknown
        );
        // A future generation, even with a valid tag and the real next secret.
        assert_eq!(
            present(&k, sid, &state, &tok(4, &k.next(&s3))),
            Presented::Unknown
        );
        // A genuine token presented against another session's state.
        let other = SessionId::new_random();
        assert_eq!(present(&k, other, &state, &tok(1, &s1)), Presented::Unknown);
    }

    #[test]
    fn forged_tags_are_refused_before_classification() {
        let k = keys();
        let sid = SessionId::new_random();
        let s0 = RefreshSecret::random();
        let genuine = k.token(sid, 0, s0.clone());
        assert!(k.authenticate(genuine.clone()).is_some());
        // A wrong tag.
        let mut wrong_tag = genuine.clone();
        wrong_tag.tag.0[0] ^= 1;
        // The right tag of another session, moved to this one.
        let mut moved = k.token(SessionId::new_random(), 0, s0.clone());
        moved.session_id = sid;
        // The right tag, moved to another generation (old, or in the future).
        let mut relabeled = k.token(sid, 5, s0.clone());
        relabeled.generation = 0;
        let mut future = genuine.clone();
        future.generation = 7;
        // Another server's key.
        let foreign = keys().token(sid, 0, s0);
        for forged in [wrong_tag, moved, relabeled, future, foreign] {
            assert_eq!(k.authenticate(forged.clone()), None, "{forged:?}");
        }
    }

    #[test]
    fn a_token_200_000_generations_old_is_reuse_in_one_step() {
        let k = keys();
        let sid = SessionId::new_random();
        let s0 = RefreshSecret::random();
        // The session as it stands 200 000 rotations later (its current secret does not
        // matter to an older token, so the chain is not walked here either).
        let state = RefreshState {
            generation: 200_000,
            hash: k.storage_hash(sid, &RefreshSecret::random()),
            issued_at: Utc::now(),
        };
        let old = k.token(sid, 0, s0.clone()).encode();
        let (class, cost) = macs(|| present(&k, sid, &state, &old));
        assert_eq!(class, Presented::Older);
        // The tag, one chain step, one storage hash: the same as for the previous token.
        assert_eq!(cost, 3);
        let s1 = k.next(&s0);
        let young = RefreshState {
            generation: 1,
            hash: k.storage_hash(sid, &s1),
            issued_at: Utc::now(),
        };
        let (class, young_cost) = macs(|| present(&k, sid, &young, &old));
        assert_eq!(class, Presented::Previous { current: s1 });
        assert_eq!(young_cost, cost);
        // A forged token costs the tag check only.
        let flipped = if old.ends_with('A') { 'B' } else { 'A' };
        let forged = format!("{}{flipped}", &old[..old.len() - 1]);
        let (class, forged_cost) = macs(|| present(&k, sid, &state, &forged));
        assert_eq!(class, Presented::Unknown);
        assert!(forged_cost <= 1, "{forged_cost}");
    }

    #[cfg(feature = "testkit")]
    #[test]
    fn the_bench_hook_classifies_as_expected() {
        assert_eq!(bench::ClassifyOld::new(0).classify(), "current");
        assert_eq!(bench::ClassifyOld::new(1).classify(), "previous");
        assert_eq!(bench::ClassifyOld::new(2).classify(), "older");
        assert_eq!(bench::ClassifyOld::new(1000).classify(), "older");
    }
}
