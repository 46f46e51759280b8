//! `redis-outage`: the example server on its own Redis under the load of
//! [`store_outage`](super::store_outage) (guarded requests, refreshes and SMS logins from
//! concurrent clients at a fixed rate); Redis is SIGKILLed and restarted on the same port,
//! then SIGSTOPped and SIGCONTinued, each under the load. Both faults are outages: the
//! promises are those of [`store_outage`](super::store_outage), with the hang bound for every
//! request.

use std::time::Instant;

use anyhow::{Context as _, Result};
use nix::sys::signal::Signal;

use crate::Env;
use crate::procs::Redis;
use crate::report::Report;
use crate::scenarios::store_outage::{Fault, LoadArgs, Run};

/// Options of `redis-outage`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(flatten)]
    load: LoadArgs,
    /// Seconds Redis stays dead after SIGKILL.
    #[arg(long, default_value_t = 4.0)]
    kill_secs: f64,
    /// Seconds Redis stays stopped (SIGSTOP) before SIGCONT.
    #[arg(long, default_value_t = 5.0)]
    stop_secs: f64,
}

/// Runs the scenario.
pub(crate) async fn run(env: &Env, args: &Args) -> Result<Report> {
    let report = Report::new("redis-outage");
    let mut redis = Redis::start(&env.common.redis_server, &env.path().join("redis"), true)
        .await
        .context("starting redis-server")?;
    let spec = env.server_spec("server", Some(redis.url()))?;
    let run = Run::start(env, spec, &args.load).await?;

    // SIGKILL, then a new redis-server on the same port and files.
    let began = Instant::now();
    redis.kill9().await?;
    let down = Instant::now();
    run.pause(args.kill_secs).await;
    let back = Instant::now();
    let up = redis.spawn().await.context("restarting redis-server")?;
    let killed = Fault::outage(env, "kill", began, down, back, up);
    run.after().await;
    // SIGSTOP: a Redis that hangs, then SIGCONT.
    let began = Instant::now();
    redis.signal(Signal::SIGSTOP)?;
    run.pause(args.stop_secs).await;
    let back = Instant::now();
    redis.signal(Signal::SIGCONT)?;
    let stopped = Fault::outage(env, "stop", began, began, back, back);
    run.after().await;
    run.finish(env, report, "Redis", &[killed, stopped]).await
}
