//! Writes the seed corpus (`auth_fuzz::seeds`) to `corpus/<target>/<name>`, replacing what
//! is there. Run from anywhere: `cargo run --manifest-path fuzz/Cargo.toml --example write_seeds`.

fn main() -> std::io::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut targets = std::collections::BTreeMap::new();
    for (target, name, bytes) in auth_fuzz::seeds::all() {
        let dir = root.join(target);
        if !targets.contains_key(target) && dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), bytes)?;
        *targets.entry(target).or_insert(0usize) += 1;
    }
    for (target, n) in targets {
        println!("{target}: {n} seeds");
    }
    Ok(())
}
