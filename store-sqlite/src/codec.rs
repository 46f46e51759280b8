//! How record fields become SQLite values and back.
//!
//! * Times: `INTEGER` Unix **nanoseconds**, so a `DateTime<Utc>` round-trips exactly (the core
//!   compares records for equality) and range queries (`expires_at <= ?`) are integer
//!   comparisons. The range is 1677-09-21 to 2262-04-11; a time outside it is refused with
//!   [`StoreError::Unavailable`](auth_core::store::StoreError) rather than stored wrongly.
//! * Ids: 16-byte `BLOB` (the UUID's bytes), IPs: 4- or 16-byte `BLOB`, hashes: 32-byte `BLOB`.
//! * Counts (`u64`/`u32`): `INTEGER`, refused when above `i64::MAX`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use auth_core::secret::SecretHash;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::{DbResult, corrupt, unrepresentable};

/// A time as Unix nanoseconds.
pub(crate) fn time(at: DateTime<Utc>) -> DbResult<i64> {
    at.timestamp_nanos_opt()
        .ok_or_else(|| unrepresentable(format!("time {at} is outside 1677..2262")))
}

/// An optional time as Unix nanoseconds.
pub(crate) fn opt_time(at: Option<DateTime<Utc>>) -> DbResult<Option<i64>> {
    at.map(time).transpose()
}

/// Unix nanoseconds back to a time (every `i64` is a valid time).
pub(crate) fn time_from(nanos: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_nanos(nanos)
}

/// Optional Unix nanoseconds back to a time.
pub(crate) fn opt_time_from(nanos: Option<i64>) -> Option<DateTime<Utc>> {
    nanos.map(time_from)
}

/// A UUID read back from a 16-byte blob.
pub(crate) fn uuid_from(table: &str, column: &str, bytes: &[u8]) -> DbResult<Uuid> {
    Uuid::from_slice(bytes).map_err(|_| {
        corrupt(
            table,
            format!("`{column}` is {} bytes, not a 16-byte uuid", bytes.len()),
        )
    })
}

/// An IP address as 4 (v4) or 16 (v6) bytes.
pub(crate) fn ip(ip: Option<IpAddr>) -> Option<Vec<u8>> {
    ip.map(|ip| match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    })
}

/// An IP address read back from 4 or 16 bytes.
pub(crate) fn ip_from(
    table: &str,
    column: &str,
    bytes: Option<Vec<u8>>,
) -> DbResult<Option<IpAddr>> {
    let Some(bytes) = bytes else {
        return Ok(None);
    };
    if let Ok(v4) = <[u8; 4]>::try_from(bytes.as_slice()) {
        return Ok(Some(IpAddr::V4(Ipv4Addr::from(v4))));
    }
    if let Ok(v6) = <[u8; 16]>::try_from(bytes.as_slice()) {
        return Ok(Some(IpAddr::V6(Ipv6Addr::from(v6))));
    }
    Err(corrupt(
        table,
        format!("`{column}` is {} bytes, not an IP address", bytes.len()),
    ))
}

/// A 32-byte keyed hash read back from a blob.
pub(crate) fn hash_from(table: &str, column: &str, bytes: &[u8]) -> DbResult<SecretHash> {
    <[u8; 32]>::try_from(bytes)
        .map(SecretHash::from_bytes)
        .map_err(|_| {
            corrupt(
                table,
                format!("`{column}` is {} bytes, not 32", bytes.len()),
            )
        })
}

/// A count as a signed SQLite integer.
pub(crate) fn count(n: u64) -> DbResult<i64> {
    i64::try_from(n).map_err(|_| unrepresentable(format!("count {n} exceeds i64::MAX")))
}

/// A stored count back to `u64`.
pub(crate) fn count_from(table: &str, column: &str, n: i64) -> DbResult<u64> {
    u64::try_from(n).map_err(|_| corrupt(table, format!("`{column}` is negative ({n})")))
}

/// A stored count back to `u32`.
pub(crate) fn count32_from(table: &str, column: &str, n: i64) -> DbResult<u32> {
    u32::try_from(n).map_err(|_| corrupt(table, format!("`{column}` = {n} is not a u32")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn times_round_trip_to_the_nanosecond() {
        let at = Utc.timestamp_opt(1_900_000_000, 123_456_789).unwrap();
        assert_eq!(time_from(time(at).unwrap()), at);
        let far = Utc.with_ymd_and_hms(3000, 1, 1, 0, 0, 0).unwrap();
        assert!(time(far).is_err());
    }

    #[test]
    fn ips_round_trip_and_bad_blobs_are_corrupt() {
        for s in ["127.0.0.1", "::1", "::ffff:1.2.3.4", "2001:db8::1"] {
            let addr: IpAddr = s.parse().unwrap();
            assert_eq!(ip_from("t", "c", ip(Some(addr))).unwrap(), Some(addr));
        }
        assert!(ip_from("t", "c", Some(vec![1, 2, 3])).is_err());
        assert!(uuid_from("t", "c", &[0; 15]).is_err());
        assert!(hash_from("t", "c", &[0; 31]).is_err());
    }
}
