//! The README's client IP snippet: a `ClientIpPolicy` trusting proxy ranges.

/// The README's snippet, returning the policy it builds.
pub fn policy() -> Result<auth_core::client_ip::ClientIpPolicy, auth_core::client_ip::IpRangeError>
{
    use auth_core::client_ip::{ClientIpPolicy, ProxyHeader};

    let policy = ClientIpPolicy::trusting(["10.0.0.0/8".parse()?, "2001:db8:1::/48".parse()?])
        .reading(ProxyHeader::Forwarded);
    // axum: AuthState::new(auth).with_client_ip_policy(policy)
    // actix-web: App::new().app_data(web::Data::new(policy))
    // Rocket: rocket::build().manage(policy)
    Ok(policy)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use auth_core::client_ip::ForwardingHeaders;

    #[test]
    fn the_policy_reads_forwarded_from_the_trusted_ranges() {
        let policy = super::policy().unwrap();
        let headers = ForwardingHeaders {
            forwarded: Some("for=203.0.113.7"),
            x_forwarded_for: Some("198.51.100.1"),
        };
        let ip = |s: &str| Some(s.parse().unwrap());
        assert_eq!(
            policy.client_ip_from(ip("10.1.2.3"), headers),
            ip("203.0.113.7")
        );
        assert_eq!(
            policy.client_ip_from(ip("2001:db8:1::9"), headers),
            ip("203.0.113.7")
        );
        assert_eq!(
            policy.client_ip_from(ip("192.0.2.1"), headers),
            ip("192.0.2.1")
        );
    }
}
