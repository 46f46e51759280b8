//! Every ```` ```rust ```` block of `README.md` is compiled: its lines appear, in order and
//! without a gap, in one of the files below (leading and trailing spaces and blank lines
//! aside). A block that elides code with `…` is a sketch and is skipped; the test also fails
//! when it finds too few blocks, so it cannot pass by finding none.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

/// The files the README's blocks are taken from, relative to the workspace root.
const SOURCES: &[&str] = &[
    "examples/readme/src/mount.rs",
    "examples/readme/src/axum_app.rs",
    "examples/readme/src/actix_app.rs",
    "examples/readme/src/rocket_app.rs",
    "examples/readme/src/client_ip.rs",
    "examples/readme/src/config.rs",
    "examples/readme/src/instances.rs",
    "examples/readme/tests/readme_testkit.rs",
    "examples/custom-store/tests/conformance.rs",
];

/// How many blocks the README has that are not sketches: one per file above.
const CHECKED_BLOCKS: usize = SOURCES.len();

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The significant lines of `text`: trimmed, blank ones left out.
fn lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

/// The bodies of the README's fenced blocks whose info string starts with `rust`.
fn rust_blocks(readme: &str) -> Vec<String> {
    enum Fence {
        Outside,
        Rust(String),
        Other,
    }
    let mut blocks = Vec::new();
    let mut fence = Fence::Outside;
    for line in readme.lines() {
        let marker = line.trim_start().strip_prefix("```");
        fence = match (fence, marker) {
            (Fence::Outside, Some(info)) if info.trim().starts_with("rust") => {
                Fence::Rust(String::new())
            }
            (Fence::Outside, Some(_)) => Fence::Other,
            (Fence::Outside, None) => Fence::Outside,
            (Fence::Rust(body), Some(_)) => {
                blocks.push(body);
                Fence::Outside
            }
            (Fence::Rust(mut body), None) => {
                body.push_str(line);
                body.push('\n');
                Fence::Rust(body)
            }
            (Fence::Other, Some(_)) => Fence::Outside,
            (Fence::Other, None) => Fence::Other,
        };
    }
    assert!(
        matches!(fence, Fence::Outside),
        "README.md ends inside a fenced block"
    );
    blocks
}

fn contains_run(haystack: &[&str], needle: &[&str]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn every_rust_block_of_the_readme_is_in_a_compiled_file() {
    let root = workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let sources: Vec<(&str, String)> = SOURCES
        .iter()
        .map(|p| (*p, std::fs::read_to_string(root.join(p)).unwrap()))
        .collect();
    let mut checked = 0;
    for block in rust_blocks(&readme) {
        if block.contains('…') {
            continue;
        }
        let needle = lines(&block);
        let found = sources
            .iter()
            .any(|(_, text)| contains_run(&lines(text), &needle));
        assert!(
            found,
            "this README block is in none of {SOURCES:?}; change both together:\n{block}"
        );
        checked += 1;
    }
    assert_eq!(checked, CHECKED_BLOCKS, "README blocks checked");
}

#[test]
fn the_block_finder_sees_only_rust_blocks() {
    let text = "a\n```sh\nls\n```\n```rust\nfn f() {}\n```\n```rust,ignore\nx\n```\n";
    assert_eq!(rust_blocks(text), vec!["fn f() {}\n", "x\n"]);
    assert!(contains_run(&["a", "b", "c"], &["b", "c"]));
    assert!(!contains_run(&["a", "b", "c"], &["a", "c"]));
}
