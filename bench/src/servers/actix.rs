//! The actix-web server: `adapter_actix::configure` under `/api/auth`, the three route
//! variants, `HttpServer` with its default worker count, inside an actix `System` (where the
//! store is opened too, as in an `#[actix_web::main]` app).

use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use adapter_actix::AuthUser;

use super::{ServeArgs, prepare};
use crate::raw::RawDecoder;

async fn plain() -> &'static str {
    "ok"
}

async fn raw(req: HttpRequest, raw: web::Data<RawDecoder>) -> HttpResponse {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match raw.user_of(authorization) {
        Some(user) => HttpResponse::Ok().body(user),
        None => HttpResponse::Unauthorized().finish(),
    }
}

async fn guarded(user: AuthUser) -> String {
    user.user_id.to_string()
}

pub(super) fn run(args: ServeArgs) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let bench = prepare(&args).await?;
        let auth = web::Data::new(bench.auth);
        let decoder = web::Data::new(bench.raw);
        HttpServer::new(move || {
            App::new()
                .app_data(auth.clone())
                .app_data(decoder.clone())
                .service(web::scope("/api/auth").configure(adapter_actix::configure))
                .route("/bench/plain", web::get().to(plain))
                .route("/bench/raw", web::get().to(raw))
                .route("/bench/guarded", web::get().to(guarded))
        })
        .shutdown_timeout(1)
        .bind(("127.0.0.1", args.port))?
        .run()
        .await?;
        Ok(())
    })
}
