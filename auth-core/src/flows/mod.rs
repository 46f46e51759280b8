//! The flows of [`crate::Auth`], one file each. Every flow reads the clock once through the
//! injected [`crate::Clock`] and talks to the world only through the injected traits.

mod account;
mod admin;
mod email;
mod password_login;
mod password_reset;
mod phone_change;
mod profile;
mod reauth;
pub use password_login::LoginIdentifier;
mod register;
pub(crate) mod sessions;
mod sms_challenge;
mod sms_login;
