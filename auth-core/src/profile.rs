//! Profile fields: which fields of the free-form profile object a user may change
//! (`PATCH /me`) and which anyone signed in may read (`GET /users/{id}`), with their types.
//!
//! Declared in configuration (`accounts.profile_fields`):
//! ```toml
//! [accounts.profile_fields.display_name]
//! kind = { type = "string", max_len = 64 }
//! editable = true
//! exposed = true
//! ```
//! With no fields declared, the profile is whatever registration stored, `PATCH /me` accepts
//! nothing and `GET /users/{id}` shows only the id.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::AuthError;

/// The type of a profile field's value.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FieldKind {
    /// A string of at most `max_len` characters.
    String {
        /// Longest accepted value, in characters.
        max_len: usize,
    },
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// Any JSON value (the total profile size limit still applies).
    Any,
}

/// One declared profile field.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileField {
    /// The value's type.
    pub kind: FieldKind,
    /// Whether the user may set it (at registration and with `PATCH /me`).
    #[serde(default)]
    pub editable: bool,
    /// Whether `GET /users/{id}` shows it to other signed-in users.
    #[serde(default)]
    pub exposed: bool,
}

impl ProfileField {
    /// Checks a value against the field's type. `null` is always accepted (it clears the field).
    pub fn check(&self, name: &str, value: &Value) -> Result<(), AuthError> {
        let ok = match (&self.kind, value) {
            (_, Value::Null) | (FieldKind::Any, _) | (FieldKind::Boolean, Value::Bool(_)) => true,
            (FieldKind::Integer, Value::Number(n)) => n.is_i64() || n.is_u64(),
            (FieldKind::String { max_len }, Value::String(s)) => s.chars().count() <= *max_len,
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(AuthError::invalid_request(format!(
                "invalid value for profile field `{name}`"
            )))
        }
    }
}

/// Applies `patch` (a JSON object) to `profile` following `fields`: every key must be a
/// declared editable field with a value of its type; `null` removes the field. Nothing is
/// changed when any key is refused.
pub(crate) fn apply_patch(
    fields: &std::collections::BTreeMap<String, ProfileField>,
    profile: &Value,
    patch: &Value,
) -> Result<Value, AuthError> {
    let Value::Object(patch) = patch else {
        return Err(AuthError::invalid_request(
            "the body must be a JSON object of profile fields",
        ));
    };
    for (name, value) in patch {
        match fields.get(name) {
            Some(field) if field.editable => field.check(name, value)?,
            _ => {
                return Err(AuthError::invalid_request(format!(
                    "profile field `{name}` cannot be changed"
                )));
            }
        }
    }
    let mut updated = match profile {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    for (name, value) in patch {
        if value.is_null() {
            updated.remove(name);
        } else {
            updated.insert(name.clone(), value.clone());
        }
    }
    Ok(Value::Object(updated))
}

/// The exposed fields of `profile`.
pub(crate) fn exposed(
    fields: &std::collections::BTreeMap<String, ProfileField>,
    profile: &Value,
) -> Map<String, Value> {
    let mut out = Map::new();
    if let Value::Object(map) = profile {
        for (name, value) in map {
            if fields.get(name).is_some_and(|f| f.exposed) {
                out.insert(name.clone(), value.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn fields() -> BTreeMap<String, ProfileField> {
        let mut f = BTreeMap::new();
        f.insert(
            "name".to_owned(),
            ProfileField {
                kind: FieldKind::String { max_len: 5 },
                editable: true,
                exposed: true,
            },
        );
        f.insert(
            "age".to_owned(),
            ProfileField {
                kind: FieldKind::Integer,
                editable: true,
                exposed: false,
            },
        );
        f.insert(
            "vip".to_owned(),
            ProfileField {
                kind: FieldKind::Boolean,
                editable: false,
                exposed: true,
            },
        );
        f
    }

    #[test]
    fn patches_follow_the_declaration() {
        let f = fields();
        let p = json!({"name": "Al", "vip": true, "legacy": 1});
        assert_eq!(
            apply_patch(&f, &p, &json!({"name": "Bo", "age": 3})).unwrap(),
            json!({"name": "Bo", "age": 3, "vip": true, "legacy": 1})
        );
        assert_eq!(
            apply_patch(&f, &p, &json!({"name": null})).unwrap(),
            json!({"vip": true, "legacy": 1})
        );
        for bad in [
            json!({"vip": false}),
            json!({"legacy": 2}),
            json!({"name": "toolong"}),
            json!({"age": "3"}),
            json!({"age": 1.5}),
            json!([1]),
        ] {
            assert_eq!(
                apply_patch(&f, &p, &bad).unwrap_err().code(),
                "invalid_request",
                "{bad}"
            );
        }
    }

    #[test]
    fn only_exposed_fields_are_shown() {
        let shown = exposed(
            &fields(),
            &json!({"name": "Al", "age": 3, "vip": true, "legacy": 1}),
        );
        assert_eq!(Value::Object(shown), json!({"name": "Al", "vip": true}));
    }

    #[test]
    fn declarations_load_from_json() {
        let f: ProfileField = serde_json::from_value(
            json!({"kind": {"type": "string", "max_len": 64}, "editable": true}),
        )
        .unwrap();
        assert_eq!(f.kind, FieldKind::String { max_len: 64 });
        assert!(f.editable && !f.exposed);
    }
}
