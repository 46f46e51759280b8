//! The README's Rocket snippet: the auth routes, three guarded routes and the JSON catchers.

use adapter_rocket::{AuthUser, MaybeUser, RequireRole, Role};
use rocket::{Build, Rocket, get};

struct Admin;
impl Role for Admin {
    const NAME: &'static str = "admin";
}

#[get("/hello")]
fn hello(user: AuthUser) -> String {
    format!("hello, {}", user.user_id)
}

#[get("/maybe")]
fn maybe(user: MaybeUser) -> String {
    match user.0 {
        Some(user) => format!("hello, {}", user.user_id),
        None => "hello, stranger".to_owned(),
    }
}

#[get("/admin")]
fn admin(admin: RequireRole<Admin>) -> String {
    format!("hello, administrator {}", admin.user_id)
}

/// The app: the auth API under `/api/auth` and three routes of its own.
pub fn app(auth: auth_core::Auth) -> Rocket<Build> {
    rocket::build()
        .manage(auth)
        .mount("/api/auth", adapter_rocket::routes())
        .mount("/api", rocket::routes![hello, maybe, admin])
        // JSON errors (the guards' 401/403 included) for everything under "/"
        .register("/", adapter_rocket::catchers())
}
