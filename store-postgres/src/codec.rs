//! How record fields become PostgreSQL values and back.
//!
//! * Times: `bigint` Unix **nanoseconds**. `timestamptz` keeps microseconds only, and the
//!   store contract asks for every time to read back exactly as written ("keep nanoseconds
//!   if you can"): the core compares records for equality. Range queries (`expires_at <= $1`)
//!   stay integer comparisons. The range is 1677-09-21 to 2262-04-11; a time outside it is
//!   refused with [`StoreError::Unavailable`](auth_core::store::StoreError) rather than
//!   stored wrongly. `to_timestamp(expires_at / 1e9)` shows one in `psql`.
//! * Ids: `uuid`; IPs: `inet` (an IPv4-mapped IPv6 address stays IPv6); hashes: `bytea`.
//! * Counts (`u64`/`u32`): `bigint`, refused when above `i64::MAX`.

use std::net::IpAddr;

use auth_core::secret::SecretHash;
use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use tokio_postgres::types::FromSql;

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

/// A count as a signed `bigint`.
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

/// A 32-byte keyed hash read back from `bytea`.
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

/// An `inet` value back to an address; a network (`10.0.0.0/8`) is not one.
pub(crate) fn ip_from(table: &str, column: &str, ip: Option<Inet>) -> DbResult<Option<IpAddr>> {
    match ip {
        None => Ok(None),
        Some(Inet { addr, full: true }) => Ok(Some(addr)),
        Some(Inet { addr, .. }) => Err(corrupt(
            table,
            format!("`{column}` = {addr} has a netmask, it is not one address"),
        )),
    }
}

/// An `inet` as PostgreSQL sends it: the address and whether its netmask covers all of it.
/// (The driver's own `IpAddr` conversion drops the netmask, so `10.0.0.0/8` would read as
/// the address `10.0.0.0`.)
#[derive(Debug, Clone, Copy)]
pub(crate) struct Inet {
    addr: IpAddr,
    full: bool,
}

impl<'a> FromSql<'a> for Inet {
    fn from_sql(
        _ty: &tokio_postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        postgres_protocol_inet(raw)
    }

    tokio_postgres::types::accepts!(INET);
}

/// Decodes the binary `inet` format: family (2 = v4, 3 = v6), netmask bits, is-cidr flag,
/// address length, address bytes.
fn postgres_protocol_inet(raw: &[u8]) -> Result<Inet, Box<dyn std::error::Error + Sync + Send>> {
    let bad = || -> Box<dyn std::error::Error + Sync + Send> { "invalid inet value".into() };
    let (&[family, bits, _is_cidr, len], addr) = raw.split_first_chunk::<4>().ok_or_else(bad)?;
    if usize::from(len) != addr.len() {
        return Err(bad());
    }
    let (addr, max_bits) = match family {
        2 => (
            IpAddr::from(<[u8; 4]>::try_from(addr).map_err(|_| bad())?),
            32,
        ),
        3 => (
            IpAddr::from(<[u8; 16]>::try_from(addr).map_err(|_| bad())?),
            128,
        ),
        _ => return Err(bad()),
    };
    Ok(Inet {
        addr,
        full: bits == max_bits,
    })
}

/// The value of column `idx` of `row`, converted; a NULL where the schema forbids one or a
/// wrong type is a driver error (the schema is not ours).
pub(crate) fn get<'a, T: FromSql<'a>>(row: &'a Row, idx: usize) -> DbResult<T> {
    Ok(row.try_get(idx)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

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
    fn inet_values_decode_and_networks_are_refused() {
        let v4 = postgres_protocol_inet(&[2, 32, 0, 4, 203, 0, 113, 7]).unwrap();
        assert_eq!(
            ip_from("t", "c", Some(v4)).unwrap(),
            Some("203.0.113.7".parse().unwrap())
        );
        let mut mapped = vec![3, 128, 0, 16];
        mapped.extend_from_slice(
            &"::ffff:1.2.3.4"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets(),
        );
        let mapped = postgres_protocol_inet(&mapped).unwrap();
        assert_eq!(
            ip_from("t", "c", Some(mapped)).unwrap(),
            Some("::ffff:1.2.3.4".parse().unwrap())
        );
        let net = postgres_protocol_inet(&[2, 8, 0, 4, 10, 0, 0, 0]).unwrap();
        assert!(ip_from("t", "c", Some(net)).is_err());
        assert!(postgres_protocol_inet(&[2, 32, 0, 4, 1, 2, 3]).is_err());
        assert!(postgres_protocol_inet(&[9, 32, 0, 4, 1, 2, 3, 4]).is_err());
        assert!(hash_from("t", "c", &[0; 31]).is_err());
    }
}
