//! Target `http_routes`: every request body of the contract through the core's HTTP entry
//! point [`Auth::handle`](auth_core::Auth::handle), up to four requests per case on a fresh
//! service where Ann is signed in, so a case can log in and then verify its code, or change
//! its phone and confirm it.
//!
//! Layout: `config` (1 byte, bit flags: 0 opaque access tokens, 1 no email activation,
//! 2 declared profile fields, 3 strict phone validation, 4 concealed registrations, 5 HTTP
//! Basic, 6 a trusted proxy at 10.0.0.0/8), then up to four requests, each `route`,
//! `content_type`, `auth`, `peer`, `agent`, `param` (1 byte each, see [`Request`]) and the
//! body as a chunk. In a body (and a path parameter) these placeholders are replaced by the
//! case's current values: `$AT` access token, `$RT` refresh token, `$CID` latest challenge
//! id, `$CODE` latest SMS code, `$MAIL` latest mailed token, `$UID` Ann's user id, `$SID`
//! her session id, `$PW` her password.
//!
//! Properties: never a 5xx, every answer in the contract's shape
//! ([`check_response`]).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use arbitrary::{Arbitrary, Unstructured};
use auth_core::config::AccessMode;
use auth_core::http::client_ip::ClientIpPolicy;
use auth_core::http::{HttpRequest, ROUTES};
use auth_core::profile::{FieldKind, ProfileField};
use auth_core::testkit::TestKit;

use crate::common::{RawHeaders, Reader, Writer, ann, block_on, check_response, substitute};

/// Requests per case at most.
pub const MAX_REQUESTS: usize = 4;

/// One request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Index into [`ROUTES`] (modulo its length).
    pub route: u8,
    /// `% 8`: none, `application/json`, with `; charset=utf-8`, upper case, `text/plain`,
    /// `application/json-patch+json`, `application/jsonx`, padded with spaces.
    pub content_type: u8,
    /// `% 8`: no token header, `Bearer $AT`, `Bearer $RT`, `bearer  $AT `, Basic with
    /// Ann's credentials, `Bearer garbage`, `Bearer`, `$AT` without a scheme.
    pub auth: u8,
    /// `% 4`: no peer, 127.0.0.1, ::1, 10.0.0.1 (with `X-Forwarded-For: 203.0.113.9`).
    pub peer: u8,
    /// `% 3`: no user agent, a short one, a 300-byte one.
    pub agent: u8,
    /// `% 6`: no path parameter, `$SID`, `$UID`, another UUID, `not-a-uuid`, an empty one.
    pub param: u8,
    /// The body, before placeholders are replaced.
    pub body: Vec<u8>,
}

/// One input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCase {
    /// Configuration flags (see the module docs).
    pub config: u8,
    /// The requests, in order.
    pub requests: Vec<Request>,
}

impl<'a> Arbitrary<'a> for HttpCase {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut r = Reader::new(u);
        let config = r.byte();
        let mut requests = Vec::new();
        while !r.is_empty() && requests.len() < MAX_REQUESTS {
            requests.push(Request {
                route: r.byte(),
                content_type: r.byte(),
                auth: r.byte(),
                peer: r.byte(),
                agent: r.byte(),
                param: r.byte(),
                body: r.chunk(),
            });
        }
        Ok(Self { config, requests })
    }
}

impl HttpCase {
    /// The bytes that decode to this case.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.byte(self.config);
        for q in &self.requests {
            w.byte(q.route)
                .byte(q.content_type)
                .byte(q.auth)
                .byte(q.peer)
                .byte(q.agent)
                .byte(q.param)
                .chunk(&q.body);
        }
        w.finish()
    }
}

/// The configuration a case's flags select (the default when they make an invalid one).
fn config_of(flags: u8) -> auth_core::AuthConfig {
    let mut c = TestKit::config();
    if flags & 1 != 0 {
        c.access.mode = AccessMode::Opaque;
    }
    if flags & 2 != 0 {
        c.accounts.require_email_activation = false;
    }
    if flags & 4 != 0 {
        let field = |kind, editable, exposed| ProfileField {
            kind,
            editable,
            exposed,
        };
        c.accounts.profile_fields = BTreeMap::from([
            (
                "display_name".to_owned(),
                field(FieldKind::String { max_len: 32 }, true, true),
            ),
            ("age".to_owned(), field(FieldKind::Integer, true, false)),
            (
                "newsletter".to_owned(),
                field(FieldKind::Boolean, true, false),
            ),
            ("badge".to_owned(), field(FieldKind::Any, false, true)),
        ]);
    }
    if flags & 8 != 0 {
        c.sms.strict_phone_validation = true;
    }
    if flags & 16 != 0 {
        c.accounts.conceal_existing = true;
    }
    if flags & 32 != 0 {
        c.transport.basic_auth = true;
    }
    if flags & 64 != 0 {
        c.client_ip = ClientIpPolicy::trusting(["10.0.0.0/8".parse().expect("cidr")]);
    }
    if c.validate().is_err() {
        return TestKit::config();
    }
    c
}

/// The values placeholders stand for, updated as the case goes.
struct State {
    access: String,
    refresh: String,
    challenge: String,
    user: String,
    session: String,
}

const CONTENT_TYPES: [Option<&str>; 8] = [
    None,
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("APPLICATION/JSON"),
    Some("text/plain"),
    Some("application/json-patch+json"),
    Some("application/jsonx"),
    Some(" application/json "),
];

/// Runs one case.
pub fn run(case: &HttpCase) {
    let kit = TestKit::with_config(config_of(case.config));
    let (user, pair) = ann::sign_in(&kit);
    let mut state = State {
        access: pair.access_token.expose().to_owned(),
        refresh: pair.refresh_token.expose().to_owned(),
        challenge: "00000000-0000-4000-8000-000000000000".to_owned(),
        user: user.to_string(),
        session: pair.session_id.to_string(),
    };
    let long_agent = "a".repeat(300);
    for (i, q) in case.requests.iter().enumerate() {
        let code = kit
            .sms
            .sent()
            .iter()
            .rev()
            .find_map(|m| m.code.as_ref().map(|c| c.expose().to_owned()))
            .unwrap_or_default();
        let mail = kit
            .mail
            .sent()
            .iter()
            .rev()
            .find_map(|m| m.token.as_ref().map(|t| t.expose().to_owned()))
            .unwrap_or_default();
        let table = [
            ("$AT", state.access.as_str()),
            ("$RT", state.refresh.as_str()),
            ("$CID", state.challenge.as_str()),
            ("$CODE", code.as_str()),
            ("$MAIL", mail.as_str()),
            ("$UID", state.user.as_str()),
            ("$SID", state.session.as_str()),
            ("$PW", ann::PASSWORD),
        ];
        let body = substitute(&q.body, &table);
        let (_, _, route) = ROUTES[usize::from(q.route) % ROUTES.len()];
        let basic = {
            use base64::Engine as _;
            let creds = format!("{}:{}", ann::EMAIL, ann::PASSWORD);
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(creds)
            )
        };
        let token_header = match q.auth % 8 {
            0 => None,
            1 => Some(format!("Bearer {}", state.access)),
            2 => Some(format!("Bearer {}", state.refresh)),
            3 => Some(format!("bearer  {} ", state.access)),
            4 => Some(basic),
            5 => Some("Bearer garbage".to_owned()),
            6 => Some("Bearer".to_owned()),
            _ => Some(state.access.clone()),
        };
        let mut headers = RawHeaders::default();
        if let Some(value) = token_header {
            headers
                .0
                .push(("authorization".to_owned(), value.into_bytes()));
        }
        let peer = match q.peer % 4 {
            0 => None,
            1 => Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            2 => Some(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            _ => {
                headers
                    .0
                    .push(("x-forwarded-for".to_owned(), b"203.0.113.9".to_vec()));
                Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)))
            }
        };
        let param = match q.param % 6 {
            0 => None,
            1 => Some(state.session.clone()),
            2 => Some(state.user.clone()),
            3 => Some("6f1c0b6e-54a5-4c55-9a43-1a1b8f0e2c11".to_owned()),
            4 => Some("not-a-uuid".to_owned()),
            _ => Some(String::new()),
        };
        let req = HttpRequest {
            peer,
            headers: &headers,
            path_param: param.as_deref(),
            content_type: CONTENT_TYPES[usize::from(q.content_type % 8)],
            user_agent: match q.agent % 3 {
                0 => None,
                1 => Some("fuzz/1.0"),
                _ => Some(long_agent.as_str()),
            },
            body: &body,
        };
        let res = block_on(kit.auth.handle(route, &req));
        check_response(&(i, route, q, String::from_utf8_lossy(&body)), &res);
        // Carry what the answer handed out to the next request.
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&res.body) {
            if let Some(cid) = v.get("challenge_id").and_then(|c| c.as_str()) {
                state.challenge = cid.to_owned();
            }
            if res.status == 200
                && let (Some(at), Some(rt)) = (
                    v.get("access_token").and_then(|t| t.as_str()),
                    v.get("refresh_token").and_then(|t| t.as_str()),
                )
            {
                state.access = at.to_owned();
                state.refresh = rt.to_owned();
                if let Some(sid) = v.get("session_id").and_then(|s| s.as_str()) {
                    state.session = sid.to_owned();
                }
            }
        }
    }
}

/// The `route` byte of `"METHOD /path"` (for the seeds).
///
/// # Panics
/// When the contract has no such route.
pub fn route_index(route: &str) -> u8 {
    let index = ROUTES
        .iter()
        .position(|(method, path, _)| format!("{method} {path}") == route)
        .unwrap_or_else(|| panic!("no route {route}"));
    u8::try_from(index).expect("fewer than 256 routes")
}
