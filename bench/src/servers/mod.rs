//! `auth-bench serve`: one adapter's bench app ([`crate::apps`]: the auth routes under
//! `/api/auth` and the three variants of one trivial route under `/bench`) on loopback. Each
//! framework runs on its own runtime as an app would (tokio for axum, actix-rt for actix,
//! Rocket's for Rocket) with its default worker count (one per CPU).

mod actix;
mod axum;
mod rocket;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use auth_core::Auth;
use auth_core::session_cache::SessionCacheConfig;
use clap::{Args, ValueEnum};

use crate::raw::RawDecoder;
use crate::setup::{self, NullSms, StoreArgs, StoreKind};

/// The web framework.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Framework {
    /// adapter-axum.
    Axum,
    /// adapter-actix.
    Actix,
    /// adapter-rocket.
    Rocket,
}

/// `serve` arguments.
#[derive(Debug, Clone, Args)]
pub(crate) struct ServeArgs {
    /// The adapter to serve.
    #[arg(long, value_enum)]
    framework: Framework,
    /// Port on 127.0.0.1.
    #[arg(long, default_value_t = 38080)]
    port: u16,
    /// The store.
    #[arg(long, value_enum, default_value = "memory")]
    store: StoreKind,
    /// Stateless access tokens (no session check in `authenticate`).
    #[arg(long)]
    stateless: bool,
    /// The session cache's bound on an answer's age, in milliseconds (0: no cache), fed by
    /// the store's own session events (Redis and PostgreSQL only). The example servers'
    /// default (`AUTH_SESSION_CACHE_MS`) is 1000.
    #[arg(long, default_value_t = 0)]
    session_cache_ms: u64,
    /// Where to write the fixture (a Lua file) before listening.
    #[arg(long)]
    fixture: PathBuf,
    /// Registered test numbers (SMS logins cycle through them).
    #[arg(long, default_value_t = 1000)]
    phones: usize,
    /// Sessions whose refresh tokens go into the fixture (one rotation chain each; give at
    /// least as many as wrk connections).
    #[arg(long, default_value_t = 100)]
    chains: usize,
    #[command(flatten)]
    stores: StoreArgs,
}

/// What every server variant serves from.
#[derive(Clone)]
pub(crate) struct Bench {
    pub(crate) auth: Auth,
    pub(crate) raw: RawDecoder,
}

/// Runs the server of `args.framework` until the process is stopped.
pub(crate) fn serve(args: ServeArgs) -> anyhow::Result<()> {
    match args.framework {
        Framework::Axum => axum::run(args),
        Framework::Actix => actix::run(args),
        Framework::Rocket => rocket::run(args),
    }
}

/// Opens the store, builds the `Auth` (with the session cache on the store's session events
/// when `--session-cache-ms` is not 0, as the example servers do), seeds it and writes the
/// fixture. Runs on the server's own runtime, so a Redis or PostgreSQL connection lives where
/// the app's would.
async fn prepare(args: &ServeArgs) -> anyhow::Result<Bench> {
    let phones = setup::phones(args.phones);
    let config = setup::bench_config(args.stateless, &phones);
    let raw = RawDecoder::new(&config);
    let cache = session_cache(args)?;
    let opened = setup::open_store(args.store, &args.stores).await?;
    let mut builder = Auth::builder(config)
        .store_arc(opened.store)
        .sms_arc(Arc::new(NullSms::default()));
    if let Some(cache) = cache {
        let events = opened.events.ok_or_else(|| no_bus(args.store))?;
        builder = builder.session_cache_arc(events, cache);
    }
    let auth = builder.build()?;
    let fixture = setup::seed(&auth, phones, args.chains).await?;
    fixture.write_lua(&args.fixture)?;
    eprintln!(
        "auth-bench: {:?} on 127.0.0.1:{} (store {}, stateless {}, session cache {} ms), fixture {}",
        args.framework,
        args.port,
        args.store.name(),
        args.stateless,
        args.session_cache_ms,
        args.fixture.display()
    );
    Ok(Bench { auth, raw })
}

/// The session cache `--session-cache-ms` asks for (`None` for 0), refused before anything
/// is opened for a store without session events.
fn session_cache(args: &ServeArgs) -> anyhow::Result<Option<SessionCacheConfig>> {
    if args.session_cache_ms == 0 {
        return Ok(None);
    }
    if !matches!(args.store, StoreKind::Redis | StoreKind::Postgres) {
        return Err(no_bus(args.store));
    }
    Ok(Some(
        SessionCacheConfig::default().max_age(Duration::from_millis(args.session_cache_ms)),
    ))
}

fn no_bus(store: StoreKind) -> anyhow::Error {
    anyhow::anyhow!(
        "--session-cache-ms needs a store with session events (redis or postgres), not {}",
        store.name()
    )
}
