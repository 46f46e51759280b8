//! The README's walkthrough over HTTP against this server's binary (see
//! `example_support::smoke`).

#[tokio::test(flavor = "multi_thread")]
async fn readme_walkthrough_on_sqlite() -> anyhow::Result<()> {
    example_support::smoke::run_sqlite(env!("CARGO_BIN_EXE_example-actix").as_ref()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn readme_walkthrough_on_redis() -> anyhow::Result<()> {
    example_support::smoke::run_redis(env!("CARGO_BIN_EXE_example-actix").as_ref()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_on_redis_share_revocations() -> anyhow::Result<()> {
    example_support::smoke::run_redis_pair(env!("CARGO_BIN_EXE_example-actix").as_ref()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn readme_walkthrough_on_postgres() -> anyhow::Result<()> {
    example_support::smoke::run_postgres(env!("CARGO_BIN_EXE_example-actix").as_ref()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_on_postgres_share_revocations() -> anyhow::Result<()> {
    example_support::smoke::run_postgres_pair(env!("CARGO_BIN_EXE_example-actix").as_ref()).await
}
