//! Vantage evidence: the exit address and country as "what is my IP" endpoints see them,
//! asked through the run's own transport so they see what the download servers saw (the
//! caller asks before and after the downloads). A failed lookup is missing evidence, not an
//! error of the run.

use chrono::Utc;
use reqwest::header;
use tofu_record::redact::redact_url;
use tofu_record::{ArtifactError, ErrorCode, ExitEvidence, Probe};
use url::Url;

use crate::error::FetchError;
use crate::transport::Client;

/// The most bytes of an answer read and recorded.
pub const MAX_ANSWER: usize = 4096;

impl Client {
    /// Asks each endpoint in turn and records every answer.
    pub async fn probe_exit(&self, endpoints: &[Url]) -> ExitEvidence {
        let mut probes = Vec::with_capacity(endpoints.len());
        for url in endpoints {
            probes.push(self.probe(url).await);
        }
        summarize(probes)
    }

    async fn probe(&self, url: &Url) -> Probe {
        let mut probe = Probe {
            url: redact_url(url),
            status: None,
            answer: None,
            ip: None,
            country: None,
            server_date: None,
            response_at: None,
            tls: None,
            error: None,
        };
        // One lookup, start to end, may take the connect and read timeouts together: an
        // endpoint that trickles its answer cannot hold the run.
        let limit = self.head_deadline();
        let outcome = match tokio::time::timeout(limit, self.probe_into(url, &mut probe)).await {
            Ok(outcome) => outcome,
            Err(_) => Err((
                ErrorCode::Timeout,
                format!("no complete answer within {} s", limit.as_secs()),
            )),
        };
        if let Err((code, message)) = outcome {
            probe.error = Some(ArtifactError {
                code,
                message,
                causes: Vec::new(),
            });
        }
        probe
    }

    async fn probe_into(&self, url: &Url, probe: &mut Probe) -> Result<(), (ErrorCode, String)> {
        let fetch_err = |e: FetchError| (e.code(), e.to_string());
        // (No head deadline of its own: the whole lookup has one, in `probe`.)
        let mut response = self
            .http
            .get(url.clone())
            .header(header::ACCEPT, "application/json")
            .header(header::ACCEPT_ENCODING, "identity")
            .send()
            .await
            .map_err(|e| fetch_err(FetchError::from_reqwest(e)))?;
        probe.response_at = Some(Utc::now());
        probe.tls = self.tls_record(url, &response);
        probe.status = Some(response.status().as_u16());
        probe.server_date = response
            .headers()
            .get(header::DATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| fetch_err(FetchError::from_reqwest(e)))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_ANSWER {
                body.truncate(MAX_ANSWER);
                probe.answer = Some(String::from_utf8_lossy(&body).into_owned());
                return Err((
                    ErrorCode::WhoamiAnswer,
                    format!("the answer is longer than {MAX_ANSWER} bytes"),
                ));
            }
        }
        probe.answer = Some(String::from_utf8_lossy(&body).into_owned());
        if !response.status().is_success() {
            return Err((
                ErrorCode::HttpStatus,
                format!("the endpoint answered {}", response.status()),
            ));
        }
        let (ip, country) = parse_answer(&body).map_err(|m| (ErrorCode::WhoamiAnswer, m))?;
        probe.ip = Some(ip);
        probe.country = country;
        Ok(())
    }
}

/// Reads `{"ip": "…", "country_iso": "DE", …}` (ifconfig.co's shape; `country_code`, or a
/// two-letter `country` as ipinfo.io sends, also serve). The address must parse as an IP address; a country is
/// kept only when it is an assigned ISO 3166-1 alpha-2 code (not `XX`, `EU`, `T1`, …).
pub(crate) fn parse_answer(body: &[u8]) -> Result<(String, Option<String>), String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
    let ip = value
        .get("ip")
        .and_then(|v| v.as_str())
        .ok_or("the answer has no \"ip\" string")?;
    let ip: std::net::IpAddr = ip
        .trim()
        .parse()
        .map_err(|_| format!("the answer's ip {ip:?} is not an IP address"))?;
    let country = ["country_iso", "country_code", "country"]
        .iter()
        .filter_map(|k| value.get(*k).and_then(|v| v.as_str()))
        .map(str::trim)
        .find(|c| tofu_record::evidence::is_country_code(c))
        .map(str::to_ascii_uppercase);
    Ok((ip.to_string(), country))
}

/// The agreed address and country of the answering probes, and whether they conflict.
fn summarize(probes: Vec<Probe>) -> ExitEvidence {
    let agreed = |values: Vec<&String>| -> (Option<String>, bool) {
        let mut distinct: Vec<&String> = values.clone();
        distinct.sort();
        distinct.dedup();
        match distinct.as_slice() {
            [] => (None, false),
            [one] => (Some((*one).clone()), false),
            _ => (None, true),
        }
    };
    let (ip, ip_conflict) = agreed(probes.iter().filter_map(|p| p.ip.as_ref()).collect());
    let (country, country_conflict) =
        agreed(probes.iter().filter_map(|p| p.country.as_ref()).collect());
    ExitEvidence {
        probes,
        ip,
        country,
        conflict: ip_conflict || country_conflict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse_strictly() {
        let (ip, cc) =
            parse_answer(br#"{"ip":"203.0.113.9","country":"Germany","country_iso":"de"}"#)
                .unwrap();
        assert_eq!((ip.as_str(), cc.as_deref()), ("203.0.113.9", Some("DE")));
        assert!(parse_answer(b"<html>").is_err());
        assert!(parse_answer(br#"{"ip":"localhost"}"#).is_err());
        assert!(parse_answer(br#"{"country_iso":"DE"}"#).is_err());
        let (_, cc) = parse_answer(br#"{"ip":"::1"}"#).unwrap();
        assert_eq!(cc, None);
    }

    /// A probe that answered `ip` and `cc`, or failed.
    fn probe(answer: Option<(&str, Option<&str>)>) -> Probe {
        Probe {
            url: "https://whoami.example/".into(),
            status: None,
            answer: None,
            ip: answer.map(|(ip, _)| ip.to_owned()),
            country: answer.and_then(|(_, cc)| cc.map(str::to_owned)),
            server_date: None,
            response_at: None,
            tls: None,
            error: answer.is_none().then(|| ArtifactError {
                code: ErrorCode::Timeout,
                message: "no answer".into(),
                causes: Vec::new(),
            }),
        }
    }

    #[test]
    fn answers_must_agree() {
        let de = Some(("198.51.100.7", Some("DE")));
        // Two endpoints that agree give the exit.
        let e = summarize(vec![probe(de), probe(de)]);
        assert_eq!(
            (e.ip.as_deref(), e.country.as_deref()),
            (Some("198.51.100.7"), Some("DE"))
        );
        assert!(!e.conflict);
        // One that failed takes nothing away from the other; one without a country neither.
        let e = summarize(vec![
            probe(None),
            probe(de),
            probe(Some(("198.51.100.7", None))),
        ]);
        assert_eq!(
            (e.ip.as_deref(), e.country.as_deref()),
            (Some("198.51.100.7"), Some("DE"))
        );
        assert!(!e.conflict);
        // A disagreement on either leaves the exit unknown, in conflict.
        for other in [("203.0.113.9", Some("DE")), ("198.51.100.7", Some("FR"))] {
            let e = summarize(vec![probe(de), probe(Some(other))]);
            assert!(e.conflict);
            assert!(e.ip.is_none() || e.country.is_none(), "{e:?}");
        }
        // Nothing answered: no exit, no conflict, every probe kept.
        let e = summarize(vec![probe(None), probe(None)]);
        assert_eq!(
            (e.ip, e.country, e.conflict, e.probes.len()),
            (None, None, false, 2)
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};
    use tofu_record::evidence::is_country_code;

    /// Values a whoami field may hold: addresses, country codes real and not, junk.
    fn field_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<std::net::IpAddr>().prop_map(|ip| json!(ip.to_string())),
            any::<std::net::IpAddr>().prop_map(|ip| json!(format!(" {ip}\n"))),
            "[A-Za-z]{2}".prop_map(|c| json!(c)),
            "(XX|EU|T1|ZZ|AP|A1|UK|[Dd][Ee]| DE |Germany|)".prop_map(|c| json!(c)),
            "[0-9a-fA-F:.]{0,20}".prop_map(|c| json!(c)),
            any::<String>().prop_map(|c| json!(c)),
            Just(Value::Null),
            any::<i64>().prop_map(|n| json!(n)),
            Just(json!(["203.0.113.9"])),
            Just(json!({"ip": "203.0.113.9"})),
        ]
    }

    /// Whoami-shaped JSON objects: mostly an `ip` address, some of `country_iso`,
    /// `country_code` and `country` with codes real and not, and other keys; any value
    /// may be junk instead.
    fn near_answer() -> impl Strategy<Value = Vec<u8>> {
        let ip = prop_oneof![
            4 => any::<std::net::IpAddr>().prop_map(|ip| json!(ip.to_string())),
            1 => field_value(),
        ];
        let country_key = prop_oneof![Just("country_iso"), Just("country_code"), Just("country")];
        let country = prop_oneof![
            3 => "[A-Za-z]{2}".prop_map(|c| json!(c)),
            2 => "( ?)(XX|EU|T1|ZZ|AP|A1|UK|DE|de|Germany|)( ?)".prop_map(|c| json!(c)),
            1 => field_value(),
        ];
        let other_key = prop_oneof![Just("ip"), Just("asn"), Just("country")];
        (
            ip,
            proptest::collection::vec((country_key, country), 0..3),
            proptest::collection::vec((other_key, field_value()), 0..2),
        )
            .prop_map(|(ip, countries, others)| {
                let mut object = serde_json::Map::new();
                object.insert("ip".to_owned(), ip);
                for (k, v) in countries.into_iter().chain(others) {
                    object.insert(k.to_owned(), v);
                }
                serde_json::to_vec(&Value::Object(object)).unwrap()
            })
    }

    proptest! {
        /// `parse_answer` never panics on any bytes.
        #[test]
        fn never_panics_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let _ = parse_answer(&body);
        }

        /// On whoami-shaped answers, what is accepted is sound: the address is an IP address
        /// in its canonical form, and a country, when returned, is an uppercase ISO 3166-1
        /// alpha-2 code (never `XX`, `EU`, `T1`, …).
        #[test]
        fn acceptance_is_sound(body in near_answer()) {
            if let Ok((ip, country)) = parse_answer(&body) {
                let parsed: std::net::IpAddr = ip.parse().unwrap();
                prop_assert_eq!(parsed.to_string(), ip);
                if let Some(cc) = country {
                    prop_assert!(is_country_code(&cc), "{:?} is not a country", cc);
                    prop_assert_eq!(cc.to_ascii_uppercase(), cc);
                }
            }
        }

        /// An answer with an IP address and a real country code gives both back, in
        /// canonical form, whatever the key order and surrounding space.
        #[test]
        fn real_answers_are_read(
            ip in any::<std::net::IpAddr>(),
            cc in "[A-Za-z]{2}",
            key in prop_oneof![Just("country_iso"), Just("country_code"), Just("country")],
        ) {
            let body = serde_json::to_vec(&json!({key: format!(" {cc} "), "ip": format!("{ip} ")}))
                .unwrap();
            let (got_ip, got_cc) = parse_answer(&body).unwrap();
            prop_assert_eq!(got_ip, ip.to_string());
            let want = is_country_code(&cc).then(|| cc.to_ascii_uppercase());
            prop_assert_eq!(got_cc, want);
        }

        /// Refusals are typed, not panics: an answer that is not JSON is refused with
        /// serde_json's line and column; one whose `ip` is not an address is refused.
        #[test]
        fn refusals_say_why(
            body in proptest::collection::vec(any::<u8>(), 0..256),
            not_ip in "[ -~]{0,20}",
        ) {
            if serde_json::from_slice::<Value>(&body).is_err() {
                let e = parse_answer(&body).unwrap_err();
                prop_assert!(e.contains(" line ") && e.contains(" column "), "{}", e);
            }
            if not_ip.trim().parse::<std::net::IpAddr>().is_err() {
                let body = serde_json::to_vec(&json!({"ip": not_ip, "country": "DE"})).unwrap();
                prop_assert!(parse_answer(&body).is_err());
            }
        }
    }
}
