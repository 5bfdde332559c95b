//! Readings of recorded evidence that compare and status share: the network an exit address
//! belongs to, and the clock skew between a server and the local machine.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

/// The network of an exit address: its /24 (IPv4) or /48 (IPv6) prefix, e.g.
/// `203.0.113.0/24`. None when the text is not an IP address.
pub fn network_prefix(ip: &str) -> Option<String> {
    match ip.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            Some(format!("{a}.{b}.{c}.0/24"))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0);
            Some(format!("{prefix}/48"))
        }
    }
}

/// Server clock minus local clock, in seconds, from a `Date` header and the local time the
/// response arrived. None when either is missing or the date does not parse.
pub fn clock_skew_seconds(server_date: Option<&str>, local: Option<DateTime<Utc>>) -> Option<i64> {
    let server = DateTime::parse_from_rfc2822(server_date?.trim()).ok()?;
    Some(server.with_timezone(&Utc).timestamp() - local?.timestamp())
}

/// Skews larger than this (either way) are flagged.
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 300;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_skew() {
        assert_eq!(network_prefix("203.0.113.77").unwrap(), "203.0.113.0/24");
        assert_eq!(
            network_prefix("2001:db8:1:2::5").unwrap(),
            "2001:db8:1::/48"
        );
        assert_eq!(network_prefix("not an ip"), None);
        let local = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            clock_skew_seconds(Some("Sun, 22 Nov 2026 10:07:00 GMT"), Some(local)),
            Some(420)
        );
        assert_eq!(clock_skew_seconds(Some("garbage"), Some(local)), None);
    }
}
