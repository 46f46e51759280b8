//! What only this adapter decides: mounting under any prefix with the app's own state, the
//! client IP policy, and how a token header that is not text reaches the guards. The contract
//! itself is checked by `contract.rs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;

use adapter_axum::{AuthState, AuthUser};
use auth_core::http::client_ip::{ClientIpPolicy, ProxyHeader};
use auth_core::testkit::TestKit;
use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::Method;
use axum::routing::get;
use contract_tests::{Ctx, TestServer};
use serde_json::json;

#[derive(Clone)]
struct AppState {
    auth: AuthState,
    greeting: &'static str,
}

impl FromRef<AppState> for AuthState {
    fn from_ref(app: &AppState) -> AuthState {
        app.auth.clone()
    }
}

/// A test kit whose configuration trusts proxies by `policy`.
fn kit_trusting(policy: ClientIpPolicy) -> TestKit {
    let mut config = TestKit::config();
    config.client_ip = policy;
    TestKit::with_config(config)
}

async fn greet(State(app): State<AppState>, user: AuthUser) -> String {
    format!("{} {}", app.greeting, user.user_id)
}

async fn serve(app: Router, with_peer: bool) -> TestServer {
    serve_on("127.0.0.1:0", app, with_peer).await
}

/// Serves `app` on `bind`; the test server's address is 127.0.0.1 at the bound port, so on a
/// dual-stack `[::]` listener its clients are IPv4-mapped.
async fn serve_on(bind: &str, app: Router, with_peer: bool) -> TestServer {
    let listener = tokio::net::TcpListener::bind(bind).await.unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], listener.local_addr().unwrap().port()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if with_peer {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown)
            .await
        } else {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
        .expect("the axum server");
    });
    TestServer::new(addr, move || {
        let _ = stop.send(());
    })
}

/// Registers and logs in a phone account under `prefix`, sending `X-Forwarded-For`; returns
/// the `ip` its session recorded.
async fn login_ip(ctx: &Ctx, prefix: &str, forwarded_for: &str) -> serde_json::Value {
    login_ip_with(ctx, prefix, &[("x-forwarded-for", forwarded_for)]).await
}

/// [`login_ip`] sending `headers` (each a line of its own).
async fn login_ip_with(ctx: &Ctx, prefix: &str, headers: &[(&str, &str)]) -> serde_json::Value {
    let phone = "+15551230001";
    ctx.request(Method::POST, &format!("{prefix}/register"))
        .json(&json!({ "phone": phone }))
        .send()
        .await
        .json_with(201);
    let with_headers = |mut req: contract_tests::Req| {
        for (name, value) in headers {
            req = req.header(name, value);
        }
        req
    };
    let challenge = with_headers(ctx.request(Method::POST, &format!("{prefix}/login")))
        .json(&json!({ "phone": phone }))
        .send()
        .await
        .json_with(202)["challenge_id"]
        .clone();
    let tokens = with_headers(ctx.request(Method::POST, &format!("{prefix}/verify_sms")))
        .json(&json!({ "challenge_id": challenge, "code": ctx.code_for(phone) }))
        .send()
        .await
        .tokens();
    let sessions = ctx
        .get(&format!("{prefix}/sessions"), Some(&tokens.access))
        .await
        .json_with(200);
    sessions
        .pointer("/0/ip")
        .cloned()
        .expect("one session, with an ip field")
}

#[tokio::test]
async fn nests_under_any_prefix_with_the_apps_state() {
    let kit = TestKit::new();
    let state = AppState {
        auth: AuthState::new(kit.auth.clone()),
        greeting: "hi",
    };
    let app = Router::new()
        .nest("/v1/accounts", adapter_axum::routes())
        .route("/greet", get(greet))
        .with_state(state);
    let ctx = Ctx::new(kit, serve(app, true).await);
    let res = ctx
        .request(Method::POST, "/v1/accounts/register")
        .json(&json!({ "phone": "+15551230001" }))
        .send()
        .await;
    let user_id = res.json_with(201)["user_id"].clone();
    let challenge = ctx
        .request(Method::POST, "/v1/accounts/login")
        .json(&json!({ "phone": "+15551230001" }))
        .send()
        .await
        .json_with(202)["challenge_id"]
        .clone();
    let tokens = ctx
        .request(Method::POST, "/v1/accounts/verify_sms")
        .json(&json!({ "challenge_id": challenge, "code": ctx.code_for("+15551230001") }))
        .send()
        .await
        .tokens();
    let res = ctx
        .get("/greet", Some(&tokens.access))
        .await
        .status(200)
        .clone();
    assert_eq!(
        String::from_utf8_lossy(&res.body),
        format!("hi {}", user_id.as_str().unwrap())
    );
    ctx.get("/greet", None).await.error(401, "missing_token");
    ctx.get("/v1/accounts/nope", None)
        .await
        .error(404, "not_found");
    // Nothing is served under the default prefix.
    ctx.get("/api/auth/me", None).await.status(404);
}

#[tokio::test]
async fn forwarded_for_is_ignored_by_default() {
    let kit = TestKit::new();
    let app = Router::new()
        .nest("/auth", adapter_axum::routes())
        .with_state(AuthState::new(kit.auth.clone()));
    let ctx = Ctx::new(kit, serve(app, true).await);
    assert_eq!(
        login_ip(&ctx, "/auth", "203.0.113.7").await,
        json!("127.0.0.1")
    );
}

#[tokio::test]
async fn forwarded_for_is_believed_from_a_trusted_proxy() {
    let kit = kit_trusting(ClientIpPolicy::trusting(["127.0.0.1".parse().unwrap()]));
    let app = Router::new()
        .nest("/auth", adapter_axum::routes())
        .with_state(AuthState::new(kit.auth.clone()));
    let ctx = Ctx::new(kit, serve(app, true).await);
    assert_eq!(
        login_ip(&ctx, "/auth", "198.51.100.1, 203.0.113.7").await,
        json!("203.0.113.7")
    );
}

/// Neither proxy header moves the client IP when the peer is not a trusted proxy: not with
/// the default policy, not with a policy trusting other addresses.
#[tokio::test]
async fn proxy_headers_from_an_untrusted_peer_are_ignored() {
    let spoofed = [
        ("x-forwarded-for", "203.0.113.7"),
        ("forwarded", "for=203.0.113.7"),
    ];
    for policy in [
        ClientIpPolicy::default(),
        ClientIpPolicy::trusting(["10.0.0.0/8".parse().unwrap()]),
        ClientIpPolicy::trusting(["10.0.0.0/8".parse().unwrap()]).reading(ProxyHeader::Forwarded),
    ] {
        let kit = kit_trusting(policy);
        let app = Router::new()
            .nest("/auth", adapter_axum::routes())
            .with_state(AuthState::new(kit.auth.clone()));
        let ctx = Ctx::new(kit, serve(app, true).await);
        assert_eq!(
            login_ip_with(&ctx, "/auth", &spoofed).await,
            json!("127.0.0.1")
        );
    }
}

/// From a trusted range reading `Forwarded`: that header, over several lines, right to left;
/// `X-Forwarded-For` is not read.
#[tokio::test]
async fn forwarded_is_believed_from_a_trusted_range() {
    let kit = kit_trusting(
        ClientIpPolicy::trusting(["127.0.0.0/8".parse().unwrap()]).reading(ProxyHeader::Forwarded),
    );
    let app = Router::new()
        .nest("/auth", adapter_axum::routes())
        .with_state(AuthState::new(kit.auth.clone()));
    let ctx = Ctx::new(kit, serve(app, true).await);
    let headers = [
        ("x-forwarded-for", "198.51.100.99"),
        ("forwarded", "for=6.6.6.6"),
        (
            "forwarded",
            r#"for="[2001:db8::7]:4711";proto=https, for=127.0.0.9"#,
        ),
    ];
    assert_eq!(
        login_ip_with(&ctx, "/auth", &headers).await,
        json!("2001:db8::7")
    );
}

/// `POST {path}` with a JSON `body` over a connection from `source` (a loopback address) to
/// 127.0.0.1:`port`; the status code.
async fn post_from(source: [u8; 4], port: u16, path: &str, body: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((source, 0))).unwrap();
    let mut stream = socket
        .connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"))
}

/// On a dual-stack listener (`[::]`) IPv4 clients arrive as `::ffff:a.b.c.d`: each is still
/// its own per-IP bucket, and sessions record the IPv4 address.
#[tokio::test]
async fn ipv4_clients_on_a_dual_stack_listener_are_separate_clients() {
    let mut config = TestKit::config();
    config.sms.per_ip_per_hour = 1;
    let kit = TestKit::with_config(config);
    let app = Router::new()
        .nest("/auth", adapter_axum::routes())
        .with_state(AuthState::new(kit.auth.clone()));
    let ctx = Ctx::new(kit, serve_on("[::]:0", app, true).await);
    let port = ctx.addr().port();
    // 127.0.0.1's one SMS: a login, recorded as 127.0.0.1, not ::ffff:127.0.0.1.
    assert_eq!(login_ip_with(&ctx, "/auth", &[]).await, json!("127.0.0.1"));
    let login = |phone: &str| json!({ "phone": phone }).to_string();
    assert_eq!(
        post_from([127, 0, 0, 1], port, "/auth/login", &login("+15551230002")).await,
        429
    );
    // Another IPv4 client has a bucket of its own.
    assert_eq!(
        post_from([127, 0, 0, 2], port, "/auth/login", &login("+15551230003")).await,
        202
    );
}

#[tokio::test]
async fn without_connect_info_no_ip_is_recorded() {
    let kit = TestKit::new();
    let app = Router::new()
        .nest("/auth", adapter_axum::routes())
        .with_state(AuthState::new(kit.auth.clone()));
    let ctx = Ctx::new(kit, serve(app, false).await);
    assert_eq!(login_ip(&ctx, "/auth", "203.0.113.7").await, json!(null));
}

/// A token header that is not text was still sent: the optional guard refuses it (401) rather
/// than taking it for no header and serving an anonymous visitor, and so does the required one.
#[tokio::test]
async fn a_token_header_that_is_not_text_is_a_bad_token() {
    async fn maybe(user: Option<AuthUser>) -> String {
        user.map_or_else(|| "anonymous".to_owned(), |user| user.user_id.to_string())
    }
    let kit = TestKit::new();
    let app = Router::new()
        .route("/maybe", get(maybe))
        .route(
            "/me",
            get(|user: AuthUser| async move { user.user_id.to_string() }),
        )
        .with_state(AuthState::new(kit.auth.clone()));
    let ctx = Ctx::new(kit, serve(app, true).await);
    let anonymous = ctx.get("/maybe", None).await.status(200).clone();
    assert_eq!(String::from_utf8_lossy(&anonymous.body), "anonymous");
    for path in ["/maybe", "/me"] {
        ctx.request(Method::GET, path)
            .header_bytes("authorization", b"Bearer \xff\xfe\xfd")
            .send()
            .await
            .error(401, "invalid_token");
    }
}

/// Every route of the core's table is served: requested without a token or a body, each
/// answers with the route's own error, never the 404 of a path or method the router does not
/// know (the contract has no 405). A route added to `auth_core::http::ROUTES` and missing here
/// fails this test.
#[tokio::test]
async fn every_route_of_the_table_is_served() {
    let kit = TestKit::new();
    let app = Router::new()
        .nest("/auth", adapter_axum::routes())
        .with_state(AuthState::new(kit.auth.clone()));
    let ctx = Ctx::new(kit, serve(app, true).await);
    for &(method, path, id) in auth_core::http::ROUTES {
        let path = path.replace(&format!("{{{}}}", id.param().unwrap_or("")), "x");
        let res = ctx
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                &format!("/auth{path}"),
            )
            .send()
            .await;
        assert!(
            res.status != 404 && res.status != 405,
            "{method} {path} ({id:?}) is not served: {}",
            res.status
        );
    }
}
