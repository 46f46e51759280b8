//! The adapter's own tests, through actix-web's in-process test utilities: each guard, the
//! translation of requests and responses, the JSON 404/413 answers and the client IP policy.
//! The whole contract runs over a real socket in `contract.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use actix_web::test::TestRequest;
use actix_web::{App, test, web};
use auth_core::api::{ClientInfo, MAX_BODY_BYTES, RegisterRequest};
use auth_core::http::client_ip::{ClientIpPolicy, ProxyHeader};
use auth_core::testkit::TestKit;
use serde_json::{Value, json};

/// The test app: auth routes under /api/auth and one handler per guard, with the app data
/// given as extra `.app_data(..)` arguments.
macro_rules! app {
    ($($data:expr),* $(,)?) => {
        test::init_service(
            App::new()
                $(.app_data($data))*
                .configure(common::mount),
        )
        .await
    };
}

/// A test kit whose configuration trusts proxies by `policy`.
fn kit_trusting(policy: ClientIpPolicy) -> TestKit {
    let mut config = TestKit::config();
    config.client_ip = policy;
    TestKit::with_config(config)
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} body is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// Asserts a contract error: status, code, JSON content type, `{"error","message"}`.
    fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "{:?}", self.json());
        assert_eq!(self.header("content-type"), Some("application/json"));
        let v = self.json();
        assert_eq!(v["error"], code, "{v}");
        assert!(v["message"].is_string(), "{v}");
        assert_eq!(v.as_object().unwrap().len(), 2, "{v}");
    }
}

async fn send<S, R, B>(app: &S, req: R) -> Answer
where
    S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = test::call_service(app, req).await;
    let status = res.status();
    let headers = res.headers().clone();
    let body = test::read_body(res).await.to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

fn post_json(path: &str, body: &Value) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .insert_header(("content-type", "application/json"))
        .set_payload(body.to_string())
}

fn bearer(token: &str) -> (&'static str, String) {
    ("authorization", format!("Bearer {token}"))
}

/// Registers `phone` and signs it in through the core; returns the token pair.
async fn sign_in(kit: &TestKit, phone: &str) -> auth_core::api::TokenPair {
    let auth = &kit.auth;
    let client = ClientInfo::default();
    auth.register(
        RegisterRequest {
            phone: Some(phone.to_owned()),
            ..Default::default()
        }
        .parse(auth.config())
        .unwrap(),
        &auth_core::api::ClientInfo::default(),
    )
    .await
    .unwrap();
    let parsed = auth_core::Phone::parse(phone, false).unwrap();
    let challenge = auth.start_sms_login(&parsed, &client).await.unwrap();
    let code = kit.sms.last_code_for(phone).unwrap();
    auth.verify_sms(challenge.challenge_id, &code, &client)
        .await
        .unwrap()
}

#[actix_web::test]
async fn required_user_guard() {
    let kit = TestKit::new();
    let app = app!(web::Data::new(kit.auth.clone()));
    let pair = sign_in(&kit, "+15551230001").await;

    let res = send(&app, TestRequest::get().uri("/api/hello").to_request()).await;
    res.assert_error(401, "missing_token");
    assert_eq!(res.header("cache-control"), Some("no-store"));

    let res = send(
        &app,
        TestRequest::get()
            .uri("/api/hello")
            .insert_header(bearer("not-a-jwt"))
            .to_request(),
    )
    .await;
    res.assert_error(401, "invalid_token");

    let res = send(
        &app,
        TestRequest::get()
            .uri("/api/hello")
            .insert_header(("authorization", "Basic dXNlcjpwdw=="))
            .to_request(),
    )
    .await;
    res.assert_error(401, "missing_token");

    let res = send(
        &app,
        TestRequest::get()
            .uri("/api/hello")
            .insert_header(bearer(pair.access_token.expose()))
            .to_request(),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json(), json!({ "user_id": pair.user_id }));
}

#[actix_web::test]
async fn optional_user_guard_keeps_a_bad_token_a_401() {
    let kit = TestKit::new();
    let app = app!(web::Data::new(kit.auth.clone()));
    let pair = sign_in(&kit, "+15551230002").await;

    let res = send(&app, TestRequest::get().uri("/api/maybe").to_request()).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json(), json!({ "user_id": null }));

    let res = send(
        &app,
        TestRequest::get()
            .uri("/api/maybe")
            .insert_header(bearer("forged"))
            .to_request(),
    )
    .await;
    res.assert_error(401, "invalid_token");

    // A header that is not even UTF-8 is still "a token was sent".
    let res = send(
        &app,
        TestRequest::get()
            .uri("/api/maybe")
            .insert_header((
                "authorization",
                actix_web::http::header::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
            ))
            .to_request(),
    )
    .await;
    res.assert_error(401, "invalid_token");

    let res = send(
        &app,
        TestRequest::get()
            .uri("/api/maybe")
            .insert_header(bearer(pair.access_token.expose()))
            .to_request(),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json(), json!({ "user_id": pair.user_id }));

    // After logout the token is revoked: still a 401, never an anonymous visitor.
    let res = send(
        &app,
        TestRequest::post()
            .uri("/api/auth/logout")
            .insert_header(bearer(pair.access_token.expose()))
            .to_request(),
    )
    .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    let res = send(
        &app,
        TestRequest::get()
            .uri("/api/maybe")
            .insert_header(bearer(pair.access_token.expose()))
            .to_request(),
    )
    .await;
    res.assert_error(401, "token_revoked");
}

#[actix_web::test]
async fn role_guard() {
    let kit = TestKit::new();
    let app = app!(web::Data::new(kit.auth.clone()));
    let pair = sign_in(&kit, "+15551230003").await;

    let res = send(&app, TestRequest::get().uri("/api/admin").to_request()).await;
    res.assert_error(401, "missing_token");

    let res = send(
        &app,
        TestRequest::get()
            .uri("/api/admin")
            .insert_header(bearer(pair.access_token.expose()))
            .to_request(),
    )
    .await;
    res.assert_error(403, "forbidden");

    kit.auth
        .set_roles(pair.user_id, vec!["admin".to_owned()])
        .await
        .unwrap();
    let fresh = kit
        .auth
        .refresh(pair.refresh_token.expose(), &ClientInfo::default())
        .await
        .unwrap();
    let res = send(
        &app,
        TestRequest::get()
            .uri("/api/admin")
            .insert_header(bearer(fresh.access_token.expose()))
            .to_request(),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.json());
    assert_eq!(res.json(), json!({ "user_id": pair.user_id }));
}

#[actix_web::test]
async fn routes_translate_requests_and_responses() {
    let kit = TestKit::new();
    let app = app!(web::Data::new(kit.auth.clone()));

    let res = send(
        &app,
        post_json("/api/auth/register", &json!({ "phone": "+1 555 123 0004" })).to_request(),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED);
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert!(res.json()["user_id"].is_string());

    let res = send(
        &app,
        post_json("/api/auth/login", &json!({ "phone": "+15551230004" })).to_request(),
    )
    .await;
    assert_eq!(res.status, StatusCode::ACCEPTED);
    let challenge = res.json()["challenge_id"].clone();
    let code = kit.sms.last_code_for("+15551230004").unwrap();

    // The resend cooldown: 429 with Retry-After.
    let res = send(
        &app,
        post_json("/api/auth/login", &json!({ "phone": "+15551230004" })).to_request(),
    )
    .await;
    res.assert_error(429, "rate_limited");
    assert!(res.header("retry-after").is_some());

    let res = send(
        &app,
        post_json(
            "/api/auth/verify_sms",
            &json!({ "challenge_id": challenge, "code": code.expose() }),
        )
        .to_request(),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let pair = res.json();
    assert_eq!(pair["token_type"], "Bearer");
    let access = pair["access_token"].as_str().unwrap();
    let refresh = pair["refresh_token"].as_str().unwrap();

    // /refresh with the token in the Authorization header, no body, no content type.
    let res = send(
        &app,
        TestRequest::post()
            .uri("/api/auth/refresh")
            .insert_header(bearer(refresh))
            .to_request(),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.json());
    let access = {
        let fresh = res.json();
        assert_ne!(fresh["access_token"].as_str().unwrap(), access);
        fresh["access_token"].as_str().unwrap().to_owned()
    };

    let res = send(
        &app,
        TestRequest::get()
            .uri("/api/auth/me")
            .insert_header(bearer(&access))
            .to_request(),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json()["phone"], "+15551230004");

    let res = send(
        &app,
        TestRequest::get()
            .uri("/api/auth/sessions")
            .insert_header(bearer(&access))
            .to_request(),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json().as_array().unwrap().len(), 1);

    let res = send(
        &app,
        TestRequest::delete()
            .uri("/api/auth/sessions/not-my-session")
            .insert_header(bearer(&access))
            .to_request(),
    )
    .await;
    res.assert_error(404, "not_found");
    let res = send(
        &app,
        TestRequest::delete()
            .uri("/api/auth/sessions/%FF%00")
            .insert_header(bearer(&access))
            .to_request(),
    )
    .await;
    res.assert_error(404, "not_found");

    // A body-less POST: 204 without a body or a content type.
    let res = send(
        &app,
        TestRequest::post()
            .uri("/api/auth/logout")
            .insert_header(bearer(&access))
            .to_request(),
    )
    .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    assert!(res.body.is_empty());
    assert_eq!(res.header("content-type"), None);
    assert_eq!(res.header("cache-control"), Some("no-store"));
}

#[actix_web::test]
async fn bad_requests_get_the_contract_json() {
    let kit = TestKit::new();
    let app = app!(web::Data::new(kit.auth.clone()));

    // Malformed JSON, wrong content type, unknown field.
    let res = send(
        &app,
        TestRequest::post()
            .uri("/api/auth/register")
            .insert_header(("content-type", "application/json"))
            .set_payload("{\"phone\":")
            .to_request(),
    )
    .await;
    res.assert_error(400, "invalid_request");
    let res = send(
        &app,
        TestRequest::post()
            .uri("/api/auth/register")
            .insert_header(("content-type", "text/plain"))
            .set_payload(r#"{"phone":"+15551230005"}"#)
            .to_request(),
    )
    .await;
    res.assert_error(400, "invalid_request");
    let res = send(
        &app,
        post_json(
            "/api/auth/register",
            &json!({ "phone": "+15551230005", "x": 1 }),
        )
        .to_request(),
    )
    .await;
    res.assert_error(400, "invalid_request");

    // Over the 16 KiB limit, with and without a Content-Length the adapter can trust.
    let big = format!(r#"{{"phone":"{}"}}"#, "1".repeat(MAX_BODY_BYTES));
    let res = send(
        &app,
        TestRequest::post()
            .uri("/api/auth/register")
            .insert_header(("content-type", "application/json"))
            .set_payload(big.clone())
            .to_request(),
    )
    .await;
    res.assert_error(413, "payload_too_large");
    let mut req = TestRequest::post()
        .uri("/api/auth/login")
        .insert_header(("content-type", "application/json"))
        .set_payload(big)
        .to_request();
    let _ = req.headers_mut().remove("content-length");
    let res = send(&app, req).await;
    res.assert_error(413, "payload_too_large");
    // Exactly at the limit is read (and then judged by the core).
    let at_limit = format!(
        r#"{{"phone":"+15551230006"{}}}"#,
        " ".repeat(MAX_BODY_BYTES - r#"{"phone":"+15551230006"}"#.len())
    );
    assert_eq!(at_limit.len(), MAX_BODY_BYTES);
    let res = send(
        &app,
        TestRequest::post()
            .uri("/api/auth/register")
            .insert_header(("content-type", "application/json"))
            .set_payload(at_limit)
            .to_request(),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{:?}", res.json());

    // Unknown paths and wrong methods under the prefix: the contract's 404.
    for (method, path, status, code) in [
        ("GET", "/api/auth/nope", 404, "not_found"),
        ("GET", "/api/auth", 404, "not_found"),
        ("GET", "/api/auth/", 404, "not_found"),
        ("POST", "/api/auth/me/extra", 404, "not_found"),
        ("DELETE", "/api/auth/sessions/", 404, "not_found"),
        ("GET", "/api/auth/login", 404, "not_found"),
        ("PUT", "/api/auth/me", 404, "not_found"),
        ("GET", "/api/auth/sessions/abc", 404, "not_found"),
        ("DELETE", "/api/auth/sessions", 404, "not_found"),
    ] {
        let req = TestRequest::default()
            .method(method.parse().unwrap())
            .uri(path)
            .to_request();
        let res = send(&app, req).await;
        assert_eq!(res.status.as_u16(), status, "{method} {path}");
        res.assert_error(status, code);
    }
}

#[actix_web::test]
async fn a_missing_auth_is_a_json_500_not_a_panic() {
    let app = app!();
    let res = send(&app, TestRequest::get().uri("/api/auth/me").to_request()).await;
    res.assert_error(500, "internal_error");
    let res = send(&app, TestRequest::get().uri("/api/hello").to_request()).await;
    res.assert_error(500, "internal_error");
}

/// Signs `phone` in over the routes from `peer` with an `X-Forwarded-For` header (or the
/// header named before the value) and returns the IP its session recorded.
macro_rules! session_ip {
    ($app:expr, $kit:expr, $phone:expr, $peer:expr, $forwarded:expr) => {
        session_ip!($app, $kit, $phone, $peer, "x-forwarded-for", $forwarded)
    };
    ($app:expr, $kit:expr, $phone:expr, $peer:expr, $header:expr, $forwarded:expr) => {{
        let peer: std::net::SocketAddr = $peer.parse().unwrap();
        $kit.auth
            .register(RegisterRequest {
                phone: Some($phone.to_owned()),
                ..Default::default()
            }.parse($kit.auth.config()).unwrap(), &auth_core::api::ClientInfo::default())
            .await
            .unwrap();
        let res = send(
            &$app,
            post_json("/api/auth/login", &json!({ "phone": $phone }))
                .peer_addr(peer)
                .insert_header(($header, $forwarded))
                .to_request(),
        )
        .await;
        assert_eq!(res.status, StatusCode::ACCEPTED);
        let challenge = res.json()["challenge_id"].clone();
        let code = $kit.sms.last_code_for($phone).unwrap();
        let res = send(
            &$app,
            post_json(
                "/api/auth/verify_sms",
                &json!({ "challenge_id": challenge, "code": code.expose() }),
            )
            .peer_addr(peer)
            .insert_header(($header, $forwarded))
            .insert_header(("user-agent", "adapter-test/1.0"))
            .to_request(),
        )
        .await;
        assert_eq!(res.status, StatusCode::OK);
        let access = res.json()["access_token"].as_str().unwrap().to_owned();
        let res = send(
            &$app,
            TestRequest::get()
                .uri("/api/auth/sessions")
                .insert_header(bearer(&access))
                .to_request(),
        )
        .await;
        let sessions = res.json();
        assert_eq!(sessions[0]["user_agent"], "adapter-test/1.0");
        sessions[0]["ip"].as_str().unwrap().to_owned()
    }};
}

#[actix_web::test]
async fn forwarded_for_is_ignored_unless_the_config_trusts_the_proxy() {
    let kit = TestKit::new();
    let app = app!(web::Data::new(kit.auth.clone()));
    let ip = session_ip!(app, kit, "+15551230007", "10.0.0.1:4000", "203.0.113.9");
    assert_eq!(ip, "10.0.0.1");

    let kit = kit_trusting(ClientIpPolicy::trusting(["10.0.0.1".parse().unwrap()]));
    let app = app!(web::Data::new(kit.auth.clone()));
    let ip = session_ip!(app, kit, "+15551230008", "10.0.0.1:4000", "203.0.113.9");
    assert_eq!(ip, "203.0.113.9");
    // A peer that is not a trusted proxy cannot choose its IP.
    let ip = session_ip!(app, kit, "+15551230009", "198.51.100.7:4000", "203.0.113.9");
    assert_eq!(ip, "198.51.100.7");
}

#[actix_web::test]
async fn forwarded_is_ignored_unless_the_config_trusts_the_proxy_and_reads_it() {
    let forwarded = r#"for=6.6.6.6, for="[2001:db8::9]:4711";proto=https"#;
    // No policy, and a policy reading X-Forwarded-For: the peer.
    let kit = TestKit::new();
    let app = app!(web::Data::new(kit.auth.clone()));
    let ip = session_ip!(
        app,
        kit,
        "+15551230010",
        "10.0.0.1:4000",
        "forwarded",
        forwarded
    );
    assert_eq!(ip, "10.0.0.1");
    let kit = kit_trusting(ClientIpPolicy::trusting(["10.0.0.0/8".parse().unwrap()]));
    let app = app!(web::Data::new(kit.auth.clone()));
    let ip = session_ip!(
        app,
        kit,
        "+15551230011",
        "10.0.0.1:4000",
        "forwarded",
        forwarded
    );
    assert_eq!(ip, "10.0.0.1");

    // A trusted range reading Forwarded.
    let kit = kit_trusting(
        ClientIpPolicy::trusting(["10.0.0.0/8".parse().unwrap()]).reading(ProxyHeader::Forwarded),
    );
    let app = app!(web::Data::new(kit.auth.clone()));
    let ip = session_ip!(
        app,
        kit,
        "+15551230012",
        "10.9.8.7:4000",
        "forwarded",
        forwarded
    );
    assert_eq!(ip, "2001:db8::9");
    // An untrusted peer cannot choose its IP.
    let ip = session_ip!(
        app,
        kit,
        "+15551230013",
        "198.51.100.7:4000",
        "forwarded",
        forwarded
    );
    assert_eq!(ip, "198.51.100.7");
}

/// A dual-stack listener reports IPv4 clients as `::ffff:a.b.c.d`: sessions record the IPv4
/// address, and each client is its own per-IP bucket.
#[actix_web::test]
async fn ipv4_clients_on_a_dual_stack_listener_are_separate_clients() {
    let mut config = TestKit::config();
    config.sms.per_ip_per_hour = 1;
    let kit = TestKit::with_config(config);
    let app = app!(web::Data::new(kit.auth.clone()));
    let ip = session_ip!(app, kit, "+15551230014", "[::ffff:198.51.100.1]:4000", "");
    assert_eq!(ip, "198.51.100.1");
    let login = |phone: &str, peer: &str| {
        post_json("/api/auth/login", &json!({ "phone": phone }))
            .peer_addr(peer.parse().unwrap())
            .to_request()
    };
    let res = send(&app, login("+15551230015", "[::ffff:198.51.100.1]:4000")).await;
    res.assert_error(429, "rate_limited");
    let res = send(&app, login("+15551230015", "[::ffff:198.51.100.2]:4000")).await;
    assert_eq!(res.status, StatusCode::ACCEPTED);
}

/// Every route of the core's table is served: requested without a token or a body, each
/// answers with the route's own error, never the 404 of a path or method the scope does not
/// know (the contract has no 405). A route added to `auth_core::http::ROUTES` and missing here
/// fails this test.
#[actix_web::test]
async fn every_route_of_the_table_is_served() {
    let kit = TestKit::new();
    let app = app!(web::Data::new(kit.auth.clone()));
    for &(method, path, id) in auth_core::http::ROUTES {
        let path = path.replace(&format!("{{{}}}", id.param().unwrap_or("")), "x");
        let req = TestRequest::default()
            .method(method.parse().unwrap())
            .uri(&format!("/api/auth{path}"))
            .to_request();
        let res = send(&app, req).await;
        assert!(
            res.status != StatusCode::NOT_FOUND && res.status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path} ({id:?}) is not served: {}",
            res.status
        );
    }
}
