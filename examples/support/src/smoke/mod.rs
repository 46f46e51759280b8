//! The smoke test of the example servers (feature `smoke`): starts a server binary on a free
//! port with a temporary database and SMS outbox, performs the README's curl walkthrough over
//! HTTP, stops it with SIGTERM and checks that it exits cleanly. Each example server runs it
//! on its own binary as an integration test:
//!
//! ```no_run
//! #[tokio::test(flavor = "multi_thread")]
//! async fn readme_walkthrough_on_sqlite() -> anyhow::Result<()> {
//!     example_support::smoke::run_sqlite(env!("CARGO_BIN_EXE_example-axum").as_ref()).await
//! }
//! ```
//!
//! The walkthrough: register a phone → login → read the code from the outbox file →
//! verify_sms → `GET /api/hello` → refresh → logout → the old access token and both refresh
//! tokens fail. Around it: the optional-user and admin routes (an account listed in
//! `AUTH_ADMINS` gets `admin` on registration), the request log (one line per request, no
//! token or code in it), and a restart on the same database (the account and a live session
//! survive, so the generated secret was kept).

mod http;
mod instances;
mod server;

use std::path::Path;

use anyhow::{Context as _, Result, bail, ensure};
use reqwest::StatusCode;
use serde_json::{Value, json};

use http::{Http, expect, expect_error, text};
pub use instances::{run_postgres_pair, run_redis_pair};
use server::{Backend, Output, Server, ServerEnv};

/// The phone of the walkthrough's user (the one in the README).
pub const USER_PHONE: &str = "+15551234567";
/// The phone listed in `AUTH_ADMINS`.
pub const ADMIN_PHONE: &str = "+15550000001";

/// The walkthrough on the default store: a SQLite file in a temporary directory.
pub async fn run_sqlite(binary: &Path) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let env = ServerEnv::new(dir.path(), Backend::Sqlite);
    walkthrough_with_restart(binary, &env).await
}

/// The walkthrough on Redis, when `REDIS_URL` is set (as `scripts/test.sh` does), under a key
/// prefix of its own that is deleted afterwards. Without `REDIS_URL` it says so and passes.
pub async fn run_redis(binary: &Path) -> Result<()> {
    match Backend::redis("smoke") {
        Some(backend) => walkthrough_on(binary, backend).await,
        None => Ok(()),
    }
}

/// The walkthrough on PostgreSQL, when `DATABASE_URL` is set (as `scripts/test.sh` does), in
/// a schema of its own that is dropped afterwards. Without `DATABASE_URL` it says so and
/// passes.
pub async fn run_postgres(binary: &Path) -> Result<()> {
    match Backend::postgres("smoke") {
        Some(backend) => walkthrough_on(binary, backend).await,
        None => Ok(()),
    }
}

/// The walkthrough on a shared store, which is cleaned up afterwards.
async fn walkthrough_on(binary: &Path, backend: Backend) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let env = ServerEnv::new(dir.path(), backend.clone());
    let result = walkthrough_with_restart(binary, &env).await;
    backend.clean_up().await;
    result
}

async fn walkthrough_with_restart(binary: &Path, env: &ServerEnv) -> Result<()> {
    let server = Server::start(binary, env).await?;
    let walked = walkthrough(&server.base, &env.sms_outbox).await;
    let stopped = server.stop().await;
    let (secrets, admin_access) = walked?;
    let output = stopped?;
    check_output(&output, &secrets, "method=GET path=/api/hello status=200 ")?;
    ensure!(
        output.stdout.contains(&format!("code for {USER_PHONE}: ")),
        "the development SMS sender printed no code:\n{}",
        output.stdout
    );
    check_secret_file(&env.db)?;

    // Same database, new process: the account and the admin's live session are still there.
    let server = Server::start(binary, env).await?;
    let again = after_restart(&server.base, &admin_access).await;
    let output = server.stop().await?;
    again?;
    check_output(&output, &secrets, "method=GET path=/api/admin status=200 ")
}

/// The README's walkthrough; returns every token and code it saw, and the admin's access
/// token (left signed in for the restart check).
async fn walkthrough(base: &str, outbox: &Path) -> Result<(Vec<String>, String)> {
    let http = Http::new(base)?;
    let mut secrets = Vec::new();

    // register → login → code from the outbox → verify_sms
    let (status, body) = http
        .post("/api/auth/register", None, json!({ "phone": USER_PHONE }))
        .await?;
    expect(status, StatusCode::CREATED, &body, "register")?;
    let user_id = text(&body, "user_id")?;
    let tokens = sms_login(&http, outbox, USER_PHONE, &mut secrets).await?;
    ensure!(
        text(&tokens, "user_id")? == user_id,
        "verify_sms: another user: {tokens}"
    );
    let access = text(&tokens, "access_token")?;
    let refresh = text(&tokens, "refresh_token")?;

    // the app's routes and their guards
    let (status, body) = http.get("/api/hello", Some(&access)).await?;
    expect(status, StatusCode::OK, &body, "GET /api/hello")?;
    ensure!(
        body == json!({ "message": "hello", "user_id": user_id }),
        "GET /api/hello: {body}"
    );
    let (status, body) = http.get("/api/hello", None).await?;
    expect_error(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "missing_token",
        "hello, no token",
    )?;
    let (status, body) = http.get("/api/maybe", None).await?;
    expect(status, StatusCode::OK, &body, "GET /api/maybe, no token")?;
    ensure!(
        body.get("user_id").is_some_and(Value::is_null),
        "GET /api/maybe, no token: {body}"
    );
    let (status, body) = http.get("/api/maybe", Some(&access)).await?;
    expect(status, StatusCode::OK, &body, "GET /api/maybe")?;
    ensure!(
        body.get("user_id") == Some(&json!(user_id)),
        "GET /api/maybe: {body}"
    );
    let (status, body) = http.get("/api/maybe", Some("not-a-token")).await?;
    ensure!(
        status == StatusCode::UNAUTHORIZED,
        "maybe with a bad token: {status} {body}"
    );
    let (status, body) = http.get("/api/admin", Some(&access)).await?;
    expect_error(
        status,
        &body,
        StatusCode::FORBIDDEN,
        "forbidden",
        "admin, not admin",
    )?;

    // refresh → logout → the old tokens fail
    let (status, pair) = http
        .post(
            "/api/auth/refresh",
            None,
            json!({ "refresh_token": refresh }),
        )
        .await?;
    expect(status, StatusCode::OK, &pair, "refresh")?;
    let access2 = text(&pair, "access_token")?;
    let refresh2 = text(&pair, "refresh_token")?;
    secrets.extend([access2.clone(), refresh2.clone()]);
    ensure!(
        refresh2 != refresh,
        "refresh: the refresh token was not rotated"
    );
    let (status, body) = http.get("/api/hello", Some(&access2)).await?;
    expect(
        status,
        StatusCode::OK,
        &body,
        "hello with the refreshed token",
    )?;
    let (status, body) = http.post_empty("/api/auth/logout", Some(&access2)).await?;
    expect(status, StatusCode::NO_CONTENT, &body, "logout")?;
    for (what, token) in [("new", &access2), ("first", &access)] {
        let (status, body) = http.get("/api/hello", Some(token)).await?;
        let context = format!("hello with the {what} access token after logout");
        expect_error(
            status,
            &body,
            StatusCode::UNAUTHORIZED,
            "token_revoked",
            &context,
        )?;
    }
    for (what, token) in [("new", &refresh2), ("first", &refresh)] {
        let (status, body) = http
            .post("/api/auth/refresh", None, json!({ "refresh_token": token }))
            .await?;
        let context = format!("refresh with the {what} refresh token after logout");
        expect_error(
            status,
            &body,
            StatusCode::UNAUTHORIZED,
            "token_revoked",
            &context,
        )?;
    }

    // an account listed in AUTH_ADMINS gets the role when it registers
    let (status, body) = http
        .post("/api/auth/register", None, json!({ "phone": ADMIN_PHONE }))
        .await?;
    expect(status, StatusCode::CREATED, &body, "register the admin")?;
    let tokens = sms_login(&http, outbox, ADMIN_PHONE, &mut secrets).await?;
    let admin_access = text(&tokens, "access_token")?;
    let (status, body) = http.get("/api/admin", Some(&admin_access)).await?;
    expect(status, StatusCode::OK, &body, "GET /api/admin as admin")?;
    ensure!(
        body == json!({ "message": "hello, admin", "user_id": text(&tokens, "user_id")? }),
        "GET /api/admin: {body}"
    );
    Ok((secrets, admin_access))
}

/// After a restart on the same database: the phone is still registered, and the admin's
/// session (and so the signing secret) still works.
async fn after_restart(base: &str, admin_access: &str) -> Result<()> {
    let http = Http::new(base)?;
    let (status, body) = http
        .post("/api/auth/register", None, json!({ "phone": USER_PHONE }))
        .await?;
    expect_error(
        status,
        &body,
        StatusCode::CONFLICT,
        "already_registered",
        "after restart",
    )?;
    let (status, body) = http.get("/api/admin", Some(admin_access)).await?;
    expect(
        status,
        StatusCode::OK,
        &body,
        "the admin's token after a restart",
    )
}

/// `POST /login {"phone"}`, the code from the outbox, `POST /verify_sms`: the token pair.
pub(crate) async fn sms_login(
    http: &Http,
    outbox: &Path,
    phone: &str,
    secrets: &mut Vec<String>,
) -> Result<Value> {
    let (status, body) = http
        .post("/api/auth/login", None, json!({ "phone": phone }))
        .await?;
    expect(status, StatusCode::ACCEPTED, &body, "login")?;
    let challenge_id = text(&body, "challenge_id")?;
    let code = code_from_outbox(outbox, phone)?;
    let (status, tokens) = http
        .post(
            "/api/auth/verify_sms",
            None,
            json!({ "challenge_id": challenge_id, "code": code }),
        )
        .await?;
    expect(status, StatusCode::OK, &tokens, "verify_sms")?;
    secrets.extend([
        code,
        text(&tokens, "access_token")?,
        text(&tokens, "refresh_token")?,
    ]);
    Ok(tokens)
}

/// The code of the latest SMS to `phone` in the outbox file.
pub fn code_from_outbox(outbox: &Path, phone: &str) -> Result<String> {
    let lines = std::fs::read_to_string(outbox)
        .with_context(|| format!("cannot read the SMS outbox {}", outbox.display()))?;
    for line in lines.lines().rev() {
        let sms: Value = serde_json::from_str(line).context("an outbox line is not JSON")?;
        if sms.get("to").and_then(Value::as_str) == Some(phone) {
            return text(&sms, "code");
        }
    }
    bail!("no SMS to {phone} in {}", outbox.display())
}

/// The server's log must show the request lines and the clean stop, and no token or code
/// (the development SMS sender prints codes on stdout, which is not the log).
fn check_output(output: &Output, secrets: &[String], request_line: &str) -> Result<()> {
    for secret in secrets {
        ensure!(
            !output.stderr.contains(secret.as_str()),
            "a token or code appears in the log:\n{}",
            output.stderr
        );
    }
    let has = |needle: &str| output.stderr.contains(needle);
    ensure!(
        has(request_line),
        "no request line {request_line:?} in the log:\n{}",
        output.stderr
    );
    // One line per request: no framework's own request logging, no warning on this path.
    let noisy: Vec<&str> = output
        .stderr
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .collect();
    ensure!(
        noisy.is_empty(),
        "unexpected warnings in the log:\n{}",
        noisy.join("\n")
    );
    ensure!(
        has("SIGTERM received") && has("stopped"),
        "no clean stop in the log:\n{}",
        output.stderr
    );
    Ok(())
}

/// The generated signing secret sits beside the database, readable by its owner only.
fn check_secret_file(db: &Path) -> Result<()> {
    let path = crate::secret::secret_path(db);
    let meta = std::fs::metadata(&path)
        .with_context(|| format!("no generated secret at {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        ensure!(
            mode == 0o600,
            "{} has mode {mode:o}, not 600",
            path.display()
        );
    }
    ensure!(meta.len() >= 32, "{} is too short", path.display());
    Ok(())
}
