//! TLS for every transport: rustls with ring, the platform's roots plus `--ca-cert` roots,
//! and a verifier that records the certificates each server sent. reqwest reports TLS
//! details only for direct connections, never through a SOCKS proxy, so tofu records them
//! itself, the same way on every transport.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use tofu_record::digest::sha256_hex;

/// What a server's certificates showed in one handshake.
#[derive(Clone, Debug, Default)]
pub(crate) struct ChainFacts {
    /// SHA-256 of each certificate the server sent, leaf first.
    pub(crate) chain_sha256: Vec<String>,
    /// SHA-256 of the leaf's SubjectPublicKeyInfo.
    pub(crate) leaf_spki_sha256: Option<String>,
    /// Issuer of the last certificate sent (RFC 4514).
    pub(crate) root_issuer: Option<String>,
}

impl ChainFacts {
    fn read(end_entity: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>]) -> ChainFacts {
        use x509_parser::prelude::{FromDer, X509Certificate};
        let chain: Vec<&CertificateDer<'_>> =
            std::iter::once(end_entity).chain(intermediates).collect();
        let leaf_spki_sha256 = X509Certificate::from_der(end_entity)
            .ok()
            .map(|(_, cert)| sha256_hex(cert.public_key().raw));
        let root_issuer = chain.last().and_then(|top| {
            X509Certificate::from_der(top)
                .ok()
                .map(|(_, cert)| cert.issuer().to_string())
        });
        ChainFacts {
            chain_sha256: chain.iter().map(|c| sha256_hex(c)).collect(),
            leaf_spki_sha256,
            root_issuer,
        }
    }
}

/// Certificates seen during handshakes of one run, by server name. The latest handshake with
/// a name wins.
#[derive(Debug, Default)]
pub(crate) struct SeenChains(Mutex<BTreeMap<String, ChainFacts>>);

impl SeenChains {
    pub(crate) fn get(&self, server_name: &str) -> Option<ChainFacts> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(server_name)
            .cloned()
    }
}

#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<rustls_platform_verifier::Verifier>,
    seen: Arc<SeenChains>,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // Recorded before the check, so a refused certificate is evidence too.
        let chain = ChainFacts::read(end_entity, intermediates);
        self.seen
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(server_name.to_str().into_owned(), chain);
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The rustls configuration of a run, and where it records certificates.
pub(crate) fn client_config(
    extra_roots: Vec<CertificateDer<'static>>,
) -> Result<(rustls::ClientConfig, Arc<SeenChains>), rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let inner = Arc::new(rustls_platform_verifier::Verifier::new_with_extra_roots(
        extra_roots,
        provider.clone(),
    )?);
    let seen = Arc::new(SeenChains::default());
    let verifier = RecordingVerifier {
        inner,
        seen: seen.clone(),
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((config, seen))
}
