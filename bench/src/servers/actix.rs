//! The actix-web server: [`crate::apps::actix::configure`] in `HttpServer` with its
//! default worker count, inside an actix `System` (where the store is opened too, as in an
//! `#[actix_web::main]` app).

use actix_web::{App, HttpServer, web};

use super::{ServeArgs, prepare};

pub(super) fn run(args: ServeArgs) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let bench = prepare(&args).await?;
        let configure =
            crate::apps::actix::configure(web::Data::new(bench.auth), web::Data::new(bench.raw));
        HttpServer::new(move || App::new().configure(configure.clone()))
            .shutdown_timeout(1)
            .bind(("127.0.0.1", args.port))?
            .run()
            .await?;
        Ok(())
    })
}
