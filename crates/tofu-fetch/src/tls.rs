//! TLS for every transport: rustls with ring, the platform's roots plus `--ca-cert` roots,
//! and a verifier that decides with webpki directly, so that it knows the trust anchor each
//! accepted chain ended at. reqwest reports TLS details only for direct connections, never
//! through a SOCKS proxy, so tofu records them itself, the same way on every transport: the
//! verifier leaves each handshake's facts in a slot that a connector layer set up for that
//! connection, and the layer files them under the connection's socket pair, which every
//! response carries ([`HttpInfo`]). The facts shown for a response are thus those of the
//! connection that carried it, not of the latest handshake with its server name.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::{Connection, HttpInfo};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

use tofu_record::digest::sha256_hex;
use tofu_record::{AnchorSource, TlsAnchor};

/// What one handshake showed: the certificates the server sent and the root they led to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ChainFacts {
    /// SHA-256 of each certificate the server sent, leaf first.
    pub(crate) chain_sha256: Vec<String>,
    /// SHA-256 of the leaf's SubjectPublicKeyInfo.
    pub(crate) leaf_spki_sha256: Option<String>,
    /// Issuer of the last certificate sent (RFC 4514), as sent.
    pub(crate) root_issuer: Option<String>,
    /// The trust anchor the accepted chain ended at; `None` when it was refused.
    pub(crate) anchor: Option<TlsAnchor>,
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
            anchor: None,
        }
    }
}

/// The roots a run trusts, as webpki anchors, beside what the transcript says of each.
pub(crate) struct Roots {
    anchors: Vec<rustls::pki_types::TrustAnchor<'static>>,
    facts: Vec<TlsAnchor>,
}

impl std::fmt::Debug for Roots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Roots({})", self.facts.len())
    }
}

impl Roots {
    /// `--ca-cert` roots (an unusable one is an error) and then the platform's (unusable
    /// ones are skipped, as browsers do). A root in both counts as the user's: it was given.
    pub(crate) fn load(extra: &[CertificateDer<'static>]) -> Result<Roots, rustls::Error> {
        let mut roots = Roots {
            anchors: Vec::new(),
            facts: Vec::new(),
        };
        for cert in extra {
            roots.add(cert, AnchorSource::CaCert)?;
        }
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(&cert, AnchorSource::Platform);
        }
        if roots.anchors.is_empty() {
            return Err(rustls::Error::General(
                "no trusted root: the system's store is empty and no --ca-cert was given".into(),
            ));
        }
        Ok(roots)
    }

    fn add(
        &mut self,
        cert: &CertificateDer<'_>,
        source: AnchorSource,
    ) -> Result<(), rustls::Error> {
        use x509_parser::prelude::{FromDer, X509Certificate};
        let bad = |why: String| rustls::Error::General(format!("unusable trusted root: {why}"));
        let anchor = webpki::anchor_from_trusted_cert(cert)
            .map_err(|e| bad(e.to_string()))?
            .to_owned();
        let (_, parsed) = X509Certificate::from_der(cert).map_err(|e| bad(e.to_string()))?;
        self.anchors.push(anchor);
        self.facts.push(TlsAnchor {
            subject: parsed.subject().to_string(),
            spki_sha256: sha256_hex(parsed.public_key().raw),
            source,
        });
        Ok(())
    }
}

/// Decides like rustls's own WebPKI verifier (the chain to a trusted root, validity now, the
/// server-auth usage, the name, the provider's signature algorithms; no revocation), and
/// records what each handshake showed into its connection's slot.
#[derive(Debug)]
pub(crate) struct AnchoredVerifier {
    roots: Arc<Roots>,
    provider: Arc<CryptoProvider>,
}

impl AnchoredVerifier {
    pub(crate) fn new(roots: Arc<Roots>, provider: Arc<CryptoProvider>) -> AnchoredVerifier {
        AnchoredVerifier { roots, provider }
    }

    /// The anchor a valid chain for `server_name` ends at, or why there is none.
    pub(crate) fn verify(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<TlsAnchor, rustls::Error> {
        let algorithms = self.provider.signature_verification_algorithms.all;
        let cert = webpki::EndEntityCert::try_from(end_entity)
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
        let found = cert
            .verify_for_usage(
                algorithms,
                &self.roots.anchors,
                intermediates,
                now,
                webpki::KeyUsage::server_auth(),
                None,
                None,
            )
            .map(|path| {
                // The anchor is one of `anchors` (webpki returns a reference into the slice).
                self.roots
                    .anchors
                    .iter()
                    .position(|a| std::ptr::eq(a, path.anchor()))
            });
        let index = match found {
            Ok(Some(index)) => index,
            Ok(None) => {
                return Err(rustls::Error::General(
                    "the verified chain's anchor is not among the trusted roots".into(),
                ));
            }
            Err(e) => return Err(self.explain(end_entity, intermediates, now, &e)),
        };
        cert.verify_is_valid_for_subject_name(server_name)
            .map_err(|_| self.explain_name(end_entity, server_name))?;
        Ok(self.roots.facts[index].clone())
    }

    /// rustls's own error for a refused chain (the same webpki check, so it fails too; its
    /// error names the reason in rustls's terms). Never an acceptance.
    fn explain(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
        error: &webpki::Error,
    ) -> rustls::Error {
        let mut store = rustls::RootCertStore::empty();
        store.extend(self.roots.anchors.iter().cloned());
        rustls::server::ParsedCertificate::try_from(end_entity)
            .and_then(|cert| {
                rustls::client::verify_server_cert_signed_by_trust_anchor(
                    &cert,
                    &store,
                    intermediates,
                    now,
                    self.provider.signature_verification_algorithms.all,
                )
            })
            .err()
            .unwrap_or_else(|| rustls::Error::General(format!("certificate refused: {error}")))
    }

    fn explain_name(
        &self,
        end_entity: &CertificateDer<'_>,
        name: &ServerName<'_>,
    ) -> rustls::Error {
        rustls::server::ParsedCertificate::try_from(end_entity)
            .and_then(|cert| rustls::client::verify_server_name(&cert, name))
            .err()
            .unwrap_or(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName,
            ))
    }
}

tokio::task_local! {
    /// Where the handshake of the connection being made leaves its facts.
    static HANDSHAKE: Arc<Mutex<Option<ChainFacts>>>;
}

impl ServerCertVerifier for AnchoredVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut facts = ChainFacts::read(end_entity, intermediates);
        let verdict = self.verify(end_entity, intermediates, server_name, now);
        facts.anchor = verdict.as_ref().ok().cloned();
        // Outside a connector layer's scope (nothing else makes connections) there is no
        // slot, and nothing is recorded.
        let _ = HANDSHAKE.try_with(|slot| *lock(slot) = Some(facts));
        verdict.map(|_| ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The handshake facts of a run's connections, by socket pair (local, remote). A pair names
/// one live TCP connection, and a later connection with the same pair replaces the entry,
/// so a response (whose connection is alive when it is read) finds its own connection's.
#[derive(Debug, Default)]
pub(crate) struct SeenConnections(Mutex<BTreeMap<(SocketAddr, SocketAddr), ChainFacts>>);

impl SeenConnections {
    /// The facts of the connection that carried `response`, if it was a TLS connection
    /// whose handshake was recorded.
    pub(crate) fn of(&self, response: &reqwest::Response) -> Option<ChainFacts> {
        let info = response.extensions().get::<HttpInfo>()?;
        lock(&self.0)
            .get(&(info.local_addr(), info.remote_addr()))
            .cloned()
    }
}

/// A connector layer: gives each new connection a slot for its handshake's facts and files
/// them under the connection's socket pair once it is made.
#[derive(Clone, Debug)]
pub(crate) struct RecordLayer(pub(crate) Arc<SeenConnections>);

impl<S> tower_layer::Layer<S> for RecordLayer {
    type Service = Record<S>;

    fn layer(&self, inner: S) -> Record<S> {
        Record {
            inner,
            seen: Arc::clone(&self.0),
        }
    }
}

/// The service of [`RecordLayer`].
#[derive(Clone, Debug)]
pub(crate) struct Record<S> {
    inner: S,
    seen: Arc<SeenConnections>,
}

impl<S, R> tower_service::Service<R> for Record<S>
where
    S: tower_service::Service<R>,
    S::Response: Connection,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let slot = Arc::new(Mutex::new(None));
        // The scope holds whenever the connect future is polled, whichever task polls it:
        // the verifier runs inside such a poll.
        let connect = HANDSHAKE.scope(Arc::clone(&slot), self.inner.call(request));
        let seen = Arc::clone(&self.seen);
        Box::pin(async move {
            let conn = connect.await?;
            let facts = lock(&slot).take();
            if let Some(facts) = facts {
                let mut extras = http::Extensions::new();
                conn.connected().get_extras(&mut extras);
                if let Some(info) = extras.get::<HttpInfo>() {
                    lock(&seen.0).insert((info.local_addr(), info.remote_addr()), facts);
                }
            }
            Ok(conn)
        })
    }
}

/// The rustls configuration of a run. Session resumption is off: a resumed session skips
/// certificate verification, so its connection would have no facts of its own.
pub(crate) fn client_config(
    extra_roots: &[CertificateDer<'static>],
) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = Arc::new(Roots::load(extra_roots)?);
    let verifier = AnchoredVerifier::new(roots, provider.clone());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.resumption = rustls::client::Resumption::disabled();
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

    /// A CA named `name` (fresh key each time): its certificate and the means to sign.
    fn ca(
        name: &str,
        signer: Option<&Issuer<'static, KeyPair>>,
    ) -> (CertificateDer<'static>, Issuer<'static, KeyPair>) {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        let cert = match signer {
            Some(signer) => params.signed_by(&key, signer).unwrap(),
            None => params.self_signed(&key).unwrap(),
        };
        (cert.der().clone(), Issuer::new(params, key))
    }

    fn leaf(name: &str, issuer: &Issuer<'static, KeyPair>) -> CertificateDer<'static> {
        let params = CertificateParams::new(vec![name.to_owned()]).unwrap();
        let key = KeyPair::generate().unwrap();
        params.signed_by(&key, issuer).unwrap().der().clone()
    }

    fn verifier(trusted: &[CertificateDer<'static>]) -> AnchoredVerifier {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        AnchoredVerifier::new(Arc::new(Roots::load(trusted).unwrap()), provider)
    }

    fn spki(cert: &CertificateDer<'_>) -> String {
        use x509_parser::prelude::{FromDer, X509Certificate};
        sha256_hex(X509Certificate::from_der(cert).unwrap().1.public_key().raw)
    }

    fn name(s: &str) -> ServerName<'static> {
        ServerName::try_from(s.to_owned()).unwrap()
    }

    #[test]
    fn the_anchor_is_found_for_each_chain_shape() {
        let (root, root_issuer) = ca("tofu unit root", None);
        let (inter, inter_issuer) = ca("tofu unit intermediate", Some(&root_issuer));
        let v = verifier(std::slice::from_ref(&root));
        let now = UnixTime::now();
        let direct = leaf("a.test", &root_issuer);
        let via_inter = leaf("a.test", &inter_issuer);
        let shapes: [(&str, &CertificateDer<'_>, Vec<CertificateDer<'static>>); 4] = [
            ("leaf only", &direct, vec![]),
            ("leaf and its root", &direct, vec![root.clone()]),
            ("leaf and intermediate", &via_inter, vec![inter.clone()]),
            (
                "leaf, intermediate, root",
                &via_inter,
                vec![inter.clone(), root.clone()],
            ),
        ];
        for (shape, end, rest) in shapes {
            let anchor = v
                .verify(end, &rest, &name("a.test"), now)
                .unwrap_or_else(|e| panic!("{shape}: {e}"));
            assert_eq!(anchor.spki_sha256, spki(&root), "{shape}");
            assert_eq!(anchor.subject, "CN=tofu unit root", "{shape}");
            assert_eq!(anchor.source, AnchorSource::CaCert, "{shape}");
        }
        // Without the intermediate, the leaf it signed has no path.
        assert!(v.verify(&via_inter, &[], &name("a.test"), now).is_err());
    }

    #[test]
    fn the_anchor_is_the_key_that_signed_not_the_name() {
        // Two trusted roots with one subject: the recorded anchor is the one whose key
        // verified the chain, told apart by SPKI.
        let (genuine, genuine_issuer) = ca("tofu look-alike", None);
        let (impostor, impostor_issuer) = ca("tofu look-alike", None);
        let v = verifier(&[genuine.clone(), impostor.clone()]);
        let now = UnixTime::now();
        let a = v.verify(&leaf("a.test", &genuine_issuer), &[], &name("a.test"), now);
        let b = v.verify(&leaf("a.test", &impostor_issuer), &[], &name("a.test"), now);
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.subject, b.subject);
        assert_eq!(a.spki_sha256, spki(&genuine));
        assert_eq!(b.spki_sha256, spki(&impostor));
        assert_ne!(a.spki_sha256, b.spki_sha256);
    }

    #[test]
    fn untrusted_or_misnamed_chains_are_refused() {
        let (root, root_issuer) = ca("tofu unit root", None);
        // A stranger under its own name, and one copying the trusted root's name.
        let (_, stranger_issuer) = ca("tofu stranger", None);
        let (_, copycat_issuer) = ca("tofu unit root", None);
        let v = verifier(std::slice::from_ref(&root));
        let now = UnixTime::now();
        let err = v
            .verify(&leaf("a.test", &stranger_issuer), &[], &name("a.test"), now)
            .unwrap_err();
        assert_eq!(
            err,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
        );
        let err = v
            .verify(&leaf("a.test", &copycat_issuer), &[], &name("a.test"), now)
            .unwrap_err();
        assert_eq!(
            err,
            rustls::Error::InvalidCertificate(CertificateError::BadSignature)
        );
        let err = v
            .verify(&leaf("a.test", &root_issuer), &[], &name("b.test"), now)
            .unwrap_err();
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName
                        | CertificateError::NotValidForNameContext { .. }
                )
            ),
            "{err:?}"
        );
        // The recording verifier refuses too, and records no anchor for the refusal.
        let slot = Arc::new(Mutex::new(None));
        let refused = HANDSHAKE.sync_scope(Arc::clone(&slot), || {
            v.verify_server_cert(
                &leaf("a.test", &stranger_issuer),
                &[],
                &name("a.test"),
                &[],
                now,
            )
        });
        assert!(refused.is_err());
        let facts = lock(&slot).take().unwrap();
        assert_eq!(facts.anchor, None);
        assert_eq!(facts.chain_sha256.len(), 1);
    }

    #[test]
    fn a_platform_root_is_recorded_as_such() {
        let roots = Roots::load(&[]);
        // A machine without a system store has nothing to check here.
        let Ok(roots) = roots else { return };
        assert!(
            roots
                .facts
                .iter()
                .all(|f| f.source == AnchorSource::Platform)
        );
        assert_eq!(roots.facts.len(), roots.anchors.len());
    }
}
