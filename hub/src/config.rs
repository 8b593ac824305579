//! The hub's configuration file, validated before any port is bound.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Tambon,
    Province,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The hub's server certificate (PEM).
    pub cert: PathBuf,
    /// The server certificate's private key (PEM, mode 0600).
    pub key: PathBuf,
    /// The hub's CA certificate, which nodes are given to verify the hub.
    pub ca: PathBuf,
    /// The CA's private key, used to issue certificates at enrolment.
    pub ca_key: PathBuf,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubConfig {
    /// The hub's geocode: 6 digits for a tambon hub, 2 for a province hub.
    pub hub_id: String,
    pub level: Level,
    /// Address to listen on; port 0 picks a free port (written to `<data_dir>/hub.addr`).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Where the hub keeps its database; relative to the config file.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    pub tls: TlsFiles,
    /// Serve plaintext gRPC instead of TLS. For local development only.
    #[serde(default)]
    pub insecure_plaintext: bool,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 7400))
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

impl HubConfig {
    /// Reads and validates a config file; relative paths are resolved against
    /// the file's directory so a hub directory can be moved whole.
    pub fn load(path: &Path) -> Result<HubConfig, ConfigError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: display.clone(),
            source,
        })?;
        let mut config: HubConfig = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: display.clone(),
            message: e.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        resolve(&mut config.data_dir);
        resolve(&mut config.tls.cert);
        resolve(&mut config.tls.key);
        resolve(&mut config.tls.ca);
        resolve(&mut config.tls.ca_key);
        config.validate().map_err(|message| ConfigError::Invalid {
            path: display,
            message,
        })?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        let digits = match self.level {
            Level::Tambon => 6,
            Level::Province => 2,
        };
        sajja_common::ids::check_geocode(&self.hub_id, "hub", digits)
            .map_err(|e| format!("hub_id: {e}"))?;
        if !self.insecure_plaintext {
            for (name, file) in [
                ("tls.cert", &self.tls.cert),
                ("tls.key", &self.tls.key),
                ("tls.ca", &self.tls.ca),
            ] {
                if !file.is_file() {
                    return Err(format!("{name}: {} does not exist", file.display()));
                }
            }
        }
        Ok(())
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("hub.sqlite")
    }

    pub fn addr_file(&self) -> PathBuf {
        self.data_dir.join("hub.addr")
    }
}
