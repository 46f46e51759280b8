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
use auth_core::http::ClientIpPolicy;
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

async fn greet(State(app): State<AppState>, user: AuthUser) -> String {
    format!("{} {}", app.greeting, user.user_id)
}

async fn serve(app: Router, with_peer: bool) -> TestServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
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
    let phone = "+15551230001";
    ctx.request(Method::POST, &format!("{prefix}/register"))
        .json(&json!({ "phone": phone }))
        .send()
        .await
        .json_with(201);
    let challenge = ctx
        .request(Method::POST, &format!("{prefix}/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "phone": phone }))
        .send()
        .await
        .json_with(202)["challenge_id"]
        .clone();
    let tokens = ctx
        .request(Method::POST, &format!("{prefix}/verify_sms"))
        .header("x-forwarded-for", forwarded_for)
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
    let kit = TestKit::new();
    let policy = ClientIpPolicy {
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
    };
    let app = Router::new()
        .nest("/auth", adapter_axum::routes())
        .with_state(AuthState::new(kit.auth.clone()).with_client_ip_policy(policy));
    let ctx = Ctx::new(kit, serve(app, true).await);
    assert_eq!(
        login_ip(&ctx, "/auth", "198.51.100.1, 203.0.113.7").await,
        json!("203.0.113.7")
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
