//! TODO

use anyhow::Result;

use crate::Env;
use crate::report::Report;

/// Options.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {}

/// Runs the scenario.
pub(crate) async fn run(_env: &Env, _args: &Args) -> Result<Vec<Report>> {
    anyhow::bail!("not yet")
}
