//! The Rocket app: [`mount`] (the raw decode as a request guard, Rocket's idiom).

use adapter_rocket::AuthUser;
use auth_core::Auth;
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Build, Rocket};

use crate::raw::RawDecoder;

#[rocket::get("/plain")]
fn plain() -> &'static str {
    "ok"
}

/// The user id of a valid token, by the hand-written decode.
struct RawUser(String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for RawUser {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let user = req
            .rocket()
            .state::<RawDecoder>()
            .and_then(|raw| raw.user_of(req.headers().get_one("Authorization")));
        match user {
            Some(user) => Outcome::Success(Self(user)),
            None => Outcome::Error((Status::Unauthorized, ())),
        }
    }
}

#[rocket::get("/raw")]
fn raw(user: RawUser) -> String {
    user.0
}

#[rocket::get("/guarded")]
fn guarded(user: AuthUser) -> String {
    user.user_id.to_string()
}

/// `rocket` with `auth` and `raw_decoder` managed, `adapter_rocket::routes()` under
/// `/api/auth`, its catchers at `/` and the three route variants under `/bench`.
pub(crate) fn mount(rocket: Rocket<Build>, auth: Auth, raw_decoder: RawDecoder) -> Rocket<Build> {
    rocket
        .manage(auth)
        .manage(raw_decoder)
        .mount("/api/auth", adapter_rocket::routes())
        .mount("/bench", rocket::routes![plain, raw, guarded])
        .register("/", adapter_rocket::catchers())
}
