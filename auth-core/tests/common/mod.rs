//! Helpers shared by the flow tests.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::{IpAddr, Ipv4Addr};

use auth_core::api::{ClientInfo, NewAccount, RegisterRequest, TokenPair};
use auth_core::testkit::TestKit;
use auth_core::{AuthConfig, OneTimeCode, Password};

pub const PHONE: &str = "+15551234567";
pub const PASSWORD: &str = "velvet quarry lantern mosaic";

pub fn client() -> ClientInfo {
    ClientInfo::new(
        Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7))),
        Some("test-agent/1.0"),
    )
}

pub fn client_from(last_octet: u8) -> ClientInfo {
    ClientInfo::new(
        Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, last_octet))),
        None,
    )
}

pub fn kit() -> TestKit {
    TestKit::new()
}

pub fn kit_with(f: impl FnOnce(&mut AuthConfig)) -> TestKit {
    let mut cfg = TestKit::config();
    f(&mut cfg);
    TestKit::with_config(cfg)
}

/// Parses a registration body as the HTTP layer does, for `Auth::register`.
pub fn reg(auth: &auth_core::Auth, request: RegisterRequest) -> NewAccount {
    request.parse(auth.config()).unwrap()
}

pub async fn register_phone(kit: &TestKit, phone: &str) -> auth_core::UserId {
    kit.auth
        .register(
            reg(
                &kit.auth,
                RegisterRequest {
                    phone: Some(phone.into()),
                    ..Default::default()
                },
            ),
            &client(),
        )
        .await
        .unwrap()
        .user_id
}

/// Registers an email account and activates it with the mailed token.
pub async fn register_email(kit: &TestKit, email: &str) -> auth_core::UserId {
    let res = try_register_email(kit, email).await.unwrap();
    assert!(res.activation_required);
    let token = kit.mail.last_token_for(email).expect("an activation mail");
    kit.auth.activate(&token, &client()).await.unwrap();
    res.user_id
}

/// Registers an email account with [`PASSWORD`], as `email` is written; the service's answer.
pub async fn try_register_email(
    kit: &TestKit,
    email: &str,
) -> Result<auth_core::api::RegisterResponse, auth_core::AuthError> {
    kit.auth
        .register(
            reg(
                &kit.auth,
                RegisterRequest {
                    email: Some(email.into()),
                    password: Some(Password::new(PASSWORD)),
                    ..Default::default()
                },
            ),
            &client(),
        )
        .await
}

/// Starts an SMS login and returns (challenge id, the code that was sent).
pub async fn start(kit: &TestKit, phone: &str) -> (String, OneTimeCode) {
    let ch = kit
        .auth
        .start_sms_login(&to_phone(phone), &client())
        .await
        .unwrap();
    let code = kit.sms.last_code_for(phone).expect("an SMS was sent");
    (ch.challenge_id.to_string(), code)
}

/// A full SMS login of an already registered phone.
pub async fn sms_login(kit: &TestKit, phone: &str) -> TokenPair {
    let (id, code) = start(kit, phone).await;
    kit.auth
        .verify_sms(cid(&id), &code, &client())
        .await
        .unwrap()
}

/// A code that differs from `code` in its last digit.
pub fn wrong(code: &OneTimeCode) -> OneTimeCode {
    let mut s = code.expose().to_owned();
    let last = s.pop().unwrap();
    s.push(if last == '9' {
        '0'
    } else {
        char::from(last as u8 + 1)
    });
    OneTimeCode::new(s)
}

/// A phone, as the HTTP layer parses it (non-strict, as in the test configuration).
pub fn to_phone(s: &str) -> auth_core::Phone {
    auth_core::Phone::parse(s, false).unwrap()
}

/// An email, parsed.
pub fn to_email(s: &str) -> auth_core::Email {
    auth_core::Email::parse(s).unwrap()
}

/// A challenge id, parsed.
pub fn cid(s: &str) -> auth_core::ChallengeId {
    s.parse().unwrap()
}

/// A session id, parsed.
pub fn sid(s: &str) -> auth_core::SessionId {
    s.parse().unwrap()
}

/// A user id, parsed.
pub fn uid(s: &str) -> auth_core::UserId {
    s.parse().unwrap()
}

/// A `POST /login` body, parsed as the HTTP layer parses it.
pub fn login_of(kit: &TestKit, request: auth_core::api::LoginRequest) -> auth_core::api::Login {
    request.parse(kit.auth.config()).unwrap()
}

/// A bodiless request to `route` (with its path parameter) over the core's HTTP layer, signed in with `access_token`:
/// for what the HTTP layer decides (e.g. a malformed id in a path is `not_found`).
pub async fn http_call(
    kit: &TestKit,
    route: auth_core::http::Route,
    path_param: Option<&str>,
    access_token: &str,
) -> auth_core::http::HttpResponse {
    let authorization = format!("Bearer {access_token}");
    let headers = [("authorization", authorization.as_str())];
    let client = client();
    let req = auth_core::http::HttpRequest {
        peer: client.ip,
        headers: &headers,
        path_param,
        user_agent: client.user_agent.as_deref(),
        ..auth_core::http::HttpRequest::default()
    };
    kit.auth.handle(route, &req).await
}

pub fn secs(n: u64) -> std::time::Duration {
    std::time::Duration::from_secs(n)
}

/// Checks that 256-bit secrets look like independent CSPRNG output: all distinct; each bit a
/// fair coin (set in half of them, within six standard deviations: a false alarm has
/// probability 5e-7 over all 256 bits); and of full rank over GF(2), which every set of a few
/// hundred random rows has, while secrets made of fewer random bits by any linear means (zero
/// or constant padding, repeated or copied bytes, stuck bits) have at most that many.
pub fn assert_random_256_bit_secrets(secrets: &[[u8; 32]]) {
    let n = secrets.len();
    let distinct: std::collections::HashSet<_> = secrets.iter().collect();
    assert_eq!(distinct.len(), n, "repeated secrets");
    let mut ones = [0usize; 256];
    for secret in secrets {
        for (bit, count) in ones.iter_mut().enumerate() {
            *count += usize::from(secret[bit / 8] >> (bit % 8) & 1);
        }
    }
    let six_sd = 3.0 * (n as f64).sqrt();
    for (bit, &count) in ones.iter().enumerate() {
        assert!(
            ((count as f64) - (n as f64) / 2.0).abs() < six_sd,
            "bit {bit} set in {count} of {n} secrets"
        );
    }
    assert_eq!(gf2_rank(secrets), 256, "secrets span fewer than 256 bits");
}

/// The rank over GF(2) of 256-bit rows (Gaussian elimination, one basis row per pivot bit).
pub fn gf2_rank(rows: &[[u8; 32]]) -> usize {
    let (mut basis, mut rank): (Vec<Option<[u8; 32]>>, usize) = (vec![None; 256], 0);
    let leading_one = |row: &[u8; 32]| (0..256).find(|&b| row[b / 8] >> (7 - b % 8) & 1 == 1);
    for row in rows {
        if rank == 256 {
            break;
        }
        let mut row = *row;
        while let Some(pivot) = leading_one(&row) {
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
    rank
}
