//! Tokens: short-lived JWT access tokens ([`access`]) and opaque rotating refresh tokens bound
//! to a server-side session ([`refresh`]).

pub mod access;
pub mod refresh;
