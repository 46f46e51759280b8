//! The processes a scenario starts and hurts: its own `redis-server` (on a free port, in a
//! temporary directory: never the shared one) and the example server. Its own PostgreSQL is
//! in [`crate::postgres`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// How long a process may take to start answering.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A free TCP port on 127.0.0.1 (bound, read and released).
pub(crate) fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("bind 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Sends `signal` to process `pid`.
pub(crate) fn signal(pid: u32, signal: Signal) -> Result<()> {
    let pid = i32::try_from(pid).context("pid out of range")?;
    kill(Pid::from_raw(pid), signal).with_context(|| format!("kill -{signal} {pid}"))
}

/// A `redis-server` of our own.
pub(crate) struct Redis {
    binary: PathBuf,
    dir: PathBuf,
    port: u16,
    persist: bool,
    child: Option<Child>,
}

impl Redis {
    /// Starts `binary` on a free port with its files in `dir`; with `persist`, an append-only
    /// file fsynced at every write (so a restart after SIGKILL has every acknowledged write).
    pub(crate) async fn start(binary: &Path, dir: &Path, persist: bool) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut redis = Self {
            binary: binary.to_owned(),
            dir: dir.to_owned(),
            port: free_port()?,
            persist,
            child: None,
        };
        redis.spawn().await?;
        Ok(redis)
    }

    /// `redis://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The running process id.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Starts the server (again) on the same port and directory and waits until it answers
    /// PING; returns when it did.
    pub(crate) async fn spawn(&mut self) -> Result<Instant> {
        let mut command = Command::new(&self.binary);
        command
            .arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1", "--save", "", "--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(self.dir.join("redis.log"));
        if self.persist {
            command.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            command.args(["--appendonly", "no"]);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", self.binary.display()))?;
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if ping(self.port, Duration::from_millis(500)).await {
                return Ok(Instant::now());
            }
            if let Some(child) = &mut self.child
                && let Some(status) = child.try_wait()?
            {
                bail!(
                    "redis-server exited at start ({status}); see {}",
                    self.dir.join("redis.log").display()
                );
            }
            if Instant::now() > deadline {
                bail!("redis-server did not answer PING on port {}", self.port);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL, and waits until the process is gone.
    pub(crate) async fn kill9(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            child.start_kill()?;
            let _status = child.wait().await?;
        }
        Ok(())
    }

    /// Sends `sig` (SIGSTOP, SIGCONT) to the running server.
    pub(crate) fn signal(&self, sig: Signal) -> Result<()> {
        match self.pid() {
            Some(pid) => signal(pid, sig),
            None => bail!("redis-server is not running"),
        }
    }
}

/// Whether a Redis on `port` answers PING within `timeout`.
pub(crate) async fn ping(port: u16, timeout: Duration) -> bool {
    let attempt = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        stream.write_all(b"PING\r\n").await.ok()?;
        let mut reply = [0_u8; 7];
        stream.read_exact(&mut reply).await.ok()?;
        Some(&reply == b"+PONG\r\n")
    };
    matches!(tokio::time::timeout(timeout, attempt).await, Ok(Some(true)))
}

/// `AUTH_PG_SCHEMA` of a server on PostgreSQL.
pub(crate) const PG_SCHEMA: &str = "auth";

/// `AUTH_SESSION_CACHE_MS` of every server started here (the examples' default, set
/// explicitly): with Redis, a guarded request may be answered from the session cache up to
/// this long after the session was last read from the store.
pub(crate) const SESSION_CACHE_MS: u64 = 1000;

/// How an example server is started.
#[derive(Clone)]
pub(crate) struct ServerSpec {
    pub(crate) binary: PathBuf,
    /// `AUTH_DB`.
    pub(crate) db: PathBuf,
    /// `REDIS_URL` (SQLite when `None`; an inherited `REDIS_URL` is removed).
    pub(crate) redis_url: Option<String>,
    /// `DATABASE_URL`, with `AUTH_PG_SCHEMA` [`PG_SCHEMA`] (PostgreSQL wins over Redis; an
    /// inherited `DATABASE_URL` is removed when `None`).
    pub(crate) database_url: Option<String>,
    pub(crate) sms_outbox: PathBuf,
    pub(crate) mail_outbox: PathBuf,
    /// Its stderr (the log) is appended here.
    pub(crate) log: PathBuf,
    /// `AUTH_JWT_SECRET`, the same across restarts.
    pub(crate) secret: String,
}

/// A running example server.
pub(crate) struct Server {
    child: Option<Child>,
    pid: u32,
    addr: SocketAddr,
}

impl Server {
    /// Starts the example server of `spec` on a free port (`AUTH_BIND=127.0.0.1:0`), trusting
    /// `X-Forwarded-For` from 127.0.0.1 (`AUTH_TRUSTED_PROXIES`), and waits for its
    /// "listening on" line.
    pub(crate) async fn start(spec: &ServerSpec) -> Result<Self> {
        let log_start = std::fs::metadata(&spec.log).map_or(0, |m| m.len());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log)
            .with_context(|| format!("cannot open {}", spec.log.display()))?;
        let mut command = Command::new(&spec.binary);
        command
            .env("AUTH_BIND", "127.0.0.1:0")
            .env("AUTH_DB", &spec.db)
            .env("AUTH_JWT_SECRET", &spec.secret)
            .env("AUTH_SMS_OUTBOX", &spec.sms_outbox)
            .env("AUTH_EMAIL_OUTBOX", &spec.mail_outbox)
            .env("AUTH_TRUSTED_PROXIES", "127.0.0.1")
            .env("AUTH_REDIS_PREFIX", "reliability:")
            .env("AUTH_SESSION_CACHE_MS", SESSION_CACHE_MS.to_string())
            .env_remove("AUTH_ADMINS")
            .env_remove("RUST_LOG");
        match &spec.redis_url {
            Some(url) => command.env("REDIS_URL", url),
            None => command.env_remove("REDIS_URL"),
        };
        // scripts/test.sh exports DATABASE_URL for the tests; these servers run on SQLite, on
        // the scenario's own Redis or on its own PostgreSQL.
        match &spec.database_url {
            Some(url) => command
                .env("DATABASE_URL", url)
                .env("AUTH_PG_SCHEMA", PG_SCHEMA),
            None => command
                .env_remove("DATABASE_URL")
                .env_remove("AUTH_PG_SCHEMA"),
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", spec.binary.display()))?;
        let pid = child.id().context("the server exited at once")?;
        let mut server = Self {
            child: Some(child),
            pid,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(addr) = listening_addr(&spec.log, log_start) {
                server.addr = addr;
                return Ok(server);
            }
            if let Some(child) = &mut server.child
                && let Some(status) = child.try_wait()?
            {
                bail!(
                    "the server exited at start ({status}):\n{}",
                    log_tail(&spec.log, 20)
                );
            }
            if Instant::now() > deadline {
                bail!("the server did not start:\n{}", log_tail(&spec.log, 20));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Its resident set size (`VmRSS` of /proc/<pid>/status), in KiB.
    pub(crate) fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// SIGKILL, and waits until the process is gone.
    pub(crate) async fn kill9(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            child.start_kill()?;
            let _status = child.wait().await?;
        }
        Ok(())
    }

    /// SIGTERM (graceful shutdown), and waits up to 20 s for the exit.
    pub(crate) async fn stop(&mut self) -> Result<ExitStatus> {
        let Some(mut child) = self.child.take() else {
            bail!("the server is not running");
        };
        signal(self.pid, Signal::SIGTERM)?;
        match tokio::time::timeout(Duration::from_secs(20), child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => {
                child.start_kill()?;
                bail!("the server did not stop within 20 s of SIGTERM")
            }
        }
    }
}

/// The address of the "listening on http://…" line written after byte `from` of the log.
fn listening_addr(log: &Path, from: u64) -> Option<SocketAddr> {
    let text = std::fs::read(log).ok()?;
    let text = String::from_utf8_lossy(text.get(usize::try_from(from).ok()?..)?).into_owned();
    text.lines().find_map(|line| {
        let (_, rest) = line.split_once("listening on http://")?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// The last `n` lines of a log file, for error messages.
pub(crate) fn log_tail(log: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines
        .get(lines.len().saturating_sub(n)..)
        .unwrap_or_default()
        .join("\n")
}

/// Lines of the log that say the server panicked.
pub(crate) fn panics_in(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|line| line.contains("panicked at"))
        .count()
}
