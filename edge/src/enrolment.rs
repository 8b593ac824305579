//! The enrolment bundle: the one file a hub operator hands to whoever may
//! connect to the hub (a group's node, a child hub, a coordinator, an
//! operator). It carries the hub's address and CA certificate, and a client
//! certificate and key naming the holder, so the holder needs nothing else.
//! It holds a private key, so it is written with mode 0600 and read with a
//! size bound: it may come from a USB stick.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A bundle is a few kilobytes; anything much larger is not one.
pub const MAX_BUNDLE_BYTES: u64 = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A group's node: pushes and pulls its own log.
    Group,
    /// A child (tambon) hub: relays the logs enrolled beneath it.
    Hub,
    /// A coordinator: reads positions within a scope, never writes.
    Coordinator,
    /// A hub operator: the admin surface (enrol, revoke, fork resolution).
    Operator,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Group => "group",
            Role::Hub => "hub",
            Role::Coordinator => "coordinator",
            Role::Operator => "operator",
        }
    }
}

#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Enrolment {
    pub role: Role,
    /// Group id, hub geocode, or the coordinator's or operator's name.
    pub subject: String,
    /// A coordinator's scope: a province (2 digits) or tambon (6 digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The Ed25519 public key (hex) this enrolment binds to a group or child hub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// The issuing hub's geocode.
    pub hub_id: String,
    /// `https://host:port` of the issuing hub.
    pub hub_url: String,
    /// The client certificate's serial number (hex), for `sajja-hub revoke`.
    pub serial: String,
    /// When the client certificate expires (Unix seconds).
    pub not_after: i64,
    /// The hub's CA certificate (PEM).
    pub ca: String,
    /// The client certificate (PEM).
    pub cert: String,
    /// The client certificate's private key (PEM).
    pub key: String,
}

impl std::fmt::Debug for Enrolment {
    // The private key never reaches a log line or an error message.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrolment")
            .field("role", &self.role)
            .field("subject", &self.subject)
            .field("scope", &self.scope)
            .field("hub_id", &self.hub_id)
            .field("hub_url", &self.hub_url)
            .field("serial", &self.serial)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Error)]
pub enum EnrolmentError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: larger than {MAX_BUNDLE_BYTES} bytes: not an enrolment bundle")]
    TooLarge { path: String },
    #[error("{path}: not an enrolment bundle: {reason}")]
    Malformed { path: String, reason: String },
}

/// The rule for a hub address, wherever one is written (a bundle, a node's
/// config, `sajja-hub init --public-url`, `enrol --url`, `public_url`): only
/// https, since every hub requires mutual TLS; a host; no path. Returns the
/// host (an IPv6 address without its brackets), which the hub's server
/// certificate must name.
pub fn hub_url_host(url: &str) -> Result<String, String> {
    let bad = |why: &str| Err(format!("'{url}' {why}; expected https://host:port"));
    let uri = match url.parse::<http::Uri>() {
        Ok(uri) => uri,
        Err(_) => return bad("is not an address"),
    };
    if uri.scheme_str() != Some("https") {
        return bad("does not start with https://");
    }
    let Some(host) = uri.host().filter(|h| !h.is_empty()) else {
        return bad("has no host");
    };
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return bad("has a path");
    }
    Ok(host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string())
}

/// [`hub_url_host`] where only the verdict matters.
pub fn check_hub_url(url: &str) -> Result<(), String> {
    hub_url_host(url).map(drop)
}

impl Enrolment {
    /// Reads a bundle, refusing anything that is not one.
    pub fn read(path: &Path) -> Result<Enrolment, EnrolmentError> {
        let shown = path.display().to_string();
        let io = |source| EnrolmentError::Io {
            path: shown.clone(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut text = String::new();
        file.take(MAX_BUNDLE_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(io)?;
        if text.len() as u64 > MAX_BUNDLE_BYTES {
            return Err(EnrolmentError::TooLarge { path: shown });
        }
        Enrolment::parse(&text).map_err(|reason| EnrolmentError::Malformed {
            path: shown,
            reason,
        })
    }

    pub fn parse(text: &str) -> Result<Enrolment, String> {
        let bundle: Enrolment = toml::from_str(text).map_err(|e| e.message().to_string())?;
        check_hub_url(&bundle.hub_url).map_err(|e| format!("hub_url {e}"))?;
        for (name, pem) in [
            ("ca", &bundle.ca),
            ("cert", &bundle.cert),
            ("key", &bundle.key),
        ] {
            if !pem.trim_start().starts_with("-----BEGIN ") {
                return Err(format!("{name} is not PEM"));
            }
        }
        Ok(bundle)
    }

    /// What a client presents to the hub that issued this bundle.
    pub fn client_tls(&self) -> sajja_proto::client::ClientTls {
        sajja_proto::client::ClientTls {
            ca_pem: self.ca.as_bytes().to_vec(),
            cert_pem: self.cert.as_bytes().to_vec(),
            key_pem: self.key.as_bytes().to_vec(),
        }
    }

    pub fn to_text(&self) -> String {
        let body = toml::to_string(self).unwrap_or_default();
        format!(
            "# Sajja enrolment bundle: {} {} at hub {}.\n\
             # It holds a private key: keep it like a key to the cash box.\n{body}",
            self.role.name(),
            self.subject,
            self.hub_id
        )
    }

    /// Writes the bundle readable by its owner only; never overwrites a file.
    pub fn write(&self, path: &Path) -> Result<(), EnrolmentError> {
        write_private(path, self.to_text().as_bytes()).map_err(|source| EnrolmentError::Io {
            path: path.display().to_string(),
            source,
        })
    }
}

/// Creates `path` readable by its owner only (private keys, bundles) and
/// writes it durably; never overwrites an existing file.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_addresses_are_checked_by_one_rule() {
        // Proves the address rule accepts https://host:port and refuses the
        // rest, plaintext included: every hub requires mutual TLS.
        for good in ["https://127.0.0.1:7400", "https://hub.example:7400/"] {
            assert_eq!(check_hub_url(good), Ok(()), "{good}");
        }
        for bad in [
            "hub.example:7400",
            "ftp://hub.example",
            "http://localhost:7400",
            "https://",
            "https://h:7400/x",
            "not an address",
        ] {
            assert!(check_hub_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_hub_address_names_its_host_whether_dns_ipv4_or_ipv6() {
        for (url, host) in [
            ("https://hub.example.org:7400", "hub.example.org"),
            ("https://10.0.0.5:7400/", "10.0.0.5"),
            ("https://[fd00::5]:7400", "fd00::5"),
        ] {
            assert_eq!(hub_url_host(url).as_deref(), Ok(host), "{url}");
        }
    }

    fn sample() -> Enrolment {
        Enrolment {
            role: Role::Coordinator,
            subject: "somchai".into(),
            scope: Some("230101".into()),
            public_key: None,
            hub_id: "230101".into(),
            hub_url: "https://127.0.0.1:7400".into(),
            serial: "0a1b".into(),
            not_after: 1_900_000_000,
            ca: "-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----\n".into(),
            cert: "-----BEGIN CERTIFICATE-----\nBB\n-----END CERTIFICATE-----\n".into(),
            key: "-----BEGIN PRIVATE KEY-----\nCC\n-----END PRIVATE KEY-----\n".into(),
        }
    }

    #[test]
    fn a_bundle_reads_back_as_written_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.bundle");
        sample().write(&path).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(Enrolment::read(&path).unwrap(), sample());
        assert!(
            sample().write(&path).is_err(),
            "an existing bundle is never overwritten"
        );
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        assert!(!format!("{:?}", sample()).contains("PRIVATE"));
    }

    #[test]
    fn what_is_not_a_bundle_is_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'#'; 70_000]).unwrap();
        assert!(matches!(
            Enrolment::read(&big),
            Err(EnrolmentError::TooLarge { .. })
        ));
        let plain = sample().to_text().replace("https://", "http://");
        assert!(Enrolment::parse(&plain).unwrap_err().contains("https://"));
        assert!(Enrolment::parse("role = \"group\"").is_err());
        let extra = format!("{}\nsurprise = 1\n", sample().to_text());
        assert!(Enrolment::parse(&extra).is_err());
    }
}
