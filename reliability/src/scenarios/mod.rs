//! The scenarios, one module each.

pub(crate) mod disk_full;
pub(crate) mod postgres_outage;
pub(crate) mod redis_outage;
pub(crate) mod soak;
pub(crate) mod sqlite_crash;
pub(crate) mod store_outage;
