//! The benchmarks' PostgreSQL: where it is, the fresh schema each run gets, and dropping
//! those schemas afterwards (`auth-bench pg-clear`, the PostgreSQL twin of `redis-clear`).
//!
//! Every run of `serve` or `scale` on `--store postgres` creates its tables in a schema of its
//! own, `<prefix><uuid>` (default prefix `auth_bench_`), so runs never share rows. The scale
//! test drops its schema when it ends; a server is stopped by a signal, so `scripts/bench.sh`
//! runs `pg-clear` after each one, which drops every schema named `<prefix><32 hex digits>`.

use anyhow::Context as _;
use clap::Args;
use store_postgres::PgStoreConfig;

/// The database used when neither `--pg-url` nor `DATABASE_URL` names one: the local test
/// database (trust authentication), as in the store's own tests.
pub(crate) const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The default prefix of the benchmarks' schemas.
pub(crate) const DEFAULT_PREFIX: &str = "auth_bench_";

/// Hex digits of the random part of a schema name (a UUID's simple form).
const SUFFIX_LEN: usize = 32;

/// `--pg-url` if given, else `DATABASE_URL` if set and not empty, else [`DEFAULT_URL`].
/// Never printed: it may hold a password.
pub(crate) fn url(given: Option<&str>) -> String {
    given
        .map(str::to_owned)
        .or_else(|| {
            std::env::var("DATABASE_URL")
                .ok()
                .filter(|u| !u.trim().is_empty())
        })
        .unwrap_or_else(|| DEFAULT_URL.to_owned())
}

/// A schema name no other run uses: `prefix` and a random UUID's 32 hex digits.
pub(crate) fn fresh_schema(prefix: &str) -> anyhow::Result<String> {
    check_prefix(prefix)?;
    Ok(format!("{prefix}{}", uuid::Uuid::new_v4().simple()))
}

/// A prefix that `pg-clear` can match safely and that leaves a schema name PostgreSQL and
/// the store accept: lower-case ASCII letters, digits and `_`, starting with a letter, ending
/// with `_`, short enough for the 32 random digits.
fn check_prefix(prefix: &str) -> anyhow::Result<()> {
    let valid = prefix.starts_with(|c: char| c.is_ascii_lowercase())
        && prefix.ends_with('_')
        && !prefix.starts_with("pg_")
        && prefix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && prefix.len() + SUFFIX_LEN <= PgStoreConfig::MAX_SCHEMA_LEN;
    anyhow::ensure!(
        valid,
        "the schema prefix {prefix:?} must be lower-case letters, digits and `_`, start with a \
         letter (not `pg_`), end with `_` and be at most {} bytes",
        PgStoreConfig::MAX_SCHEMA_LEN - SUFFIX_LEN
    );
    Ok(())
}

/// Whether `schema` is one [`fresh_schema`] made with `prefix`.
fn is_fresh_schema(schema: &str, prefix: &str) -> bool {
    schema.strip_prefix(prefix).is_some_and(|rest| {
        rest.len() == SUFFIX_LEN
            && rest
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

/// `pg-clear` arguments.
#[derive(Debug, Clone, Args)]
pub(crate) struct PgClearArgs {
    /// The database (default: `DATABASE_URL`, else the local test database).
    #[arg(long)]
    pg_url: Option<String>,
    /// Every schema named this prefix and 32 hex digits is dropped, with its tables.
    #[arg(long, default_value = DEFAULT_PREFIX)]
    prefix: String,
}

/// Drops what the benchmarks left in PostgreSQL.
pub(crate) fn pg_clear(args: PgClearArgs) -> anyhow::Result<()> {
    check_prefix(&args.prefix)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let client = connect(&url(args.pg_url.as_deref())).await?;
        let names = client
            .query("SELECT nspname::text FROM pg_namespace", &[])
            .await
            .context("listing the schemas")?
            .iter()
            .map(|row| row.try_get::<_, String>(0))
            .collect::<Result<Vec<_>, _>>()
            .context("reading the schema names")?;
        let mut dropped = 0;
        for schema in names.iter().filter(|s| is_fresh_schema(s, &args.prefix)) {
            drop_with(&client, schema).await?;
            dropped += 1;
        }
        eprintln!(
            "pg-clear: dropped {dropped} schemas named {}<uuid>",
            args.prefix
        );
        Ok(())
    })
}

/// Drops `schema` and everything in it.
pub(crate) async fn drop_schema(url: &str, schema: &str) -> anyhow::Result<()> {
    drop_with(&connect(url).await?, schema).await
}

async fn drop_with(client: &tokio_postgres::Client, schema: &str) -> anyhow::Result<()> {
    // The name goes into the statement as a quoted identifier: only names made here (checked
    // characters, no quote) get this far.
    anyhow::ensure!(
        schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
        "refusing to drop the schema {schema:?}"
    );
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await
        .with_context(|| format!("dropping the schema {schema}"))
}

/// A plain connection (no pool), its connection task spawned on the current runtime.
async fn connect(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .context("connecting to PostgreSQL (--pg-url or DATABASE_URL)")?;
    drop(tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("PostgreSQL connection: {e}");
        }
    }));
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_schemas_are_valid_and_recognized() {
        let schema = fresh_schema(DEFAULT_PREFIX).unwrap();
        assert!(schema.len() <= PgStoreConfig::MAX_SCHEMA_LEN, "{schema}");
        assert!(is_fresh_schema(&schema, DEFAULT_PREFIX), "{schema}");
        assert!(!is_fresh_schema(&schema, "auth_ab_old_"));
        assert_ne!(schema, fresh_schema(DEFAULT_PREFIX).unwrap());
    }

    /// `pg-clear` drops nothing but names made by [`fresh_schema`].
    #[test]
    fn only_fresh_schemas_match() {
        for other in [
            "public",
            "auth",
            "auth_bench_",
            "auth_bench_x",
            "auth_bench_0123456789abcdef0123456789abcde",
            "auth_bench_0123456789abcdef0123456789abcdef0",
            "auth_bench_0123456789ABCDEF0123456789ABCDEF",
            "auth_test_0123456789abcdef0123456789abcdef",
        ] {
            assert!(!is_fresh_schema(other, DEFAULT_PREFIX), "{other}");
        }
        assert!(is_fresh_schema(
            "auth_bench_0123456789abcdef0123456789abcdef",
            DEFAULT_PREFIX
        ));
    }

    #[test]
    fn unsafe_prefixes_are_refused() {
        for bad in [
            "",
            "_",
            "auth",
            "Auth_",
            "pg_x_",
            "auth\"_",
            "a_very_long_schema_prefix_",
        ] {
            assert!(check_prefix(bad).is_err(), "{bad:?}");
        }
        assert!(check_prefix("auth_ab_old_").is_ok());
    }
}
