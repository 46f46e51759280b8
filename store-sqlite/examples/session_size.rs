//! Measures how much space a session takes in store-sqlite.
//!
//! ```text
//! cargo run -p store-sqlite --release --example session_size [-- SESSIONS]
//! ```
//!
//! Inserts SESSIONS sessions (default 10 000) shaped like real ones (IPv4 address, a 100-byte
//! browser user agent, 30-day expiry, 10 sessions per user) through the `SessionStore` trait, then
//! checkpoints the WAL and reports bytes per session from the file size and, per b-tree, from
//! SQLite's `dbstat` table.

use std::error::Error;
use std::net::{IpAddr, Ipv4Addr};

use auth_core::ids::{SessionId, UserId};
use auth_core::secret::SecretHash;
use auth_core::session::{RefreshState, Session, SessionStatus};
use auth_core::store::SessionStore;
use chrono::{Duration, Utc};
use rusqlite::Connection;
use store_sqlite::{Durability, SqliteOptions, SqliteStore};

const USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                          Chrome/124.0 Safari/537.36";

fn file_bytes(conn: &Connection) -> Result<i64, Box<dyn Error>> {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    Ok(pages * page_size)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let n: usize = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 10_000,
    };
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("size.db");
    let mut options = SqliteOptions::default();
    options.durability = Durability::Normal; // speed only: the layout on disk is the same
    options.cleanup_every = 0;
    let store = SqliteStore::open_with(&path, options)?;
    let raw = Connection::open(&path)?;
    let empty = file_bytes(&raw)?;

    let now = Utc::now();
    let mut user = UserId::new_random();
    for i in 0..n {
        if i % 10 == 0 {
            user = UserId::new_random();
        }
        let mut hash = [0u8; 32];
        hash[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        hash[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        let session = Session {
            id: SessionId::new_random(),
            user_id: user,
            created_at: now,
            last_used_at: now,
            expires_at: now + Duration::days(30),
            ip: Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, (i % 250) as u8))),
            user_agent: Some(USER_AGENT.to_owned()),
            refresh: RefreshState {
                generation: 0,
                hash: SecretHash::from_bytes(hash),
                issued_at: now,
            },
            status: SessionStatus::Active,
        };
        store.insert_session(&session).await?;
    }
    let full = file_bytes(&raw)?;

    println!("sessions inserted: {n}");
    println!(
        "file growth: {} bytes = {:.0} bytes per session",
        full - empty,
        (full - empty) as f64 / n as f64
    );
    let mut stmt = raw.prepare(
        "SELECT name, count(*), sum(pgsize), sum(payload) FROM dbstat \
         WHERE name IN ('sessions', 'sessions_user_id', 'sessions_expires_at') \
         GROUP BY name ORDER BY name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    let mut total = 0;
    for row in rows {
        let (name, pages, bytes, payload) = row?;
        total += bytes;
        println!(
            "  {name:<20} {pages:>5} pages {bytes:>9} bytes ({:.0} per session, payload {:.0})",
            bytes as f64 / n as f64,
            payload as f64 / n as f64
        );
    }
    println!(
        "  sessions + indexes: {:.0} bytes per session",
        total as f64 / n as f64
    );
    Ok(())
}
