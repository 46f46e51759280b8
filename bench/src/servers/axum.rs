//! The axum server: [`crate::apps::axum::router`] served by `axum::serve` on a
//! multi-threaded tokio runtime with connect info (client IPs).

use std::net::SocketAddr;

use super::{ServeArgs, prepare};

pub(super) fn run(args: ServeArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let bench = prepare(&args).await?;
        let app = crate::apps::axum::router(bench.auth, bench.raw);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await?;
        Ok(())
    })
}
