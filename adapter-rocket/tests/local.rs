//! The adapter through Rocket's local client: each guard, the JSON catchers, body limits and
//! a few routes. The full contract runs over a real socket in `contract.rs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use adapter_rocket::{AuthUser, MaybeUser, RequireRole, Role};
use auth_core::api::MAX_BODY_BYTES;
use auth_core::http::ROUTES;
use auth_core::http::client_ip::{ClientIpPolicy, ProxyHeader};
use auth_core::testkit::TestKit;
use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::{Build, Rocket, get};
use serde_json::{Value, json};

struct Admin;

impl Role for Admin {
    const NAME: &'static str = "admin";
}

#[get("/hello")]
fn hello(user: AuthUser) -> (ContentType, String) {
    user_id_json(Some(user.user_id.to_string()))
}

#[get("/maybe")]
fn maybe(user: MaybeUser) -> (ContentType, String) {
    user_id_json(user.0.map(|p| p.user_id.to_string()))
}

#[get("/admin")]
fn admin(user: RequireRole<Admin>) -> (ContentType, String) {
    user_id_json(Some(user.user_id.to_string()))
}

fn user_id_json(user_id: Option<String>) -> (ContentType, String) {
    (ContentType::JSON, json!({ "user_id": user_id }).to_string())
}

/// An app route answering a bare status, which Rocket hands to the catchers.
#[get("/status/<code>")]
fn bare_status(code: u16) -> Status {
    Status::new(code)
}

#[get("/panic")]
fn boom() -> &'static str {
    panic!("a bug")
}

fn app(kit: &TestKit) -> Rocket<Build> {
    let config = rocket::Config {
        log_level: rocket::config::LogLevel::Off,
        cli_colors: false,
        ..rocket::Config::debug_default()
    };
    rocket::custom(config)
        .manage(kit.auth.clone())
        .mount("/api/auth", adapter_rocket::routes())
        .mount(
            "/api",
            rocket::routes![hello, maybe, admin, bare_status, boom],
        )
        .register("/", adapter_rocket::catchers())
}

async fn client(kit: &TestKit) -> Client {
    Client::tracked(app(kit)).await.unwrap()
}

async fn json_of(res: LocalResponse<'_>) -> (u16, Value) {
    let status = res.status().code;
    assert_eq!(
        res.content_type(),
        Some(ContentType::JSON),
        "every error body is JSON"
    );
    let body = res.into_string().await.unwrap_or_default();
    (status, serde_json::from_str(&body).unwrap())
}

async fn error_of(res: LocalResponse<'_>) -> (u16, String) {
    let (status, body) = json_of(res).await;
    assert!(body["message"].is_string(), "{body}");
    (status, body["error"].as_str().unwrap().to_owned())
}

/// Registers a phone account and logs it in; returns the token pair.
async fn login(client: &Client, kit: &TestKit, phone: &str) -> Value {
    let res = client
        .post("/api/auth/register")
        .header(ContentType::JSON)
        .body(json!({ "phone": phone }).to_string())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Created);
    let res = client
        .post("/api/auth/login")
        .header(ContentType::JSON)
        .body(json!({ "phone": phone }).to_string())
        .dispatch()
        .await;
    let (status, challenge) = json_of(res).await;
    assert_eq!(status, 202, "{challenge}");
    let code = kit.sms.last_code_for(phone).unwrap();
    let res = client
        .post("/api/auth/verify_sms")
        .header(ContentType::JSON)
        .body(
            json!({ "challenge_id": challenge["challenge_id"], "code": code.expose() }).to_string(),
        )
        .dispatch()
        .await;
    assert_eq!(
        res.headers().get_one("Cache-Control"),
        Some("no-store"),
        "token responses are not cached"
    );
    let (status, pair) = json_of(res).await;
    assert_eq!(status, 200, "{pair}");
    pair
}

fn bearer(token: &Value) -> Header<'static> {
    Header::new(
        "Authorization",
        format!("Bearer {}", token.as_str().unwrap()),
    )
}

#[rocket::async_test]
async fn required_user_guard() {
    let kit = TestKit::new();
    let client = client(&kit).await;
    let res = client.get("/api/hello").dispatch().await;
    assert_eq!(error_of(res).await, (401, "missing_token".to_owned()));
    let res = client
        .get("/api/hello")
        .header(Header::new("Authorization", "Bearer nonsense"))
        .dispatch()
        .await;
    assert_eq!(error_of(res).await, (401, "invalid_token".to_owned()));

    let pair = login(&client, &kit, "+15551234567").await;
    let res = client
        .get("/api/hello")
        .header(bearer(&pair["access_token"]))
        .dispatch()
        .await;
    assert_eq!(
        json_of(res).await,
        (200, json!({ "user_id": pair["user_id"] }))
    );

    // After logout the same token is revoked, and the guard says so.
    let res = client
        .post("/api/auth/logout")
        .header(bearer(&pair["access_token"]))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::NoContent);
    assert_eq!(res.content_type(), None, "a 204 has no content type");
    let res = client
        .get("/api/hello")
        .header(bearer(&pair["access_token"]))
        .dispatch()
        .await;
    assert_eq!(error_of(res).await, (401, "token_revoked".to_owned()));
}

#[rocket::async_test]
async fn optional_user_guard() {
    let kit = TestKit::new();
    let client = client(&kit).await;
    let res = client.get("/api/maybe").dispatch().await;
    assert_eq!(json_of(res).await, (200, json!({ "user_id": null })));
    // A bad token is not "no user": it is still a 401.
    let res = client
        .get("/api/maybe")
        .header(Header::new("Authorization", "Bearer nonsense"))
        .dispatch()
        .await;
    assert_eq!(error_of(res).await, (401, "invalid_token".to_owned()));
    let pair = login(&client, &kit, "+15551234567").await;
    let res = client
        .get("/api/maybe")
        .header(bearer(&pair["access_token"]))
        .dispatch()
        .await;
    assert_eq!(
        json_of(res).await,
        (200, json!({ "user_id": pair["user_id"] }))
    );
}

#[rocket::async_test]
async fn role_guard() {
    let kit = TestKit::new();
    let client = client(&kit).await;
    let res = client.get("/api/admin").dispatch().await;
    assert_eq!(error_of(res).await, (401, "missing_token".to_owned()));
    let pair = login(&client, &kit, "+15551234567").await;
    let res = client
        .get("/api/admin")
        .header(bearer(&pair["access_token"]))
        .dispatch()
        .await;
    assert_eq!(error_of(res).await, (403, "forbidden".to_owned()));
}

#[rocket::async_test]
async fn unknown_paths_and_methods_are_json_404s() {
    let kit = TestKit::new();
    let client = client(&kit).await;
    for path in [
        "/api/auth/nope",
        "/api/auth/",
        "/api/auth/me/x",
        "/elsewhere",
    ] {
        let res = client.get(path).dispatch().await;
        assert_eq!(error_of(res).await, (404, "not_found".to_owned()), "{path}");
    }
    let res = client.put("/api/auth/login").dispatch().await;
    assert_eq!(error_of(res).await, (404, "not_found".to_owned()));
    let res = client.delete("/api/auth/sessions/").dispatch().await;
    assert_eq!(error_of(res).await, (404, "not_found".to_owned()));
}

#[rocket::async_test]
async fn bodies_are_checked_by_the_core() {
    let kit = TestKit::new();
    let client = client(&kit).await;
    // No content type, a wrong one, a wrong shape: 400 from the core, not Rocket's 404/415/422.
    let res = client
        .post("/api/auth/register")
        .body(r#"{"phone":"+15551234567"}"#)
        .dispatch()
        .await;
    assert_eq!(error_of(res).await, (400, "invalid_request".to_owned()));
    let res = client
        .post("/api/auth/register")
        .header(ContentType::Plain)
        .body(r#"{"phone":"+15551234567"}"#)
        .dispatch()
        .await;
    assert_eq!(error_of(res).await, (400, "invalid_request".to_owned()));
    let res = client
        .post("/api/auth/login")
        .header(ContentType::JSON)
        .body(r#"{"phone":"+15551234567","extra":1}"#)
        .dispatch()
        .await;
    assert_eq!(error_of(res).await, (400, "invalid_request".to_owned()));
    let res = client
        .post("/api/auth/login")
        .header(ContentType::JSON)
        .body("{not json")
        .dispatch()
        .await;
    assert_eq!(error_of(res).await, (400, "invalid_request".to_owned()));
}

#[rocket::async_test]
async fn body_limit_is_the_contracts() {
    let kit = TestKit::new();
    let client = client(&kit).await;
    // Exactly the limit is read (and then judged by the core)...
    let mut body = br#"{"phone":"+15551234567"}"#.to_vec();
    body.resize(MAX_BODY_BYTES, b' ');
    let res = client
        .post("/api/auth/register")
        .header(ContentType::JSON)
        .body(body)
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Created);
    // ...one byte more is 413, far more too.
    for len in [MAX_BODY_BYTES + 1, 10 * MAX_BODY_BYTES] {
        let mut body = br#"{"phone":"+15557654321"}"#.to_vec();
        body.resize(len, b' ');
        let res = client
            .post("/api/auth/register")
            .header(ContentType::JSON)
            .body(body)
            .dispatch()
            .await;
        assert_eq!(
            error_of(res).await,
            (413, "payload_too_large".to_owned()),
            "{len}"
        );
    }
}

#[rocket::async_test]
async fn retry_after_on_429() {
    let kit = TestKit::new();
    let client = client(&kit).await;
    let send = || {
        client
            .post("/api/auth/login")
            .header(ContentType::JSON)
            .body(r#"{"phone":"+15551234567"}"#)
            .dispatch()
    };
    assert_eq!(send().await.status(), Status::Accepted);
    let res = send().await;
    assert_eq!(res.headers().get_one("Retry-After"), Some("60"));
    assert_eq!(error_of(res).await, (429, "rate_limited".to_owned()));
}

#[rocket::async_test]
async fn sessions_routes() {
    let kit = TestKit::new();
    let client = client(&kit).await;
    let pair = login(&client, &kit, "+15551234567").await;
    let res = client
        .get("/api/auth/sessions")
        .header(bearer(&pair["access_token"]))
        .dispatch()
        .await;
    let (status, sessions) = json_of(res).await;
    assert_eq!(status, 200, "{sessions}");
    assert_eq!(sessions[0]["session_id"], pair["session_id"]);
    let res = client
        .delete("/api/auth/sessions/00000000-0000-4000-8000-000000000000")
        .header(bearer(&pair["access_token"]))
        .dispatch()
        .await;
    assert_eq!(error_of(res).await, (404, "not_found".to_owned()));
    let res = client
        .delete(format!(
            "/api/auth/sessions/{}",
            pair["session_id"].as_str().unwrap()
        ))
        .header(bearer(&pair["access_token"]))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::NoContent);
}

/// Signs `phone` in through `client` from `peer` with `headers` (besides a forged `X-Real-IP`,
/// which Rocket itself would believe) and returns the IP its session recorded.
async fn session_ip(
    kit: &TestKit,
    client: &Client,
    phone: &str,
    peer: &str,
    headers: &[(&'static str, &'static str)],
) -> Value {
    let peer: std::net::SocketAddr = peer.parse().unwrap();
    let post = |path: &'static str, body: String| {
        let mut req = client
            .post(path)
            .remote(peer)
            .header(ContentType::JSON)
            .header(Header::new("X-Real-IP", "6.6.6.6"))
            .header(Header::new("User-Agent", "tests/1.0"));
        for (name, value) in headers {
            req = req.header(Header::new(*name, *value));
        }
        req.body(body).dispatch()
    };
    post("/api/auth/register", json!({ "phone": phone }).to_string()).await;
    let (_, challenge) =
        json_of(post("/api/auth/login", json!({ "phone": phone }).to_string()).await).await;
    let code = kit.sms.last_code_for(phone).unwrap();
    let body = json!({ "challenge_id": challenge["challenge_id"], "code": code.expose() });
    let pair = json_of(post("/api/auth/verify_sms", body.to_string()).await)
        .await
        .1;
    let res = client
        .get("/api/auth/sessions")
        .header(bearer(&pair["access_token"]))
        .dispatch()
        .await;
    let (_, sessions) = json_of(res).await;
    assert_eq!(sessions[0]["user_agent"], "tests/1.0");
    sessions[0]["ip"].clone()
}

#[rocket::async_test]
async fn client_ip_is_the_peer_unless_a_proxy_is_trusted() {
    let both: &[(&str, &str)] = &[
        ("X-Forwarded-For", "1.2.3.4"),
        ("Forwarded", "for=6.6.6.6, for=\"[2001:db8::5]:443\""),
    ];
    let trusted = || ClientIpPolicy::trusting(["10.0.0.0/8".parse().unwrap()]);
    for (policy, peer, expected) in [
        (None, "10.0.0.1:5000", "10.0.0.1"),
        (Some(trusted()), "10.0.0.1:5000", "1.2.3.4"),
        (
            Some(trusted().reading(ProxyHeader::Forwarded)),
            "10.0.0.1:5000",
            "2001:db8::5",
        ),
        // An untrusted peer cannot choose its IP with either header.
        (Some(trusted()), "198.51.100.7:5000", "198.51.100.7"),
        (
            Some(trusted().reading(ProxyHeader::Forwarded)),
            "198.51.100.7:5000",
            "198.51.100.7",
        ),
    ] {
        let kit = match policy {
            Some(policy) => {
                let mut config = TestKit::config();
                config.client_ip = policy;
                TestKit::with_config(config)
            }
            None => TestKit::new(),
        };
        let client = Client::tracked(app(&kit)).await.unwrap();
        let ip = session_ip(&kit, &client, "+15551234567", peer, both).await;
        assert_eq!(ip, expected, "from {peer}");
    }
}

/// A dual-stack listener reports IPv4 clients as `::ffff:a.b.c.d`: sessions record the IPv4
/// address, and each client is its own per-IP bucket.
#[rocket::async_test]
async fn ipv4_clients_on_a_dual_stack_listener_are_separate_clients() {
    let mut config = TestKit::config();
    config.sms.per_ip_per_hour = 1;
    let kit = TestKit::with_config(config);
    let client = Client::tracked(app(&kit)).await.unwrap();
    let first = "[::ffff:198.51.100.1]:5000";
    let ip = session_ip(&kit, &client, "+15551234567", first, &[]).await;
    assert_eq!(ip, "198.51.100.1");
    let login = |peer: &str| {
        client
            .post("/api/auth/login")
            .remote(peer.parse().unwrap())
            .header(ContentType::JSON)
            .body(json!({ "phone": "+15551234568" }).to_string())
            .dispatch()
    };
    assert_eq!(
        error_of(login(first).await).await,
        (429, "rate_limited".to_owned())
    );
    let res = login("[::ffff:198.51.100.2]:5000").await;
    assert_eq!(res.status(), Status::Accepted);
}

#[rocket::async_test]
async fn a_panic_is_a_json_500() {
    let kit = TestKit::new();
    let client = client(&kit).await;
    let res = client.get("/api/panic").dispatch().await;
    assert_eq!(error_of(res).await, (500, "internal_error".to_owned()));
}

#[rocket::async_test]
async fn every_error_status_is_json() {
    let kit = TestKit::new();
    let client = client(&kit).await;
    for (status, code) in [
        (400, "invalid_request"),
        (401, "missing_token"),
        (403, "forbidden"),
        (404, "not_found"),
        (413, "payload_too_large"),
        (415, "invalid_request"),
        (422, "invalid_request"),
        (500, "internal_error"),
        (502, "internal_error"),
        (503, "store_unavailable"),
    ] {
        let res = client.get(format!("/api/status/{status}")).dispatch().await;
        assert_eq!(error_of(res).await, (status, code.to_owned()));
    }
}

#[rocket::async_test]
async fn guards_need_managed_auth() {
    let rocket = rocket::build().mount("/api", rocket::routes![hello]);
    match Client::tracked(rocket).await {
        Err(e) => assert!(
            matches!(e.kind(), rocket::error::ErrorKind::SentinelAborts(_)),
            "{e:?}"
        ),
        Ok(_) => panic!("the sentinel must abort the launch"),
    }
}

#[test]
fn serves_every_route_of_the_core() {
    let mut served: Vec<(String, String)> = adapter_rocket::routes()
        .iter()
        .map(|r| {
            let path = r.uri.path().replace('<', "{").replace('>', "}");
            (r.method.as_str().to_owned(), path)
        })
        .collect();
    let mut expected: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(method, path, _)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    served.sort();
    expected.sort();
    assert_eq!(served, expected);
}
