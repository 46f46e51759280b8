//! Shared by the integration tests: the PostgreSQL under test, fresh schemas (dropped after
//! each test, also when it panics), and a private PostgreSQL server for outage tests.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use store_postgres::{PgStore, PgStoreConfig};

/// `DATABASE_URL`, or the local test database (trust authentication).
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A schema name no other test run uses.
pub fn fresh_schema() -> String {
    format!("auth_test_{}", uuid::Uuid::new_v4().simple())
}

/// The configuration of a store on the shared database in `schema`.
pub fn config(schema: &str) -> PgStoreConfig {
    PgStoreConfig::new(database_url()).schema(schema)
}

/// A store on the shared database in `schema` (created and migrated).
pub async fn store_in(schema: &str) -> PgStore {
    PgStore::connect(config(schema)).await.unwrap_or_else(|e| {
        panic!(
            "cannot reach PostgreSQL at {} (set DATABASE_URL): {e}",
            database_url()
        )
    })
}

/// A plain connection to `url`, for looking at and changing rows directly.
pub async fn raw_at(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    drop(tokio::spawn(async move {
        let _ = connection.await;
    }));
    client
}

/// A plain connection to the shared database.
pub async fn raw() -> tokio_postgres::Client {
    raw_at(&database_url()).await
}

/// Drops `schema` and everything in it.
pub async fn drop_schema(schema: &str) {
    raw()
        .await
        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await
        .unwrap();
}

/// Runs `test` with a fresh schema name on the shared database, then drops that schema, also
/// when the test panics (the panic is passed on afterwards).
pub async fn with_fresh_schema<F, Fut>(test: F)
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let schema = fresh_schema();
    let outcome = tokio::spawn(test(schema.clone())).await;
    drop_schema(&schema).await;
    match outcome {
        Ok(()) => {}
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("{schema}: {e}"),
    }
}

/// Polls `check` every 20 ms until it holds or `within` has passed; whether it held.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A PostgreSQL server of our own (`initdb` into a temporary directory, `pg_ctl` on a free
/// port, without fsync), so a test can stop and restart it without disturbing the shared
/// server other tests use. As root it runs as the `postgres` user (the server refuses root).
pub struct PrivatePostgres {
    dir: tempfile::TempDir,
    port: u16,
    running: bool,
}

impl PrivatePostgres {
    /// Creates a cluster and starts it; waits until it accepts connections.
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("store-postgres-private-")
            .tempdir()
            .unwrap();
        if as_root() {
            run(Command::new("chown").arg("postgres:").arg(dir.path()));
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let data = dir.path().join("data");
        run(pg_command("initdb").arg("-D").arg(&data).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        ]));
        let mut server = Self {
            dir,
            port,
            running: false,
        };
        server.restart();
        server
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// (Re)starts the server on the same port and waits until it accepts connections.
    pub fn restart(&mut self) {
        assert!(!self.running, "already running");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        run(pg_command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .args(["-w", "-t", "30", "-o", &options, "start"]));
        self.running = true;
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`: like a crash, every connection
    /// cut) and waits until it is gone.
    pub fn stop(&mut self) {
        if self.running {
            run(pg_command("pg_ctl").arg("-D").arg(self.data()).args([
                "-m",
                "immediate",
                "-w",
                "stop",
            ]));
            self.running = false;
        }
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

fn as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A PostgreSQL server program (`PG_BIN`, or the newest `/usr/lib/postgresql/*/bin`, or the
/// `PATH`), run as `postgres` when we are root.
fn pg_command(program: &str) -> Command {
    let path = pg_bin().map_or_else(|| PathBuf::from(program), |bin| bin.join(program));
    if as_root() {
        let mut command = Command::new("runuser");
        let _ = command.args(["-u", "postgres", "--"]).arg(path);
        command
    } else {
        Command::new(path)
    }
}

fn pg_bin() -> Option<PathBuf> {
    if let Ok(bin) = std::env::var("PG_BIN") {
        return Some(PathBuf::from(bin));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            Path::new(&bin)
                .join("initdb")
                .exists()
                .then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn run(command: &mut Command) {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e} (is PostgreSQL installed?)"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
