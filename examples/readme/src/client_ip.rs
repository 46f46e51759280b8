//! The README's client IP snippet: the `client_ip` section of the configuration, trusting
//! proxy ranges.

/// The README's snippet, returning the configuration it builds.
pub fn config(
    mut config: auth_core::AuthConfig,
) -> Result<auth_core::AuthConfig, auth_core::http::client_ip::IpRangeError> {
    use auth_core::http::client_ip::{ClientIpPolicy, ProxyHeader};

    config.client_ip =
        ClientIpPolicy::trusting(["10.0.0.0/8".parse()?, "2001:db8:1::/48".parse()?])
            .reading(ProxyHeader::Forwarded);
    // One policy for every adapter: axum, actix-web and Rocket take it from the `Auth`.
    Ok(config)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    #[test]
    fn the_policy_reads_forwarded_from_the_trusted_ranges() {
        let secret = auth_core::SigningSecret::generate();
        let config = super::config(auth_core::AuthConfig::new(secret)).unwrap();
        assert!(config.validate().is_ok());
        let policy = config.client_ip;
        let headers = [
            ("forwarded", "for=203.0.113.7"),
            ("x-forwarded-for", "198.51.100.1"),
        ];
        let ip = |s: &str| Some(s.parse().unwrap());
        assert_eq!(
            policy.client_ip_of(ip("10.1.2.3"), &headers),
            ip("203.0.113.7")
        );
        assert_eq!(
            policy.client_ip_of(ip("2001:db8:1::9"), &headers),
            ip("203.0.113.7")
        );
        assert_eq!(
            policy.client_ip_of(ip("192.0.2.1"), &headers),
            ip("192.0.2.1")
        );
    }
}
