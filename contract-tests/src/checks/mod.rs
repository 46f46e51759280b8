//! Every check of the suite, grouped by area. Each is a `pub async fn(&Ctx)` that panics when
//! the server breaks the contract; [`CHECKS`] lists them with their names.

pub mod account;
pub mod body;
pub mod email;
pub mod errors;
pub mod guards;
pub mod password_login;
pub mod phone;
pub mod profile;
pub mod refresh;
pub mod register;
pub mod sessions;
pub mod sms_login;

use auth_core::testkit::TestKit;

use crate::Check;

macro_rules! check {
    ($f:path) => {
        check!($f, TestKit::config)
    };
    ($f:path, $config:path) => {
        check!(stringify!($f), $f, $config)
    };
    ($name:expr, $f:path, $config:path) => {
        Check {
            name: $name,
            config: $config,
            run: |ctx| Box::pin(async move { $f(&ctx).await }),
        }
    };
}

/// The test kit's configuration with opaque access tokens instead of JWTs.
pub fn opaque_tokens() -> auth_core::AuthConfig {
    let mut config = TestKit::config();
    config.access.mode = auth_core::config::AccessMode::Opaque;
    config
}

/// The test kit's configuration with one password hashing thread and a queue of one: small
/// enough that saturating the pool is quick.
pub fn hashing_one_thread() -> auth_core::AuthConfig {
    let mut config = TestKit::config();
    config.password.max_concurrent_hashes = 1;
    config.password.max_queued_hashes = Some(1);
    config
}

/// Every check, in the order the suite runs them.
pub static CHECKS: &[Check] = &[
    check!(register::phone_account),
    check!(register::email_account),
    check!(register::rejects_bad_input),
    check!(register::weak_passwords),
    check!(register::rate_limits, register::low_limits),
    check!(register::conceal_existing_email, register::conceal_existing),
    check!(body::malformed_json),
    check!(body::content_types),
    check!(body::missing_and_unknown_fields),
    check!(body::empty_bodies),
    check!(body::size_limit),
    check!(sms_login::full_flow),
    check!(sms_login::unknown_phone),
    check!(sms_login::wrong_codes_burn_the_challenge),
    check!(sms_login::expired_code),
    check!(sms_login::bad_challenges),
    check!(sms_login::rate_limits),
    check!(sms_login::sms_unavailable),
    check!(sms_login::disabled_account),
    check!(password_login::full_flow),
    check!(password_login::disabled_account),
    check!(refresh::rotates),
    check!(refresh::errors),
    check!(refresh::grace_window_then_reuse),
    check!(refresh::racing_refreshes),
    check!(refresh::expiry),
    check!(sessions::logout),
    check!(sessions::logout_all_other_sessions),
    check!(sessions::list),
    check!(sessions::revoke_one),
    check!(account::me),
    check!(account::change_password),
    check!(account::first_password),
    check!(profile::update_me, profile::config),
    check!(profile::public_profile, profile::config),
    check!(email::activation),
    check!(email::password_reset_by_email),
    check!(email::change_email),
    check!(phone::password_reset_by_sms),
    check!(phone::change_phone),
    check!(guards::required_user),
    check!(guards::optional_user),
    check!(guards::role),
    check!(guards::configured_token_header, guards::custom_token_header),
    check!(guards::basic_credentials, guards::basic_auth),
    check!(
        "guards::required_user (opaque tokens)",
        guards::required_user,
        opaque_tokens
    ),
    check!(
        "guards::optional_user (opaque tokens)",
        guards::optional_user,
        opaque_tokens
    ),
    check!("guards::role (opaque tokens)", guards::role, opaque_tokens),
    check!(
        "refresh::grace_window_then_reuse (opaque tokens)",
        refresh::grace_window_then_reuse,
        opaque_tokens
    ),
    check!(
        "sessions::logout (opaque tokens)",
        sessions::logout,
        opaque_tokens
    ),
    check!(errors::unknown_paths),
    check!(errors::wrong_methods),
    check!(errors::store_unavailable),
    check!(errors::hashing_saturated, hashing_one_thread),
    check!(errors::garbage),
];
