//! The actix-web app: [`configure`], for `App::new().configure(...)`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use adapter_actix::AuthUser;
use auth_core::Auth;

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

/// The app's data (`auth`, `raw`), `adapter_actix::configure` under `/api/auth` and the three
/// route variants. Build the `Data` once, outside `HttpServer::new`'s factory, so every
/// worker shares them.
pub(crate) fn configure(
    auth: web::Data<Auth>,
    raw_decoder: web::Data<RawDecoder>,
) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |cfg| {
        cfg.app_data(auth.clone())
            .app_data(raw_decoder.clone())
            .service(web::scope("/api/auth").configure(adapter_actix::configure))
            .route("/bench/plain", web::get().to(plain))
            .route("/bench/raw", web::get().to(raw))
            .route("/bench/guarded", web::get().to(guarded));
    }
}
