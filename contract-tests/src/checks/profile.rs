//! `PATCH /me` and `GET /users/{user_id}`, against declared profile fields: `display_name`
//! (string of at most 32 characters, editable, exposed), `age` (integer, editable, not
//! exposed) and `badge` (string, exposed, not editable).

use auth_core::AuthConfig;
use auth_core::profile::{FieldKind, ProfileField};
use auth_core::testkit::TestKit;
use reqwest::Method;
use serde_json::{Value, json};

use crate::client::{Ctx, PREFIX};

/// The test kit's configuration with the profile fields above.
pub fn config() -> AuthConfig {
    let mut config = TestKit::config();
    let fields = &mut config.accounts.profile_fields;
    let _ = fields.insert(
        "display_name".to_owned(),
        ProfileField {
            kind: FieldKind::String { max_len: 32 },
            editable: true,
            exposed: true,
        },
    );
    let _ = fields.insert(
        "age".to_owned(),
        ProfileField {
            kind: FieldKind::Integer,
            editable: true,
            exposed: false,
        },
    );
    let _ = fields.insert(
        "badge".to_owned(),
        ProfileField {
            kind: FieldKind::String { max_len: 32 },
            editable: false,
            exposed: true,
        },
    );
    config
}

async fn patch_me(ctx: &Ctx, bearer: &str, body: &Value) -> crate::Res {
    ctx.route(Method::PATCH, "/me")
        .bearer(bearer)
        .json(body)
        .send()
        .await
}

/// `PATCH /me`: 200 with the `GET /me` shape; a field that is not editable, unknown or of the
/// wrong type is 400 `invalid_request` and changes nothing; `null` removes a field.
pub async fn update_me(ctx: &Ctx) {
    ctx.post_json(
        "/register",
        &json!({ "phone": "+15551230001", "profile": { "badge": "gold" } }),
    )
    .await
    .error(400, "invalid_request");
    let res = ctx
        .post_json(
            "/register",
            &json!({ "phone": "+15551230001", "profile": { "display_name": "Jo", "age": 30 } }),
        )
        .await;
    res.json_with(201);
    let tokens = ctx.sms_login("+15551230001").await;
    let res = patch_me(ctx, &tokens.access, &json!({ "display_name": "Joanna" })).await;
    let v = res.json_with(200);
    res.keys(
        &v,
        &[
            "user_id",
            "phone",
            "email",
            "username",
            "roles",
            "profile",
            "created_at",
            "last_login_at",
            "login_count",
        ],
    );
    assert_eq!(v["profile"], json!({ "display_name": "Joanna", "age": 30 }));
    for bad in [
        json!({ "badge": "platinum" }),
        json!({ "unknown": 1 }),
        json!({ "display_name": "Jo", "badge": "platinum" }),
        json!({ "display_name": 5 }),
        json!({ "display_name": "x".repeat(33) }),
        json!({ "age": "thirty" }),
        json!({ "age": 30.5 }),
        json!({ "phone": "+15551230002" }),
        json!({ "roles": ["admin"] }),
        json!([]),
        json!(null),
    ] {
        let res = patch_me(ctx, &tokens.access, &bad).await;
        assert_eq!(
            res.status,
            400,
            "PATCH /me {bad}: {}",
            String::from_utf8_lossy(&res.body)
        );
        res.error(400, "invalid_request");
    }
    let v = ctx.me(&tokens.access).await.json_with(200);
    assert_eq!(
        v["profile"],
        json!({ "display_name": "Joanna", "age": 30 }),
        "refused patches changed nothing"
    );
    assert_eq!(v["roles"], json!([]));
    let v = patch_me(ctx, &tokens.access, &json!({ "age": null }))
        .await
        .json_with(200);
    assert_eq!(v["profile"], json!({ "display_name": "Joanna" }));
    // Token and body handling as everywhere.
    ctx.route(Method::PATCH, "/me")
        .json(&json!({ "display_name": "X" }))
        .send()
        .await
        .error(401, "missing_token");
    ctx.route(Method::PATCH, "/me")
        .bearer(&tokens.access)
        .body(Some("text/plain"), br#"{"display_name":"X"}"#.to_vec())
        .send()
        .await
        .error(400, "invalid_request");
    ctx.route(Method::PATCH, "/me")
        .bearer(&tokens.access)
        .body(Some("application/json"), b"{\"display_name\":".to_vec())
        .send()
        .await
        .error(400, "invalid_request");
}

/// `GET /users/{user_id}`: any signed-in user sees `{"user_id", ...exposed fields}`; an
/// unknown or malformed id is 404 `not_found`; no token is 401.
pub async fn public_profile(ctx: &Ctx) {
    let res = ctx
        .post_json(
            "/register",
            &json!({ "phone": "+15551230001", "profile": { "display_name": "Kim", "age": 41 } }),
        )
        .await;
    let kim = res.json_with(201)["user_id"]
        .as_str()
        .expect("user_id")
        .to_owned();
    let viewer = ctx.sms_user("+15551230002").await;
    let path = format!("{PREFIX}/users/{kim}");
    ctx.get(&path, None).await.error(401, "missing_token");
    ctx.get(&path, Some("garbage"))
        .await
        .error(401, "invalid_token");
    let res = ctx.get(&path, Some(&viewer.access)).await;
    let v = res.json_with(200);
    assert_eq!(
        v,
        json!({ "user_id": kim, "display_name": "Kim" }),
        "only the exposed fields"
    );
    let v = ctx
        .get(
            &format!("{PREFIX}/users/{}", viewer.user_id),
            Some(&viewer.access),
        )
        .await
        .json_with(200);
    assert_eq!(v, json!({ "user_id": viewer.user_id }));
    for unknown in [
        "9b2f3f7e-5d1c-4a8e-9f00-1234567890ab",
        "not-a-user",
        "%FF%FE",
    ] {
        ctx.get(&format!("{PREFIX}/users/{unknown}"), Some(&viewer.access))
            .await
            .error(404, "not_found");
    }
}
