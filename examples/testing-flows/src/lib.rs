//! # example-testing-flows
//!
//! How an app unit-tests its login flows with no HTTP server, no database and no real SMS:
//! `auth_core::testkit::TestKit` wires an `Auth` to an in-memory store, a fake SMS outbox the
//! test reads codes from, and a manual clock the test moves forward. Every test runs in
//! milliseconds and nothing sleeps.
//!
//! The tests are the example (`cargo test -p example-testing-flows`):
//!
//! * `tests/sms_login.rs`: log in with the code from the fake SMS; the code expires after
//!   ten minutes; five wrong codes burn the challenge; a code works once; the resend
//!   cooldown; an unknown phone gets the same answer and no SMS; the app's own settings.
//! * `tests/refresh.rs`: the access token expires and the refresh token renews it; rotation,
//!   the grace window for racing clients, and reuse detection (an old refresh token after the
//!   window revokes the whole session); logout.
//! * `tests/common/mod.rs`: the helpers they share (register, log in by SMS).
//!
//! In your app, add `auth-core` with the `testkit` feature as a dev-dependency and build the
//! kit around your configuration: `TestKit::with_config(your_config)`.
