//! # example-custom-store
//!
//! How an app plugs its own persistence into `auth-core`: implement the store traits its
//! features use over what the app already has, then prove them correct with the test kit's
//! conformance suite, part by part.
//!
//! The app here already has a database ([`AppDatabase`]) with a `users` table of its own
//! ([`AccountRow`]: plain columns, as a SQL row would have them, plus an app column, `plan`,
//! that auth knows nothing about). The app signs its users in by SMS and sends no mail, so
//! [`AppStore`] implements the four traits that make a [`Store`] (`UserStore`,
//! `SessionStore`, `ChallengeStore`, `CounterStore`) on it, and not `OneTimeTokenStore`
//! (emailed tokens, needed only with a mail sender):
//!
//! * users map to and from the existing rows ([`row`]): every field of [`auth_core::User`]
//!   round-trips exactly, and the app's own columns survive auth's updates;
//! * the records only auth needs (SMS challenges, sessions, rate-limit counters, lockout
//!   counts) get tables of their own beside it;
//! * one lock over the whole database makes every method atomic, which is what the
//!   compare-and-set methods of the traits require. In SQL, each would be one conditional
//!   `UPDATE` (checking the affected row count) or one transaction, never a read followed by a
//!   write.
//!
//! `tests/conformance.rs` runs the parts of the suite for the traits it implements
//! (`cargo test -p example-custom-store`):
//!
//! ```
//! mod conformance {
//!     use std::sync::Arc;
//!     use example_custom_store::{AppDatabase, AppStore};
//!
//!     auth_core::store_conformance_tests!(
//!         Arc::new(AppStore::new(AppDatabase::new()));
//!         users, sessions, challenges, counters, housekeeping
//!     );
//! }
//! # fn main() {}
//! ```
//!
//! and an `Auth` takes it like any other store (with no mail sender, it needs no store for
//! emailed tokens):
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
