//! # example-support
//!
//! What the three example servers (`example-axum`, `example-actix`, `example-rocket`) share,
//! so each server file holds only what is particular to its framework:
//!
//! * [`Settings`]: the configuration, from environment variables with defaults that need no
//!   set-up (`AUTH_DB`, `AUTH_BIND`, `REDIS_URL`, `AUTH_JWT_SECRET`, `AUTH_SMS_OUTBOX`,
//!   `AUTH_EMAIL_OUTBOX`, `AUTH_ADMINS`, `AUTH_REDIS_PREFIX`, `AUTH_TRUSTED_PROXIES`,
//!   `AUTH_REQUEST_LOG`, …);
//! * [`ExampleApp::start`]: logging, settings, the store (SQLite file, or Redis when
//!   `REDIS_URL` is set), the signing secret (generated and kept beside the database when
//!   `AUTH_JWT_SECRET` is unset), the development SMS and mail senders, and the
//!   [`AdminGrants`] hook, all wired into one [`auth_core::Auth`];
//! * [`DevSms`] / [`DevMail`]: senders that print to the terminal and append JSON lines to an
//!   outbox file, so a person or a script can read the codes;
//! * [`log_request`]: the request log every server writes (method, path, status, latency:
//!   never a header or a body, so never a token, code or password), by default one summary
//!   line per route and status each second (`AUTH_REQUEST_LOG`: `summary`, `each`, `off`);
//! * [`shutdown_signal`]: resolves on Ctrl-C or SIGTERM, for graceful shutdown;
//! * [`responses`]: the bodies of the example routes `/api/hello`, `/api/maybe`, `/api/admin`;
//! * with the `smoke` feature, [`smoke`]: the README's curl walkthrough over HTTP against a
//!   server binary, which each example server runs as an integration test.

mod admins;
mod app;
mod dev_mail;
mod dev_sms;
mod logging;
mod outbox;
mod request_log;
pub mod responses;
mod secret;
mod settings;
mod shutdown;
#[cfg(feature = "smoke")]
pub mod smoke;
mod store;

pub use admins::{AdminGrants, AdminList};
pub use app::ExampleApp;
pub use dev_mail::DevMail;
pub use dev_sms::DevSms;
pub use logging::{DEFAULT_FILTER, LogGuard, init_tracing, log_listening};
pub use request_log::{RequestLogGuard, RequestLogMode, log_request, start_request_log};
pub use secret::{load_or_create_secret, secret_path};
pub use settings::Settings;
pub use shutdown::shutdown_signal;
pub use store::{OpenedStore, open_store};

/// The role `/api/admin` requires, granted to the accounts listed in `AUTH_ADMINS`.
pub const ADMIN_ROLE: &str = "admin";
