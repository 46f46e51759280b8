//! A running example server for the smoke tests: its environment (which store), start on a
//! free port, SIGTERM and a clean exit, and what it printed.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::process::{Child, Command};

use super::ADMIN_PHONE;

const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// Which store a server runs on.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    /// The default: the SQLite file `AUTH_DB`.
    Sqlite,
    /// `REDIS_URL` with a key prefix of the test's own.
    Redis { url: String, prefix: String },
    /// `DATABASE_URL` with a schema of the test's own.
    Postgres { url: String, schema: String },
}

impl Backend {
    /// Redis at `REDIS_URL` under a fresh key prefix; `None` (said on stderr, so the test
    /// passes) when `REDIS_URL` is unset, as outside `scripts/test.sh`.
    pub(crate) fn redis(test: &str) -> Option<Self> {
        let url = env_var("REDIS_URL", test)?;
        let prefix = format!("{test}-{}:", auth_core::UserId::new_random());
        Some(Self::Redis { url, prefix })
    }

    /// PostgreSQL at `DATABASE_URL` in a fresh schema; `None` (said on stderr) when
    /// `DATABASE_URL` is unset.
    pub(crate) fn postgres(test: &str) -> Option<Self> {
        let url = env_var("DATABASE_URL", test)?;
        let id = auth_core::UserId::new_random().to_string().replace('-', "");
        let schema = format!("{test}_{id}");
        Some(Self::Postgres { url, schema })
    }

    /// Deletes what a test left: its Redis keys or its schema (a failure is reported, not
    /// fatal: the test's own outcome is what counts).
    pub(crate) async fn clean_up(&self) {
        let outcome = match self {
            Self::Sqlite => Ok(()),
            Self::Redis { url, prefix } => {
                let config =
                    store_redis::RedisStoreConfig::new(url.as_str()).prefix(prefix.as_str());
                let cleared = async {
                    store_redis::RedisStore::connect(config)
                        .await?
                        .clear_prefix()
                        .await
                };
                cleared.await.map(drop).map_err(anyhow::Error::from)
            }
            Self::Postgres { url, schema } => {
                psql(url, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .await
                    .map(drop)
            }
        };
        if let Err(e) = outcome {
            eprintln!("could not delete what the test left in its store: {e:#}");
        }
    }
}

/// A variable a backend needs, or `None` with a note that the test is skipped.
fn env_var(name: &str, test: &str) -> Option<String> {
    let value = std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if value.is_none() {
        eprintln!("{name} is unset: skipping {test} on that store (scripts/test.sh sets it)");
    }
    value
}

/// Runs one command with `redis-cli`.
pub(crate) async fn redis_cli(url: &str, args: &[&str]) -> Result<String> {
    let output = Command::new("redis-cli")
        .arg("-u")
        .arg(url)
        .args(args)
        .output()
        .await
        .context("running redis-cli")?;
    ensure!(output.status.success(), "redis-cli {args:?}: {output:?}");
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Runs one statement with `psql`.
pub(crate) async fn psql(url: &str, sql: &str) -> Result<String> {
    let output = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql])
        .output()
        .await
        .context("running psql")?;
    ensure!(output.status.success(), "psql {sql:?}: {output:?}");
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The environment a server is started with.
pub(crate) struct ServerEnv {
    pub(crate) db: PathBuf,
    pub(crate) sms_outbox: PathBuf,
    pub(crate) mail_outbox: PathBuf,
    pub(crate) backend: Backend,
    /// `AUTH_SESSION_CACHE_MS`, when the test sets one.
    pub(crate) session_cache_ms: Option<u64>,
}

impl ServerEnv {
    pub(crate) fn new(dir: &Path, backend: Backend) -> Self {
        Self {
            db: dir.join("auth.db"),
            sms_outbox: dir.join("sms.jsonl"),
            mail_outbox: dir.join("mail.jsonl"),
            backend,
            session_cache_ms: None,
        }
    }
}

/// What a server printed.
#[derive(Debug, Default)]
pub(crate) struct Output {
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// A running example server.
pub(crate) struct Server {
    child: Child,
    pub(crate) base: String,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `binary` on `127.0.0.1:0` and waits for its "listening on" line.
    pub(crate) async fn start(binary: &Path, env: &ServerEnv) -> Result<Self> {
        let mut command = Command::new(binary);
        command
            .env("AUTH_DB", &env.db)
            .env("AUTH_BIND", "127.0.0.1:0")
            .env("AUTH_SMS_OUTBOX", &env.sms_outbox)
            .env("AUTH_EMAIL_OUTBOX", &env.mail_outbox)
            .env("AUTH_ADMINS", ADMIN_PHONE)
            .env_remove("AUTH_JWT_SECRET")
            .env_remove("RUST_LOG")
            .env_remove("REDIS_URL")
            .env_remove("AUTH_REDIS_PREFIX")
            .env_remove("DATABASE_URL")
            .env_remove("AUTH_PG_SCHEMA")
            .env_remove("AUTH_SESSION_CACHE_MS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        match &env.backend {
            Backend::Sqlite => {}
            Backend::Redis { url, prefix } => {
                command
                    .env("REDIS_URL", url)
                    .env("AUTH_REDIS_PREFIX", prefix);
            }
            Backend::Postgres { url, schema } => {
                command
                    .env("DATABASE_URL", url)
                    .env("AUTH_PG_SCHEMA", schema);
            }
        }
        if let Some(ms) = env.session_cache_ms {
            command.env("AUTH_SESSION_CACHE_MS", ms.to_string());
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let stdout = collect(child.stdout.take());
        let stderr = collect(child.stderr.take());
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let log = read(&stderr);
            if let Some(addr) = log
                .split("listening on http://")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
            {
                let base = format!("http://{addr}");
                return Ok(Self {
                    child,
                    base,
                    stdout,
                    stderr,
                });
            }
            if let Some(status) = child.try_wait()? {
                bail!("the server exited with {status} before listening:\n{log}");
            }
            if Instant::now() > deadline {
                bail!("the server did not listen within {START_TIMEOUT:?}:\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends SIGTERM and waits for a clean exit (status 0); returns what the server printed.
    pub(crate) async fn stop(mut self) -> Result<Output> {
        let pid = self.child.id().context("the server already exited")?;
        let pid = nix::unistd::Pid::from_raw(i32::try_from(pid)?);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)?;
        let status = tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await;
        // Let the readers take the last lines.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let output = Output {
            stdout: read(&self.stdout),
            stderr: read(&self.stderr),
        };
        match status {
            Ok(Ok(status)) if status.success() => Ok(output),
            Ok(Ok(status)) => bail!("the server exited with {status}:\n{}", output.stderr),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => bail!(
                "the server did not stop within {STOP_TIMEOUT:?} of SIGTERM:\n{}",
                output.stderr
            ),
        }
    }
}

/// Collects a pipe's lines into a shared string, in the background.
fn collect(pipe: Option<impl AsyncRead + Unpin + Send + 'static>) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    if let Some(pipe) = pipe {
        let sink = Arc::clone(&text);
        tokio::spawn(async move {
            let mut lines = BufReader::new(pipe).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut text = sink.lock().unwrap_or_else(PoisonError::into_inner);
                text.push_str(&line);
                text.push('\n');
            }
        });
    }
    text
}

fn read(text: &Mutex<String>) -> String {
    text.lock().unwrap_or_else(PoisonError::into_inner).clone()
}
