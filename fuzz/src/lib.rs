//! The fuzz harnesses of the workspace, one module per cargo-fuzz target in `fuzz_targets/`:
//! each module has the target's input (an [`arbitrary::Arbitrary`] type with a documented
//! byte layout, so the seed corpus can be written from typed values, see [`seeds`]) and a
//! `run` function that feeds it to the library and asserts the target's properties. A panic
//! anywhere (an assertion here or a bug in the library) is a crash for libFuzzer.
//!
//! | target | what it reaches |
//! |---|---|
//! | `access_token` | [`auth_core::Auth::authenticate`] in each access mode, on genuine tokens the target mints and on mutations of them |
//! | `refresh_token` | refresh-token parsing and classification: [`auth_core::Auth::refresh`] and `POST /refresh` on a real session rotated twice |
//! | `http_routes` | every route of [`auth_core::http::ROUTES`] through [`auth_core::Auth::handle`]: bodies, content types, headers, path parameters |
//! | `identifiers` | [`auth_core::Phone::parse`] (strict and not), [`auth_core::Email::parse`], [`auth_core::Username::parse`] |
//! | `guard_header` | [`auth_core::Auth::guard`]: the token header, schemes, HTTP Basic, under several transport settings |
//! | `sqlite_rows` | arbitrary rows written into a real SQLite file, read back through `SqliteStore`'s trait methods |
//! | `redis_records` | the store-redis record decoders (user, challenge, emailed-token hashes, session JSON, owners, failure counts, timestamps) |
#![forbid(unsafe_code)]

pub mod access_token;
pub mod common;
pub mod guard_header;
pub mod http_routes;
pub mod identifiers;
pub mod redis_records;
pub mod refresh_token;
pub mod seeds;
pub mod sqlite_rows;
