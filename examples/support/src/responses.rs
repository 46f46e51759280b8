//! The JSON bodies of the example app's own routes, the same for every framework: a typed
//! [`Greeting`] (serialized straight to bytes, with no intermediate `serde_json::Value`).

use auth_core::UserId;
use serde::Serialize;

/// The body of `/api/hello`, `/api/maybe` and `/api/admin`: `{"message":…,"user_id":…}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Greeting {
    /// What the route says.
    pub message: &'static str,
    /// The signed-in user, `null` without one.
    pub user_id: Option<UserId>,
}

impl std::fmt::Display for Greeting {
    /// The JSON text (for frameworks that take a string body).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let json = serde_json::to_string(self).map_err(|_| std::fmt::Error)?;
        f.write_str(&json)
    }
}

/// `GET /api/hello` (a signed-in user is required): `{"message":"hello","user_id":…}`.
pub fn hello(user_id: UserId) -> Greeting {
    Greeting {
        message: "hello",
        user_id: Some(user_id),
    }
}

/// `GET /api/maybe` (the user is optional): `{"message":"hello","user_id":…}` for a signed-in
/// user, `{"message":"hello, stranger","user_id":null}` without a token.
pub fn maybe(user_id: Option<UserId>) -> Greeting {
    match user_id {
        Some(user_id) => hello(user_id),
        None => Greeting {
            message: "hello, stranger",
            user_id: None,
        },
    }
}

/// `GET /api/admin` (the `admin` role is required): `{"message":"hello, admin","user_id":…}`.
pub fn admin(user_id: UserId) -> Greeting {
    Greeting {
        message: "hello, admin",
        user_id: Some(user_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_the_documented_json() {
        let id = UserId::new_random();
        let hello: serde_json::Value = serde_json::from_str(&hello(id).to_string()).unwrap();
        assert_eq!(
            hello,
            serde_json::json!({ "message": "hello", "user_id": id.to_string() })
        );
        let stranger: serde_json::Value = serde_json::from_str(&maybe(None).to_string()).unwrap();
        assert_eq!(
            stranger,
            serde_json::json!({ "message": "hello, stranger", "user_id": null })
        );
        assert_eq!(admin(id).message, "hello, admin");
    }
}
