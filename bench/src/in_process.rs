//! `auth-bench in-process`: the three route variants of each adapter's bench app
//! ([`crate::apps`]) called in process: a request built in memory goes through the
//! framework's whole service (routing, extractors, handler, response) with no socket, no
//! HTTP parsing and no load generator. What is left is the framework's cost of a request
//! (`plain`), plus the hand-written decode (`raw`) or plus our guard (`guarded`).
//!
//! The machine's speed drifts (a shared VM), so the variants are interleaved: each round times
//! a batch of calls of every variant back to back, the order reversed every other round, and
//! the report divides each round's figures by the same round's `raw`. One JSON line per round
//! and variant goes to stdout: `{"kind":"in_process","adapter":..,"variant":..,"round":..,
//! "ns_per_call":..}`.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use auth_core::Auth;
use clap::Args;

use crate::apps::{self, VARIANTS};
use crate::raw::RawDecoder;
use crate::setup::{self, NullSms};

/// `in-process` arguments.
#[derive(Debug, Clone, Args)]
pub(crate) struct InProcessArgs {
    /// Rounds per adapter (each times every variant once).
    #[arg(long, default_value_t = 41)]
    rounds: u32,
    /// Roughly how long one variant's batch of calls takes in a round.
    #[arg(long, default_value_t = 20)]
    batch_ms: u64,
}

/// What the three apps are built from: a stateless `Auth` on MemoryStore (the configuration of
/// the HTTP runs' `stateless` server), its raw decoder and a valid bearer header.
struct Fixture {
    auth: Auth,
    raw: RawDecoder,
    bearer: String,
}

async fn fixture() -> anyhow::Result<Fixture> {
    let phones = setup::phones(1);
    let config = setup::bench_config(true, &phones);
    let raw = RawDecoder::new(&config);
    let auth = Auth::builder(config)
        .store(auth_core::testkit::MemoryStore::new())
        .sms_arc(Arc::new(NullSms::default()))
        .build()?;
    let seeded = setup::seed(&auth, phones, 1).await?;
    Ok(Fixture {
        auth,
        raw,
        bearer: format!("Bearer {}", seeded.access_token),
    })
}

/// Runs every adapter's rounds and prints their JSON lines.
pub(crate) fn run(args: InProcessArgs) -> anyhow::Result<()> {
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    tokio.block_on(async {
        let f = fixture().await?;
        let app = apps::axum::router(f.auth.clone(), f.raw.clone());
        measure("axum", &args, |path| axum_call(&app, path, &f.bearer)).await
    })?;
    actix_web::rt::System::new().block_on(async {
        use actix_web::{App, test, web};
        let f = fixture().await?;
        let configure = apps::actix::configure(web::Data::new(f.auth), web::Data::new(f.raw));
        let app = test::init_service(App::new().configure(configure)).await;
        measure("actix", &args, |path| actix_call(&app, path, &f.bearer)).await
    })?;
    tokio.block_on(async {
        use rocket::local::asynchronous::Client;
        let f = fixture().await?;
        let figment = rocket::figment::Figment::from(rocket::Config::release_default())
            .merge(("log_level", "off"))
            .merge(("cli_colors", false));
        let client = Client::untracked(apps::rocket::mount(rocket::custom(figment), f.auth, f.raw))
            .await
            .map_err(|e| anyhow::anyhow!("rocket: {}", e.kind()))?;
        measure("rocket", &args, |path| {
            rocket_call(&client, path, &f.bearer)
        })
        .await
    })
}

/// One call of `path` in the axum app; an error unless it answers 200.
async fn axum_call(app: &axum::Router, path: String, bearer: &str) -> anyhow::Result<()> {
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use tower::ServiceExt as _;

    let request = Request::get(path.as_str())
        .header(header::AUTHORIZATION, bearer)
        .body(Body::empty())?;
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let _ = axum::body::to_bytes(response.into_body(), 1024).await?;
    ok(status == StatusCode::OK, &path, status)
}

/// One call of `path` in the actix app.
async fn actix_call<S, B>(app: &S, path: String, bearer: &str) -> anyhow::Result<()>
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    use actix_web::http::{StatusCode, header};
    use actix_web::test;

    let request = test::TestRequest::get()
        .uri(&path)
        .insert_header((header::AUTHORIZATION, bearer))
        .to_request();
    let response = test::call_service(app, request).await;
    let status = response.status();
    let _ = test::read_body(response).await;
    ok(status == StatusCode::OK, &path, status)
}

/// One call of `path` in the Rocket app.
async fn rocket_call(
    client: &rocket::local::asynchronous::Client,
    path: String,
    bearer: &str,
) -> anyhow::Result<()> {
    use rocket::http::{Header, Status};

    let response = client
        .get(path.clone())
        .header(Header::new("Authorization", bearer.to_owned()))
        .dispatch()
        .await;
    let status = response.status();
    let _ = response.into_bytes().await;
    ok(status == Status::Ok, &path, status)
}

fn ok(is_ok: bool, path: &str, status: impl std::fmt::Display) -> anyhow::Result<()> {
    if is_ok {
        Ok(())
    } else {
        bail!("{path} answered {status}, not 200")
    }
}

/// Times `calls` of `call(path)`.
async fn time_batch<F, Fut>(call: &F, path: &str, calls: u32) -> anyhow::Result<Duration>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let start = Instant::now();
    for _ in 0..calls {
        call(path.to_owned()).await?;
    }
    Ok(start.elapsed())
}

/// Warms up, sizes the batch to about `batch_ms` of the slowest variant, then runs the rounds
/// and prints one JSON line per round and variant.
async fn measure<F, Fut>(adapter: &str, args: &InProcessArgs, call: F) -> anyhow::Result<()>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut slowest = Duration::ZERO;
    for variant in VARIANTS {
        let path = apps::path(variant);
        let _ = time_batch(&call, &path, 500)
            .await
            .with_context(|| format!("{adapter} {path}"))?;
        slowest = slowest.max(time_batch(&call, &path, 500).await? / 500);
    }
    let batch_ns = u128::from(args.batch_ms) * 1_000_000;
    let calls = u32::try_from(batch_ns / slowest.as_nanos().max(1))
        .unwrap_or(u32::MAX)
        .max(10);
    eprintln!(
        "in process, {adapter}: {} rounds of {calls} calls per variant",
        args.rounds
    );
    for round in 1..=args.rounds {
        let mut order = VARIANTS;
        if round % 2 == 0 {
            order.reverse();
        }
        for variant in order {
            let elapsed = time_batch(&call, &apps::path(variant), calls).await?;
            let ns_per_call = elapsed.as_secs_f64() * 1e9 / f64::from(calls);
            println!(
                "{}",
                serde_json::json!({
                    "kind": "in_process",
                    "adapter": adapter,
                    "variant": variant,
                    "round": round,
                    "ns_per_call": ns_per_call,
                })
            );
        }
    }
    Ok(())
}
