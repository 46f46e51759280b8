//! The password hashing threads of an `Auth`: started by the first hash (not by building it,
//! which needs no runtime), named `auth-argon2-<n>`, at a lower priority than the process
//! (Linux), and gone once the last clone of the `Auth` is dropped.
//!
//! One test in a binary of its own: it counts the process's threads by name, which other
//! tests running beside it would disturb.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use auth_core::testkit::TestKit;
use common::*;

/// The ids of this process's threads whose name starts with `auth-argon2-`.
fn hashing_threads() -> Vec<u32> {
    let mut found = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let path = task.unwrap().path();
        let Ok(name) = std::fs::read_to_string(path.join("comm")) else {
            continue; // exited meanwhile
        };
        if name.starts_with("auth-argon2-") {
            found.push(path.file_name().unwrap().to_str().unwrap().parse().unwrap());
        }
    }
    found
}

/// Field 19 (nice) of a `/proc/.../stat` file, counted after the command name's `)`.
fn nice_of(stat_path: &str) -> i32 {
    let stat = std::fs::read_to_string(stat_path).unwrap();
    let after_name = stat.rsplit_once(')').unwrap().1;
    after_name
        .split_whitespace()
        .nth(16)
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn hashing_threads_start_with_the_first_hash_and_stop_with_the_last_auth() {
    let mut config = TestKit::config();
    config.password.max_concurrent_hashes = 2;
    // Built outside any runtime.
    let kit = TestKit::with_config(config);
    let auth = kit.auth.clone();
    assert_eq!(
        hashing_threads(),
        Vec::<u32>::new(),
        "none before the first hash"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        register_email(&kit, "hal@example.com").await;
    });
    let threads = hashing_threads();
    assert_eq!(threads.len(), 2, "{threads:?}");
    let process = nice_of("/proc/self/stat");
    for tid in &threads {
        let thread = nice_of(&format!("/proc/self/task/{tid}/stat"));
        assert!(
            thread > process || process == 19,
            "nice {thread} vs {process}"
        );
    }
    drop(runtime);
    drop(kit);
    // One clone left: the pool lives on.
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(hashing_threads().len(), 2);
    drop(auth);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !hashing_threads().is_empty() {
        assert!(
            Instant::now() < deadline,
            "threads left: {:?}",
            hashing_threads()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}
