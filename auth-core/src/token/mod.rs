//! Tokens: short-lived access tokens — JWTs ([`access`]) or, as an option, opaque handles
//! checked against the store (`opaque`) — and opaque rotating refresh tokens bound to a
//! server-side session ([`refresh`]).

pub mod access;
pub(crate) mod opaque;
pub mod refresh;
