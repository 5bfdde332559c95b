//! Vantage evidence: the exit address and country as "what is my IP" endpoints see them,
//! asked through the run's own transport so they see what the download servers saw. A
//! failed lookup is missing evidence, not an error of the run.

use chrono::Utc;
use reqwest::header;
use tofu_record::redact::redact_url;
use tofu_record::{ArtifactError, Exit, Probe};
use url::Url;

use crate::error::FetchError;
use crate::transport::Client;

/// The most bytes of an answer read and recorded.
pub const MAX_ANSWER: usize = 4096;

impl Client {
    /// Asks each endpoint in turn and records every answer.
    pub async fn probe_exit(&self, endpoints: &[Url]) -> Exit {
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
            error: None,
        };
        if let Err((code, message)) = self.probe_into(url, &mut probe).await {
            probe.error = Some(ArtifactError {
                code: code.to_owned(),
                message,
            });
        }
        probe
    }

    async fn probe_into(&self, url: &Url, probe: &mut Probe) -> Result<(), (&'static str, String)> {
        let fetch_err = |e: FetchError| (e.code(), e.to_string());
        let mut response = self
            .http
            .get(url.clone())
            .header(header::ACCEPT, "application/json")
            .header(header::ACCEPT_ENCODING, "identity")
            .send()
            .await
            .map_err(|e| fetch_err(FetchError::from_reqwest(e)))?;
        probe.response_at = Some(Utc::now());
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
                    "whoami-answer",
                    format!("the answer is longer than {MAX_ANSWER} bytes"),
                ));
            }
        }
        probe.answer = Some(String::from_utf8_lossy(&body).into_owned());
        if !response.status().is_success() {
            return Err((
                "http-status",
                format!("the endpoint answered {}", response.status()),
            ));
        }
        let (ip, country) = parse_answer(&body).map_err(|m| ("whoami-answer", m))?;
        probe.ip = Some(ip);
        probe.country = country;
        Ok(())
    }
}

/// Reads `{"ip": "…", "country_iso": "DE", …}` (ifconfig.co's shape; `country_code`, or a
/// two-letter `country`, also serve). The address must parse as an IP address.
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
        .find(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
        .map(str::to_ascii_uppercase);
    Ok((ip.to_string(), country))
}

/// The agreed address and country of the answering probes, and whether they conflict.
fn summarize(probes: Vec<Probe>) -> Exit {
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
    Exit {
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
}
