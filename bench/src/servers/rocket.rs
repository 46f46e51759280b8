//! The Rocket server: `adapter_rocket::routes()` under `/api/auth`, its catchers at `/`, the
//! three route variants (the raw decode as a request guard, Rocket's idiom), Rocket's release
//! defaults with logging off.

use adapter_rocket::AuthUser;
use anyhow::anyhow;
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};

use super::{ServeArgs, prepare};
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

pub(super) fn run(args: ServeArgs) -> anyhow::Result<()> {
    rocket::execute(async move {
        let bench = prepare(&args).await?;
        let figment = rocket::figment::Figment::from(rocket::Config::release_default())
            .merge(("address", "127.0.0.1"))
            .merge(("port", args.port))
            .merge(("log_level", "off"))
            .merge(("cli_colors", false));
        let launched = rocket::custom(figment)
            .manage(bench.auth)
            .manage(bench.raw)
            .mount("/api/auth", adapter_rocket::routes())
            .mount("/bench", rocket::routes![plain, raw, guarded])
            .register("/", adapter_rocket::catchers())
            .launch()
            .await;
        match launched {
            Ok(_) => Ok(()),
            // `kind()` marks the error handled (Rocket panics on dropping an unread one).
            Err(e) => Err(anyhow!("rocket: {}", e.kind())),
        }
    })
}
