//! # adapter-actix
//!
//! Serves [`auth_core`] over [actix-web](https://actix.rs) 4: the HTTP contract (`API.md`)
//! mounted with one [`configure`] function, and the guards as extractors.
//!
//! The crate only translates. Every status, body and header is decided by
//! [`auth_core::http`]; a handler here reads the request (body capped at 16 KiB, content type,
//! `Authorization`, client IP, user agent), calls [`Auth::handle`](auth_core::Auth::handle)
//! and writes the answer.
//!
//! * [`configure`]: the routes, for `web::scope("/api/auth").configure(adapter_actix::configure)`,
//!   with a JSON 404 for every other path or method under the prefix. The [`Auth`](auth_core::Auth) is app
//!   data: `App::app_data(web::Data::new(auth))`.
//! * [`AuthUser`]: a signed-in user is required (401 otherwise).
//! * [`MaybeUser`]: the user is optional; a token that is sent must still be valid (401).
//!   Use it instead of `Option<AuthUser>`, which would hide a bad token (see [`MaybeUser`]).
//! * [`RequireRole<R>`](RequireRole): a signed-in user holding the [`Role`] `R` (403 without;
//!   declare roles with [`role!`]).
//!
//! Each guard has `user_id()`, `session_id()`, `roles()`, `principal()` and
//! `into_principal()`, as in the other adapters.
//! * [`AuthRejection`]: the guards' error, answered as the contract's JSON error.
//!
//! ## Client IP
//!
//! Sessions record the client IP and the per-IP limits count by it. actix-web's server gives
//! every request its TCP peer address ([`HttpRequest::peer_addr`](actix_web::HttpRequest::peer_addr))
//! by default; there is nothing to set up. Where it has none (a Unix socket, a
//! `TestRequest` without `peer_addr`) the IP is unknown: sessions record none, every such
//! request shares one "unknown" per-IP bucket, and a warning says so once. An IPv4 client
//! on a dual-stack listener (`[::]`) counts as its IPv4 address.
//!
//! By default `X-Forwarded-For` and `Forwarded` are ignored, since any client can write
//! them. Behind reverse proxies or a load balancer, trust them (addresses or CIDR ranges) in
//! the configuration's `client_ip` section
//! ([`AuthConfig::client_ip`](auth_core::AuthConfig::client_ip)), the same for every adapter:
//! `config.client_ip = ClientIpPolicy::trusting(["10.0.0.0/8".parse()?])`.
//!
//! ## Example
//!
//! ```no_run
//! use actix_web::{App, HttpServer, Responder, web};
//! use adapter_actix::{AuthUser, MaybeUser, RequireRole, role};
//! use auth_core::testkit::{FakeSms, MemoryStore};
//! use auth_core::{Auth, AuthConfig, SigningSecret};
//!
//! // The `admin` role, for `RequireRole<Admin>`.
//! role!(Admin = "admin");
//!
//! /// Only for signed-in users.
//! async fn hello(AuthUser(user): AuthUser) -> impl Responder {
//!     web::Json(serde_json::json!({ "user_id": user.user_id }))
//! }
//!
//! /// For everyone; signed-in users are recognized.
//! async fn maybe(MaybeUser(user): MaybeUser) -> impl Responder {
//!     web::Json(serde_json::json!({ "user_id": user.map(|u| u.user_id) }))
//! }
//!
//! /// Only for admins.
//! async fn admin(admin: RequireRole<Admin>) -> impl Responder {
//!     web::Json(serde_json::json!({ "user_id": admin.user_id() }))
//! }
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     // Bring your own Store and SmsSender; the test kit's stand in here.
//!     let secret = SigningSecret::generate();
//!     // The default `client_ip` policy: the client IP is the TCP peer, proxy headers are
//!     // ignored. Behind proxies, set `config.client_ip`.
//!     let config = AuthConfig::new(secret);
//!     let auth = Auth::builder(config)
//!         .store(MemoryStore::new())
//!         .sms(FakeSms::new())
//!         .build()
//!         .map_err(std::io::Error::other)?;
//!     let auth = web::Data::new(auth);
//!
//!     HttpServer::new(move || {
//!         App::new()
//!             .app_data(auth.clone())
//!             .service(web::scope("/api/auth").configure(adapter_actix::configure))
//!             .route("/api/hello", web::get().to(hello))
//!             .route("/api/maybe", web::get().to(maybe))
//!             .route("/api/admin", web::get().to(admin))
//!     })
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await
//! }
//! ```

mod error;
mod guards;
mod request;
mod response;
mod routes;

pub use error::AuthRejection;
pub use guards::{AuthUser, MaybeUser, RequireRole, Role};
pub use routes::configure;
