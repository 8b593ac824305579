//! The hub's certificate authority and server certificate, generated at
//! `sajja-hub init` so that no manual certificate step is ever needed.

use std::fs;
use std::net::{IpAddr, SocketAddr};
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
    #[error(
        "--listen {0} is a wildcard no node can dial: give the address nodes reach this hub by with --public-url https://HOST:PORT"
    )]
    WildcardWithoutPublicUrl(SocketAddr),
    #[error("--public-url {0}")]
    BadPublicUrl(String),
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

/// Every name the server certificate must carry: the host of `public_url`,
/// the listen address unless it is a wildcard, and the operator's extra
/// `names` (`localhost` and 127.0.0.1 are always added by
/// [`issue_server_cert`]). A wildcard listen address without a public URL is
/// refused: enrolment bundles would name `0.0.0.0`, which no node can dial.
pub fn certificate_names(
    listen: SocketAddr,
    public_url: Option<&str>,
    extra: &[String],
) -> Result<Vec<String>, TlsError> {
    let mut names = Vec::new();
    match public_url {
        Some(url) => {
            names.push(sajja_edge::enrolment::hub_url_host(url).map_err(TlsError::BadPublicUrl)?)
        }
        None if listen.ip().is_unspecified() => {
            return Err(TlsError::WildcardWithoutPublicUrl(listen));
        }
        None => {}
    }
    if !listen.ip().is_unspecified() {
        names.push(listen.ip().to_string());
    }
    names.extend(extra.iter().cloned());
    Ok(names)
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

/// When the first certificate of a PEM text expires, in unix seconds: what
/// the operations endpoint reports of the hub's server certificate and CA.
pub fn pem_not_after(pem: &[u8]) -> Result<i64, String> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem).map_err(|e| e.to_string())?;
    let cert = block.parse_x509().map_err(|e| e.to_string())?;
    Ok(cert.validity().not_after.timestamp())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificates_expiry_is_read_from_its_pem() {
        let ca = generate_ca("230101").unwrap();
        let server = issue_server_cert(&ca, "230101", &[]).unwrap();
        for pem in [&ca.cert, &server.cert] {
            let at = pem_not_after(pem.as_bytes()).unwrap();
            // rcgen's default validity runs to 4096 (issue 16: renewal is
            // still to be built); the reading must be that, not now.
            assert!(at > 4_000_000_000, "{at}");
        }
        assert!(pem_not_after(b"not a certificate").is_err());
    }

    #[test]
    fn a_wildcard_listen_address_needs_a_public_url() {
        let wildcard: SocketAddr = "0.0.0.0:7400".parse().unwrap();
        assert!(matches!(
            certificate_names(wildcard, None, &[]),
            Err(TlsError::WildcardWithoutPublicUrl(_))
        ));
        let v6: SocketAddr = "[::]:7400".parse().unwrap();
        assert!(certificate_names(v6, None, &[]).is_err());
        assert_eq!(
            certificate_names(
                wildcard,
                Some("https://hub.tambon:7400"),
                &["10.1.1.1".into()]
            )
            .unwrap(),
            vec!["hub.tambon".to_string(), "10.1.1.1".to_string()]
        );
        let lan: SocketAddr = "192.168.1.10:7400".parse().unwrap();
        assert_eq!(
            certificate_names(lan, None, &[]).unwrap(),
            vec!["192.168.1.10".to_string()]
        );
    }
}
