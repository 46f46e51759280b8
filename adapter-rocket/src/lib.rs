//! # adapter-rocket
//!
//! Serves [`auth_core`]'s HTTP contract with Rocket 0.5, in Rocket's own idiom:
//!
//! * [`routes()`] to [`mount`](rocket::Rocket::mount) under the prefix of your choice, with
//!   the [`Auth`](auth_core::Auth) as managed state ([`manage`](rocket::Rocket::manage));
//! * [`catchers()`] to [`register`](rocket::Rocket::register): one default catcher that
//!   answers every error with the contract's JSON `{"error","message"}` (an unknown path
//!   under the prefix is 404 `not_found`, a failed guard its precise 401/403/503), never
//!   Rocket's HTML page. Catchers only answer for requests under the base they are
//!   registered at, so register them at a base that covers the auth prefix *and* the routes
//!   protected by the guards (`/` covers everything, including requests Rocket cannot parse);
//! * request guards: [`AuthUser`] (a required user), [`MaybeUser`] (an optional user; not
//!   `Option<AuthUser>`, see its docs) and [`RequireRole`] (a user with a [`Role`]; declare
//!   roles with [`role!`]).
//!
//! Plain functions rather than a fairing: the app keeps the say over where the routes and
//! the catchers go, as with Rocket's own `routes![]` and `catchers![]`. Every handler and
//! guard finds the [`Auth`](auth_core::Auth) in managed state; a route that uses one launches
//! only if it is managed (Rocket's sentinels check it at ignition).
//!
//! ## Tokens
//! Handlers and guards hand the request's headers to the core, which reads the token from
//! the header it is configured with (`transport.header`: `Authorization` by default) and
//! parses it.
//!
//! ## Client IP
//! The client IP given to the core (sessions list, per-IP limits) is the TCP peer
//! ([`Request::remote`](rocket::Request::remote)), which Rocket's server sets on every
//! request by default; there is nothing to set up. Where it has none (a local client
//! without [`remote`](rocket::local::asynchronous::LocalRequest::remote)) the IP is unknown:
//! sessions record none, every such request shares one "unknown" per-IP bucket, and a
//! warning says so once. An IPv4 client on a dual-stack listener (`[::]`) counts as its
//! IPv4 address.
//!
//! Rocket's `Request::client_ip()` is not used: it believes an `X-Real-IP` header from
//! anyone. Behind reverse proxies or a load balancer, trust them (addresses or CIDR ranges)
//! in the configuration's `client_ip` section
//! ([`AuthConfig::client_ip`](auth_core::AuthConfig::client_ip)), naming the header they
//! maintain (`X-Forwarded-For` by default, or RFC 7239 `Forwarded`); it is then read from
//! them only. By default both headers are ignored.
//!
//! ## Bodies
//! The handlers read the raw body themselves, up to [`auth_core::api::MAX_BODY_BYTES`]
//! (16 KiB; beyond, 413 `payload_too_large`), independently of Rocket's `limits` setting,
//! and let the core check the content type and parse the JSON.
//!
//! ## Example
//! ```
//! use adapter_rocket::{AuthUser, MaybeUser, RequireRole, role};
//! use auth_core::Auth;
//! use rocket::{Build, Rocket, get};
//!
//! // The `admin` role.
//! role!(Admin = "admin");
//!
//! /// A valid access token is required (401 otherwise).
//! #[get("/hello")]
//! fn hello(user: AuthUser) -> String {
//!     format!("hello, {}", user.user_id)
//! }
//!
//! /// Anonymous callers are welcome; a bad token is still 401.
//! #[get("/maybe")]
//! fn maybe(user: MaybeUser) -> String {
//!     match user.0 {
//!         Some(user) => format!("hello, {}", user.user_id),
//!         None => "hello, stranger".to_owned(),
//!     }
//! }
//!
//! /// Admins only (401 without a valid token, 403 without the role).
//! #[get("/admin")]
//! fn admin(admin: RequireRole<Admin>) -> String {
//!     format!("hello, administrator {}", admin.user_id())
//! }
//!
//! fn app(auth: Auth) -> Rocket<Build> {
//!     rocket::build()
//!         .manage(auth)
//!         .mount("/api/auth", adapter_rocket::routes())
//!         .mount("/api", rocket::routes![hello, maybe, admin])
//!         .register("/api", adapter_rocket::catchers())
//! }
//!
//! // In `main`: `app(auth).launch().await`. Here, a request through Rocket's local client:
//! # #[rocket::main]
//! # async fn main() {
//! use rocket::http::Status;
//! use rocket::local::asynchronous::Client;
//!
//! let auth = auth_core::testkit::TestKit::new().auth;
//! let client = Client::tracked(app(auth)).await.unwrap();
//! let res = client.get("/api/hello").dispatch().await;
//! assert_eq!(res.status(), Status::Unauthorized);
//! assert!(res.into_string().await.unwrap().contains(r#""error":"missing_token""#));
//! # }
//! ```

mod catcher;
mod guards;
mod response;
mod routes;

pub use catcher::error_response;
pub use guards::{AuthUser, MaybeUser, RequireRole, Role};
pub use response::AuthResponse;

/// The routes of the HTTP contract (every one of [`auth_core::http::ROUTES`]: `POST /register`,
/// `POST /login`, …), relative to the prefix they are mounted at. They need the
/// [`Auth`](auth_core::Auth) as managed state.
///
/// ```no_run
/// # fn app(auth: auth_core::Auth) -> rocket::Rocket<rocket::Build> {
/// rocket::build()
///     .manage(auth)
///     .mount("/api/auth", adapter_rocket::routes())
///     .register("/api/auth", adapter_rocket::catchers())
/// # }
/// ```
pub fn routes() -> Vec<rocket::Route> {
    routes::all()
}

/// The catchers that answer every error with the contract's JSON body: the precise error of
/// a failed guard of this crate, 404 `not_found` for an unknown path, and so on (see
/// [`error_response`]). Register them at a base that covers the auth routes and the routes
/// using the guards.
pub fn catchers() -> Vec<rocket::Catcher> {
    catcher::all()
}
