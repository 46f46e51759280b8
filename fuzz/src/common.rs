//! What the harnesses share: a runtime, the byte layout helpers ([`Reader`], [`Writer`]),
//! token mutation, placeholder substitution and the contract's response checks.

use std::future::Future;

use arbitrary::{Arbitrary, Unstructured};
use auth_core::http::HttpResponse;

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
}

/// Runs a future to completion on this thread's runtime (blocking work, argon2 and SQLite,
/// goes to its blocking pool).
pub fn block_on<F: Future>(future: F) -> F::Output {
    RUNTIME.with(|rt| rt.block_on(future))
}

/// Reads an input's fields in the layout every harness documents: single bytes (0 once the
/// data is exhausted), chunks (a 2-byte little-endian length, clamped to what is left, then
/// that many bytes) and the rest.
pub struct Reader<'a, 'b> {
    u: &'b mut Unstructured<'a>,
}

impl<'a, 'b> Reader<'a, 'b> {
    /// A reader over `u`.
    pub fn new(u: &'b mut Unstructured<'a>) -> Self {
        Self { u }
    }

    /// One byte, 0 past the end.
    pub fn byte(&mut self) -> u8 {
        u8::arbitrary(self.u).unwrap_or(0)
    }

    /// Two bytes, little-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from(self.byte()) | (u16::from(self.byte()) << 8)
    }

    /// A length-prefixed chunk.
    pub fn chunk(&mut self) -> Vec<u8> {
        let n = usize::from(self.u16()).min(self.u.len());
        self.u.bytes(n).map(<[u8]>::to_vec).unwrap_or_default()
    }

    /// Whether anything is left.
    pub fn is_empty(&self) -> bool {
        self.u.is_empty()
    }

    /// Everything that is left.
    pub fn rest(&mut self) -> Vec<u8> {
        let n = self.u.len();
        self.u.bytes(n).map(<[u8]>::to_vec).unwrap_or_default()
    }
}

/// Writes the layout [`Reader`] reads (for the seed corpus).
#[derive(Default)]
pub struct Writer(Vec<u8>);

impl Writer {
    /// An empty input.
    pub fn new() -> Self {
        Self::default()
    }

    /// One byte.
    pub fn byte(&mut self, b: u8) -> &mut Self {
        self.0.push(b);
        self
    }

    /// Two bytes, little-endian.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// A length-prefixed chunk (at most 65535 bytes are written).
    pub fn chunk(&mut self, bytes: &[u8]) -> &mut Self {
        let n = bytes.len().min(usize::from(u16::MAX));
        self.u16(n as u16);
        self.0.extend_from_slice(&bytes[..n]);
        self
    }

    /// Raw bytes (the rest).
    pub fn rest(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.extend_from_slice(bytes);
        self
    }

    /// The bytes written.
    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }
}

/// Mutations of a genuine token, so the fuzzer gets past the first checks: `op % 6` picks
/// 0 the payload alone, 1 the token with the payload inserted at `at`, 2 overwritten from
/// `at`, 3 cut at `at` with the payload appended, 4 the dot-separated part `at` replaced by
/// the payload, 5 the part `at` base64url-decoded, the payload inserted into it at its
/// start, and encoded again (a JWT's header or claims edited as JSON). `op / 6` picks the
/// genuine token.
pub fn mutate_token(op: u8, at: u16, genuine: &[&str], payload: &[u8]) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let Some(g) = genuine.get(usize::from(op / 6) % genuine.len().max(1)) else {
        return String::from_utf8_lossy(payload).into_owned();
    };
    let g = g.as_bytes();
    let pos = usize::from(at) % (g.len() + 1);
    let bytes: Vec<u8> = match op % 6 {
        0 => payload.to_vec(),
        1 => [&g[..pos], payload, &g[pos..]].concat(),
        2 => {
            let mut v = g.to_vec();
            for (i, b) in payload.iter().enumerate() {
                match v.get_mut(pos + i) {
                    Some(slot) => *slot = *b,
                    None => v.push(*b),
                }
            }
            v
        }
        3 => [&g[..pos], payload].concat(),
        4 | 5 => {
            let mut parts: Vec<Vec<u8>> = g.split(|b| *b == b'.').map(<[u8]>::to_vec).collect();
            let index = usize::from(at) % parts.len();
            if op % 6 == 4 {
                parts[index] = payload.to_vec();
            } else {
                let decoded = URL_SAFE_NO_PAD.decode(&parts[index]).unwrap_or_default();
                let edited = [payload, &decoded[..]].concat();
                parts[index] = URL_SAFE_NO_PAD.encode(edited).into_bytes();
            }
            parts.join(&b'.')
        }
        _ => unreachable!(),
    };
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Replaces each `(placeholder, value)` in `input`, left to right, never inside a value.
pub fn substitute(input: &[u8], table: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    'outer: while i < input.len() {
        for (name, value) in table {
            if input[i..].starts_with(name.as_bytes()) {
                out.extend_from_slice(value.as_bytes());
                i += name.len();
                continue 'outer;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

/// Every error code of the contract (`API.md`) with its status, plus `mail_unavailable` (the
/// mail analogue of `sms_unavailable`, from the email flows).
pub const CONTRACT_ERRORS: &[(u16, &str)] = &[
    (400, "invalid_request"),
    (413, "payload_too_large"),
    (401, "missing_token"),
    (401, "invalid_credentials"),
    (401, "invalid_code"),
    (401, "invalid_token"),
    (401, "token_expired"),
    (401, "token_revoked"),
    (401, "refresh_token_reused"),
    (403, "forbidden"),
    (403, "account_disabled"),
    (403, "activation_required"),
    (404, "not_found"),
    (409, "already_registered"),
    (410, "code_expired"),
    (410, "challenge_consumed"),
    (422, "weak_password"),
    (429, "rate_limited"),
    (429, "too_many_attempts"),
    (503, "store_unavailable"),
    (503, "sms_unavailable"),
    (503, "mail_unavailable"),
];

/// Asserts that a response follows the contract's shape: never a 5xx (the memory store and
/// the fake senders never fail), `Cache-Control: no-store`, an error body
/// `{"error","message"}` whose code is the contract's for its status, a `Retry-After` of
/// at least one second where there is one, an empty 204 and JSON in every other 2xx.
pub fn check_response(what: &dyn std::fmt::Debug, res: &HttpResponse) {
    assert!(
        (200..500).contains(&res.status),
        "{what:?}: status {} body {}",
        res.status,
        res.body
    );
    assert!(
        res.headers
            .iter()
            .any(|(n, v)| *n == "cache-control" && v == "no-store"),
        "{what:?}: no cache-control: no-store in {:?}",
        res.headers
    );
    for (name, value) in &res.headers {
        if *name == "retry-after" {
            let secs: u64 = value
                .parse()
                .unwrap_or_else(|_| panic!("{what:?}: retry-after {value:?}"));
            assert!(
                secs >= 1 && res.status == 429,
                "{what:?}: retry-after {secs} on {}",
                res.status
            );
        }
    }
    if res.status >= 400 {
        let body: serde_json::Value = serde_json::from_str(&res.body)
            .unwrap_or_else(|e| panic!("{what:?}: error body is not JSON ({e}): {}", res.body));
        let obj = body
            .as_object()
            .unwrap_or_else(|| panic!("{what:?}: error body is not an object: {}", res.body));
        let code = obj
            .get("error")
            .and_then(|c| c.as_str())
            .unwrap_or_default();
        assert!(
            obj.len() == 2 && obj.get("message").is_some_and(|m| m.is_string()),
            "{what:?}: error body shape: {}",
            res.body
        );
        assert!(
            CONTRACT_ERRORS.contains(&(res.status, code)),
            "{what:?}: {} with code {code:?} is not in the contract",
            res.status
        );
    } else if res.status == 204 {
        assert!(res.body.is_empty(), "{what:?}: 204 with a body");
    } else {
        assert!(
            serde_json::from_str::<serde_json::Value>(&res.body).is_ok(),
            "{what:?}: {} body is not JSON: {}",
            res.status,
            res.body
        );
    }
}

/// The headers of a request as an adapter lends them: values as raw bytes, converted
/// lossily (a garbled header still counts as sent).
#[derive(Debug, Default, Clone)]
pub struct RawHeaders(pub Vec<(String, Vec<u8>)>);

impl auth_core::http::RequestHeaders for RawHeaders {
    fn line(&self, name: &str, index: usize) -> Option<std::borrow::Cow<'_, str>> {
        self.0
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .nth(index)
            .map(|(_, v)| String::from_utf8_lossy(v))
    }
}

/// The account every harness that needs one signs in with.
pub mod ann {
    use std::sync::OnceLock;

    use auth_core::api::{ClientInfo, RegisterRequest, TokenPair};
    use auth_core::password::PasswordHash;
    use auth_core::store::UserStore as _;
    use auth_core::testkit::TestKit;
    use auth_core::{Clock as _, Email, Password, Phone, User, UserId, Username};

    use super::block_on;

    /// Her phone (valid for its country, so strict validation accepts it).
    pub const PHONE: &str = "+447911123456";
    /// Her email.
    pub const EMAIL: &str = "ann@example.com";
    /// Her username.
    pub const USERNAME: &str = "ann";
    /// Her password.
    pub const PASSWORD: &str = "velvet quarry lantern mosaic";

    /// The argon2 hash of [`PASSWORD`] under the test kit's parameters, made once per
    /// process by a real registration.
    pub fn password_hash() -> PasswordHash {
        static HASH: OnceLock<PasswordHash> = OnceLock::new();
        HASH.get_or_init(|| {
            let mut config = TestKit::config();
            config.accounts.require_email_activation = false;
            let kit = TestKit::with_config(config);
            block_on(async {
                let request = RegisterRequest {
                    email: Some(EMAIL.to_owned()),
                    password: Some(Password::new(PASSWORD)),
                    ..Default::default()
                };
                let account = request
                    .parse(kit.auth.config())
                    .expect("registration parses");
                kit.auth
                    .register(account, &ClientInfo::default())
                    .await
                    .expect("registration");
                let email = Email::parse(EMAIL).expect("email");
                kit.store
                    .user_by_email(&email)
                    .await
                    .expect("lookup")
                    .and_then(|u| u.password_hash)
                    .expect("a password hash")
            })
        })
        .clone()
    }

    /// Adds her (phone, email, username and password; active, no roles) to a kit's store
    /// without hashing anything, and signs her in by SMS: her user id and token pair.
    pub fn sign_in(kit: &TestKit) -> (UserId, TokenPair) {
        let mut user = User::new(UserId::new_random(), kit.clock.now());
        user.phone = Phone::parse(PHONE, false).ok();
        user.email = Email::parse(EMAIL).ok();
        user.username = Username::parse(USERNAME).ok();
        user.password_hash = Some(password_hash());
        let id = user.id;
        block_on(async {
            kit.store.create_user(&user).await.expect("create ann");
            let pair = kit.sign_in_by_sms(PHONE).await.expect("ann signs in");
            (id, pair)
        })
    }
}
