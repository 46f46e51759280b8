//! The JSON bodies of the example app's own routes, the same for every framework.

use auth_core::UserId;
use serde_json::{Value, json};

/// `GET /api/hello` (a signed-in user is required): `{"message":"hello","user_id":…}`.
pub fn hello(user_id: UserId) -> Value {
    json!({ "message": "hello", "user_id": user_id })
}

/// `GET /api/maybe` (the user is optional): `{"message":"hello","user_id":…}` for a signed-in
/// user, `{"message":"hello, stranger","user_id":null}` without a token.
pub fn maybe(user_id: Option<UserId>) -> Value {
    match user_id {
        Some(user_id) => hello(user_id),
        None => json!({ "message": "hello, stranger", "user_id": null }),
    }
}

/// `GET /api/admin` (the `admin` role is required): `{"message":"hello, admin","user_id":…}`.
pub fn admin(user_id: UserId) -> Value {
    json!({ "message": "hello, admin", "user_id": user_id })
}
