//! # store-redis
//!
//! A store for `auth-core` on Redis 6 or later (a [`Store`](auth_core::Store) and a
//! [`OneTimeTokenStore`](auth_core::store::OneTimeTokenStore)): users, SMS challenges, emailed
//! tokens, sessions, rate-limit counters and lockout counts, shared by every app instance that points at
//! the same Redis and key prefix.
//!
//! ```no_run
//! use auth_core::{async_trait, Auth, AuthConfig, SigningSecret, SmsError, SmsMessage, SmsSender};
//! use store_redis::{RedisStore, RedisStoreConfig};
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
//!     // REDIS_URL, or redis://127.0.0.1:6379; every instance of the app uses the same prefix.
//!     let config = RedisStoreConfig::from_env().prefix("myapp:auth:");
//!     let store = RedisStore::connect(config).await?;
//!
//!     // Every instance also shares the signing secret, so any of them accepts any token.
//!     let secret = SigningSecret::new(std::env::var("AUTH_SECRET")?.into_bytes())?;
//!     let auth = Auth::builder(AuthConfig::new(secret))
//!         .store(store)
//!         .sms(MySms)
//!         .build()?;
//!     let _ = auth; // hand it to an adapter (adapter-axum, adapter-actix, adapter-rocket)
//!     Ok(())
//! }
//! ```
//!
//! ## When to pick it
//!
//! Pick `store-redis` when several app processes (replicas behind a load balancer, several
//! hosts, a rolling deploy) must see the same sessions and the same rate limits: a refresh
//! token rotated on one instance is stale on all of them, a lockout counted on one holds on
//! all, and no sticky sessions are needed. Everything that expires is reclaimed by Redis
//! itself through TTLs, so there is no cleanup job to run.
//!
//! For a single process, `store-sqlite` is simpler (one file, no server). Keep in mind that
//! Redis is the system of record for **accounts** here, not a cache: run it with persistence
//! (`appendonly yes`, and/or RDB snapshots) and back it up; a Redis that restarts empty has
//! forgotten every user and logged everyone out. Do not let an eviction policy other than
//! `noeviction` (or `volatile-*`, which only evicts keys with a TTL) delete users when memory
//! runs short.
//!
//! ## What it stores
//!
//! Every key starts with the configured prefix (default `auth:`, shown as `P`):
//!
//! | key | type | holds | expires |
//! |-----|------|-------|---------|
//! | `P` `user:{id}` | hash | one field per [`User`](auth_core::User) field; `roles` and `profile` as JSON | never |
//! | `P` `phone:{e164}` | string | the user id owning the phone | never |
//! | `P` `email:{email}` | string | the user id owning the email | never |
//! | `P` `username:{name}` | string | the user id owning the username | never |
//! | `P` `challenge:{id}` | hash | one field per SMS challenge field (the code only as its keyed hash) | `expires_at` + margin |
//! | `P` `email-token:{hash}` | hash | an emailed one-time token (activation, reset, email change), keyed by its keyed hash | `expires_at` + margin |
//! | `P` `session:{id}` | string | the session as a JSON object of strings | `expires_at` + margin |
//! | `P` `user-sessions:{user id}` | set | ids of the user's active sessions | with its last session |
//! | `P` `counter:{key}` | hash | `count`, `resets_at` of a fixed-window rate limit | `resets_at` + margin |
//! | `P` `failures:{key}` | hash | `count`, `last_at`, `expires_at` of a consecutive-failure count (lockouts) | `expires_at` + margin |
//!
//! Versions before failure counts expired kept each as a plain string without a TTL. The
//! core now counts under other keys, so those strings are never read again; a string at a key
//! still in use reads as no count and the next failure replaces it, and
//! [`purge_expired_counters`](auth_core::store::CounterStore::purge_expired_counters) (run by
//! [`Auth::purge_expired`](auth_core::Auth::purge_expired)) deletes them (run it once after
//! upgrading to reclaim them).
//!
//! Timestamps are stored as `<unix seconds>.<nanoseconds>` (e.g. `1893456000.123456789`), so
//! every instant comes back exactly. Absent optional values are absent fields. Sessions are
//! JSON rather than a hash because a browser user agent is longer than Redis'
//! `hash-max-listpack-value` (64 bytes), which would make each session hash a full hash table
//! at about twice the memory.
//!
//! **Expiry.** Records are kept until their own expiry plus a margin
//! ([`RedisStoreConfig::ttl_margin`], default 1 hour; counted from the write when the expiry
//! already passed on Redis' clock), so a late replay still gets a precise answer. The store
//! never decides validity from Redis' clock: it compares with the `now` the core passes in
//! (a counter whose window ended at the caller's `now` restarts even if its key still
//! exists, and a failure count past its `expires_at` reads as none). The purges
//! ([`Auth::purge_expired`](auth_core::Auth::purge_expired), or each store trait's own) are
//! therefore optional; each SCANs the prefix for its records expired at a given `now`.
//!
//! **Atomicity.** Every operation that checks before it writes is a single Lua script
//! (`src/lua/`), run with `EVALSHA` and loaded again automatically after a Redis restart:
//! creating a user together with its unique phone/email/username keys, moving those keys
//! in `update_user`, `record_login`, claiming a challenge attempt, consuming a challenge or
//! an emailed token,
//! rotating a refresh token, revoking one session or all of a user's sessions but one, and
//! counting a rate-limit hit or a failure. Redis runs one script at a time, so two instances
//! registering the same phone at the same moment get exactly one success and one
//! `Conflict(Phone)`; of many concurrent refreshes of one token exactly one rotates. Lookups
//! by id are one `HGETALL`; by phone, email or username one script that follows the index key
//! to the user hash, so each is one round trip. The per-request session check
//! (`session_with_owner`) is one round trip too: a pipeline of `GET` (the session) and `HMGET`
//! (the user the access token names), without Lua, which costs Redis several times less; when
//! the token names no user (opaque tokens) or another than the session's, a script follows
//! the session to its own user instead.
//!
//! ## Space per session
//!
//! Measured on Redis 7.0.15 with 1000 sessions (user agent of a desktop Chrome, 111 bytes;
//! IPv4; a 10-byte prefix), summing `MEMORY USAGE <key> SAMPLES 0` over every
//! `P` `session:*` key and every `P` `user-sessions:*` set (the test
//! `cargo test -p store-redis --test memory_usage -- --nocapture` prints these):
//!
//! | | session key | user set, per session | total per session |
//! |-|-|-|-|
//! | 1000 users with 1 session each | 616 B | 264 B | **about 880 B** |
//! | 100 users with 10 sessions each | 616 B | 107 B | **about 720 B** |
//!
//! So a million active sessions take roughly 0.7–0.9 GB. A user with phone, email and an
//! argon2 password hash takes about 1 KB for its hash plus about 130 B per index key.
//! Revoked sessions leave their user's set at once and their key at `expires_at` + margin.
//!
//! ## Running several app instances
//!
//! * Point every instance at the same Redis (`REDIS_URL`) with the same
//!   [prefix](RedisStoreConfig::prefix), and give them the same `AuthConfig` (above all the
//!   signing secret): then any instance accepts tokens issued by any other. Different apps, or
//!   staging and production on one Redis, use different prefixes.
//! * Create one [`RedisStore`] per process and share it (it is `Clone`; an `Auth` holds it
//!   in an `Arc`). It keeps one multiplexed connection that reconnects by itself, plus one
//!   per single-threaded runtime that calls it (each actix-web worker), so a worker's
//!   commands never wait for another thread; at most 64 such connections per store.
//! * Keep the instances' clocks NTP-synchronized: the core takes `now` from each instance.
//! * Use a standalone Redis, a primary with replicas (point the URL at the primary), or a
//!   Redis Cluster (below). Without [`wait_for_replicas`](RedisStoreConfig::wait_for_replicas),
//!   replication is asynchronous, so a failover can lose the last writes (e.g. a rotation);
//!   the core then sees an older refresh generation and treats the newer token as unknown.
//! * Give every instance the same session event bus ([`RedisStore::session_events`], Redis
//!   pub/sub) when it keeps a session cache (`AuthBuilder::session_cache`): a logout or
//!   revocation on one instance then reaches the caches of all the others at once.
//! * With Redis ACLs, the app's user needs `~P*` keys and the commands `GET SET DEL UNLINK INCR
//!   HGETALL SCAN PING EVALSHA SCRIPT|LOAD` (with session events `PUBLISH SUBSCRIBE CLIENT|SETNAME` and the
//!   channel `&Psession-events`; with replica acknowledgements `WAIT`; on a cluster
//!   `CLUSTER|SLOTS`, keys `~{P}*`) plus what the scripts call (`+@read +@write
//!   +@scripting` covers it).
//!
//! ## Redis Cluster
//!
//! [`RedisStoreConfig::cluster`] (or `REDIS_CLUSTER_URLS=redis://h1:p1,redis://h2:p2,…` with
//! [`RedisStoreConfig::from_env`]) talks to a Redis Cluster through the `redis` crate's
//! cluster client, which routes each command to the master of its slot, follows `MOVED` and
//! `ASK` redirects and finds the new master after a failover by itself (retrying with a
//! backoff within the [operation timeout](RedisStoreConfig::operation_timeout); calls that
//! run out of it meanwhile fail with `StoreError::Unavailable`, HTTP 503).
//!
//! **Layout: one slot per store.** The scripts touch keys they derive from stored ids (a user
//! and its phone, email and username keys; a session and its user's set), so no per-record
//! hash tag keeps every script in one slot. Instead every key of a store carries the prefix as
//! its hash tag, `{auth:}user:…`, `{auth:}session:…`: all of them live in one slot, every
//! script stays single-slot and exactly as atomic as on one server (unique phone, email and
//! username included), and `SCAN` (purges, [`RedisStore::clear_prefix`]) goes to that slot's
//! master. The trade-off: **one store's whole load and memory are on one master** (and its
//! replicas); the cluster gives it failover, and its other slots serve other prefixes. To
//! spread one app over several masters, shard it over several prefixes. The prefix must not
//! be empty nor start with `}`. Keys of a single server are unchanged (no braces), so moving
//! data from a single server to a cluster means copying it to the new key names.
//!
//! **Acknowledged writes survive a failover.** In cluster mode each write is followed by
//! `WAIT 1 1000` on the same connection ([`RedisStoreConfig::wait_for_replicas`]): it is
//! acknowledged only once a replica has it, so the replica promoted when its master dies has
//! every acknowledged write. It costs one more round trip per write plus the replica's
//! acknowledgement (reads are unchanged), and a master left without any replica refuses
//! writes (503) until one is back: run two replicas per master to keep writing through a
//! failover, or pass `wait_for_replicas(0, …)` to prefer availability to durability. A write
//! whose reply was lost with a dying master may be retried by the client on the new master;
//! a compare-and-set (a rotation, a consumed code) then answers as if someone else had won.
//!
//! Tested against a local six-node cluster (`scripts/redis-cluster.sh`): the conformance
//! suite and the model test, a slot moved to another master by hand, and a master killed
//! (`SIGKILL`) under load on a nine-node cluster: a few calls fail during the failover, none
//! after, and every acknowledged write is there.
//!
//! ## Failures
//!
//! Every failure is [`StoreError::Unavailable`](auth_core::StoreError::Unavailable), which the
//! core answers with `store_unavailable` (HTTP 503); nothing panics and nothing reports success
//! for a write that did not happen. That covers a refused or lost connection, a server that
//! stops answering (the [response](RedisStoreConfig::response_timeout) and
//! [operation](RedisStoreConfig::operation_timeout) timeouts bound every call, 5 s by default)
//! and corrupt data (the message names the key and field). While Redis is down calls fail
//! promptly; once it is back, the same store instance reconnects on the next call.
//! [`RedisStore::connect`] fails when Redis is unreachable at startup;
//! [`RedisStore::connect_lazy`] lets the app start anyway.

mod codec;
mod config;
mod conn;
mod connections;
mod events;
mod keys;
mod scripts;
mod store;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

pub use config::RedisStoreConfig;
pub use events::RedisSessionEvents;
pub use store::RedisStore;
