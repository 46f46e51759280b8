//! The Rocket server: [`crate::apps::rocket::mount`] on Rocket's release defaults with
//! logging off.

use anyhow::anyhow;

use super::{ServeArgs, prepare};

pub(super) fn run(args: ServeArgs) -> anyhow::Result<()> {
    rocket::execute(async move {
        let bench = prepare(&args).await?;
        let figment = rocket::figment::Figment::from(rocket::Config::release_default())
            .merge(("address", "127.0.0.1"))
            .merge(("port", args.port))
            .merge(("log_level", "off"))
            .merge(("cli_colors", false));
        let launched = crate::apps::rocket::mount(rocket::custom(figment), bench.auth, bench.raw)
            .launch()
            .await;
        match launched {
            Ok(_) => Ok(()),
            // `kind()` marks the error handled (Rocket panics on dropping an unread one).
            Err(e) => Err(anyhow!("rocket: {}", e.kind())),
        }
    })
}
