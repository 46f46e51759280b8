//! `disk-full`: the example server's SQLite file on a small tmpfs of its own (mounted for the
//! run: this needs root or CAP_SYS_ADMIN, as CI has), which a filler file then fills to the
//! last byte (writes fail with ENOSPC, SQLite says SQLITE_FULL).
//!
//! Promises checked:
//! * while the disk is full, every request answers 2xx or 503 `store_unavailable`: never
//!   500, never a hang; writes that need new space answer 503 (a write that still fits in
//!   pages SQLite already holds may succeed), and they do within `--max-writes` requests;
//! * reads (`GET /api/hello`, whose session check only reads) keep answering 200;
//! * `PRAGMA integrity_check` is `ok` while full and after the run;
//! * once the filler is deleted the server takes writes again, without a restart, within
//!   the recovery bound, and every request after that succeeds; every seeded session still
//!   works with its last acknowledged refresh token (a rotation that answered 503 did not
//!   happen, one that answered 200 did).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use nix::mount::{MntFlags, MsFlags};
use serde_json::json;

use crate::Env;
use crate::api::{Api, Pair};
use crate::flows;
use crate::ids::{Client, Ids};
use crate::outbox::Outbox;
use crate::procs::{self, Server};
use crate::record::{self, Latency, Op, Record, Recorder};
use crate::report::Report;
use crate::scenarios::sqlite_crash::integrity_check;

/// Options of `disk-full`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Size of the tmpfs holding the database, in KiB. Keep it well above SQLite's WAL
    /// auto-checkpoint size (1000 pages, about 4 MiB): on a smaller disk the WAL itself fills
    /// the disk again after space returns, before it is ever checkpointed.
    #[arg(long, default_value_t = 32768)]
    size_kib: u64,
    /// Space left free after filling, in KiB: the first writes fit, then one runs out of
    /// space in the middle of its commit.
    #[arg(long, default_value_t = 256)]
    headroom_kib: u64,
    /// Users signed in before the disk fills.
    #[arg(long, default_value_t = 20)]
    users: usize,
    /// Requests tried on the full disk before giving up on seeing writes fail.
    #[arg(long, default_value_t = 2000)]
    max_writes: usize,
    /// Write failures (503) to see before the space comes back.
    #[arg(long, default_value_t = 100)]
    failures: usize,
    /// After space returns, the server must take a write within this many seconds.
    #[arg(long, default_value_t = 2.0)]
    recovery_secs: f64,
    /// Requests after the recovery, every one of which must succeed.
    #[arg(long, default_value_t = 200)]
    after: usize,
}

/// A tmpfs mounted for the run, unmounted when dropped.
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    fn mount(path: &Path, size_kib: u64) -> Result<Self> {
        std::fs::create_dir_all(path)?;
        let options = format!("size={size_kib}k,mode=0700");
        nix::mount::mount(
            Some("tmpfs"),
            path,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some(options.as_str()),
        )
        .with_context(|| {
            format!(
                "cannot mount a {size_kib} KiB tmpfs on {} (the disk-full scenario needs root or CAP_SYS_ADMIN)",
                path.display()
            )
        })?;
        Ok(Self {
            path: path.to_owned(),
        })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        if let Err(e) = nix::mount::umount2(&self.path, MntFlags::MNT_DETACH) {
            eprintln!("cannot unmount {}: {e}", self.path.display());
        }
    }
}

/// Writes `path` until the filesystem is full, then gives back `headroom` bytes; the size
/// of the filler.
fn fill(path: &Path, headroom: u64) -> Result<u64> {
    let mut file = std::fs::File::create(path)?;
    let mut written = 0_u64;
    for chunk in [1 << 20, 64 << 10, 4 << 10, 512] {
        let block = vec![0x5a_u8; chunk];
        loop {
            match file.write_all(&block) {
                Ok(()) => written += chunk as u64,
                Err(e) if e.raw_os_error() == Some(nix::libc::ENOSPC) => break,
                Err(e) => return Err(e).context("filling the disk"),
            }
        }
        // What a failed write_all wrote in part is counted by the file length below.
    }
    let len = std::fs::metadata(path)?.len().max(written);
    let kept = len.saturating_sub(headroom);
    file.set_len(kept)?;
    file.sync_all()?;
    Ok(kept)
}

/// The database's files and their sizes, for the report.
fn files(dir: &Path) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let len = entry.metadata().map_or(0, |m| m.len());
            let _ = out.insert(entry.file_name().to_string_lossy().into_owned(), json!(len));
        }
    }
    serde_json::Value::Object(out)
}

/// The requests that need a write, and the read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Register,
    SmsStart,
    Refresh,
    Read,
}

const KINDS: [Kind; 4] = [Kind::Register, Kind::SmsStart, Kind::Refresh, Kind::Read];

/// One request of `kind`; whether it succeeded. A rotation that succeeded moves the session on.
async fn one(api: &Api, ids: &Ids, sessions: &mut [(Client, Pair)], kind: Kind, i: usize) -> bool {
    let n = sessions.len().max(1);
    match kind {
        Kind::Register => flows::register_phone(api, &ids.client()).await.is_ok(),
        Kind::SmsStart => flows::sms_start(api, &ids.client()).await.is_ok(),
        Kind::Refresh => match sessions.get_mut(i % n) {
            Some((client, pair)) => {
                let answer = api.refresh(client.ip, &pair.refresh).await;
                match Pair::of(&answer) {
                    Some(next) => {
                        *pair = next;
                        true
                    }
                    None => false,
                }
            }
            None => false,
        },
        Kind::Read => match sessions.get(i % n) {
            Some((client, pair)) => api.hello(client.ip, &pair.access).await.ok(),
            None => false,
        },
    }
}

/// Runs the scenario.
pub(crate) async fn run(env: &Env, args: &Args) -> Result<Report> {
    let mut report = Report::new("disk-full");
    let fs = Tmpfs::mount(&env.path().join("fs"), args.size_kib)?;
    let mut spec = env.server_spec("server", None)?;
    spec.db = fs.path.join("auth.db");
    let mut server = Server::start(&spec).await?;
    let recorder = Recorder::default();
    let api = Api::new(server.base(), env.client_timeout(), recorder.clone())?;
    let sms = Outbox::sms(&spec.sms_outbox);
    let ids = Ids::default();
    let mut sessions = flows::signed_up(&api, &sms, &ids, args.users).await?;
    let files_before = files(&fs.path);

    // Fill the disk.
    let filler = fs.path.join("filler");
    let filled = fill(&filler, args.headroom_kib * 1024)?;
    let full_at = recorder.len();
    let mut write_failures = 0_usize;
    let mut writes_ok_before_failure = 0_usize;
    let mut attempts = 0_usize;
    let mut i = 0_usize;
    while write_failures < args.failures && attempts < args.max_writes {
        let kind = KINDS.get(i % KINDS.len()).copied().unwrap_or(Kind::Read);
        let ok = one(&api, &ids, &mut sessions, kind, i / KINDS.len()).await;
        if kind != Kind::Read {
            attempts += 1;
            if ok && write_failures == 0 {
                writes_ok_before_failure += 1;
            }
            if !ok {
                write_failures += 1;
            }
        }
        i += 1;
    }
    let full_records: Vec<Record> = recorder.snapshot().into_iter().skip(full_at).collect();
    report.check(
        write_failures > 0,
        format!("the full disk never surfaced: {attempts} writes on it all succeeded"),
    );
    let integrity_full = integrity_check(&spec.db)?;
    report.check(
        integrity_full == "ok",
        format!("integrity_check while full: {integrity_full}"),
    );
    let files_full = files(&fs.path);

    // Space comes back.
    std::fs::remove_file(&filler)?;
    let freed = Instant::now();
    let recovery_at = recorder.len();
    let recovery_bound = Duration::from_secs_f64(args.recovery_secs);
    let mut recovered = None;
    while freed.elapsed() < recovery_bound * 5 {
        if flows::register_phone(&api, &ids.client()).await.is_ok() {
            recovered = Some(freed.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    match recovered {
        Some(took) => report.check(
            took <= recovery_bound,
            format!(
                "the first write after space returned took {} ms",
                took.as_millis()
            ),
        ),
        None => report.violation("no write succeeded after space returned"),
    }
    let after_at = recorder.len();
    for j in 0..args.after {
        let kind = KINDS.get(j % KINDS.len()).copied().unwrap_or(Kind::Read);
        let _ = one(&api, &ids, &mut sessions, kind, j / KINDS.len() + i).await;
    }
    // Every seeded session: its last acknowledged token works.
    let mut sessions_failing = 0_usize;
    for (client, pair) in &mut sessions {
        let answer = api.refresh(client.ip, &pair.refresh).await;
        match Pair::of(&answer) {
            Some(next) => *pair = next,
            None => {
                sessions_failing += 1;
                report.violation(format!(
                    "a session's last acknowledged refresh token answers {}",
                    answer.describe()
                ));
            }
        }
    }
    let records = recorder.snapshot();
    let recovery_records = records.get(recovery_at..after_at).unwrap_or_default();
    let after_records = records.get(after_at..).unwrap_or_default();
    for r in after_records.iter().filter(|r| !r.ok()) {
        report.violation(format!(
            "{} answered {} after space returned",
            r.op.name(),
            r.answer()
        ));
    }
    let hang = env.hang();
    for r in &records {
        if r.status == 500 || r.status == 0 {
            report.violation(format!("{} answered {}", r.op.name(), r.answer()));
        }
        if r.took > hang {
            report.violation(format!(
                "{} took {:.2} s (hang bound {:.1} s)",
                r.op.name(),
                r.took.as_secs_f64(),
                hang.as_secs_f64()
            ));
        }
    }
    for r in full_records
        .iter()
        .chain(recovery_records)
        .filter(|r| !(r.ok() || r.store_unavailable()))
    {
        report.violation(format!(
            "{} answered {} on the full disk (2xx or 503 store_unavailable expected)",
            r.op.name(),
            r.answer()
        ));
    }
    let reads: Vec<&Record> = full_records.iter().filter(|r| r.op == Op::Hello).collect();
    let reads_ok = reads.iter().filter(|r| r.ok()).count();
    report.check(
        reads_ok == reads.len(),
        format!(
            "reads on the full disk: {reads_ok} of {} answered 200",
            reads.len()
        ),
    );
    let writes: Vec<&Record> = full_records.iter().filter(|r| r.op != Op::Hello).collect();
    let writes_503 = writes.iter().filter(|r| r.store_unavailable()).count();

    let status = server.stop().await?;
    report.check(
        status.success(),
        format!("the server exited with {status} on SIGTERM"),
    );
    let integrity_end = integrity_check(&spec.db)?;
    report.check(
        integrity_end == "ok",
        format!("integrity_check at the end: {integrity_end}"),
    );
    let panics = procs::panics_in(&spec.log);
    report.check(panics == 0, format!("{panics} panics in the server log"));
    drop(fs);

    let recovery_ms = recovered.map(|d| record::round(d.as_secs_f64() * 1000.0));
    report.figure("filesystem", format!("tmpfs, {} KiB", args.size_kib));
    report.figure("filler_bytes", filled);
    report.figure("headroom_kib", args.headroom_kib);
    report.figure("files_before_fill", files_before);
    report.figure("files_when_full", files_full);
    report.figure(
        "full",
        json!({
            "writes": writes.len(),
            "writes_ok_before_first_failure": writes_ok_before_failure,
            "writes_store_unavailable_503": writes_503,
            "answers_writes": record::answers(writes.iter().copied()),
            "reads": reads.len(),
            "reads_ok": reads_ok,
            "latency": Latency::of(full_records.iter()),
        }),
    );
    report.figure("integrity_check_full", &integrity_full);
    report.figure("integrity_check_end", &integrity_end);
    report.figure("recovery_ms", recovery_ms);
    report.figure("recovery_bound_ms", args.recovery_secs * 1000.0);
    report.figure("requests_after", after_records.len());
    report.figure(
        "failures_after",
        after_records.iter().filter(|r| !r.ok()).count(),
    );
    report.figure("sessions_checked", sessions.len());
    report.figure("sessions_failing", sessions_failing);
    report.figure("server_panics", panics);
    report.line(format!(
        "tmpfs of {} KiB, filled with {filled} bytes, {} KiB left; on the full disk: {} writes ({writes_ok_before_failure} succeeded before the first failure, {writes_503} answered 503 store_unavailable), {:?}; {reads_ok} of {} reads answered 200; integrity_check while full: {integrity_full}",
        args.size_kib,
        args.headroom_kib,
        writes.len(),
        record::answers(writes.iter().copied()),
        reads.len(),
    ));
    report.line(format!(
        "space back: first write after {} ms (no restart); {} requests after, {} not 2xx; {} seeded sessions checked, {sessions_failing} failing; integrity_check at the end: {integrity_end}",
        recovery_ms.map_or("never".to_owned(), |ms| ms.to_string()),
        after_records.len(),
        after_records.iter().filter(|r| !r.ok()).count(),
        sessions.len(),
    ));
    Ok(report)
}
