//! Target `guard_header`: the guards' credential parsing, [`Auth::guard`](auth_core::Auth::guard)
//! with arbitrary header lines under several transport settings (token header and scheme,
//! HTTP Basic on and off, access modes, a trusted proxy).
//!
//! Layout: `config` (1 byte, `% 6`, see [`CONFIGS`]), `requirement` (1 byte, `% 4`: user,
//! optional user, role `admin`, role ``), `peer` (1 byte, `% 3`: none, 127.0.0.1,
//! 10.0.0.1), then up to six header lines, each a `name` byte (`% 5`: the configured token
//! header, the same upper-cased, `authorization`, `x-forwarded-for`, `x-real-ip`) and the
//! value as a chunk, where `$AT` (Ann's access token), `$RT` (her refresh token), `$B64`
//! (base64 of her right `email:password`) and `$BAD` (base64 of a wrong one) are replaced.
//! Values go in as bytes and are read lossily, as the adapters do.
//!
//! Properties: `Ok(None)` only for an optional user without a token header; a principal is
//! Ann (no token or credential names anyone else), never for role `admin` or `` (she has no
//! role), and without a session only when Basic is on; every refusal is a 401, 403 or 429.

use std::net::{IpAddr, Ipv4Addr};

use arbitrary::{Arbitrary, Unstructured};
use auth_core::config::AccessMode;
use auth_core::http::Requirement;
use auth_core::http::client_ip::ClientIpPolicy;
use auth_core::testkit::TestKit;

use crate::common::{RawHeaders, Reader, Writer, ann, block_on, substitute};

/// Header lines per case at most.
pub const MAX_LINES: usize = 6;

/// One input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardCase {
    /// Index into [`CONFIGS`] (modulo).
    pub config: u8,
    /// `% 4`: user, optional user, role `admin`, role ``.
    pub requirement: u8,
    /// `% 3`: none, 127.0.0.1, 10.0.0.1.
    pub peer: u8,
    /// `(name selector, value)` lines.
    pub lines: Vec<(u8, Vec<u8>)>,
}

impl<'a> Arbitrary<'a> for GuardCase {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut r = Reader::new(u);
        let (config, requirement, peer) = (r.byte(), r.byte(), r.byte());
        let mut lines = Vec::new();
        while !r.is_empty() && lines.len() < MAX_LINES {
            lines.push((r.byte(), r.chunk()));
        }
        Ok(Self {
            config,
            requirement,
            peer,
            lines,
        })
    }
}

impl GuardCase {
    /// The bytes that decode to this case.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.byte(self.config).byte(self.requirement).byte(self.peer);
        for (name, value) in &self.lines {
            w.byte(*name).chunk(value);
        }
        w.finish()
    }
}

/// `(token header, scheme, Basic on, access mode)` of each configuration.
pub const CONFIGS: [(&str, Option<&str>, bool, AccessMode); 6] = [
    (
        "authorization",
        Some("Bearer"),
        false,
        AccessMode::SessionChecked,
    ),
    (
        "authorization",
        Some("Bearer"),
        true,
        AccessMode::SessionChecked,
    ),
    (
        "authentication-token",
        None,
        false,
        AccessMode::SessionChecked,
    ),
    (
        "x-api-token",
        Some("Token"),
        true,
        AccessMode::SessionChecked,
    ),
    ("authorization", Some("Bearer"), true, AccessMode::Opaque),
    (
        "authorization",
        Some("Bearer"),
        false,
        AccessMode::Stateless,
    ),
];

/// Runs one case.
pub fn run(case: &GuardCase) {
    use base64::Engine as _;
    let (header, scheme, basic, mode) = CONFIGS[usize::from(case.config) % CONFIGS.len()];
    let mut config = TestKit::config();
    config.transport.header = header.to_owned();
    config.transport.scheme = scheme.map(str::to_owned);
    config.transport.basic_auth = basic;
    config.access.mode = mode;
    config.client_ip = ClientIpPolicy::trusting(["10.0.0.0/8".parse().expect("cidr")]);
    let kit = TestKit::with_config(config);
    let (user, pair) = ann::sign_in(&kit);
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let good = b64(&format!("{}:{}", ann::EMAIL, ann::PASSWORD));
    let bad = b64(&format!("{}:wrong horse battery staple", ann::EMAIL));
    let table = [
        ("$AT", pair.access_token.expose()),
        ("$RT", pair.refresh_token.expose()),
        ("$B64", good.as_str()),
        ("$BAD", bad.as_str()),
    ];
    let upper = header.to_ascii_uppercase();
    let names = [
        header,
        upper.as_str(),
        "authorization",
        "x-forwarded-for",
        "x-real-ip",
    ];
    let headers = RawHeaders(
        case.lines
            .iter()
            .map(|(n, v)| {
                (
                    names[usize::from(*n) % names.len()].to_owned(),
                    substitute(v, &table),
                )
            })
            .collect(),
    );
    let requirement = match case.requirement % 4 {
        0 => Requirement::User,
        1 => Requirement::OptionalUser,
        2 => Requirement::Role("admin"),
        _ => Requirement::Role(""),
    };
    let peer = match case.peer % 3 {
        0 => None,
        1 => Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        _ => Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))),
    };
    let sent = headers
        .0
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case(header));
    let result = block_on(kit.auth.guard(peer, &headers, requirement));
    match result {
        Ok(None) => assert!(
            requirement == Requirement::OptionalUser && !sent,
            "{case:?}: no principal for {requirement:?} with {headers:?}"
        ),
        Ok(Some(p)) => {
            assert_eq!(p.user_id, user, "{case:?}: {headers:?} -> {p:?}");
            assert!(
                matches!(requirement, Requirement::User | Requirement::OptionalUser),
                "{case:?}: {requirement:?} passed with {headers:?}"
            );
            assert!(
                p.session_id.is_some() || basic,
                "{case:?}: sessionless without Basic"
            );
        }
        Err(e) => assert!(
            matches!(e.status(), 401 | 403 | 429),
            "{case:?}: {headers:?} refused with {e:?}"
        ),
    }
}
