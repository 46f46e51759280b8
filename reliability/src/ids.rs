//! Simulated clients: each gets its own address in 198.18.0.0/15 (RFC 2544's range for
//! network benchmarks), sent in `X-Forwarded-For`, so the per-IP limits see many clients as
//! a real server behind a proxy would; and fresh fictional phone numbers and emails.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// Hands out client addresses, phones and emails, never the same twice in a run (addresses
/// wrap after 131 072).
#[derive(Clone, Default)]
pub(crate) struct Ids {
    next: Arc<AtomicU32>,
}

impl Ids {
    /// A fresh number.
    fn next(&self) -> u32 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// A new client: its address and its phone (`+1555` and seven digits).
    pub(crate) fn client(&self) -> Client {
        let n = self.next();
        Client {
            ip: client_ip(n),
            phone: format!("+1555{:07}", n % 10_000_000),
            n,
        }
    }
}

/// One simulated client.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    pub(crate) ip: Ipv4Addr,
    pub(crate) phone: String,
    pub(crate) n: u32,
}

impl Client {
    /// The client's email address.
    pub(crate) fn email(&self) -> String {
        format!("user{}@example.com", self.n)
    }
}

/// The `n`-th address of 198.18.0.0/15, skipping the .0 and .255 of each /24.
fn client_ip(n: u32) -> Ipv4Addr {
    let n = n % (2 * 256 * 254);
    let host = n % 254 + 1;
    let net = n / 254;
    Ipv4Addr::new(198, 18 + (net / 256) as u8, (net % 256) as u8, host as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_stay_in_the_benchmark_range_and_differ() {
        let ids = Ids::default();
        let a = ids.client();
        let b = ids.client();
        assert_eq!(a.ip, Ipv4Addr::new(198, 18, 0, 1));
        assert_eq!(b.ip, Ipv4Addr::new(198, 18, 0, 2));
        assert_ne!(a.phone, b.phone);
        assert_eq!(client_ip(253), Ipv4Addr::new(198, 18, 0, 254));
        assert_eq!(client_ip(254), Ipv4Addr::new(198, 18, 1, 1));
        assert_eq!(
            client_ip(2 * 256 * 254 - 1),
            Ipv4Addr::new(198, 19, 255, 254)
        );
    }
}
