//! A certificate authority made fresh for a test run, and server certificates it issues.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

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
}
