//! Hooks for the fuzz targets in `fuzz/` (feature `fuzzing`, off by default, hidden from the
//! docs): crate-private parsers a client reaches, made callable from outside. Not an API.

use crate::ids::SessionId;
use crate::token::refresh::RefreshToken;

/// A refresh token string as [`parse_refresh_token`] read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshParts {
    /// The session it names.
    pub session_id: SessionId,
    /// The generation it names.
    pub generation: u64,
    /// The token written back in the form the server issues (simple UUID, decimal
    /// generation, base64url secret and tag): parsing it again must give the same parts.
    pub canonical: String,
}

/// Parses a refresh token string as `/refresh` does before anything else (no tag check, no
/// store): `None` for anything malformed.
pub fn parse_refresh_token(token: &str) -> Option<RefreshParts> {
    let parsed = RefreshToken::parse(token)?;
    Some(RefreshParts {
        session_id: parsed.session_id,
        generation: parsed.generation,
        canonical: parsed.encode(),
    })
}

/// The longest string [`parse_refresh_token`] accepts.
pub const REFRESH_TOKEN_MAX_LEN: usize = RefreshToken::MAX_LEN;
