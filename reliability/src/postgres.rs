//! A PostgreSQL server of the scenario's own (`initdb` into its directory, `pg_ctl` on a free
//! port, trust authentication, never the shared server), and the ways to hurt it: stopped at
//! once, its connections terminated, every process of it stopped with a signal.
//!
//! As root the server programs run as the `postgres` user (the server refuses root), and the
//! cluster's directory belongs to that user.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use nix::sys::signal::Signal;
use tokio::process::Command;

use crate::procs;

/// How long the server may take to accept connections after a start.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The `application_name` of the example server's pooled connections (store-postgres's
/// default, `PgStoreConfig::DEFAULT_APPLICATION_NAME`); its session-event listener's is this
/// plus ` (session events)`.
pub(crate) const POOL_APPLICATION_NAME: &str = "store-postgres";

/// Connections cut by [`Postgres::terminate_connections`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Terminated {
    /// Every backend of the database.
    pub(crate) all: usize,
    /// Those of the store's pool (the rest is the session-event listener).
    pub(crate) pooled: usize,
}

/// A PostgreSQL server of our own.
pub(crate) struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_root: bool,
    running: bool,
}

impl Postgres {
    /// The database the example server uses (the scenario's faults hit its connections only).
    pub(crate) const DATABASE: &'static str = "reliability";

    /// Creates a cluster in `dir` with the programs of `bin` (default: the newest
    /// `/usr/lib/postgresql/*/bin`, else the `PATH`), starts it on a free port and creates
    /// [`Postgres::DATABASE`].
    pub(crate) async fn start(bin: Option<&Path>, dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let as_root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
        let mut server = Self {
            bin: bin.map_or_else(default_bin, Path::to_owned),
            dir: dir.to_owned(),
            port: procs::free_port()?,
            as_root,
            running: false,
        };
        if as_root {
            // The server's user must reach its directory: the scenario's own is root's.
            if let Some(parent) = dir.parent() {
                let mut mode = std::fs::metadata(parent)?.permissions();
                std::os::unix::fs::PermissionsExt::set_mode(&mut mode, 0o711);
                std::fs::set_permissions(parent, mode)?;
            }
            run(Command::new("chown").arg("postgres:").arg(dir)).await?;
        }
        run(server.command("initdb").arg("-D").arg(server.data()).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        ]))
        .await?;
        let _up = server.spawn().await?;
        let admin = server.connect("postgres").await?;
        admin
            .batch_execute(&format!("CREATE DATABASE {}", Self::DATABASE))
            .await
            .context("CREATE DATABASE")?;
        Ok(server)
    }

    /// `postgres://postgres@127.0.0.1:<port>/reliability`.
    pub(crate) fn url(&self) -> String {
        self.url_of(Self::DATABASE)
    }

    fn url_of(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// A server program, run as `postgres` when we are root.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_root {
            let mut command = Command::new("runuser");
            let _ = command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    /// Starts the server (again) on the same port and data directory, without fsync, and
    /// waits until it accepts connections; returns when it did.
    pub(crate) async fn spawn(&mut self) -> Result<Instant> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let data = self.data();
        let log = self.dir.join("postgres.log");
        run(self
            .command("pg_ctl")
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(&log)
            .args(["-W", "-o", &options, "start"]))
        .await?;
        self.running = true;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if self.connect("postgres").await.is_ok() {
                return Ok(Instant::now());
            }
            if Instant::now() > deadline {
                bail!(
                    "PostgreSQL did not accept connections on port {}:\n{}",
                    self.port,
                    procs::log_tail(&log, 20)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `pg_ctl stop -m immediate` (like a crash: every connection cut, no checkpoint), and
    /// waits until the server is gone.
    pub(crate) async fn stop_immediate(&mut self) -> Result<()> {
        run(self.command("pg_ctl").arg("-D").arg(self.data()).args([
            "-m",
            "immediate",
            "-w",
            "stop",
        ]))
        .await?;
        self.running = false;
        Ok(())
    }

    /// Terminates every backend of [`Postgres::DATABASE`] (`pg_terminate_backend`) from a
    /// connection of its own to the `postgres` database.
    pub(crate) async fn terminate_connections(&self) -> Result<Terminated> {
        let admin = self.connect("postgres").await?;
        let row = admin
            .query_one(
                "SELECT count(*), count(*) FILTER (WHERE application_name = $2) \
                 FROM (SELECT application_name, pg_terminate_backend(pid) AS killed \
                       FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()) AS t \
                 WHERE killed",
                &[&Self::DATABASE, &POOL_APPLICATION_NAME],
            )
            .await
            .context("pg_terminate_backend")?;
        let count = |i: usize| -> Result<usize> {
            let n: i64 = row.try_get(i)?;
            Ok(usize::try_from(n)?)
        };
        Ok(Terminated {
            all: count(0)?,
            pooled: count(1)?,
        })
    }

    /// Sends `sig` to every process of the server: the postmaster first (so it starts no
    /// more), then its children. Returns how many got it.
    pub(crate) fn signal_all(&self, sig: Signal) -> Result<usize> {
        let postmaster = self.postmaster()?;
        procs::signal(postmaster, sig)?;
        let children = children_of(postmaster);
        for &pid in &children {
            // A child may have exited in between.
            let _ = procs::signal(pid, sig);
        }
        Ok(children.len() + 1)
    }

    /// The postmaster's process id (the first line of `postmaster.pid`).
    fn postmaster(&self) -> Result<u32> {
        let file = self.data().join("postmaster.pid");
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        text.lines()
            .next()
            .and_then(|line| line.trim().parse().ok())
            .with_context(|| format!("no process id in {}", file.display()))
    }

    /// A plain connection to `database`, given up after 1 s.
    async fn connect(&self, database: &str) -> Result<tokio_postgres::Client> {
        let mut config: tokio_postgres::Config = self.url_of(database).parse()?;
        let _ = config.connect_timeout(Duration::from_secs(1));
        let connecting = config.connect(tokio_postgres::NoTls);
        let (client, connection) = tokio::time::timeout(Duration::from_secs(1), connecting)
            .await
            .context("connecting to PostgreSQL timed out")??;
        drop(tokio::spawn(async move {
            let _ = connection.await;
        }));
        Ok(client)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.running {
            // A stopped server cannot stop: continue it first. Errors are moot here.
            let _ = self.signal_all(Signal::SIGCONT);
            let mut stop = std::process::Command::new(if self.as_root {
                PathBuf::from("runuser")
            } else {
                self.bin.join("pg_ctl")
            });
            if self.as_root {
                let _ = stop
                    .args(["-u", "postgres", "--"])
                    .arg(self.bin.join("pg_ctl"));
            }
            let _ = stop
                .arg("-D")
                .arg(self.data())
                .args(["-m", "immediate", "-w", "stop"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` with an `initdb`, else an empty path (the
/// programs are then looked up on the `PATH`).
fn default_bin() -> PathBuf {
    let versions = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        });
    versions
        .max_by_key(|(version, _)| *version)
        .map(|(_, bin)| bin)
        .unwrap_or_default()
}

/// The processes whose parent is `parent` (from `/proc/<pid>/stat`).
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
            let (_, rest) = stat.rsplit_once(')')?;
            let ppid: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == parent).then_some(pid)
        })
        .collect()
}

/// Runs `command` to its end; fails with its output when it fails.
async fn run(command: &mut Command) -> Result<()> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("{command:?} (is PostgreSQL installed?)"))?;
    if !output.status.success() {
        bail!(
            "{command:?} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}
