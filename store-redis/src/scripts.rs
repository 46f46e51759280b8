//! The Lua scripts behind every multi-step operation. Each runs atomically inside Redis, so no
//! other client sees or interleaves with a half-done step. They are sent with `EVALSHA` and
//! loaded automatically (`redis::Script`) when Redis answers `NOSCRIPT`, e.g. after a restart.
//! The sources live in `src/lua/`, each but the read-only `session_with_owner.lua` and
//! `failures.lua` starting with `prelude.lua`.

use std::sync::LazyLock;

use redis::Script;

macro_rules! script {
    ($file:literal) => {
        LazyLock::new(|| {
            Script::new(concat!(
                include_str!("lua/prelude.lua"),
                "\n",
                include_str!(concat!("lua/", $file))
            ))
        })
    };
}

/// A script that needs nothing from the prelude (kept lean: it runs on every request).
macro_rules! bare_script {
    ($file:literal) => {
        LazyLock::new(|| Script::new(include_str!(concat!("lua/", $file))))
    };
}

pub(crate) static CREATE_USER: LazyLock<Script> = script!("create_user.lua");
pub(crate) static UPDATE_USER: LazyLock<Script> = script!("update_user.lua");
pub(crate) static USER_BY_INDEX: LazyLock<Script> = script!("user_by_index.lua");
pub(crate) static RECORD_LOGIN: LazyLock<Script> = script!("record_login.lua");
pub(crate) static INSERT_RECORD: LazyLock<Script> = script!("insert_record.lua");
pub(crate) static CLAIM_ATTEMPT: LazyLock<Script> = script!("claim_attempt.lua");
pub(crate) static CONSUME_RECORD: LazyLock<Script> = script!("consume_record.lua");
pub(crate) static INSERT_SESSION: LazyLock<Script> = script!("insert_session.lua");
pub(crate) static ROTATE_REFRESH: LazyLock<Script> = script!("rotate_refresh.lua");
pub(crate) static REVOKE_SESSION: LazyLock<Script> = script!("revoke_session.lua");
pub(crate) static REVOKE_USER_SESSIONS: LazyLock<Script> = script!("revoke_user_sessions.lua");
pub(crate) static SESSIONS_OF_USER: LazyLock<Script> = script!("sessions_of_user.lua");
pub(crate) static SESSION_WITH_OWNER: LazyLock<Script> = bare_script!("session_with_owner.lua");
pub(crate) static HIT_COUNTER: LazyLock<Script> = script!("hit_counter.lua");
pub(crate) static ADD_FAILURE: LazyLock<Script> = script!("add_failure.lua");
pub(crate) static FAILURES: LazyLock<Script> = bare_script!("failures.lua");
pub(crate) static PURGE: LazyLock<Script> = script!("purge.lua");

/// Every script, for loading them all up front ([`crate::RedisStore::connect`]).
pub(crate) fn all() -> [&'static Script; 17] {
    [
        &CREATE_USER,
        &UPDATE_USER,
        &USER_BY_INDEX,
        &RECORD_LOGIN,
        &INSERT_RECORD,
        &CLAIM_ATTEMPT,
        &CONSUME_RECORD,
        &INSERT_SESSION,
        &ROTATE_REFRESH,
        &REVOKE_SESSION,
        &REVOKE_USER_SESSIONS,
        &SESSIONS_OF_USER,
        &SESSION_WITH_OWNER,
        &HIT_COUNTER,
        &ADD_FAILURE,
        &FAILURES,
        &PURGE,
    ]
}
