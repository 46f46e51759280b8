//! Target `refresh_token`: refresh-token parsing and classification, through
//! [`Auth::refresh`](auth_core::Auth::refresh) and `POST /refresh` (body or header), against
//! a real session rotated twice: `t0` (older), `t1` (previous) and `t2` (current) are all
//! genuine, so mutations of them reach the tag check, the store read and the
//! classification.
//!
//! Layout: `via` (1 byte: `% 3` the method, the JSON body, the `Authorization` header),
//! `advance` (1 byte: `% 4` no time passes, past the grace window, past the idle timeout,
//! past the absolute lifetime), `op` (1 byte) and `at` (2 bytes) for [`mutate_token`] over
//! `[t0, t1, t2]`, then the payload (the rest).
//!
//! Properties: the parser's canonical form parses back to itself and is no longer than the
//! limit; only `t2`, or `t1` inside the grace window, is accepted (recognized by parsing to
//! the same token), and then for the session's user, with an access token that
//! authenticates; `t2` (and `t1` in the window) is always accepted; a refusal is a 401,
//! and after `refresh_token_reused` the session is dead (`t2` no longer works); the HTTP
//! answers follow the contract.

use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use auth_core::AuthError;
use auth_core::api::ClientInfo;
use auth_core::fuzzing::{REFRESH_TOKEN_MAX_LEN, RefreshParts, parse_refresh_token};
use auth_core::http::{HttpRequest, Route};
use auth_core::testkit::TestKit;

use crate::common::{RawHeaders, Reader, Writer, block_on, check_response, mutate_token};

/// One input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshCase {
    /// `% 3`: method, JSON body, header.
    pub via: u8,
    /// `% 4`: no time, past the grace window, past the idle timeout, past the lifetime.
    pub advance: u8,
    /// How the token is made ([`mutate_token`]).
    pub op: u8,
    /// Where.
    pub at: u16,
    /// What.
    pub payload: Vec<u8>,
}

impl<'a> Arbitrary<'a> for RefreshCase {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut r = Reader::new(u);
        Ok(Self {
            via: r.byte(),
            advance: r.byte(),
            op: r.byte(),
            at: r.u16(),
            payload: r.rest(),
        })
    }
}

impl RefreshCase {
    /// The bytes that decode to this case.
    pub fn encode(&self) -> Vec<u8> {
        Writer::new()
            .byte(self.via)
            .byte(self.advance)
            .byte(self.op)
            .u16(self.at)
            .rest(&self.payload)
            .finish()
    }
}

/// Parses and checks the parser's own properties.
fn parse_checked(token: &str) -> Option<RefreshParts> {
    let parsed = parse_refresh_token(token)?;
    assert!(
        token.len() <= REFRESH_TOKEN_MAX_LEN,
        "parsed an over-long token {token:?}"
    );
    assert!(
        parsed.canonical.len() <= REFRESH_TOKEN_MAX_LEN,
        "{parsed:?}"
    );
    assert_eq!(
        parse_refresh_token(&parsed.canonical).as_ref(),
        Some(&parsed),
        "the canonical form of {token:?} parses differently"
    );
    Some(parsed)
}

/// Runs one case.
pub fn run(case: &RefreshCase) {
    let kit = TestKit::new();
    let client = ClientInfo::default();
    let (user, t0, t1, t2) = block_on(async {
        let p0 = kit.sign_in_by_sms("+15551234567").await.expect("sign in");
        let t0 = p0.refresh_token.expose().to_owned();
        let p1 = kit
            .auth
            .refresh(&t0, &client)
            .await
            .expect("first rotation");
        let t1 = p1.refresh_token.expose().to_owned();
        let p2 = kit
            .auth
            .refresh(&t1, &client)
            .await
            .expect("second rotation");
        (p0.user_id, t0, t1, p2.refresh_token.expose().to_owned())
    });
    let current = parse_checked(&t2).expect("a genuine token parses");
    let previous = parse_checked(&t1).expect("a genuine token parses");
    let config = kit.auth.config();
    let advance = match case.advance % 4 {
        0 => 0,
        1 => config.session.refresh_grace_secs + 1,
        2 => config.session.idle_timeout_secs + 1,
        _ => config.session.absolute_lifetime_secs + 1,
    };
    kit.clock.advance(Duration::from_secs(advance));

    let token = mutate_token(case.op, case.at, &[&t0, &t1, &t2], &case.payload);
    // The header path reads the token as the guards do, trimmed (`bearer  <token> ` works).
    let presented = if case.via % 3 == 2 {
        token.trim()
    } else {
        token.as_str()
    };
    let parsed = parse_checked(presented);
    let is_current = parsed.as_ref() == Some(&current);
    let is_previous = parsed.as_ref() == Some(&previous);
    let session_alive = case.advance % 4 < 2;
    let in_grace = case.advance.is_multiple_of(4);
    let may_pass = session_alive && (is_current || (is_previous && in_grace));

    let result = block_on(async {
        match case.via % 3 {
            0 => kit.auth.refresh(&token, &client).await.map(|pair| {
                (
                    pair.user_id,
                    pair.session_id,
                    pair.access_token.expose().to_owned(),
                )
            }),
            via => {
                let body = serde_json::json!({ "refresh_token": token }).to_string();
                let header = format!("Bearer {token}");
                let headers = RawHeaders(vec![("authorization".to_owned(), header.into_bytes())]);
                let req = if via == 1 {
                    HttpRequest {
                        content_type: Some("application/json"),
                        body: body.as_bytes(),
                        ..HttpRequest::default()
                    }
                } else {
                    HttpRequest {
                        headers: &headers,
                        ..HttpRequest::default()
                    }
                };
                let res = kit.auth.handle(Route::Refresh, &req).await;
                check_response(&(case, &token), &res);
                if res.status == 200 {
                    let v: serde_json::Value = serde_json::from_str(&res.body).expect("json");
                    let field = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
                    Ok((
                        field("user_id").parse().expect("user_id"),
                        field("session_id").parse().expect("session_id"),
                        field("access_token"),
                    ))
                } else {
                    let v: serde_json::Value = serde_json::from_str(&res.body).expect("json");
                    Err(error_of(
                        v["error"].as_str().unwrap_or_default(),
                        res.status,
                    ))
                }
            }
        }
    });
    match result {
        Ok((user_id, session_id, access)) => {
            assert!(may_pass, "{case:?}: {token:?} was accepted");
            assert_eq!(
                (user_id, session_id),
                (user, current.session_id),
                "{case:?}"
            );
            let me = block_on(kit.auth.authenticate(&access));
            assert!(me.is_ok(), "{case:?}: the new access token fails: {me:?}");
        }
        Err(e) => {
            assert!(!may_pass, "{case:?}: a genuine token was refused: {e:?}");
            assert_eq!(e.status(), 401, "{case:?}: {token:?} refused with {e:?}");
            if e == AuthError::RefreshTokenReused {
                let after = block_on(kit.auth.refresh(&t2, &client));
                assert!(after.is_err(), "{case:?}: the session survived a reuse");
            }
        }
    }
}

/// The error a contract code stands for (the ones `/refresh` can answer).
fn error_of(code: &str, status: u16) -> AuthError {
    match code {
        "refresh_token_reused" => AuthError::RefreshTokenReused,
        "invalid_token" => AuthError::InvalidToken,
        "token_expired" => AuthError::TokenExpired,
        "token_revoked" => AuthError::TokenRevoked,
        "missing_token" => AuthError::MissingToken,
        other => AuthError::invalid_request(format!("{status} {other}")),
    }
}
