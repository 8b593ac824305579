//! The hub's certificate authority and server certificate, generated at
//! `sajja-hub init` so that no manual certificate step is ever needed.

use std::fs;
use std::net::IpAddr;
use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TlsError {
    #[error("certificate generation: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("system randomness is unavailable")]
    Random,
    #[error("{0} is not a time a certificate can hold")]
    Time(i64),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

pub struct Pem {
    pub cert: String,
    pub key: String,
}

/// A new CA for a hub, named after its geocode.
pub fn generate_ca(hub_id: &str) -> Result<Pem, TlsError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, format!("Sajja hub {hub_id} CA"));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    Ok(Pem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// A server certificate signed by the hub's CA, valid for `names` (DNS names
/// or IP addresses) plus `localhost` and 127.0.0.1.
pub fn issue_server_cert(ca: &Pem, hub_id: &str, names: &[String]) -> Result<Pem, TlsError> {
    let ca_key = KeyPair::from_pem(&ca.key)?;
    let issuer = Issuer::from_ca_cert_pem(&ca.cert, ca_key)?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, format!("Sajja hub {hub_id}"));
    let mut all: Vec<String> = vec!["localhost".into(), "127.0.0.1".into()];
    all.extend(names.iter().cloned());
    all.dedup();
    for name in all {
        let san = match name.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(name.clone().try_into()?),
        };
        if !params.subject_alt_names.contains(&san) {
            params.subject_alt_names.push(san);
        }
    }
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;
    Ok(Pem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// Writes a file readable by its owner only (private keys, secrets).
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), TlsError> {
    sajja_edge::enrolment::write_private(path, contents).map_err(|source| TlsError::Io {
        path: path.display().to_string(),
        source,
    })
}

pub fn write_public(path: &Path, contents: &[u8]) -> Result<(), TlsError> {
    fs::write(path, contents).map_err(|source| TlsError::Io {
        path: path.display().to_string(),
        source,
    })
}
