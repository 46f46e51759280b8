//! # example-custom-store
//!
//! How an app plugs its own persistence into `auth-core`: implement the [`Store`] trait over
//! what the app already has, then prove it correct with the test kit's conformance suite.
//!
//! The app here already has a database ([`AppDatabase`]) with a `users` table of its own
//! ([`AccountRow`]: plain columns, as a SQL row would have them, plus an app column, `plan`,
//! that auth knows nothing about). [`AppStore`] implements [`Store`] on it:
//!
//! * users map to and from the existing rows ([`row`]): every field of [`auth_core::User`]
//!   round-trips exactly, and the app's own columns survive auth's updates;
//! * the records only auth needs (SMS challenges, emailed tokens, sessions, rate-limit
//!   counters, lockout counts) get tables of their own beside it;
//! * one lock over the whole database makes every method atomic, which is what the
//!   compare-and-set methods of the trait require. In SQL, each would be one conditional
//!   `UPDATE` (checking the affected row count) or one transaction, never a read followed by a
//!   write.
//!
//! `tests/conformance.rs` runs the suite (`cargo test -p example-custom-store`):
//!
//! ```
//! mod conformance {
//!     use std::sync::Arc;
//!     use example_custom_store::{AppDatabase, AppStore};
//!
//!     auth_core::store_conformance_tests!(Arc::new(AppStore::new(AppDatabase::new())));
//! }
//! # fn main() {}
//! ```
//!
//! and an `Auth` takes it like any other store:
//!
//! ```
//! # fn main() -> Result<(), auth_core::ConfigError> {
//! use auth_core::{Auth, AuthConfig, SigningSecret};
//! use example_custom_store::{AppDatabase, AppStore};
//! # use auth_core::testkit::FakeSms as MySmsSender;
//!
//! let db = AppDatabase::new(); // the app keeps using it for its own queries
//! let auth = Auth::builder(AuthConfig::new(SigningSecret::generate()))
//!     .store(AppStore::new(db.clone()))
//!     .sms(MySmsSender::new())
//!     .build()?;
//! # let _ = auth;
//! # Ok(())
//! # }
//! ```
//!
//! [`Store`]: auth_core::Store

mod db;
pub mod row;
mod store;

pub use db::{AccountRow, AppDatabase};
pub use store::AppStore;
