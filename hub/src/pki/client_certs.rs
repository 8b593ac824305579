//! Client certificates: issued by the hub's CA at enrolment, naming their
//! holder with one `sajja://` URI, and read back from a TLS handshake.

use rcgen::{
    CertificateParams, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair, KeyUsagePurpose, SanType,
    SerialNumber,
};

use crate::pki::certs::{Pem, TlsError};
use crate::values::principal::{Principal, URI_PREFIX};

/// The principal and serial (hex) of a DER client certificate.
pub fn read_certificate(der: &[u8]) -> Result<(Principal, String), String> {
    use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| e.to_string())?;
    let serial = hex::encode(cert.raw_serial());
    let names = cert
        .subject_alternative_name()
        .map_err(|e| e.to_string())?
        .ok_or("names no Sajja principal")?;
    let mut found = None;
    for name in &names.value.general_names {
        if let GeneralName::URI(uri) = name
            && uri.starts_with(URI_PREFIX)
        {
            if found.is_some() {
                return Err("names more than one Sajja principal".into());
            }
            found = Some(Principal::from_uri(uri).ok_or_else(|| format!("bad principal {uri}"))?);
        }
    }
    Ok((found.ok_or("names no Sajja principal")?, serial))
}

/// A client certificate and key issued by the hub's CA.
pub struct Issued {
    pub pem: Pem,
    pub serial: String,
    pub not_after: i64,
}

/// Issues a client certificate for `principal`, valid from an hour ago (a
/// Pi's clock drifts) for `days`.
pub fn issue(ca: &Pem, principal: &Principal, days: u32, now: i64) -> Result<Issued, TlsError> {
    let ca_key = KeyPair::from_pem(&ca.key)?;
    let issuer = Issuer::from_ca_cert_pem(&ca.cert, ca_key)?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, principal.to_string());
    params
        .subject_alt_names
        .push(SanType::URI(principal.uri().try_into()?));
    let mut serial = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut serial)
        .map_err(|_| TlsError::Random)?;
    // A positive INTEGER with no leading zero byte, so DER keeps all 16
    // bytes and the serial read back from the certificate is the one recorded.
    serial[0] = (serial[0] & 0x7f) | 0x40;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let not_before = now - 3_600;
    let not_after = now + i64::from(days) * 86_400;
    params.not_before = time_at(not_before)?;
    params.not_after = time_at(not_after)?;
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;
    Ok(Issued {
        pem: Pem {
            cert: cert.pem(),
            key: key.serialize_pem(),
        },
        serial: hex::encode(serial),
        not_after,
    })
}

fn time_at(unix: i64) -> Result<time::OffsetDateTime, TlsError> {
    time::OffsetDateTime::from_unix_timestamp(unix).map_err(|_| TlsError::Time(unix))
}
