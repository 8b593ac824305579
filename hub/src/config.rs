//! The hub's configuration file, validated before any port is bound.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use crate::values::lines::Attention;
pub use sajja_edge::toml_check::ConfigError;
use sajja_edge::toml_check::{self as check, Problem};

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
    /// The hub's Ed25519 signing key (hex seed, mode 0600): it signs the hub's
    /// administrative log.
    #[serde(default = "default_signing_key")]
    pub signing_key: PathBuf,
    /// A tambon hub's province hub, to which it relays every log it holds.
    #[serde(default)]
    pub parent: Option<Parent>,
    /// A province hub's tambon hubs, and the keys their administrative logs
    /// are signed with. Group keys reach the province through those logs.
    #[serde(default)]
    pub children: Vec<Child>,
    /// The address written into enrolment bundles, `https://host:port`
    /// (default: `https://` and the bound listen address).
    #[serde(default)]
    pub public_url: Option<String>,
    /// How long a client certificate issued at enrolment stays valid.
    #[serde(default = "default_client_cert_days")]
    pub client_cert_days: u32,
    #[serde(default)]
    pub limits: Limits,
    /// A group from which nothing has arrived for more than this many days is
    /// reported stale (`query groups --stale`, `query alerts`).
    #[serde(default = "default_stale_after_days")]
    pub stale_after_days: u32,
    /// Address of the operations endpoint (`GET /metrics`, `GET /health`,
    /// plain HTTP); none by default. Port 0 picks a free port, written to
    /// `<data_dir>/metrics.addr`.
    #[serde(default)]
    pub metrics_listen: Option<SocketAddr>,
    /// `[scrub]`: how fast stored logs are re-verified (see [`crate::ingest::scrub`]).
    #[serde(default)]
    pub scrub: ScrubConfig,
    /// The coordinators' dashboard; off unless `listen` is set.
    #[serde(default)]
    pub web: WebSection,
    /// When a group needs attention, beyond stale and forked.
    #[serde(default)]
    pub attention: Attention,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebSection {
    /// Where `sajja-hub run` serves the dashboard (plain HTTP: keep it on
    /// localhost behind a TLS reverse proxy, see deploy/hub). Port 0 picks a
    /// free port, written to `<data_dir>/web.addr`.
    pub listen: Option<SocketAddr>,
}

/// Most groups sync daily; a week of silence is worth a coordinator's call.
pub const DEFAULT_STALE_AFTER_DAYS: u32 = 7;
/// A bound on `stale_after_days`: ten years.
pub const MAX_STALE_AFTER_DAYS: u32 = 3_650;

fn default_stale_after_days() -> u32 {
    DEFAULT_STALE_AFTER_DAYS
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parent {
    /// The enrolment bundle the province hub issued to this hub
    /// (`sajja-hub enrol hub <id>` there): its address, CA and this hub's
    /// client certificate.
    pub bundle: PathBuf,
}

/// What one client may cost the hub. Every limit refuses or slows the
/// client that reaches it, never the others.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// The largest gRPC message accepted, after decompression.
    pub max_message_bytes: usize,
    /// The most event bytes in one pushed batch.
    pub max_batch_bytes: usize,
    /// The most events in one pushed batch.
    pub max_batch_events: usize,
    /// Events accepted per group per minute; a faster pusher is slowed.
    pub events_per_group_per_minute: u32,
    /// Concurrent calls (streams) per client certificate.
    pub max_streams_per_client: u32,
    /// Open connections in all; further ones are closed at once.
    pub max_connections: u32,
    /// Time allowed for a TLS handshake, in milliseconds.
    pub handshake_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_message_bytes: sajja_proto::MAX_MESSAGE_BYTES,
            max_batch_bytes: 2 * sajja_proto::MAX_BATCH_BYTES,
            max_batch_events: sajja_proto::MAX_EVENTS_PER_BATCH,
            events_per_group_per_minute: DEFAULT_EVENTS_PER_GROUP_PER_MINUTE,
            max_streams_per_client: 8,
            max_connections: 1_024,
            handshake_timeout_ms: 10_000,
        }
    }
}

/// A year of a 2,000-member group's history is about 50,000 events; a
/// catch-up of that takes a minute, a flood of forged batches is slowed.
pub const DEFAULT_EVENTS_PER_GROUP_PER_MINUTE: u32 = 60_000;

/// A certificate outlives a Pi's SD card; two years, then re-issue.
pub const DEFAULT_CLIENT_CERT_DAYS: u32 = 730;

fn default_client_cert_days() -> u32 {
    DEFAULT_CLIENT_CERT_DAYS
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Child {
    /// The tambon hub's geocode (6 digits).
    pub hub_id: String,
    /// The tambon hub's public key, hex (`sajja-hub key` on that hub).
    pub key: String,
}

fn default_signing_key() -> PathBuf {
    PathBuf::from("hub.key")
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 7400))
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}

impl Limits {
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        // Nodes send batches of up to MAX_BATCH_BYTES; a hub that refused
        // them would refuse every group forever.
        let floors: [(&str, u64, u64); 4] = [
            (
                "limits.max_message_bytes",
                self.max_message_bytes as u64,
                (sajja_proto::MAX_BATCH_BYTES + 64 * 1024) as u64,
            ),
            (
                "limits.max_batch_bytes",
                self.max_batch_bytes as u64,
                sajja_proto::MAX_BATCH_BYTES as u64,
            ),
            (
                "limits.max_batch_events",
                self.max_batch_events as u64,
                1_000,
            ),
            (
                "limits.events_per_group_per_minute",
                u64::from(self.events_per_group_per_minute),
                1_000,
            ),
        ];
        for (name, value, floor) in floors {
            if value < floor {
                problems.push(format!("{name}: {value} is below the floor of {floor}"));
            }
        }
        if self.max_message_bytes > 64 * 1024 * 1024 {
            problems.push(format!(
                "limits.max_message_bytes: {} is above 64 MiB",
                self.max_message_bytes
            ));
        }
        if self.max_streams_per_client == 0 {
            problems.push("limits.max_streams_per_client: must be at least 1".into());
        }
        if self.max_connections == 0 {
            problems.push("limits.max_connections: must be at least 1".into());
        }
        if !(100..=120_000).contains(&self.handshake_timeout_ms) {
            problems.push(format!(
                "limits.handshake_timeout_ms: {} is not between 100 and 120000",
                self.handshake_timeout_ms
            ));
        }
        problems
    }
}

impl HubConfig {
    /// Reads and validates a config file; relative paths are resolved against
    /// the file's directory so a hub directory can be moved whole.
    pub fn load(path: &Path) -> Result<HubConfig, ConfigError> {
        check::load(path, |config: &mut HubConfig, resolve| {
            resolve(&mut config.data_dir);
            resolve(&mut config.tls.cert);
            resolve(&mut config.tls.key);
            resolve(&mut config.tls.ca);
            resolve(&mut config.tls.ca_key);
            resolve(&mut config.signing_key);
            if let Some(parent) = config.parent.as_mut() {
                resolve(&mut parent.bundle);
            }
            config.validate()
        })
    }

    /// Every rule the parsed file breaks, each message starting with the key
    /// it is about (`tls.cert: ...`), which is how check-config finds its line.
    fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let (digits, level) = match self.level {
            Level::Tambon => (6, "tambon"),
            Level::Province => (2, "province"),
        };
        if let Err(e) = sajja_common::ids::check_geocode(&self.hub_id, "hub", digits) {
            problems.push(format!("hub_id: {e} (level is {level})"));
        }
        if !(1..=MAX_STALE_AFTER_DAYS).contains(&self.stale_after_days) {
            problems.push(format!(
                "stale_after_days: {} is not between 1 and {MAX_STALE_AFTER_DAYS}",
                self.stale_after_days
            ));
        }
        if let Some(metrics) = self.metrics_listen
            && metrics.port() != 0
            && metrics.port() == self.listen.port()
            && (metrics.ip() == self.listen.ip()
                || metrics.ip().is_unspecified()
                || self.listen.ip().is_unspecified())
        {
            problems.push(format!(
                "metrics_listen: {metrics} is the address the Sync service listens on"
            ));
        }
        for (name, file) in [
            ("tls.cert", &self.tls.cert),
            ("tls.key", &self.tls.key),
            ("tls.ca", &self.tls.ca),
        ] {
            if !file.is_file() {
                problems.push(format!("{name}: {} does not exist", file.display()));
            }
        }
        if let Some(url) = &self.public_url
            && let Err(e) = sajja_edge::enrolment::check_hub_url(url)
        {
            problems.push(format!("public_url: {e}"));
        }
        if !(1..=3_650).contains(&self.client_cert_days) {
            problems.push(format!(
                "client_cert_days: {} is not between 1 and 3650",
                self.client_cert_days
            ));
        }
        if let Some(parent) = &self.parent {
            match self.level {
                Level::Province => {
                    problems.push("parent: a province hub has no parent".to_string())
                }
                Level::Tambon => {
                    if let Err(e) = sajja_edge::enrolment::Enrolment::read(&parent.bundle) {
                        problems.push(format!("parent.bundle: {e}"));
                    }
                }
            }
        }
        if let Some(web) = self.web.listen
            && web.port() != 0
            && [Some(self.listen), self.metrics_listen]
                .into_iter()
                .flatten()
                .any(|other| other.port() == web.port())
        {
            problems.push(format!(
                "web.listen: {web} takes a port the hub already listens on"
            ));
        }
        if self.attention.par30_percent > 100 || self.attention.collection_percent > 100 {
            problems.push("attention: percentages are between 0 and 100".to_string());
        }
        problems.extend(self.limits.problems());
        problems.extend(self.scrub.problems());
        problems
    }

    /// The parent link from `[parent] bundle`, read from disk.
    pub fn parent_enrolment(
        &self,
    ) -> Result<Option<sajja_edge::enrolment::Enrolment>, sajja_edge::enrolment::EnrolmentError>
    {
        self.parent
            .as_ref()
            .map(|p| sajja_edge::enrolment::Enrolment::read(&p.bundle))
            .transpose()
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("hub.sqlite")
    }

    pub fn addr_file(&self) -> PathBuf {
        self.data_dir.join("hub.addr")
    }

    /// How this hub judges a group's health at unix time `now`.
    pub fn freshness(&self, now: i64) -> crate::values::lines::Freshness {
        crate::values::lines::Freshness {
            now,
            stale_after_days: self.stale_after_days,
            attention: self.attention,
        }
    }

    /// Where the dashboard's bound address is written (`http://host:port`).
    pub fn web_addr_file(&self) -> PathBuf {
        self.data_dir.join("web.addr")
    }

    /// The dashboard's accounts and sessions: not in the hub's database,
    /// which is relayed and backed up as evidence; who may log in here is
    /// this hub's own business.
    pub fn web_users_path(&self) -> PathBuf {
        self.data_dir.join("web_users.sqlite")
    }

    /// Where the operations endpoint's bound address is written.
    pub fn metrics_addr_file(&self) -> PathBuf {
        self.data_dir.join("metrics.addr")
    }
}

/// `[scrub]` in hub.toml.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScrubConfig {
    /// Events re-verified per second, on average, by the background scrub.
    pub events_per_second: u32,
    /// Events of each log's tail re-verified at start-up, before serving.
    pub startup_events: u64,
}

/// A province hub of 2,000 groups holds some 20 million events: at this
/// rate the background scrub reads each of them about every three hours,
/// for about 0.1% of one core and 180 KB/s of page reads (BENCHMARKS.md, section
/// 11: a full scrub runs at about 2.3 million events a second).
pub const DEFAULT_EVENTS_PER_SECOND: u32 = 2_000;
/// Covers the last weeks of a busy group, where a crash during a write
/// would have left its mark; the rest waits for the background scrub.
pub const DEFAULT_STARTUP_EVENTS: u64 = 1_000;
impl Default for ScrubConfig {
    fn default() -> ScrubConfig {
        ScrubConfig {
            events_per_second: DEFAULT_EVENTS_PER_SECOND,
            startup_events: DEFAULT_STARTUP_EVENTS,
        }
    }
}

impl ScrubConfig {
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !(1..=1_000_000).contains(&self.events_per_second) {
            problems.push(format!(
                "scrub.events_per_second: {} is not between 1 and 1000000",
                self.events_per_second
            ));
        }
        if self.startup_events > 10_000_000 {
            problems.push(format!(
                "scrub.startup_events: {} is above 10000000",
                self.startup_events
            ));
        }
        problems
    }

    /// How long the background scrub rests after verifying `events`.
    pub fn rest(&self, events: u64) -> Duration {
        Duration::from_secs_f64(events as f64 / f64::from(self.events_per_second.max(1)))
    }
}

/// Checks a hub config file: `Ok(summary)` when it is valid, else every problem.
pub fn check_file(path: &Path) -> Result<String, Vec<Problem>> {
    match HubConfig::load(path) {
        Ok(config) => Ok(format!(
            "hub {} ({:?}), listening on {}, data in {}",
            config.hub_id,
            config.level,
            config.listen,
            config.data_dir.display()
        )
        .to_lowercase()),
        Err(ConfigError::Read { source, .. }) => Err(vec![Problem {
            line: None,
            message: source.to_string(),
        }]),
        Err(ConfigError::Invalid { problems, .. }) => Err(problems),
    }
}
