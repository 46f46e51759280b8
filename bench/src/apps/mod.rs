//! The bench app of each framework: the auth routes under `/api/auth` and three variants of
//! one trivial `GET` route under `/bench`:
//!
//! * `plain`: unguarded;
//! * `raw`: a hand-written `jsonwebtoken::decode` of the bearer token ([`RawDecoder`](crate::raw::RawDecoder)), the floor;
//! * `guarded`: the adapter's `AuthUser`.
//!
//! Each answers 200 with a short body (`ok`, or the user id) so the three differ only in
//! what guards them.

pub(crate) mod actix;
pub(crate) mod axum;
pub(crate) mod rocket;

/// The path of a route variant, the same in every framework.
pub(crate) fn path(variant: &str) -> String {
    format!("/bench/{variant}")
}

/// The route variants, in the order the tables show them.
pub(crate) const VARIANTS: [&str; 3] = ["plain", "raw", "guarded"];
