//! Target `sqlite_rows`: store record decoding on SQLite. A case writes arbitrary rows into
//! the tables of a real SQLite file (through rusqlite, beside the store, as another process
//! or a damaged file would), then reads and updates them through `SqliteStore`'s trait
//! methods. Every answer must be a value or a `StoreError`, never a panic.
//!
//! Layout: `clock` (1 byte, `% 3`: the `now` given to the store is 2030-01-01, two hours
//! later, two hours earlier), then up to eight rows, each a `table` byte (`% 6`, see
//! [`TABLES`]) and one cell per column of that table: a tag byte (`% 8`, see [`Cell`]) and
//! its payload.
//!
//! Properties besides "no panic": the per-request session check (`session_with_owner`)
//! agrees with `session`, and its owner with `user_by_id`; a user read back, written back
//! unchanged (`update_user`), reads back the same.

use std::path::PathBuf;

use arbitrary::{Arbitrary, Unstructured};
use auth_core::ids::{ChallengeId, SessionId, UserId};
use auth_core::secret::SecretHash;
use auth_core::session::{RefreshState, RevokeReason};
use auth_core::store::{ChallengeStore, CounterStore, OneTimeTokenStore, SessionStore, UserStore};
use auth_core::{Email, Phone, Username};
use chrono::{DateTime, Duration, TimeZone, Utc};
use rusqlite::Connection;
use rusqlite::types::Value;
use store_sqlite::{Durability, SqliteOptions, SqliteStore};

use crate::common::{Reader, Writer, block_on};

/// Rows per case at most.
pub const MAX_ROWS: usize = 8;

/// Every table a store reads, with its columns in the schema's order (checked against
/// `PRAGMA table_info` when the fixture opens the file).
pub const TABLES: [(&str, &[&str]); 6] = [
    (
        "users",
        &[
            "id",
            "phone",
            "email",
            "username",
            "password_hash",
            "roles",
            "profile",
            "status",
            "created_at",
            "login_count",
            "last_login_at",
            "last_login_ip",
            "current_login_at",
            "current_login_ip",
            "credentials_changed_at",
        ],
    ),
    (
        "sessions",
        &[
            "id",
            "user_id",
            "created_at",
            "last_used_at",
            "expires_at",
            "ip",
            "user_agent",
            "refresh_generation",
            "refresh_hash",
            "refresh_issued_at",
            "revoked_at",
            "revoke_reason",
        ],
    ),
    (
        "challenges",
        &[
            "id",
            "purpose",
            "phone",
            "user_id",
            "code_hash",
            "created_at",
            "expires_at",
            "attempts",
            "consumed_at",
        ],
    ),
    (
        "email_tokens",
        &[
            "hash",
            "purpose",
            "user_id",
            "email",
            "created_at",
            "expires_at",
            "consumed_at",
        ],
    ),
    ("counters", &["key", "count", "resets_at"]),
    ("failures", &["key", "count", "last_at", "expires_at"]),
];

/// One cell of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Tag 0: a valid value for the column (ids name the fixture's user, session, challenge
    /// and token, so the lookups find the row).
    Good,
    /// Tag 1: `NULL`.
    Null,
    /// Tag 2: an integer (8 bytes, little-endian).
    Int(i64),
    /// Tag 3: text (a chunk, invalid UTF-8 replaced).
    Text(Vec<u8>),
    /// Tag 4: a blob (a chunk).
    Blob(Vec<u8>),
    /// Tag 5: a real (8 bytes, the bits of an `f64`).
    Real(u64),
    /// Tag 6: an edge integer (1 byte, an index into [`EDGES`]).
    Edge(u8),
    /// Tag 7: raw bytes stored as `TEXT` (a chunk; may be invalid UTF-8).
    RawText(Vec<u8>),
}

/// Integers at the edges of the codecs' ranges.
pub const EDGES: [i64; 10] = [
    0,
    -1,
    1,
    i64::MIN,
    i64::MAX,
    u32::MAX as i64,
    u32::MAX as i64 + 1,
    i32::MAX as i64 + 1,
    -9_223_372_036_854_775_807,
    1 << 62,
];

/// One row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Index into [`TABLES`] (modulo).
    pub table: u8,
    /// One cell per column (missing ones are [`Cell::Good`]).
    pub cells: Vec<Cell>,
}

/// One input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteCase {
    /// `% 3`: the store's `now` is 2030-01-01, two hours later, two hours earlier.
    pub clock: u8,
    /// The rows.
    pub rows: Vec<Row>,
}

fn read_i64(r: &mut Reader<'_, '_>) -> i64 {
    let mut bytes = [0u8; 8];
    for b in &mut bytes {
        *b = r.byte();
    }
    i64::from_le_bytes(bytes)
}

impl<'a> Arbitrary<'a> for SqliteCase {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut r = Reader::new(u);
        let clock = r.byte();
        let mut rows = Vec::new();
        while !r.is_empty() && rows.len() < MAX_ROWS {
            let table = r.byte();
            let (_, columns) = TABLES[usize::from(table) % TABLES.len()];
            let cells = columns
                .iter()
                .map(|_| match r.byte() % 8 {
                    0 => Cell::Good,
                    1 => Cell::Null,
                    2 => Cell::Int(read_i64(&mut r)),
                    3 => Cell::Text(r.chunk()),
                    4 => Cell::Blob(r.chunk()),
                    5 => Cell::Real(read_i64(&mut r) as u64),
                    6 => Cell::Edge(r.byte()),
                    _ => Cell::RawText(r.chunk()),
                })
                .collect();
            rows.push(Row { table, cells });
        }
        Ok(Self { clock, rows })
    }
}

impl SqliteCase {
    /// The bytes that decode to this case.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.byte(self.clock);
        for row in &self.rows {
            w.byte(row.table);
            let (_, columns) = TABLES[usize::from(row.table) % TABLES.len()];
            for i in 0..columns.len() {
                match row.cells.get(i).unwrap_or(&Cell::Good) {
                    Cell::Good => w.byte(0),
                    Cell::Null => w.byte(1),
                    Cell::Int(v) => w.byte(2).rest(&v.to_le_bytes()),
                    Cell::Text(b) => w.byte(3).chunk(b),
                    Cell::Blob(b) => w.byte(4).chunk(b),
                    Cell::Real(bits) => w.byte(5).rest(&bits.to_le_bytes()),
                    Cell::Edge(i) => w.byte(6).byte(*i),
                    Cell::RawText(b) => w.byte(7).chunk(b),
                };
            }
        }
        w.finish()
    }
}

/// The fixture's ids.
pub const USER: [u8; 16] = [0x11; 16];
/// The session's id.
pub const SESSION: [u8; 16] = [0x22; 16];
/// The challenge's id.
pub const CHALLENGE: [u8; 16] = [0x33; 16];
/// The emailed token's keyed hash.
pub const TOKEN_HASH: [u8; 32] = [0x44; 32];

/// 2030-01-01T00:00:00Z.
pub fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0)
        .single()
        .expect("a time")
}

fn nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().expect("in range")
}

/// A valid value for `table.column`.
fn good(table: &str, column: &str) -> Value {
    let now = nanos(base_time());
    let hour = 3_600_000_000_000;
    match (table, column) {
        ("users", "id") | (_, "user_id") => Value::Blob(USER.to_vec()),
        ("sessions", "id") => Value::Blob(SESSION.to_vec()),
        ("challenges", "id") => Value::Blob(CHALLENGE.to_vec()),
        ("email_tokens", "hash") => Value::Blob(TOKEN_HASH.to_vec()),
        (_, "phone") => Value::Text("+15551234567".to_owned()),
        (_, "email") => Value::Text("ann@example.com".to_owned()),
        (_, "username") => Value::Text("ann".to_owned()),
        (_, "password_hash") => {
            Value::Text("$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2g".to_owned())
        }
        (_, "roles") => Value::Text(r#"["admin"]"#.to_owned()),
        (_, "profile") => Value::Text(r#"{"display_name":"Ann"}"#.to_owned()),
        (_, "status") => Value::Text("active".to_owned()),
        ("challenges", "purpose") => Value::Text("login".to_owned()),
        (_, "purpose") => Value::Text("activation".to_owned()),
        (_, "code_hash" | "refresh_hash") => Value::Blob(vec![7; 32]),
        (_, "ip" | "last_login_ip" | "current_login_ip") => Value::Blob(vec![127, 0, 0, 1]),
        (_, "user_agent") => Value::Text("fuzz/1.0".to_owned()),
        (_, "key") => Value::Text("k".to_owned()),
        (_, "revoked_at" | "revoke_reason" | "consumed_at" | "credentials_changed_at") => {
            Value::Null
        }
        (_, "expires_at" | "resets_at") => Value::Integer(now + hour),
        (_, "login_count" | "attempts" | "count" | "refresh_generation") => Value::Integer(1),
        _ => Value::Integer(now),
    }
}

/// The file, the store on it and a plain connection for writing rows.
struct Fixture {
    _dir: tempfile::TempDir,
    store: SqliteStore,
    raw: Connection,
}

thread_local! {
    static FIXTURE: Fixture = open();
}

fn open() -> Fixture {
    // On tmpfs when there is one: the target writes a transaction per case.
    let shm = PathBuf::from("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .expect("a temp dir");
    let path = dir.path().join("fuzz.db");
    let mut options = SqliteOptions::default();
    options.durability = Durability::Normal;
    let store = SqliteStore::open_with(&path, options).expect("open the store");
    let raw = Connection::open(&path).expect("open the file");
    raw.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy timeout");
    raw.pragma_update(None, "synchronous", "NORMAL")
        .expect("synchronous");
    for (table, columns) in TABLES {
        let mut stmt = raw
            .prepare(&format!(
                "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
            ))
            .expect("table_info");
        let names: Vec<String> = stmt
            .query_map([], |row| row.get(0))
            .expect("table_info")
            .collect::<Result<_, _>>()
            .expect("table_info");
        assert_eq!(
            names, columns,
            "the schema of {table} changed: update TABLES"
        );
    }
    Fixture {
        _dir: dir,
        store,
        raw,
    }
}

/// Replaces every table's rows with the case's.
fn write_rows(raw: &Connection, rows: &[Row]) {
    raw.execute_batch("BEGIN IMMEDIATE").expect("begin");
    for (table, _) in TABLES {
        raw.execute(&format!("DELETE FROM {table}"), [])
            .expect("delete");
    }
    for row in rows {
        let (table, columns) = TABLES[usize::from(row.table) % TABLES.len()];
        let mut values = Vec::with_capacity(columns.len());
        let mut slots = Vec::with_capacity(columns.len());
        for (i, column) in columns.iter().enumerate() {
            let n = i + 1;
            let cell = row.cells.get(i).unwrap_or(&Cell::Good);
            slots.push(if matches!(cell, Cell::RawText(_)) {
                format!("CAST(?{n} AS TEXT)")
            } else {
                format!("?{n}")
            });
            values.push(match cell {
                Cell::Good => good(table, column),
                Cell::Null => Value::Null,
                Cell::Int(v) => Value::Integer(*v),
                Cell::Text(b) => Value::Text(String::from_utf8_lossy(b).into_owned()),
                Cell::Blob(b) | Cell::RawText(b) => Value::Blob(b.clone()),
                Cell::Real(bits) => Value::Real(f64::from_bits(*bits)),
                Cell::Edge(i) => Value::Integer(EDGES[usize::from(*i) % EDGES.len()]),
            });
        }
        let sql = format!(
            "INSERT OR REPLACE INTO {table} ({}) VALUES ({})",
            columns.join(", "),
            slots.join(", ")
        );
        // A value the table's STRICT types or constraints refuse: that row is not written.
        let _ = raw.execute(&sql, rusqlite::params_from_iter(values));
    }
    raw.execute_batch("COMMIT").expect("commit");
}

/// Runs one case.
pub fn run(case: &SqliteCase) {
    FIXTURE.with(|f| {
        write_rows(&f.raw, &case.rows);
        let now = base_time()
            + match case.clock % 3 {
                0 => Duration::zero(),
                1 => Duration::hours(2),
                _ => Duration::hours(-2),
            };
        block_on(exercise(&f.store, now));
    });
}

async fn exercise(store: &SqliteStore, now: DateTime<Utc>) {
    let user = UserId::from_uuid(uuid::Uuid::from_bytes(USER));
    let sid = SessionId::from_uuid(uuid::Uuid::from_bytes(SESSION));
    let cid = ChallengeId::from_uuid(uuid::Uuid::from_bytes(CHALLENGE));
    let hash = SecretHash::from_bytes(TOKEN_HASH);

    // Reads.
    let by_id = store.user_by_id(user).await;
    let _ = store
        .user_by_phone(&Phone::parse("+15551234567", false).expect("phone"))
        .await;
    let _ = store
        .user_by_email(&Email::parse("ann@example.com").expect("email"))
        .await;
    let _ = store
        .user_by_username(&Username::parse("ann").expect("username"))
        .await;
    let session = store.session(sid).await;
    let checked = store.session_with_owner(sid, Some(user)).await;
    let unclaimed = store.session_with_owner(sid, None).await;
    let _ = store.sessions_of_user(user).await;
    let _ = store.challenge(cid).await;
    let _ = store.email_token(&hash).await;
    let _ = store.failures("k", now).await;

    // The session check agrees with the plain reads.
    for with_owner in [&checked, &unclaimed] {
        match (with_owner, &session) {
            (Ok(Some((s, owner))), _) => {
                assert_eq!(
                    session.as_ref().ok(),
                    Some(&Some(s.clone())),
                    "session check vs session"
                );
                if let Some(owner) = owner {
                    assert_eq!(owner.user_id, s.user_id, "the owner is the session's user");
                    if let Ok(Some(u)) = store.user_by_id(owner.user_id).await {
                        assert_eq!((u.status, &u.roles), (owner.status, &owner.roles));
                    }
                }
            }
            (Ok(None), other) => assert!(
                matches!(other, Ok(None) | Err(_)),
                "the session check found none, the read found {other:?}"
            ),
            (Err(_), _) => {}
        }
    }

    // A user written back unchanged reads back the same.
    if let Ok(Some(u)) = &by_id
        && let Ok(true) = store.update_user(u).await
    {
        let again = store.user_by_id(user).await;
        assert_eq!(
            again.as_ref().ok(),
            Some(&Some(u.clone())),
            "user round trip"
        );
    }

    // Writes over whatever is there.
    let generation = match &session {
        Ok(Some(s)) => s.refresh.generation,
        _ => 0,
    };
    let next = RefreshState {
        generation: generation.wrapping_add(1),
        hash: SecretHash::from_bytes([9; 32]),
        issued_at: now,
    };
    let _ = store.rotate_refresh(sid, generation, &next, now).await;
    let _ = store.hit_counter("k", now + Duration::hours(1), now).await;
    let _ = store.add_failure("k", now, now + Duration::hours(1)).await;
    let _ = store.claim_challenge_attempt(cid, 5).await;
    let _ = store.consume_challenge(cid, now).await;
    let _ = store.consume_email_token(&hash, now).await;
    let _ = store.record_login(user, now, None).await;
    let _ = store.revoke_session(sid, now, RevokeReason::Logout).await;
    let _ = store
        .revoke_user_sessions(user, None, now, RevokeReason::Admin)
        .await;
    let _ = store.sessions_of_user(user).await;
}
