//! The flows of [`crate::Auth`], one file per flow or family of flows, each a
//! [`Flow`](crate::pipeline::Flow) run by the pipeline; and beside them the machinery several
//! flows share (`sms_challenge`, `mailing`, `issuing`, `credentials`, `password_check`,
//! `reauth`). Flows take
//! the time from their context (read once per action) and talk to the world only through the
//! injected traits.

pub(crate) mod account;
pub(crate) mod admin;
pub(crate) mod credentials;
pub(crate) mod email;
pub(crate) mod issuing;
pub(crate) mod mailing;
mod password_check;
pub(crate) mod password_login;
pub(crate) mod password_reset;
pub(crate) mod phone_change;
pub(crate) mod profile;
pub(crate) mod reauth;
pub(crate) mod register;
pub(crate) mod sessions;
pub(crate) mod sms_challenge;
pub(crate) mod sms_login;

pub use password_login::LoginIdentifier;
