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

/// The ISO 3166-1 alpha-2 country codes (officially assigned), uppercase.
const COUNTRIES: &str = "\
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ \
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR \
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY \
HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP \
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY \
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ \
NA NC NE NF NG NI NL NO NP NR NU NZ OM \
PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW \
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ \
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ \
VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Whether `cc` (any case) is an ISO 3166-1 alpha-2 country code.
pub fn is_country_code(cc: &str) -> bool {
    cc.len() == 2
        && cc.bytes().all(|b| b.is_ascii_alphabetic())
        && COUNTRIES
            .split(' ')
            .any(|known| known.eq_ignore_ascii_case(cc))
}

/// An ISO 3166-1 alpha-2 country code, checked and uppercase: what `--via tor:CC`,
/// `--country` and the exit probes accept. A made-up code (`XX`, `EU`, `T1`) has no value of
/// this type.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Country(String);

impl Country {
    /// The code, when `cc` (any case) is an assigned ISO 3166-1 alpha-2 code.
    pub fn parse(cc: &str) -> Option<Country> {
        is_country_code(cc).then(|| Country(cc.to_ascii_uppercase()))
    }

    /// The code, uppercase.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Country {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

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

    #[test]
    fn country_codes_are_the_assigned_ones() {
        assert_eq!(COUNTRIES.split(' ').count(), 249);
        let mut sorted: Vec<&str> = COUNTRIES.split(' ').collect();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 249, "a code is listed twice");
        for ok in ["DE", "de", "Us", "JP", "SE"] {
            assert!(is_country_code(ok), "{ok}");
        }
        for bad in ["XX", "ZZ", "EU", "??", "D", "DEU", "1A", ""] {
            assert!(!is_country_code(bad), "{bad}");
        }
    }
}
