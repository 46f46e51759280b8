//! What both test files serve: the auth routes under `/api/auth` and one handler per guard,
//! as the contract suite expects them.

use actix_web::{Responder, web};
use adapter_actix::{AuthUser, MaybeUser, RequireRole, role};
use serde_json::json;

role!(pub(crate) Admin = "admin");

async fn hello(AuthUser(user): AuthUser) -> impl Responder {
    web::Json(json!({ "user_id": user.user_id }))
}

async fn maybe(MaybeUser(user): MaybeUser) -> impl Responder {
    web::Json(json!({ "user_id": user.map(|u| u.user_id) }))
}

async fn admin(admin: RequireRole<Admin>) -> impl Responder {
    web::Json(json!({ "user_id": admin.user_id }))
}

/// Mounts the routes; the app registers `web::Data<Auth>`.
pub(crate) fn mount(cfg: &mut web::ServiceConfig) {
    cfg.service(web::scope("/api/auth").configure(adapter_actix::configure))
        .route("/api/hello", web::get().to(hello))
        .route("/api/maybe", web::get().to(maybe))
        .route("/api/admin", web::get().to(admin));
}
