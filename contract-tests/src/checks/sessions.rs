//! Logout, logout of the other sessions, the session list, revoking one session.

use reqwest::Method;
use serde_json::json;

use crate::client::{Ctx, PASSWORD, PREFIX, Tokens};

const EMAIL: &str = "erin@example.com";

/// Logs the password account in again, with a user agent.
async fn login_as(ctx: &Ctx, user_agent: &str) -> Tokens {
    ctx.route(Method::POST, "/login")
        .header("user-agent", user_agent)
        .json(&json!({ "email": EMAIL, "password": PASSWORD }))
        .send()
        .await
        .tokens()
}

/// `POST /logout` with no body and no content type: 204, and the session's access and refresh
/// tokens stop working (401 `token_revoked`).
pub async fn logout(ctx: &Ctx) {
    let tokens = ctx.sms_user("+15551230001").await;
    ctx.route(Method::POST, "/logout")
        .send()
        .await
        .error(401, "missing_token");
    ctx.route(Method::POST, "/logout")
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .error(401, "missing_token");
    ctx.route(Method::POST, "/logout")
        .bearer("garbage")
        .send()
        .await
        .error(401, "invalid_token");
    ctx.route(Method::POST, "/logout")
        .bearer(&tokens.access)
        .send()
        .await
        .no_content();
    ctx.me(&tokens.access).await.error(401, "token_revoked");
    ctx.refresh(&tokens.refresh)
        .await
        .error(401, "token_revoked");
    ctx.route(Method::POST, "/logout")
        .bearer(&tokens.access)
        .send()
        .await
        .error(401, "token_revoked");
}

/// `POST /logout_all_other_sessions` with no body: 200 `{"revoked": n}`; the other sessions
/// are dead, the caller's lives on.
pub async fn logout_all_other_sessions(ctx: &Ctx) {
    ctx.register_email(EMAIL, PASSWORD).await;
    let a = ctx.password_login(EMAIL, PASSWORD).await;
    let b = ctx.password_login(EMAIL, PASSWORD).await;
    let c = ctx.password_login(EMAIL, PASSWORD).await;
    let other = ctx.sms_user("+15551230001").await;
    ctx.route(Method::POST, "/logout_all_other_sessions")
        .send()
        .await
        .error(401, "missing_token");
    let res = ctx
        .route(Method::POST, "/logout_all_other_sessions")
        .bearer(&a.access)
        .send()
        .await;
    let v = res.json_with(200);
    res.keys(&v, &["revoked"]);
    assert_eq!(v["revoked"], json!(2));
    ctx.me(&b.access).await.error(401, "token_revoked");
    ctx.me(&c.access).await.error(401, "token_revoked");
    ctx.refresh(&b.refresh).await.error(401, "token_revoked");
    ctx.me(&a.access).await.json_with(200);
    ctx.me(&other.access).await.json_with(200);
    let res = ctx
        .route(Method::POST, "/logout_all_other_sessions")
        .bearer(&a.access)
        .send()
        .await;
    assert_eq!(res.json_with(200), json!({ "revoked": 0 }));
}

/// `GET /sessions`: the caller's live sessions with exactly the contract's fields, the TCP
/// peer as `ip` (neither `X-Forwarded-For` nor `Forwarded` is trusted by default), the user
/// agent (cut to 512
/// characters), `current` on the caller's own.
pub async fn list(ctx: &Ctx) {
    ctx.register_email(EMAIL, PASSWORD).await;
    let a = ctx
        .route(Method::POST, "/login")
        .header("user-agent", "contract-suite/a")
        .header("x-forwarded-for", "203.0.113.7")
        .header("forwarded", "for=203.0.113.8")
        .json(&json!({ "email": EMAIL, "password": PASSWORD }))
        .send()
        .await
        .tokens();
    ctx.advance(1);
    let long_agent = format!("contract-suite/b {}", "x".repeat(16 * 1024));
    let b = login_as(ctx, &long_agent).await;
    let other = ctx.sms_user("+15551230001").await;
    ctx.get(&format!("{PREFIX}/sessions"), None)
        .await
        .error(401, "missing_token");
    let res = ctx
        .get(&format!("{PREFIX}/sessions"), Some(&a.access))
        .await;
    let v = res.json_with(200);
    let list = v
        .as_array()
        .unwrap_or_else(|| panic!("GET /sessions: an array, got {v}"));
    assert_eq!(list.len(), 2, "only the caller's own live sessions: {v}");
    for s in list {
        res.keys(
            s,
            &[
                "session_id",
                "created_at",
                "last_used_at",
                "ip",
                "user_agent",
                "current",
            ],
        );
        assert_eq!(
            s["ip"],
            json!("127.0.0.1"),
            "the TCP peer, not X-Forwarded-For or Forwarded"
        );
        assert!(s["created_at"].is_string() && s["last_used_at"].is_string());
        assert_ne!(s["session_id"], json!(other.session_id));
    }
    let find = |id: &str| {
        list.iter()
            .find(|s| s["session_id"] == json!(id))
            .unwrap_or_else(|| panic!("session {id} is listed: {v}"))
    };
    let (sa, sb) = (find(&a.session_id), find(&b.session_id));
    assert_eq!(sa["current"], json!(true));
    assert_eq!(sb["current"], json!(false));
    assert_eq!(sa["user_agent"], json!("contract-suite/a"));
    let agent_b = sb["user_agent"].as_str().unwrap_or_default();
    assert_eq!(
        agent_b.chars().count(),
        auth_core::api::ClientInfo::MAX_USER_AGENT,
        "an over-long user agent is cut to ClientInfo::MAX_USER_AGENT characters"
    );
    assert!(agent_b.starts_with("contract-suite/b "));
    // From the other session's point of view.
    let v = ctx
        .get(&format!("{PREFIX}/sessions"), Some(&b.access))
        .await
        .json_with(200);
    let current: Vec<&serde_json::Value> = v
        .as_array()
        .map(|l| l.iter().filter(|s| s["current"] == json!(true)).collect())
        .unwrap_or_default();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["session_id"], json!(b.session_id));
}

/// `DELETE /sessions/{id}`: 204 for the caller's own session (which then stops working);
/// 404 `not_found` for another user's, an unknown, a malformed or an ended one.
pub async fn revoke_one(ctx: &Ctx) {
    ctx.register_email(EMAIL, PASSWORD).await;
    let a = ctx.password_login(EMAIL, PASSWORD).await;
    let b = ctx.password_login(EMAIL, PASSWORD).await;
    let other = ctx.sms_user("+15551230001").await;
    let delete = |id: &str, bearer: Option<&str>| {
        let mut req = ctx.request(Method::DELETE, &format!("{PREFIX}/sessions/{id}"));
        if let Some(token) = bearer {
            req = req.bearer(token);
        }
        req.send()
    };
    delete(&b.session_id, None)
        .await
        .error(401, "missing_token");
    delete(&other.session_id, Some(&a.access))
        .await
        .error(404, "not_found");
    ctx.me(&other.access).await.json_with(200);
    for bad in [
        "not-a-session",
        "00000000-0000-4000-8000-000000000000",
        "%FF%FE",
        "%20",
    ] {
        delete(bad, Some(&a.access)).await.error(404, "not_found");
    }
    delete(&b.session_id, Some(&a.access)).await.no_content();
    ctx.me(&b.access).await.error(401, "token_revoked");
    ctx.refresh(&b.refresh).await.error(401, "token_revoked");
    delete(&b.session_id, Some(&a.access))
        .await
        .error(404, "not_found");
    delete(&a.session_id, Some(&a.access)).await.no_content();
    ctx.me(&a.access).await.error(401, "token_revoked");
}
