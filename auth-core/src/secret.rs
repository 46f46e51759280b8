//! Secrets and the few cryptographic primitives the core uses on them.
//!
//! Every secret type here has a redacted `Debug` and no `Display`, so a secret cannot end up in
//! a log line by accident. Comparisons of secrets go through [`constant_time_eq`]; what the
//! store keeps of a secret is a [`SecretHash`] (HMAC-SHA-256 under a server key, so a stolen
//! database does not let anyone brute-force a 6-digit code offline).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

type HmacSha256 = Hmac<Sha256>;

/// Implements a redacted `Debug` for a secret newtype.
macro_rules! redacted_debug {
    ($ty:ident) => {
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($ty), "(<redacted>)"))
            }
        }
    };
}

/// A plaintext password as received from a client. Never logged, never stored.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Password(String);
redacted_debug!(Password);

impl Password {
    /// Wraps a plaintext password.
    pub fn new(password: impl Into<String>) -> Self {
        Self(password.into())
    }
    /// The plaintext. Use only to hash or check it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Password {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

/// A one-time code typed by a user (e.g. the 6 digits of an SMS).
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct OneTimeCode(String);
redacted_debug!(OneTimeCode);

impl OneTimeCode {
    /// Wraps a code.
    pub fn new(code: impl Into<String>) -> Self {
        Self(code.into())
    }
    /// The code itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for OneTimeCode {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

/// An opaque bearer token string (access or refresh token) as handed to or received from a client.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct BearerToken(String);
redacted_debug!(BearerToken);

impl BearerToken {
    /// Wraps a token string.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }
    /// The token string.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for BearerToken {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

/// The server's signing secret (HS256 key and root of the keys that hash codes and refresh
/// tokens). At least [`SigningSecret::MIN_LEN`] bytes.
#[derive(Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct SigningSecret(Vec<u8>);
redacted_debug!(SigningSecret);

impl SigningSecret {
    /// The minimum length in bytes (256 bits, as RFC 7518 requires for HS256).
    pub const MIN_LEN: usize = 32;

    /// Wraps raw key bytes; fails when shorter than [`Self::MIN_LEN`].
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, crate::config::ConfigError> {
        let bytes = bytes.into();
        if bytes.len() < Self::MIN_LEN {
            return Err(crate::config::ConfigError::SecretTooShort { len: bytes.len() });
        }
        Ok(Self(bytes))
    }

    /// A fresh random secret of 32 bytes from the operating system's CSPRNG.
    pub fn generate() -> Self {
        Self(random_bytes::<32>().to_vec())
    }

    /// The raw key bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Derives an independent subkey for one purpose (HMAC of the label under this secret).
    pub(crate) fn derive(&self, label: &str) -> MacKey {
        MacKey(mac(&self.0, &[label.as_bytes()]))
    }
}

impl TryFrom<String> for SigningSecret {
    type Error = crate::config::ConfigError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value.into_bytes())
    }
}

/// A 256-bit key for HMAC, derived from the [`SigningSecret`].
#[derive(Clone)]
pub(crate) struct MacKey([u8; 32]);
redacted_debug!(MacKey);

impl MacKey {
    /// HMAC-SHA-256 over the parts, each length-prefixed so parts cannot run into each other.
    pub(crate) fn hash(&self, parts: &[&[u8]]) -> SecretHash {
        SecretHash(mac(&self.0, parts))
    }
}

fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail; fall back to a keyed hash of
    // nothing rather than panic should that ever change.
    let mut m = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0u8; 32],
    };
    for part in parts {
        m.update(&(part.len() as u64).to_be_bytes());
        m.update(part);
    }
    m.finalize().into_bytes().into()
}

/// What the store keeps of a code or refresh token: a 32-byte keyed hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    /// Wraps 32 raw bytes (e.g. read back from a store).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
    /// The raw bytes, for a store to persist.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
    /// Parses the lowercase hex form written by [`SecretHash::to_hex`].
    pub fn from_hex(hex: &str) -> Option<Self> {
        let raw = hex.as_bytes();
        if raw.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(raw.chunks_exact(2)) {
            let s = std::str::from_utf8(pair).ok()?;
            *byte = u8::from_str_radix(s, 16).ok()?;
        }
        Some(Self(out))
    }
    /// Lowercase hex, for stores that keep text.
    pub fn to_hex(&self) -> String {
        use fmt::Write as _;
        self.0.iter().fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }
    /// Constant-time equality.
    pub(crate) fn ct_eq(&self, other: &SecretHash) -> bool {
        constant_time_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A hash is not a secret by itself, but there is no reason to print it either.
        f.write_str("SecretHash(..)")
    }
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// `N` bytes from a CSPRNG (the thread-local ChaCha generator, seeded from the OS).
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::rng().fill_bytes(&mut out);
    out
}

/// A uniformly random numeric code of `digits` digits (leading zeros kept), from a CSPRNG.
pub(crate) fn random_numeric_code(digits: u8) -> String {
    use rand::Rng as _;
    let mut rng = rand::rng();
    (0..digits)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// Base64url without padding.
pub(crate) fn b64_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding into exactly `N` bytes.
pub(crate) fn b64_decode_exact<const N: usize>(text: &str) -> Option<[u8; N]> {
    let v = URL_SAFE_NO_PAD.decode(text).ok()?;
    v.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_secret() {
        let p = Password::new("correct horse battery staple");
        assert_eq!(format!("{p:?}"), "Password(<redacted>)");
        let c = OneTimeCode::new("123456");
        assert!(!format!("{c:?}").contains("123456"));
        let t = BearerToken::new("abc.def.ghi");
        assert!(!format!("{t:?}").contains("abc"));
        let s = SigningSecret::new(vec![b'k'; 40]).map(|s| format!("{s:?}"));
        assert!(matches!(s, Ok(ref d) if !d.contains("kkkk")));
    }

    #[test]
    fn short_secrets_are_rejected() {
        assert!(SigningSecret::new(vec![1u8; 31]).is_err());
        assert!(SigningSecret::new(vec![1u8; 32]).is_ok());
    }

    #[test]
    fn hash_hex_round_trips() {
        let key = SigningSecret::generate().derive("test");
        let h = key.hash(&[b"abc"]);
        assert_eq!(SecretHash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(SecretHash::from_hex("zz"), None);
        assert_eq!(SecretHash::from_hex(&"g".repeat(64)), None);
    }

    #[test]
    fn parts_are_length_prefixed() {
        let key = SigningSecret::generate().derive("test");
        assert_ne!(key.hash(&[b"ab", b"c"]), key.hash(&[b"a", b"bc"]));
    }

    /// Pearson's chi-square statistic of `counts` against equal expected counts.
    fn chi_square(counts: &[u64]) -> f64 {
        let total: u64 = counts.iter().sum();
        let expected = total as f64 / counts.len() as f64;
        counts
            .iter()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum()
    }

    #[test]
    fn numeric_codes_are_uniform_over_the_digit_space() {
        // Upper 1e-6 quantiles of the chi-square distribution (computed with mpmath): a
        // uniform generator exceeds one with probability 1e-6, so the 12 statistics below
        // raise a false alarm in about one run out of 80 000. A biased generator does not
        // stay under them: `byte % 10` (digits 0-5 each 0.2% likelier) gives about 230 on the
        // pooled digits, a code without leading zeros 11 000 on the first position.
        const CRITICAL_9_DF: f64 = 44.81;
        const CRITICAL_99_DF: f64 = 180.8;
        const CODES: usize = 100_000;
        const LEN: usize = 6;
        let mut per_position = [[0u64; 10]; LEN];
        let mut pairs = [[0u64; 100]; LEN - 1];
        for _ in 0..CODES {
            let code = random_numeric_code(LEN as u8);
            let digits: Vec<usize> = code.bytes().map(|b| usize::from(b - b'0')).collect();
            assert_eq!(digits.len(), LEN);
            for (pos, &d) in digits.iter().enumerate() {
                per_position[pos][d] += 1;
            }
            // Adjacent digits jointly uniform: no digit depends on the one before it.
            for (pos, pair) in digits.windows(2).enumerate() {
                pairs[pos][pair[0] * 10 + pair[1]] += 1;
            }
        }
        for (pos, counts) in per_position.iter().enumerate() {
            let x2 = chi_square(counts);
            assert!(
                x2 < CRITICAL_9_DF,
                "position {pos}: chi2 {x2:.1}, {counts:?}"
            );
        }
        let pooled: Vec<u64> = (0..10)
            .map(|d| per_position.iter().map(|c| c[d]).sum())
            .collect();
        let x2 = chi_square(&pooled);
        assert!(
            x2 < CRITICAL_9_DF,
            "all positions: chi2 {x2:.1}, {pooled:?}"
        );
        for (pos, counts) in pairs.iter().enumerate() {
            let x2 = chi_square(counts);
            assert!(
                x2 < CRITICAL_99_DF,
                "positions {pos}-{}: chi2 {x2:.1}",
                pos + 1
            );
        }
    }

    #[test]
    fn numeric_codes_have_the_requested_length() {
        for _ in 0..100 {
            let c = random_numeric_code(6);
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
