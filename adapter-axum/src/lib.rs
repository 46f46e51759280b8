//! # adapter-axum
//!
//! The HTTP contract of `auth-core` (`API.md`) for [axum](https://docs.rs/axum) 0.8, as a thin
//! translation layer: every rule lives in `auth-core`, this crate only moves requests and
//! responses between axum and [`Auth::handle`](auth_core::Auth::handle) /
//! [`Auth::guard`](auth_core::Auth::guard).
//!
//! * [`routes`]: a [`Router`](axum::Router) with every route of the contract, to
//!   [`nest`](axum::Router::nest) under your prefix. JSON 404/405/413 included.
//! * [`AuthState`]: what the routes and guards read from your state (via
//!   [`FromRef`](axum::extract::FromRef)).
//! * Guards, as extractors: [`AuthUser`] (a signed-in user is required), [`MaybeUser`] or
//!   `Option<AuthUser>` (optional: no token is `None`, a bad token is still 401),
//!   [`RequireRole<R>`](RequireRole) (403 without the role [`R::NAME`](Role::NAME); declare
//!   roles with [`role!`]). Each has `user_id()`, `session_id()`, `roles()`, `principal()`
//!   and `into_principal()`, as in the other adapters.
//!   Refusals are the contract's JSON errors ([`AuthRejection`]).
//!
//! ```
//! use std::net::SocketAddr;
//!
//! use adapter_axum::{AuthState, AuthUser, RequireRole, role};
//! use axum::Router;
//! use axum::routing::get;
//!
//! role!(Admin = "admin");
//!
//! async fn hello(user: AuthUser) -> String {
//!     format!("hello {}", user.user_id)
//! }
//!
//! async fn maybe(user: Option<AuthUser>) -> String {
//!     match user {
//!         Some(user) => format!("hello {}", user.user_id),
//!         None => "hello stranger".to_owned(),
//!     }
//! }
//!
//! async fn admin(admin: RequireRole<Admin>) -> String {
//!     format!("hello admin {}", admin.user_id)
//! }
//!
//! fn app(auth: auth_core::Auth) -> Router {
//!     Router::new()
//!         .nest("/api/auth", adapter_axum::routes())
//!         .route("/api/hello", get(hello))
//!         .route("/api/maybe", get(maybe))
//!         .route("/api/admin", get(admin))
//!         .with_state(AuthState::new(auth))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! # let auth = auth_core::testkit::TestKit::new().auth;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! // With the peer address, so sessions record the client IP.
//! let server = axum::serve(
//!     listener,
//!     app(auth).into_make_service_with_connect_info::<SocketAddr>(),
//! );
//! # let server = server.with_graceful_shutdown(async {});
//! server.await
//! # }
//! ```

//!
//! ## Client IP
//!
//! Sessions record the client IP and the per-IP limits count by it. axum gives it to the
//! routes only through [`ConnectInfo`](axum::extract::ConnectInfo): serve the app with
//! `into_make_service_with_connect_info::<SocketAddr>()` as above. Without it the IP is
//! unknown: sessions record none, every request shares one "unknown" per-IP bucket, and a
//! warning says so once. An IPv4 client on a dual-stack listener (`[::]`) counts as its
//! IPv4 address.
//!
//! By default the client IP is that TCP peer and the `X-Forwarded-For` and `Forwarded`
//! headers are ignored, since any client can write them. Behind reverse proxies or a load
//! balancer, trust them (addresses or CIDR ranges) in the configuration's `client_ip`
//! section ([`AuthConfig::client_ip`](auth_core::AuthConfig::client_ip)), the same for every
//! adapter:
//!
//! ```
//! use auth_core::http::client_ip::{ClientIpPolicy, ProxyHeader};
//!
//! # fn config(mut config: auth_core::AuthConfig) -> Result<auth_core::AuthConfig, Box<dyn std::error::Error>> {
//! // In a config file: "client_ip": {"trusted_proxies": ["10.0.0.0/8"]}
//! config.client_ip = ClientIpPolicy::trusting(["10.0.0.0/8".parse()?])
//!     .reading(ProxyHeader::XForwardedFor); // the default; or ProxyHeader::Forwarded
//! # Ok(config)
//! # }
//! ```

mod extract;
mod request;
mod response;
mod routes;
mod state;

pub use extract::{AuthUser, MaybeUser, RequireRole, Role};
pub use response::AuthRejection;
pub use routes::routes;
pub use state::AuthState;
