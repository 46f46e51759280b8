//! The README's axum snippet: the auth routes and three guarded routes.

use std::net::SocketAddr;

use adapter_axum::{AuthState, AuthUser, RequireRole, role};
use axum::Router;
use axum::routing::get;

role!(Admin = "admin");

async fn hello(user: AuthUser) -> String {
    format!("hello {}", user.user_id)
}

async fn maybe(user: Option<AuthUser>) -> String {
    match user {
        Some(user) => format!("hello {}", user.user_id),
        None => "hello stranger".to_owned(),
    }
}

async fn admin(admin: RequireRole<Admin>) -> String {
    format!("hello admin {}", admin.user_id)
}

/// The app: the auth API under `/api/auth` and three routes of its own.
pub fn app(auth: auth_core::Auth) -> Router {
    Router::new()
        .nest("/api/auth", adapter_axum::routes())
        .route("/api/hello", get(hello))
        .route("/api/maybe", get(maybe))
        .route("/api/admin", get(admin))
        .with_state(AuthState::new(auth))
}

/// Serves the app on port 8080.
pub async fn serve(auth: auth_core::Auth) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    // With the peer address, so sessions record the client IP:
    let app = app(auth).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).await
}
