//! # store-postgres
//!
//! A store for `auth-core` on PostgreSQL 11 or later (a [`Store`] and a
//! [`OneTimeTokenStore`](auth_core::store::OneTimeTokenStore)): users, SMS challenges,
//! emailed tokens, sessions, rate-limit counters and lockout counts in one schema, shared by
//! every app instance that points at the same database and schema, plus a session-event bus
//! over `LISTEN/NOTIFY` ([`PgStore::session_events`]) for the session cache.
//!
//! ```no_run
//! use auth_core::{async_trait, Auth, AuthConfig, SigningSecret, SmsError, SmsMessage, SmsSender};
//! use store_postgres::{PgStore, PgStoreConfig};
//!
//! struct MySms; // your provider (Twilio, Vonage, …)
//!
//! #[async_trait]
//! impl SmsSender for MySms {
//!     async fn send(&self, message: &SmsMessage) -> Result<(), SmsError> {
//!         let _ = message; // deliver message.text to message.to
//!         Ok(())
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // DATABASE_URL (e.g. postgres://app:secret@db:5432/myapp); tables in schema `auth`,
//!     // created and migrated here.
//!     let store = PgStore::connect(PgStoreConfig::from_env()).await?;
//!
//!     // Every instance also shares the signing secret, so any of them accepts any token.
//!     let secret = SigningSecret::new(std::env::var("AUTH_SECRET")?.into_bytes())?;
//!     let auth = Auth::builder(AuthConfig::new(secret))
//!         .store(store.clone())
//!         .one_time_tokens(store) // with a mail sender
//!         .sms(MySms)
//!         .build()?;
//!     let _ = auth; // hand it to an adapter (adapter-axum, adapter-actix, adapter-rocket)
//!     Ok(())
//! }
//! ```
//!
//! ## When to pick it
//!
//! Pick `store-postgres` when several app processes (replicas, hosts, a rolling deploy) must
//! see the same accounts, sessions and rate limits and the app already runs PostgreSQL: the
//! accounts then live in a durable, backed-up, transactional database next to the app's own
//! data. `store-redis` does the same on Redis; `store-sqlite` is simpler for one machine.
//!
//! ## Driver and pool
//!
//! [`tokio-postgres`](tokio_postgres) with [`deadpool-postgres`](deadpool_postgres), rather
//! than `sqlx`: the store has a dozen fixed statements, which need no query builder or
//! compile-time checking (sqlx's checked queries need a live database or committed offline
//! data at build time); tokio-postgres speaks the binary protocol with a per-connection
//! statement cache (each statement is parsed and planned once per connection), and gives
//! `LISTEN/NOTIFY` through the connection's own message stream; deadpool adds a small pool
//! with wait, connect and recycle timeouts and nothing else. Both are maintained, pure Rust,
//! and bring few dependencies. TLS is not built in (plain TCP or a Unix socket).
//!
//! ## What it stores
//!
//! In the configured schema ([`PgStoreConfig::schema`], default `auth`):
//!
//! | table        | one row per                     | key / indexes                                      |
//! |--------------|---------------------------------|----------------------------------------------------|
//! | `users`      | account                         | `id`; unique `phone`, `email`, `username`          |
//! | `challenges` | SMS code challenge              | `id`; `expires_at`                                 |
//! | `email_tokens` | emailed one-time token        | `hash` (keyed hash of the token); `expires_at`     |
//! | `sessions`   | login on one device             | `id`; live sessions by `user_id`; `expires_at`     |
//! | `counters`   | rate-limit window (per key)     | `key`; `resets_at`                                 |
//! | `failures`   | consecutive-failure count       | `key`; `expires_at`                                |
//! | `schema_migrations` | applied schema version   | `version`                                          |
//!
//! Times are `bigint` Unix nanoseconds (exact round trip; `timestamptz` keeps only
//! microseconds), ids `uuid`, IP addresses `inet`, hashes `bytea`, roles and profile JSON
//! text (read back byte for byte). Secrets are never stored: only keyed hashes of SMS codes,
//! emailed tokens and refresh tokens, and argon2id hashes of passwords.
//!
//! **Migrations** are embedded and forward-only: [`PgStore::connect`] creates the schema if
//! needed and applies, in one transaction under an advisory lock, every version the schema
//! lacks (instances starting together do not race). A schema written by a newer version of
//! this crate is refused. The grants an app role needs: `CONNECT` on the database, and either
//! `CREATE` on it (to create the schema) or ownership of an existing schema.
//!
//! **Housekeeping.** Expired challenges, emailed tokens, sessions, counters and failure
//! counts stay until [`Auth::purge_expired`](auth_core::Auth::purge_expired) (or each store
//! trait's purge) deletes them: call it e.g. hourly, from one instance. Validity never
//! depends on the purge: the store compares with the `now` the core passes in.
//!
//! ## Atomicity
//!
//! Every compare-and-set of the store contract is **one SQL statement** under PostgreSQL's
//! default `READ COMMITTED` isolation, never a read followed by a write: a conditional
//! `UPDATE … WHERE` (checked through its row count, or `RETURNING`) for rotating a refresh
//! token, revoking sessions, claiming a challenge attempt, consuming a challenge or an
//! emailed token and recording a login; an `INSERT … ON CONFLICT … DO UPDATE` upsert for
//! rate-limit hits and failure counts. Concurrent statements on one row queue on its row
//! lock, and each re-checks its `WHERE` against the row as the previous one left it, so of
//! many concurrent refreshes of one token exactly one rotates, across processes too. Unique
//! phone, email and username are `UNIQUE` constraints: a violation (SQLSTATE 23505) is
//! [`StoreError::Conflict`] with the field its constraint
//! names. The per-request session check
//! ([`session_with_owner`](auth_core::store::SessionStore::session_with_owner)) is one
//! statement joining the session to its user.
//!
//! ## Running several app instances
//!
//! * Point every instance at the same database and schema, with the same `AuthConfig`
//!   (above all the signing secret). Different apps, or staging and production in one
//!   database, use different schemas.
//! * Create one [`PgStore`] per process and share it (it is `Clone`): its pool opens up to
//!   [`PgStoreConfig::pool_size`] connections on demand (default 10). Mind the server's
//!   `max_connections` across instances (plus one listening connection each with the
//!   session cache).
//! * With the session cache, build each `Auth` with
//!   `.session_cache(store.session_events(), …)`: a logout on one instance reaches every
//!   other's cache through `NOTIFY` (see [`PgSessionEvents`]).
//! * Behind PgBouncer, use session pooling: the store sets `search_path` and
//!   `statement_timeout` per connection, and `LISTEN` needs a session of its own.
//!
//! ## Failures
//!
//! Every failure is [`StoreError::Unavailable`], which
//! the core answers with `store_unavailable` (HTTP 503); nothing panics and nothing reports
//! success for a write that did not happen. That covers a refused or lost connection, a
//! server that stops answering (the [connect](PgStoreConfig::connect_timeout),
//! [pool wait](PgStoreConfig::pool_wait_timeout) and
//! [statement](PgStoreConfig::statement_timeout) timeouts bound every call: about 9 s at
//! most by default), a statement the server cancelled, and corrupt data (the message names
//! the table and column). While the server is down calls fail promptly; once it is back the
//! same store opens new connections on the next calls (a connection the server closed is
//! dropped, never reused). [`PgStore::connect`] fails when the database is unreachable at
//! startup; [`PgStore::connect_lazy`] lets the app start anyway.

/// Runs `$body`, an expression over the pooled connection `$c`, bounded by the statement
/// timeout, and turns its outcome into a `Result<_, StoreError>` (see `PgStore::settle`).
macro_rules! on_conn {
    ($store:expr, |$c:ident| $body:expr) => {{
        let store = &$store;
        let $c = store.client().await?;
        let outcome = ::tokio::time::timeout(store.statement_timeout(), $body).await;
        store.settle($c, outcome)
    }};
}

mod challenges;
mod codec;
mod config;
mod counters;
mod email_tokens;
mod error;
mod events;
mod purge;
mod schema;
mod sessions;
mod store;
mod traits;
mod users;

pub use auth_core::{Store, StoreError};
pub use config::PgStoreConfig;
pub use events::{MAX_BACKOFF, MIN_BACKOFF, PING_EVERY, PgSessionEvents};
pub use store::PgStore;
