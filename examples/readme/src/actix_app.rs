//! The README's actix-web snippet: the auth routes and three guarded routes.

use actix_web::{App, HttpServer, Responder, web};
use adapter_actix::{AuthUser, MaybeUser, RequireRole, Role};

struct Admin;
impl Role for Admin {
    const NAME: &'static str = "admin";
}

async fn hello(AuthUser(user): AuthUser) -> impl Responder {
    web::Json(serde_json::json!({ "user_id": user.user_id }))
}

async fn maybe(MaybeUser(user): MaybeUser) -> impl Responder {
    web::Json(serde_json::json!({ "user_id": user.map(|u| u.user_id) }))
}

async fn admin(admin: RequireRole<Admin>) -> impl Responder {
    web::Json(serde_json::json!({ "user_id": admin.user_id }))
}

/// Serves the app on port 8080.
pub async fn serve(auth: auth_core::Auth) -> std::io::Result<()> {
    let auth = web::Data::new(auth);
    HttpServer::new(move || {
        App::new()
            .app_data(auth.clone())
            .service(web::scope("/api/auth").configure(adapter_actix::configure))
            .route("/api/hello", web::get().to(hello))
            .route("/api/maybe", web::get().to(maybe))
            .route("/api/admin", web::get().to(admin))
    })
    .bind(("127.0.0.1", 8080))?
    .run()
    .await
}
