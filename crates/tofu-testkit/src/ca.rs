//! A certificate authority made fresh for a test run, and server certificates it issues.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};

/// A test CA: its root certificate in PEM, and the means to issue server certificates.
pub struct TestCa {
    /// The root certificate (PEM), to give tofu as `--ca-cert`.
    pub root_pem: PathBuf,
    issuer: Issuer<'static, KeyPair>,
    dir: PathBuf,
}

impl TestCa {
    /// Makes a CA and writes its root to `dir/ca.pem`.
    pub fn generate(dir: &Path, name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let root_pem = dir.join(format!("{name}.pem").replace(' ', "-"));
        std::fs::write(&root_pem, cert.pem()).unwrap();
        TestCa {
            root_pem,
            issuer: Issuer::new(params, key),
            dir: dir.to_owned(),
        }
    }

    /// Issues a server certificate for `names` (DNS names or IP addresses); returns the
    /// certificate and key PEM paths.
    pub fn issue(&self, file_stem: &str, names: &[&str]) -> (PathBuf, PathBuf) {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, file_stem);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let cert_path = self.dir.join(format!("{file_stem}.crt"));
        let key_path = self.dir.join(format!("{file_stem}.key"));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert_path, key_path)
    }

    /// Issues a server certificate for `names` in DER, for an in-process server; `expired`
    /// makes it valid only in 2020.
    pub fn issue_der(
        &self,
        names: &[&str],
        expired: bool,
    ) -> (CertificateDer<'static>, PrivatePkcs8KeyDer<'static>) {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (
            cert.der().clone(),
            PrivatePkcs8KeyDer::from(key.serialize_der()),
        )
    }
}

/// A self-signed server certificate for `names`, in DER.
pub fn self_signed_der(names: &[&str]) -> (CertificateDer<'static>, PrivatePkcs8KeyDer<'static>) {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(names)
        .unwrap()
        .self_signed(&key)
        .unwrap();
    (
        cert.der().clone(),
        PrivatePkcs8KeyDer::from(key.serialize_der()),
    )
}
