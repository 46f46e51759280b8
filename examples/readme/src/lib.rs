//! The README's Rust snippets, compiled. Every ```` ```rust ```` block of `README.md` is in one
//! of this crate's files, line for line (indentation aside), and `tests/readme_in_sync.rs`
//! fails when one is not: a README example that no longer compiles breaks the build, and one
//! edited only in the README fails the test. Blocks that elide code with `…` are sketches and
//! are not checked.

pub mod actix_app;
pub mod axum_app;
pub mod client_ip;
pub mod config;
pub mod instances;
pub mod mount;
pub mod rocket_app;
