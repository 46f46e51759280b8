//! The README's configuration snippet: `AuthConfig` from JSON.

/// The README's snippet, returning the configuration it loads.
pub fn load() -> Result<auth_core::AuthConfig, serde_json::Error> {
    let config: auth_core::AuthConfig = serde_json::from_str(
        r#"{
    "secret": "at least 32 bytes of secret from your vault",
    "sms": { "code_length": 8, "signup_on_first_login": true }
}"#,
    )?;
    Ok(config)
}
