//! Two instances of an example server on one shared store, each with its session cache: a
//! logout on one must be refused by the other within the cache's bound, also while the
//! other's event subscription is being killed and restored.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use reqwest::StatusCode;
use serde_json::json;

use super::http::{Http, expect, text};
use super::server::{Backend, Server, ServerEnv, psql, redis_cli};

/// The session cache bound the servers run with (`AUTH_SESSION_CACHE_MS`).
const BOUND: Duration = Duration::from_millis(1000);
/// What polling over HTTP may add to the bound.
const SLACK: Duration = Duration::from_millis(300);
/// Logins, each ended by a logout on the first instance.
const ROUNDS: u32 = 8;

/// The pair on Redis (`REDIS_URL`, a prefix of its own, deleted afterwards); without
/// `REDIS_URL` it says so and passes.
pub async fn run_redis_pair(binary: &Path) -> Result<()> {
    match Backend::redis("pair") {
        Some(backend) => pair(binary, backend).await,
        None => Ok(()),
    }
}

/// The pair on PostgreSQL (`DATABASE_URL`, a schema of its own, dropped afterwards); without
/// `DATABASE_URL` it says so and passes.
pub async fn run_postgres_pair(binary: &Path) -> Result<()> {
    match Backend::postgres("pair") {
        Some(backend) => pair(binary, backend).await,
        None => Ok(()),
    }
}

async fn pair(binary: &Path, backend: Backend) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut env = ServerEnv::new(dir.path(), backend.clone());
    env.session_cache_ms = Some(u64::try_from(BOUND.as_millis())?);
    // A first, so that it generates the signing secret B then reads from the same file.
    let a = Server::start(binary, &env).await?;
    let b = Server::start(binary, &env).await?;
    let outcome = rounds(&a.base, &b.base, &env, &backend).await;
    let (a_out, b_out) = (a.stop().await, b.stop().await);
    backend.clean_up().await;
    let timings = outcome?;
    let b_out = b_out?;
    a_out?;
    ensure!(
        !b_out.stderr.contains(" ERROR "),
        "the second instance logged errors:\n{}",
        b_out.stderr
    );
    eprintln!("refused on the other instance after (ms): {timings:?}");
    Ok(())
}

/// Each round: sign in on A, check on B twice (B caches the answer), on odd rounds kill B's
/// subscription, log out on A, and poll B until it refuses. Returns how long each refusal
/// took, in milliseconds.
async fn rounds(a: &str, b: &str, env: &ServerEnv, backend: &Backend) -> Result<Vec<u128>> {
    let (a, b) = (Http::new(a)?, Http::new(b)?);
    let mut timings = Vec::new();
    for round in 0..ROUNDS {
        let phone = format!("+1555000{:04}", 2000 + round);
        let (status, body) = a
            .post("/api/auth/register", None, json!({ "phone": phone }))
            .await?;
        expect(status, StatusCode::CREATED, &body, "register on A")?;
        let tokens = super::sms_login(&a, &env.sms_outbox, &phone, &mut Vec::new()).await?;
        let access = text(&tokens, "access_token")?;
        for _ in 0..2 {
            let (status, body) = b.get("/api/hello", Some(&access)).await?;
            expect(status, StatusCode::OK, &body, "hello on B")?;
        }
        if round % 2 == 1 {
            kill_subscriptions(backend).await?;
        }
        let (status, body) = a.post_empty("/api/auth/logout", Some(&access)).await?;
        expect(status, StatusCode::NO_CONTENT, &body, "logout on A")?;
        let start = Instant::now();
        loop {
            let (status, body) = b.get("/api/hello", Some(&access)).await?;
            if status == StatusCode::UNAUTHORIZED {
                ensure!(
                    body.get("error") == Some(&json!("token_revoked")),
                    "B refused with {body}"
                );
                break;
            }
            expect(status, StatusCode::OK, &body, "hello on B after the logout")?;
            if start.elapsed() > BOUND + SLACK {
                bail!(
                    "round {round}: B still accepts the token {:?} after the logout on A",
                    start.elapsed()
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        timings.push(start.elapsed().as_millis());
    }
    Ok(timings)
}

/// Kills the session-event subscriptions on the backend (they reconnect by themselves).
async fn kill_subscriptions(backend: &Backend) -> Result<()> {
    match backend {
        Backend::Sqlite => Ok(()),
        Backend::Redis { url, prefix } => {
            // Only this test's subscriptions: store-redis names them after the prefix.
            let name = format!("name=store-redis-events:{prefix} ");
            let list = redis_cli(url, &["CLIENT", "LIST", "TYPE", "pubsub"]).await?;
            let ours: Vec<&str> = list.lines().filter(|line| line.contains(&name)).collect();
            ensure!(
                !ours.is_empty(),
                "no subscription named {name:?} to kill:\n{list}"
            );
            for line in ours {
                let id = line
                    .split_whitespace()
                    .find_map(|field| field.strip_prefix("id="))
                    .context("CLIENT LIST without an id")?;
                redis_cli(url, &["CLIENT", "KILL", "ID", id]).await?;
            }
            Ok(())
        }
        Backend::Postgres { url, schema } => {
            let killed = psql(
                url,
                &format!(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                     WHERE query ILIKE 'LISTEN%' AND query LIKE '%{schema}%'"
                ),
            )
            .await?;
            ensure!(
                killed.trim() != "0",
                "no LISTEN connection of schema {schema} to kill"
            );
            Ok(())
        }
    }
}
