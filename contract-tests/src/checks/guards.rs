//! The adapter's guards, on the test server's own routes: `GET /api/hello` (required user),
//! `GET /api/maybe` (optional user), `GET /api/admin` (role `admin`).

use serde_json::json;

use crate::client::{Ctx, PASSWORD, Res};

const PHONE: &str = "+15551230001";

#[track_caller]
fn user_id_of(res: &Res) -> serde_json::Value {
    let v = res.json_with(200);
    res.keys(&v, &["user_id"]);
    v["user_id"].clone()
}

/// The required-user guard: 401 `missing_token` without a token (or with another scheme),
/// `invalid_token` for garbage, `token_expired` / `token_revoked` for dead tokens; 200 with
/// the user otherwise.
pub async fn required_user(ctx: &Ctx) {
    let tokens = ctx.sms_user(PHONE).await;
    ctx.get("/api/hello", None)
        .await
        .error(401, "missing_token");
    ctx.request(reqwest::Method::GET, "/api/hello")
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .error(401, "missing_token");
    ctx.get("/api/hello", Some("garbage"))
        .await
        .error(401, "invalid_token");
    let res = ctx.get("/api/hello", Some(&tokens.access)).await;
    assert_eq!(user_id_of(&res), json!(tokens.user_id));
    // Expired.
    ctx.advance(606);
    ctx.get("/api/hello", Some(&tokens.access))
        .await
        .error(401, "token_expired");
    let fresh = ctx.refresh(&tokens.refresh).await.tokens();
    assert_eq!(
        user_id_of(&ctx.get("/api/hello", Some(&fresh.access)).await),
        json!(tokens.user_id)
    );
    // Revoked.
    ctx.route(reqwest::Method::POST, "/logout")
        .bearer(&fresh.access)
        .send()
        .await
        .no_content();
    ctx.get("/api/hello", Some(&fresh.access))
        .await
        .error(401, "token_revoked");
    // The store down: the guard fails closed.
    let again = {
        ctx.advance(61);
        ctx.sms_login(PHONE).await
    };
    ctx.kit.store.set_unavailable(true);
    ctx.get("/api/hello", Some(&again.access))
        .await
        .error(503, "store_unavailable");
    ctx.kit.store.set_unavailable(false);
}

/// The optional-user guard: no token means `{"user_id":null}`; a valid token gives the user;
/// a bad or dead token is still 401.
pub async fn optional_user(ctx: &Ctx) {
    let tokens = ctx.sms_user(PHONE).await;
    let res = ctx.get("/api/maybe", None).await;
    assert_eq!(user_id_of(&res), json!(null));
    let res = ctx.get("/api/maybe", Some(&tokens.access)).await;
    assert_eq!(user_id_of(&res), json!(tokens.user_id));
    ctx.get("/api/maybe", Some("garbage"))
        .await
        .error(401, "invalid_token");
    ctx.route(reqwest::Method::POST, "/logout")
        .bearer(&tokens.access)
        .send()
        .await
        .no_content();
    ctx.get("/api/maybe", Some(&tokens.access))
        .await
        .error(401, "token_revoked");
}

/// The role guard: 401 without a valid token, 403 `forbidden` without the role, 200 once the
/// role was granted and the token refreshed, 403 again once it was taken away (and the token
/// refreshed).
pub async fn role(ctx: &Ctx) {
    let tokens = ctx.sms_user(PHONE).await;
    ctx.get("/api/admin", None)
        .await
        .error(401, "missing_token");
    ctx.get("/api/admin", Some("garbage"))
        .await
        .error(401, "invalid_token");
    ctx.get("/api/admin", Some(&tokens.access))
        .await
        .error(403, "forbidden");
    ctx.auth()
        .set_roles(
            tokens.user_id.parse().expect("a user id"),
            vec!["admin".into()],
        )
        .await
        .expect("set_roles");
    // Whether the token in hand sees the new role at once depends on the token
    // configuration; after a refresh it does in every one.
    let fresh = ctx.refresh(&tokens.refresh).await.tokens();
    let res = ctx.get("/api/admin", Some(&fresh.access)).await;
    assert_eq!(user_id_of(&res), json!(tokens.user_id));
    let me = ctx.me(&fresh.access).await.json_with(200);
    assert_eq!(me["roles"], json!(["admin"]));
    // Taking the role away: 403 again (after a refresh at the latest).
    ctx.auth()
        .set_roles(tokens.user_id.parse().expect("a user id"), Vec::new())
        .await
        .expect("set_roles");
    let without = ctx.refresh(&fresh.refresh).await.tokens();
    ctx.get("/api/admin", Some(&without.access))
        .await
        .error(403, "forbidden");
    ctx.auth()
        .set_roles(
            tokens.user_id.parse().expect("a user id"),
            vec!["admin".into()],
        )
        .await
        .expect("set_roles");
    let fresh = ctx.refresh(&without.refresh).await.tokens();
    ctx.get("/api/admin", Some(&fresh.access))
        .await
        .json_with(200);
    // A role does not bypass revocation.
    ctx.route(reqwest::Method::POST, "/logout")
        .bearer(&fresh.access)
        .send()
        .await
        .no_content();
    ctx.get("/api/admin", Some(&fresh.access))
        .await
        .error(401, "token_revoked");
}

/// The test kit's configuration with tokens sent bare in an `Authentication-Token` header.
pub fn custom_token_header() -> auth_core::AuthConfig {
    let mut config = auth_core::testkit::TestKit::config();
    config.transport.header = "authentication-token".to_owned();
    config.transport.scheme = None;
    config
}

/// With `transport.header = "authentication-token"` and no scheme (see
/// [`custom_token_header`]): routes, guards and `/refresh` read the bare token from that header,
/// and an `Authorization: Bearer` header counts as no token at all.
pub async fn configured_token_header(ctx: &Ctx) {
    let tokens = ctx.sms_user(PHONE).await;
    let with = |method: reqwest::Method, path: &str, token: &str| {
        ctx.request(method, path)
            .header("authentication-token", token)
            .send()
    };
    with(reqwest::Method::GET, "/api/auth/me", &tokens.access)
        .await
        .json_with(200);
    let res = with(reqwest::Method::GET, "/api/hello", &tokens.access).await;
    assert_eq!(user_id_of(&res), json!(tokens.user_id));
    let res = with(reqwest::Method::GET, "/api/maybe", &tokens.access).await;
    assert_eq!(user_id_of(&res), json!(tokens.user_id));
    with(reqwest::Method::GET, "/api/admin", &tokens.access)
        .await
        .error(403, "forbidden");
    with(reqwest::Method::GET, "/api/hello", "garbage")
        .await
        .error(401, "invalid_token");
    // The standard header is not read.
    ctx.me(&tokens.access).await.error(401, "missing_token");
    ctx.get("/api/hello", Some(&tokens.access))
        .await
        .error(401, "missing_token");
    let res = ctx.get("/api/maybe", Some(&tokens.access)).await;
    assert_eq!(user_id_of(&res), json!(null));
    // Refresh through the configured header.
    let fresh = with(reqwest::Method::POST, "/api/auth/refresh", &tokens.refresh)
        .await
        .tokens();
    with(reqwest::Method::POST, "/api/auth/logout", &fresh.access)
        .await
        .no_content();
    with(reqwest::Method::GET, "/api/hello", &fresh.access)
        .await
        .error(401, "token_revoked");
}

/// The test kit's configuration with the HTTP Basic guard turned on.
pub fn basic_auth() -> auth_core::AuthConfig {
    let mut config = auth_core::testkit::TestKit::config();
    config.transport.basic_auth = true;
    config
}

/// With `transport.basic_auth` (see [`basic_auth`]): the app's guarded routes accept
/// `Authorization: Basic <email:password>`; wrong credentials are 401 `invalid_credentials`;
/// the auth routes still take access tokens only.
pub async fn basic_credentials(ctx: &Ctx) {
    use base64::Engine as _;
    let email = "basil@example.com";
    let user_id = ctx.register_email(email, PASSWORD).await;
    let basic = |user: &str, pw: &str| {
        let raw = format!("{user}:{pw}");
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    };
    let with = |path: &str, header: String| {
        ctx.request(reqwest::Method::GET, path)
            .header("authorization", &header)
            .send()
    };
    let res = with("/api/hello", basic(email, PASSWORD)).await;
    assert_eq!(user_id_of(&res), json!(user_id));
    let res = with("/api/maybe", basic(email, PASSWORD)).await;
    assert_eq!(user_id_of(&res), json!(user_id));
    with("/api/admin", basic(email, PASSWORD))
        .await
        .error(403, "forbidden");
    with("/api/hello", basic(email, "not the password at all"))
        .await
        .error(401, "invalid_credentials");
    with("/api/hello", basic("nobody@example.com", PASSWORD))
        .await
        .error(401, "invalid_credentials");
    with("/api/auth/me", basic(email, PASSWORD))
        .await
        .error(401, "missing_token");
}
