//! The example server on Rocket: `cargo run -p example-rocket`.
//!
//! Serves the auth routes under `/api/auth` and three routes that show the guards:
//! `GET /api/hello` (a signed-in user is required), `GET /api/maybe` (the user is optional)
//! and `GET /api/admin` (the `admin` role is required). Settings come from the environment
//! (see `example_support::Settings`); by default it stores everything in `./auth.db` and
//! listens on `127.0.0.1:8080`.

use std::time::Instant;

use adapter_rocket::{AuthUser, MaybeUser, RequireRole, role};
use example_support::{ExampleApp, responses};
use rocket::data::Data;
use rocket::fairing::{AdHoc, Fairing, Info, Kind};
use rocket::response::content::RawJson;
use rocket::{Request, Response, get, routes};

// The `admin` role, for `RequireRole<Admin>`.
role!(Admin = "admin");

/// A signed-in user is required (401 otherwise).
#[get("/hello")]
fn hello(user: AuthUser) -> RawJson<String> {
    RawJson(responses::hello(user.user_id()).to_string())
}

/// The user is optional: no token is `None`; a bad token is still 401.
#[get("/maybe")]
fn maybe(user: MaybeUser) -> RawJson<String> {
    RawJson(responses::maybe(user.user_id()).to_string())
}

/// The `admin` role is required (401 without a token, 403 without the role).
#[get("/admin")]
fn admin(admin: RequireRole<Admin>) -> RawJson<String> {
    RawJson(responses::admin(admin.user_id()).to_string())
}

/// One log line per request: method, path, status, latency.
struct RequestLog;

/// When the request arrived, in the request-local cache.
struct Started(Instant);

#[rocket::async_trait]
impl Fairing for RequestLog {
    fn info(&self) -> Info {
        Info {
            name: "request log",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, request: &mut Request<'_>, _: &mut Data<'_>) {
        request.local_cache(|| Started(Instant::now()));
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        let Started(started) = request.local_cache(|| Started(Instant::now()));
        example_support::log_request(
            request.method().as_str(),
            request.uri().path().as_str(),
            response.status().code,
            started.elapsed(),
        );
    }
}

#[rocket::main]
async fn main() -> anyhow::Result<()> {
    let example = ExampleApp::start().await?;
    let bind = example.settings().bind;
    let config = rocket::Config::figment()
        .merge(("address", bind.ip()))
        .merge(("port", bind.port()))
        // Shutdown is ours (Ctrl-C or SIGTERM, below), the same in every example server.
        .merge(("shutdown.ctrlc", false))
        .merge(("shutdown.signals", Vec::<String>::new()));
    let rocket = rocket::custom(config)
        .manage(example.auth())
        .mount("/api/auth", adapter_rocket::routes())
        .mount("/api", routes![hello, maybe, admin])
        // At "/", so every error (the guards' 401/403 included) is the contract's JSON.
        .register("/", adapter_rocket::catchers())
        .attach(RequestLog)
        .attach(AdHoc::on_liftoff("listening", |rocket| {
            Box::pin(async move {
                let config = rocket.config();
                example_support::log_listening((config.address, config.port).into());
            })
        }))
        .ignite()
        .await
        .map_err(|e| anyhow::anyhow!("cannot start Rocket: {e}"))?;
    let shutdown = rocket.shutdown();
    rocket::tokio::spawn(async move {
        example_support::shutdown_signal().await;
        // Graceful: stop accepting, let the requests in flight finish.
        shutdown.notify();
    });
    rocket
        .launch()
        .await
        .map_err(|e| anyhow::anyhow!("Rocket stopped with an error: {e}"))?;
    example.stopped();
    Ok(())
}
