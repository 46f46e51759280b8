//! The client IP: which address a request counts as coming from, for the per-IP limits and
//! the sessions list. Adapters put the TCP peer address and the request's headers into an
//! [`HttpRequest`](super::HttpRequest); the core applies the policy of
//! [`AuthConfig::client_ip`](crate::AuthConfig::client_ip) to them
//! ([`ClientIpPolicy::client_ip_of`]). Every rule about them lives here.
//!
//! * **IPv4 on a dual-stack listener.** A socket bound to `[::]` reports an IPv4 client as
//!   the IPv4-mapped IPv6 address `::ffff:a.b.c.d`. Every address is brought to its
//!   [`canonical`] form first, so such a client is the IPv4 address `a.b.c.d`, in its own
//!   per-IP bucket, not one IPv6 /64 shared by every IPv4 client.
//! * **Reverse proxies.** By default the client is the TCP peer and no header is read: any
//!   client can write `X-Forwarded-For` or `Forwarded`. List the proxies (addresses or CIDR
//!   ranges) in [`ClientIpPolicy::trusted_proxies`] and name the header they maintain in
//!   [`ClientIpPolicy::header`] (the `client_ip` section of the configuration); the header is then read, right to left, only on requests whose
//!   peer is one of them (see [`ClientIpPolicy::client_ip_of`]).
//! * **Unknown client IP.** Without a peer address (axum served without `ConnectInfo`, a Unix
//!   socket) the client IP is `None`. Per-IP limits then count the request in one shared
//!   "unknown" bucket (they fail closed, never skip), and a warning is logged once per
//!   process, the first time it happens, saying how to give the adapter the peer address.
//! * **Behind a load balancer with no proxy configured.** When the first
//!   [`SAME_PRIVATE_PEER_WARN_AFTER`] requests all come from one private address (RFC 1918 or
//!   IPv6 unique local `fc00::/7`; loopback does not count, it is what development looks
//!   like) and no trusted proxy is configured, a warning is logged once per process: every
//!   client looks like that one address. Each request costs one atomic load once that is
//!   settled.
//!
//! ```
//! use auth_core::http::client_ip::{ClientIpPolicy, ProxyHeader};
//!
//! // In a config file: {"trusted_proxies": ["10.0.0.0/8", "2001:db8:ffff::/48"], "header": "forwarded"}
//! let policy = ClientIpPolicy::trusting(["10.0.0.0/8".parse()?, "2001:db8:ffff::/48".parse()?])
//!     .reading(ProxyHeader::Forwarded);
//! let headers = [(
//!     "Forwarded",
//!     r#"for=6.6.6.6, for="[2001:db8:cafe::17]:4711", for=10.1.2.3"#,
//! )];
//! // From a trusted proxy: the first untrusted address from the right.
//! let ip = policy.client_ip_of(Some("10.0.0.1".parse()?), &headers);
//! assert_eq!(ip, Some("2001:db8:cafe::17".parse()?));
//! // From anyone else the headers are not read.
//! let ip = policy.client_ip_of(Some("198.51.100.7".parse()?), &headers);
//! assert_eq!(ip, Some("198.51.100.7".parse()?));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use ipnet::{IpNet, Ipv4Net};

use super::RequestHeaders;

/// `ip` in the form every per-IP decision uses: an IPv4-mapped IPv6 address
/// (`::ffff:a.b.c.d`, what a dual-stack listener reports for an IPv4 client) becomes the
/// IPv4 address `a.b.c.d`; every other address is returned as is.
///
/// IPv4-*compatible* addresses (`::a.b.c.d`) stay IPv6: RFC 4291 deprecated them, no current
/// stack reports a client that way, and mapping them would turn `::1` into `0.0.0.1`.
///
/// ```
/// use auth_core::http::client_ip::canonical;
/// let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
/// assert_eq!(canonical(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
/// assert_eq!(canonical(ip("::192.0.2.7")), ip("::192.0.2.7"));
/// assert_eq!(canonical(ip("2001:db8::1")), ip("2001:db8::1"));
/// ```
pub fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// A trusted proxy: one address (`192.0.2.7`, `2001:db8::7`: a /32 or /128) or a CIDR range
/// (`10.0.0.0/8`, `2001:db8::/32`). Parsed from and deserialized as that text.
///
/// Addresses are matched in their [`canonical`] form, so an IPv4 proxy reaching a dual-stack
/// listener matches the IPv4 range it is in; a range written in IPv4-mapped form
/// (`::ffff:10.0.0.0/104`) is taken as the IPv4 range it maps (`10.0.0.0/8`). Host bits are
/// ignored (`10.1.2.3/8` is `10.0.0.0/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct IpRange(IpNet);

impl IpRange {
    /// The range `net` (host bits cleared, IPv4-mapped ranges as IPv4).
    pub(crate) fn new(net: IpNet) -> Self {
        if let IpNet::V6(v6) = net
            && let Some(v4) = v6.network().to_ipv4_mapped()
            && let Some(prefix) = v6.prefix_len().checked_sub(96)
            && let Ok(v4) = Ipv4Net::new(v4, prefix)
        {
            return Self(IpNet::V4(v4.trunc()));
        }
        Self(net.trunc())
    }

    /// Whether `ip` (in its [`canonical`] form) is in the range.
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&canonical(ip))
    }

    /// The range as an [`IpNet`].
    pub(crate) fn net(&self) -> IpNet {
        self.0
    }
}

impl From<IpAddr> for IpRange {
    /// The range holding only `ip`.
    fn from(ip: IpAddr) -> Self {
        Self::new(IpNet::from(canonical(ip)))
    }
}

impl From<IpNet> for IpRange {
    fn from(net: IpNet) -> Self {
        Self::new(net)
    }
}

impl FromStr for IpRange {
    type Err = IpRangeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let parsed = if text.contains('/') {
            text.parse::<IpNet>().map(Self::new).ok()
        } else {
            text.parse::<IpAddr>().map(Self::from).ok()
        };
        parsed.ok_or_else(|| IpRangeError(s.to_owned()))
    }
}

impl TryFrom<String> for IpRange {
    type Error = IpRangeError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl std::fmt::Display for IpRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A trusted proxy entry that is neither an IP address nor a CIDR range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an IP address or a CIDR range (like 10.0.0.0/8 or 2001:db8::/32)")]
pub struct IpRangeError(String);

/// Which header the trusted proxies maintain. Only that one is read: a proxy that appends to
/// one header passes the other through from the client unchanged, so reading both would let
/// a client pick its own IP.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProxyHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (`"x-forwarded-for"` in a config file): what
    /// nginx, HAProxy's `option forwardfor`, Envoy and the cloud load balancers send.
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for="[2001:db8::1]:4711"` (`"forwarded"`): the
    /// standard header, for proxies configured to maintain it.
    Forwarded,
}

impl ProxyHeader {
    /// The header's name, in lower case.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::XForwardedFor => "x-forwarded-for",
            Self::Forwarded => "forwarded",
        }
    }
}

/// The values of the proxy headers of one request, as the adapter found them: several lines
/// of one header joined with `,` (both headers are comma-separated lists). Only the one the
/// policy's [`header`](ClientIpPolicy::header) names is read, and only when the peer is
/// trusted.
#[cfg(test)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ForwardingHeaders<'a> {
    /// The RFC 7239 `Forwarded` header.
    pub(crate) forwarded: Option<&'a str>,
    /// The `X-Forwarded-For` header.
    pub(crate) x_forwarded_for: Option<&'a str>,
}

/// The lines of one list header (`Forwarded`, `X-Forwarded-For`) as one value, joined with
/// `,` as RFC 9110 allows for list headers; borrowed when there is a single line, `None` when
/// there is none. A line that is not text reaches here lossily converted, so it reads as
/// garbage and ends the chain.
pub(crate) fn join_lines<'a>(
    lines: impl IntoIterator<Item = Cow<'a, str>>,
) -> Option<Cow<'a, str>> {
    let mut lines = lines.into_iter();
    let first = lines.next()?;
    let mut lines = lines.peekable();
    if lines.peek().is_none() {
        return Some(first);
    }
    let mut all = first.into_owned();
    for line in lines {
        all.push(',');
        all.push_str(&line);
    }
    Some(Cow::Owned(all))
}

/// How the core determines the client IP of a request: the `client_ip` section of
/// [`AuthConfig`](crate::AuthConfig), one policy for every adapter.
///
/// By default the client IP is the TCP peer address and no proxy header is read (a client
/// could forge it). Behind reverse proxies or a load balancer, list them in
/// `trusted_proxies` (addresses or CIDR ranges) and say which header they maintain in
/// `header` (`X-Forwarded-For` by default). Trust only ranges that hold nothing but your
/// proxies: a client inside a trusted range can write its own address.
///
/// Deserializable from a config file:
///
/// ```
/// use auth_core::http::client_ip::{ClientIpPolicy, ProxyHeader};
/// let policy: ClientIpPolicy = serde_json::from_str(
///     r#"{"trusted_proxies": ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"], "header": "forwarded"}"#,
/// )?;
/// let headers = [("forwarded", "for=203.0.113.9")];
/// let client = Some("203.0.113.9".parse()?);
/// // Trusted peers: their header names the client.
/// assert_eq!(policy.client_ip_of(Some("10.20.30.40".parse()?), &headers), client);
/// assert_eq!(policy.client_ip_of(Some("::ffff:10.20.30.40".parse()?), &headers), client);
/// // Anyone else is the client itself.
/// let other = Some("192.0.2.8".parse()?);
/// assert_eq!(policy.client_ip_of(other, &headers), other);
/// assert_eq!(policy.header, ProxyHeader::Forwarded);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientIpPolicy {
    /// Reverse proxies whose header is believed: addresses or CIDR ranges. Empty by default.
    pub trusted_proxies: Vec<IpRange>,
    /// The header those proxies maintain; the other one is never read.
    pub header: ProxyHeader,
}

impl ClientIpPolicy {
    /// A policy trusting `proxies`, reading `X-Forwarded-For`. Exact addresses convert with
    /// [`IpRange::from`].
    pub fn trusting(proxies: impl IntoIterator<Item = IpRange>) -> Self {
        Self {
            trusted_proxies: proxies.into_iter().collect(),
            header: ProxyHeader::default(),
        }
    }

    /// The same policy, reading `header` instead.
    #[must_use]
    pub fn reading(mut self, header: ProxyHeader) -> Self {
        self.header = header;
        self
    }

    /// Whether `ip` is one of the trusted proxies.
    pub(crate) fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|range| range.contains(ip))
    }

    /// The client IP of a request from `peer` carrying `x_forwarded_for` (all values of the
    /// header joined with `,`): [`client_ip_from`](Self::client_ip_from) with no `Forwarded`
    /// header. For the tests.
    #[cfg(test)]
    pub(crate) fn client_ip(
        &self,
        peer: Option<IpAddr>,
        x_forwarded_for: Option<&str>,
    ) -> Option<IpAddr> {
        self.client_ip_from(
            peer,
            ForwardingHeaders {
                x_forwarded_for,
                forwarded: None,
            },
        )
    }

    /// [`client_ip_of`](Self::client_ip_of) over the two proxy headers' joined values. For
    /// the tests.
    #[cfg(test)]
    pub(crate) fn client_ip_from(
        &self,
        peer: Option<IpAddr>,
        headers: ForwardingHeaders<'_>,
    ) -> Option<IpAddr> {
        self.resolve(peer, |header| {
            match header {
                ProxyHeader::XForwardedFor => headers.x_forwarded_for,
                ProxyHeader::Forwarded => headers.forwarded,
            }
            .map(Cow::Borrowed)
        })
    }

    /// The client IP of a request from `peer` with `headers`, in [`canonical`] form. The configured
    /// proxy header is read (every line of it, joined with `,`) only when the peer is trusted.
    ///
    /// * No peer address: `None` (per-IP limits then use the shared "unknown" bucket; a
    ///   warning is logged once).
    /// * A peer that is not a trusted proxy: the peer. No header is read.
    /// * A trusted peer: the header named by [`header`](Self::header) is read right to left.
    ///   Trusted hops are skipped; the client is the first address from the right that is not
    ///   a trusted proxy, or the left-most when every hop is trusted. Entries a client wrote
    ///   itself sit left of that one and are never reached.
    /// * An entry that is not an address (`for=unknown`, an obfuscated `_identifier`,
    ///   garbage) ends the chain: the client is then the last trusted hop reached (the peer
    ///   when it is the right-most entry), never an error.
    ///
    /// Both headers may carry ports (`1.2.3.4:5678`, `"[2001:db8::1]:4711"`); empty list
    /// elements are skipped.
    pub fn client_ip_of(
        &self,
        peer: Option<IpAddr>,
        headers: &dyn RequestHeaders,
    ) -> Option<IpAddr> {
        self.resolve(peer, |header| {
            join_lines((0..).map_while(|index| headers.line(header.name(), index)))
        })
    }

    /// The rules of [`client_ip_of`](Self::client_ip_of); `value_of` reads a proxy
    /// header, called only for a trusted peer.
    fn resolve<'h>(
        &self,
        peer: Option<IpAddr>,
        value_of: impl FnOnce(ProxyHeader) -> Option<Cow<'h, str>>,
    ) -> Option<IpAddr> {
        let Some(peer) = peer else {
            note_unknown_client_ip();
            return None;
        };
        let peer = canonical(peer);
        if self.trusted_proxies.is_empty() {
            if PEERS.observe(peer) {
                warn_same_private_peer(peer);
            }
            return Some(peer);
        }
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let Some(value) = value_of(self.header) else {
            return Some(peer);
        };
        let hops = value
            .rsplit(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty());
        let mut last = peer;
        for entry in hops {
            let hop = match self.header {
                ProxyHeader::XForwardedFor => node_ip(entry),
                ProxyHeader::Forwarded => forwarded_for(entry),
            };
            match hop.map(canonical) {
                Some(ip) if self.is_trusted(ip) => last = ip,
                Some(ip) => return Some(ip),
                None => return Some(last),
            }
        }
        Some(last)
    }
}

/// The address of one `Forwarded` element's `for=` parameter; `None` when it has none, has
/// it twice, or it is not an address (`unknown`, `_obfuscated`, garbage), or the element is
/// malformed. Parameter names are case-insensitive; whitespace around `;` is tolerated.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    let mut found = None;
    for pair in element.split(';').map(str::trim) {
        if pair.is_empty() {
            continue;
        }
        let (name, value) = pair.split_once('=')?;
        if name.trim().eq_ignore_ascii_case("for") {
            if found.is_some() {
                return None;
            }
            found = Some(value.trim());
        }
    }
    node_ip(unquote(found?)?)
}

/// A `Forwarded` value without its quotes. `None` for unbalanced quotes or escapes, which
/// no address needs.
fn unquote(value: &str) -> Option<&str> {
    let inner = match value.strip_prefix('"') {
        Some(rest) => rest.strip_suffix('"')?,
        None => value,
    };
    (!inner.contains(['"', '\\'])).then_some(inner)
}

/// The address of a node: `192.0.2.7`, `192.0.2.7:80`, `2001:db8::7`, `[2001:db8::7]`,
/// `[2001:db8::7]:443`, or either with an obfuscated port (`:_p1`). `None` for anything
/// else (`unknown`, `_hidden`, a name).
fn node_ip(node: &str) -> Option<IpAddr> {
    if let Some(rest) = node.strip_prefix('[') {
        let (ip, tail) = rest.split_once(']')?;
        let port_ok = tail.is_empty() || tail.strip_prefix(':').is_some_and(is_port);
        return port_ok
            .then(|| ip.parse::<Ipv6Addr>().ok().map(IpAddr::V6))
            .flatten();
    }
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    let (ip, port) = node.rsplit_once(':')?;
    if !is_port(port) {
        return None;
    }
    ip.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

/// A port: digits, or RFC 7239's obfuscated `_` followed by letters, digits, `.`, `_`, `-`.
fn is_port(port: &str) -> bool {
    let digits = !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
    let obfuscated = port.strip_prefix('_').is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    });
    (digits && port.parse::<u16>().is_ok()) || obfuscated
}

/// Requests in a row from one private peer, with no trusted proxy configured, after which
/// the load-balancer warning is logged.
pub(crate) const SAME_PRIVATE_PEER_WARN_AFTER: u32 = 100;

/// Whether `ip` is a private address that a load balancer or reverse proxy would connect
/// from: RFC 1918 IPv4 or IPv6 unique local (`fc00::/7`). Loopback is not: it is what a
/// developer's machine looks like.
fn is_private(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.is_private(),
        IpAddr::V6(v6) => v6.is_unique_local(),
    }
}

/// Watches the peers of a policy with no trusted proxy until it can tell whether they are
/// all one private address. Lock-free; once settled, one atomic load per request.
#[derive(Debug)]
pub(crate) struct PeerWatch {
    /// Set once the answer is known (a second address, a public first one, or warned).
    settled: AtomicBool,
    /// The first peer seen.
    first: OnceLock<IpAddr>,
    /// Requests seen from `first`.
    same: AtomicU32,
}

impl PeerWatch {
    pub(crate) const fn new() -> Self {
        Self {
            settled: AtomicBool::new(false),
            first: OnceLock::new(),
            same: AtomicU32::new(0),
        }
    }

    /// Counts a request from `peer`; `true` exactly once, for the
    /// [`SAME_PRIVATE_PEER_WARN_AFTER`]-th request when every one so far came from the same
    /// private address.
    pub(crate) fn observe(&self, peer: IpAddr) -> bool {
        if self.settled.load(Ordering::Relaxed) {
            return false;
        }
        let first = *self.first.get_or_init(|| peer);
        if first != peer || !is_private(peer) {
            self.settled.store(true, Ordering::Relaxed);
            return false;
        }
        // Each caller gets its own count, so only one sees the threshold.
        let seen = self.same.fetch_add(1, Ordering::Relaxed).saturating_add(1);
        if seen == SAME_PRIVATE_PEER_WARN_AFTER {
            self.settled.store(true, Ordering::Relaxed);
            return true;
        }
        false
    }
}

/// The process's watch over peers of policies without trusted proxies.
static PEERS: PeerWatch = PeerWatch::new();

fn warn_same_private_peer(peer: IpAddr) {
    tracing::warn!(
        %peer,
        requests = SAME_PRIVATE_PEER_WARN_AFTER,
        "every request so far came from one private address and no trusted proxy is \
         configured: behind a load balancer or reverse proxy all clients look like this one \
         IP and share its per-IP limits. List the proxies' addresses or CIDR ranges in \
         `client_ip.trusted_proxies` of the configuration (and the header they set in \
         `client_ip.header`). \
         Logged once per process."
    );
}

/// Whether the unknown-client-IP warning was logged in this process.
static UNKNOWN_WARNED: AtomicBool = AtomicBool::new(false);

/// Logs, once per process, that a request's client IP is unknown and what that costs.
pub(crate) fn note_unknown_client_ip() {
    if UNKNOWN_WARNED.load(Ordering::Relaxed) || UNKNOWN_WARNED.swap(true, Ordering::Relaxed) {
        return;
    }
    tracing::warn!(
        "a request's client IP is unknown: per-IP limits count every such request in one \
         shared \"unknown\" bucket. Give the adapter the peer address: with axum, serve the \
         app with `into_make_service_with_connect_info::<SocketAddr>()`; actix-web and Rocket \
         pass the TCP peer by default (not over a Unix socket); when calling auth-core \
         directly, set `HttpRequest.peer` or `ClientInfo.ip`. Logged once per process."
    );
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn range(s: &str) -> IpRange {
        s.parse().unwrap()
    }

    fn xff(policy: &ClientIpPolicy, peer: &str, value: &str) -> Option<IpAddr> {
        policy.client_ip_from(
            Some(ip(peer)),
            ForwardingHeaders {
                x_forwarded_for: Some(value),
                forwarded: Some("for=6.6.6.6"),
            },
        )
    }

    fn fwd(policy: &ClientIpPolicy, peer: &str, value: &str) -> Option<IpAddr> {
        policy.client_ip_from(
            Some(ip(peer)),
            ForwardingHeaders {
                forwarded: Some(value),
                x_forwarded_for: Some("6.6.6.6"),
            },
        )
    }

    #[test]
    fn list_header_lines_are_joined_with_commas() {
        assert_eq!(
            join_lines(["1.2.3.4"].map(Cow::Borrowed)).as_deref(),
            Some("1.2.3.4")
        );
        assert_eq!(
            join_lines(["a", "b"].map(Cow::Borrowed)).as_deref(),
            Some("a,b")
        );
        assert_eq!(join_lines(Vec::<Cow<'_, str>>::new()), None);
    }

    #[test]
    fn the_core_reads_every_line_of_the_configured_header_of_a_trusted_peer() {
        let on = ClientIpPolicy::trusting([range("10.0.0.0/8")]);
        let headers = &[
            ("x-forwarded-for", "6.6.6.6"),
            ("forwarded", "for=7.7.7.7"),
            ("X-Forwarded-For", "1.2.3.4, 10.0.0.3"),
        ];
        assert_eq!(
            on.client_ip_of(Some(ip("10.0.0.1")), headers),
            Some(ip("1.2.3.4"))
        );
        assert_eq!(
            on.client_ip_of(Some(ip("9.9.9.9")), headers),
            Some(ip("9.9.9.9"))
        );
        let on = on.reading(ProxyHeader::Forwarded);
        assert_eq!(
            on.client_ip_of(Some(ip("10.0.0.1")), headers),
            Some(ip("7.7.7.7"))
        );
        assert_eq!(on.client_ip_of(None, headers), None);
    }

    #[test]
    fn ipv4_mapped_addresses_are_ipv4_and_compatible_ones_stay_ipv6() {
        assert_eq!(canonical(ip("::ffff:203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(canonical(ip("::ffff:0:0")), ip("0.0.0.0"));
        assert_eq!(canonical(ip("::203.0.113.9")), ip("::203.0.113.9"));
        assert_eq!(canonical(ip("::1")), ip("::1"));
        assert_eq!(canonical(ip("2001:db8::1")), ip("2001:db8::1"));
        assert_eq!(canonical(ip("198.51.100.1")), ip("198.51.100.1"));
    }

    #[test]
    fn ranges_parse_from_addresses_and_cidr() {
        assert_eq!(range("192.0.2.7").to_string(), "192.0.2.7/32");
        assert_eq!(range(" 2001:db8::7 ").to_string(), "2001:db8::7/128");
        assert_eq!(range("10.1.2.3/8").to_string(), "10.0.0.0/8");
        assert_eq!(range("2001:db8:1::/32").to_string(), "2001:db8::/32");
        assert_eq!(range("::ffff:10.0.0.0/104").to_string(), "10.0.0.0/8");
        assert_eq!(range("::ffff:192.0.2.7").to_string(), "192.0.2.7/32");
        assert!(range("10.0.0.0/8").contains(ip("10.255.0.1")));
        assert!(range("10.0.0.0/8").contains(ip("::ffff:10.255.0.1")));
        assert!(!range("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(range("2001:db8::/32").contains(ip("2001:db8:ffff::1")));
        assert!(!range("2001:db8::/32").contains(ip("2001:db9::1")));
        assert!(range("0.0.0.0/0").contains(ip("203.0.113.9")));
        assert!(!range("0.0.0.0/0").contains(ip("2001:db8::1")));
        for bad in [
            "",
            "10.0.0.0/33",
            "2001:db8::/129",
            "10.0.0",
            "10.0.0.0/",
            "/8",
            "example.com",
            "10.0.0.1:80",
        ] {
            assert!(bad.parse::<IpRange>().is_err(), "{bad:?}");
        }
        let err = "nope".parse::<IpRange>().unwrap_err();
        assert!(err.to_string().contains("`nope`"), "{err}");
    }

    #[test]
    fn the_policy_deserializes_from_config() {
        let policy: ClientIpPolicy = serde_json::from_str(
            r#"{"trusted_proxies": ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]}"#,
        )
        .unwrap();
        assert_eq!(
            policy,
            ClientIpPolicy::trusting([
                range("10.0.0.0/8"),
                IpRange::from(ip("192.0.2.7")),
                range("2001:db8::/32")
            ])
        );
        assert_eq!(policy.header, ProxyHeader::XForwardedFor);
        let policy: ClientIpPolicy = serde_json::from_str(r#"{"header": "forwarded"}"#).unwrap();
        assert_eq!(policy.header, ProxyHeader::Forwarded);
        assert!(policy.trusted_proxies.is_empty());
        let policy: ClientIpPolicy =
            serde_json::from_str(r#"{"header": "x-forwarded-for"}"#).unwrap();
        assert_eq!(policy.header, ProxyHeader::XForwardedFor);
        for bad in [
            r#"{"trusted_proxies": ["10.0.0.0/33"]}"#,
            r#"{"trusted_proxies": [10]}"#,
            r#"{"header": "x-real-ip"}"#,
            r#"{"trusted": []}"#,
        ] {
            assert!(
                serde_json::from_str::<ClientIpPolicy>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn without_trusted_proxies_the_client_is_the_peer() {
        let off = ClientIpPolicy::default();
        assert_eq!(xff(&off, "10.0.0.1", "1.2.3.4"), Some(ip("10.0.0.1")));
        assert_eq!(fwd(&off, "10.0.0.1", "for=1.2.3.4"), Some(ip("10.0.0.1")));
        assert_eq!(
            off.client_ip(Some(ip("::ffff:198.51.100.1")), None),
            Some(ip("198.51.100.1"))
        );
        assert_eq!(off.client_ip(None, Some("1.2.3.4")), None);
    }

    #[test]
    fn headers_are_read_only_from_a_trusted_peer() {
        let on = ClientIpPolicy::trusting([range("10.0.0.0/8")]);
        assert_eq!(xff(&on, "9.9.9.9", "1.2.3.4"), Some(ip("9.9.9.9")));
        assert_eq!(xff(&on, "10.9.9.9", "1.2.3.4"), Some(ip("1.2.3.4")));
        // A trusted proxy on a dual-stack listener.
        assert_eq!(xff(&on, "::ffff:10.9.9.9", "1.2.3.4"), Some(ip("1.2.3.4")));
        let on = on.reading(ProxyHeader::Forwarded);
        assert_eq!(fwd(&on, "9.9.9.9", "for=1.2.3.4"), Some(ip("9.9.9.9")));
        assert_eq!(fwd(&on, "10.9.9.9", "for=1.2.3.4"), Some(ip("1.2.3.4")));
        assert_eq!(on.client_ip(None, Some("1.2.3.4")), None);
    }

    #[test]
    fn x_forwarded_for_is_read_right_to_left_skipping_trusted_hops() {
        let on = ClientIpPolicy::trusting([
            range("10.0.0.0/8"),
            range("2001:db8:ffff::/48"),
            IpRange::from(ip("192.0.2.7")),
        ]);
        let cases = [
            // Spoofed left-most entries are never reached.
            ("6.6.6.6, 1.2.3.4", "1.2.3.4"),
            ("6.6.6.6, 1.2.3.4, 10.0.0.2", "1.2.3.4"),
            ("6.6.6.6,1.2.3.4,10.0.0.2,192.0.2.7", "1.2.3.4"),
            ("10.6.6.6, 2001:db8::1, 2001:db8:ffff::9", "2001:db8::1"),
            // Several header lines, joined by the adapter; empty elements skipped.
            ("6.6.6.6 ,, 1.2.3.4 , ,10.0.0.2,", "1.2.3.4"),
            // Ports and brackets, and IPv4-mapped entries.
            ("1.2.3.4:5678", "1.2.3.4"),
            ("[2001:db8::1]:443, 10.0.0.2:80", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("::ffff:1.2.3.4", "1.2.3.4"),
            ("1.2.3.4, ::ffff:10.0.0.3", "1.2.3.4"),
            // Every hop trusted: the left-most.
            ("10.0.0.3, 10.0.0.2", "10.0.0.3"),
            ("", "10.0.0.1"),
            (" , ", "10.0.0.1"),
            // Garbage ends the chain at the last trusted hop.
            ("junk", "10.0.0.1"),
            ("1.2.3.4, junk", "10.0.0.1"),
            ("1.2.3.4, junk, 10.0.0.2", "10.0.0.2"),
            ("1.2.3.4, unknown", "10.0.0.1"),
            ("1.2.3.4, _hidden", "10.0.0.1"),
            ("1.2.3.4, 1.2.3.4.5", "10.0.0.1"),
            ("1.2.3.4, 1.2.3.4:99999", "10.0.0.1"),
            ("1.2.3.4, fe80::1%eth0", "10.0.0.1"),
            ("1.2.3.4, [2001:db8::1", "10.0.0.1"),
            ("1.2.3.4, for=5.6.7.8", "10.0.0.1"),
            ("1.2.3.4, \u{0}\u{ff}", "10.0.0.1"),
        ];
        for (header, expected) in cases {
            assert_eq!(
                xff(&on, "10.0.0.1", header),
                Some(ip(expected)),
                "{header:?}"
            );
        }
    }

    #[test]
    fn forwarded_is_read_right_to_left_skipping_trusted_hops() {
        let on = ClientIpPolicy::trusting([range("10.0.0.0/8"), range("2001:db8:ffff::/48")])
            .reading(ProxyHeader::Forwarded);
        let cases = [
            ("for=1.2.3.4", "1.2.3.4"),
            ("For=1.2.3.4", "1.2.3.4"),
            ("for=\"1.2.3.4\"", "1.2.3.4"),
            ("for=6.6.6.6, for=1.2.3.4", "1.2.3.4"),
            ("for=6.6.6.6, for=1.2.3.4, for=10.0.0.2", "1.2.3.4"),
            // RFC 7239 examples: quoted IPv6 with brackets and a port, other parameters.
            ("for=\"[2001:db8:cafe::17]:4711\"", "2001:db8:cafe::17"),
            ("for=\"[2001:db8:cafe::17]\"", "2001:db8:cafe::17"),
            (
                "for=192.0.2.60;proto=http;by=203.0.113.43, for=10.0.0.9",
                "192.0.2.60",
            ),
            ("proto=https; for=192.0.2.60 ;by=10.0.0.1", "192.0.2.60"),
            ("for=\"192.0.2.60:8080\";host=example.com", "192.0.2.60"),
            ("for=\"192.0.2.60:_p1\"", "192.0.2.60"),
            ("for=\"[2001:db8::1]:_p1\"", "2001:db8::1"),
            ("for=\"[::ffff:1.2.3.4]\"", "1.2.3.4"),
            // Several header lines, empty elements and pairs.
            (
                "for=6.6.6.6,, for=1.2.3.4;;, ,for=\"[2001:db8:ffff::1]\"",
                "1.2.3.4",
            ),
            // Every hop trusted: the left-most.
            ("for=10.0.0.3, for=10.0.0.2", "10.0.0.3"),
            ("", "10.0.0.1"),
            // Unknown and obfuscated nodes end the chain at the last trusted hop.
            ("for=1.2.3.4, for=unknown", "10.0.0.1"),
            ("for=1.2.3.4, for=unknown, for=10.0.0.2", "10.0.0.2"),
            ("for=1.2.3.4, for=_hidden", "10.0.0.1"),
            ("for=1.2.3.4, for=\"_abc.def-1\"", "10.0.0.1"),
            // Malformed elements too.
            ("for=1.2.3.4, proto=https", "10.0.0.1"),
            ("for=1.2.3.4, for=5.6.7.8;for=9.9.9.9", "10.0.0.1"),
            ("for=1.2.3.4, for", "10.0.0.1"),
            ("for=1.2.3.4, 5.6.7.8", "10.0.0.1"),
            ("for=1.2.3.4, for=\"5.6.7.8", "10.0.0.1"),
            ("for=1.2.3.4, for=5.6.7.8\"", "10.0.0.1"),
            ("for=1.2.3.4, for=\"5.6.7.8\\\"\"", "10.0.0.1"),
            ("for=1.2.3.4, for=\"[2001:db8::1]:99999\"", "10.0.0.1"),
            ("for=1.2.3.4, for=\"[2001:db8::1]x\"", "10.0.0.1"),
            ("for=1.2.3.4, for=\"[1.2.3.4]\"", "10.0.0.1"),
            ("for=1.2.3.4, for=\"\"", "10.0.0.1"),
            ("for=1.2.3.4, for=example.com", "10.0.0.1"),
            // A client's unbalanced quote cannot swallow the entries proxies appended.
            ("for=\"6.6.6.6, for=1.2.3.4", "1.2.3.4"),
        ];
        for (header, expected) in cases {
            assert_eq!(
                fwd(&on, "10.0.0.1", header),
                Some(ip(expected)),
                "{header:?}"
            );
        }
    }

    #[test]
    fn only_the_configured_header_is_read() {
        let headers = ForwardingHeaders {
            forwarded: Some("for=1.1.1.1"),
            x_forwarded_for: Some("2.2.2.2"),
        };
        let xff = ClientIpPolicy::trusting([range("10.0.0.1")]);
        assert_eq!(
            xff.client_ip_from(Some(ip("10.0.0.1")), headers),
            Some(ip("2.2.2.2"))
        );
        let fwd = xff.clone().reading(ProxyHeader::Forwarded);
        assert_eq!(
            fwd.client_ip_from(Some(ip("10.0.0.1")), headers),
            Some(ip("1.1.1.1"))
        );
        // Only X-Forwarded-For sent, Forwarded expected: the peer.
        assert_eq!(
            fwd.client_ip(Some(ip("10.0.0.1")), Some("2.2.2.2")),
            Some(ip("10.0.0.1"))
        );
    }

    #[test]
    fn arbitrary_header_bytes_never_panic() {
        let on = ClientIpPolicy::trusting([range("0.0.0.0/0"), range("::/0")]);
        let fwd = on.clone().reading(ProxyHeader::Forwarded);
        let pieces = [
            "for=", "\"", "[", "]", ":", ";", ",", "=", "_", "1.2.3.4", "::1", " ", "\\", "é",
            "unknown", "65536", "ffff",
        ];
        let mut state = 0x2545_f491_u32;
        for _ in 0..5000 {
            let mut header = String::new();
            for _ in 0..(state % 12) {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                header.push_str(pieces[(state as usize) % pieces.len()]);
            }
            for policy in [&on, &fwd] {
                let got = policy.client_ip_from(
                    Some(ip("10.0.0.1")),
                    ForwardingHeaders {
                        forwarded: Some(&header),
                        x_forwarded_for: Some(&header),
                    },
                );
                assert!(got.is_some(), "{header:?}");
            }
        }
    }

    #[test]
    fn the_peer_watch_fires_once_for_one_private_peer() {
        let watch = PeerWatch::new();
        let peer = ip("10.0.0.7");
        let fired: Vec<bool> = (0..SAME_PRIVATE_PEER_WARN_AFTER + 50)
            .map(|_| watch.observe(peer))
            .collect();
        assert_eq!(fired.iter().filter(|f| **f).count(), 1);
        assert!(fired[(SAME_PRIVATE_PEER_WARN_AFTER - 1) as usize]);

        for private in ["172.16.0.1", "192.168.1.1", "fd00::1", "::ffff:10.0.0.7"] {
            let watch = PeerWatch::new();
            let fired = (0..SAME_PRIVATE_PEER_WARN_AFTER).filter(|_| watch.observe(ip(private)));
            assert_eq!(fired.count(), 1, "{private}");
        }
    }

    #[test]
    fn the_peer_watch_stays_quiet_for_loopback_public_or_mixed_peers() {
        for quiet in [
            "127.0.0.1",
            "::1",
            "203.0.113.9",
            "2001:db8::1",
            "169.254.0.1",
        ] {
            let watch = PeerWatch::new();
            let fired = (0..SAME_PRIVATE_PEER_WARN_AFTER * 2).filter(|_| watch.observe(ip(quiet)));
            assert_eq!(fired.count(), 0, "{quiet}");
        }
        let watch = PeerWatch::new();
        assert!(!watch.observe(ip("10.0.0.7")));
        assert!(!watch.observe(ip("10.0.0.8")));
        let fired = (0..SAME_PRIVATE_PEER_WARN_AFTER * 2).filter(|_| watch.observe(ip("10.0.0.7")));
        assert_eq!(fired.count(), 0);
    }

    #[test]
    fn the_peer_watch_fires_once_under_concurrency() {
        let watch = PeerWatch::new();
        let fired: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let watch = &watch;
                    s.spawn(move || {
                        (0..SAME_PRIVATE_PEER_WARN_AFTER)
                            .filter(|_| watch.observe(ip("192.168.0.10")))
                            .count()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(fired, 1);
    }
}
