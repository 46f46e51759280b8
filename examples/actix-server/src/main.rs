//! The example server on actix-web: `cargo run -p example-actix`.
//!
//! Serves the auth routes under `/api/auth` and three routes that show the guards:
//! `GET /api/hello` (a signed-in user is required), `GET /api/maybe` (the user is optional)
//! and `GET /api/admin` (the `admin` role is required). Settings come from the environment
//! (see `example_support::Settings`); by default it stores everything in `./auth.db` and
//! listens on `127.0.0.1:8080`.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{self, Next};
use actix_web::{App, HttpServer, Responder, web};
use adapter_actix::{AuthUser, MaybeUser, RequireRole, role};
use example_support::{ExampleApp, responses};

// The `admin` role, for `RequireRole<Admin>`.
role!(Admin = "admin");

/// A signed-in user is required (401 otherwise).
async fn hello(user: AuthUser) -> impl Responder {
    web::Json(responses::hello(user.user_id()))
}

/// The user is optional: no token is `None`; a bad token is still 401.
async fn maybe(user: MaybeUser) -> impl Responder {
    web::Json(responses::maybe(user.user_id()))
}

/// The `admin` role is required (401 without a token, 403 without the role).
async fn admin(admin: RequireRole<Admin>) -> impl Responder {
    web::Json(responses::admin(admin.user_id()))
}

/// One log line per request: method, path, status, latency.
async fn log_requests(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let (method, path) = (request.method().clone(), request.path().to_owned());
    let started = Instant::now();
    let result = next.call(request).await;
    let status = match &result {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    example_support::log_request(method.as_str(), &path, status.as_u16(), started.elapsed());
    result
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let example = ExampleApp::start().await?;
    let auth = web::Data::new(example.auth());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(auth.clone())
            .service(web::scope("/api/auth").configure(adapter_actix::configure))
            .route("/api/hello", web::get().to(hello))
            .route("/api/maybe", web::get().to(maybe))
            .route("/api/admin", web::get().to(admin))
            .wrap(middleware::from_fn(log_requests))
    })
    // Shutdown is ours (Ctrl-C or SIGTERM, below), the same in every example server.
    .disable_signals()
    .bind(example.settings().bind)?;
    for addr in server.addrs() {
        example_support::log_listening(addr);
    }
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(async move {
        example_support::shutdown_signal().await;
        // Graceful: stop accepting, let the requests in flight finish.
        handle.stop(true).await;
    });
    server.await?;
    example.stopped();
    Ok(())
}
