//! `node.toml`, the node's optional configuration file
//! (`sajja-node --config FILE`, or `SAJJA_NODE_CONFIG`).
//!
//! Its values are defaults: a command-line flag (or its environment variable)
//! still wins. Without a file the node behaves exactly as before: data in
//! `./sajja-node-data`, the hub link that `sajja-node init --bundle` stored in
//! the ledger. When the file has a `[hub]` section, its `bundle` is the hub
//! link and the stored one is ignored, so an operator's configuration is never
//! silently overridden by an old `init --bundle`.
//!
//! Relative paths are resolved against the file's directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use sajja_edge::enrolment::{Enrolment, Role};

use sajja_edge::logging::LogFormat;
pub use sajja_edge::toml_check::ConfigError;
use sajja_edge::toml_check::{self, Problem};

/// Where the ledger lives when neither `--data-dir`, `SAJJA_NODE_DATA` nor
/// the file says.
pub const DATA_DIR_DEFAULT: &str = "./sajja-node-data";
/// The log filter when neither `SAJJA_LOG` nor `[log] level` says.
pub const LOG_LEVEL_DEFAULT: &str = "warn";
pub const POLL_INTERVAL_S_DEFAULT: u64 = 2;
pub const POLL_INTERVAL_S_MAX: u64 = 3_600;
pub const BACKOFF_MAX_S_DEFAULT: u64 = 300;
/// A hub down for a week is still retried at least once a day.
pub const BACKOFF_MAX_S_MAX: u64 = 86_400;
/// Six hours: four hellos a day keep an idle group in contact, far inside the
/// hubs' `stale_after_days` (at least one day).
pub const HEARTBEAT_S_DEFAULT: u64 = 6 * 3_600;
/// At most a day, the shortest `stale_after_days` a hub accepts: a longer
/// heartbeat could let a healthy, idle group turn stale.
pub const HEARTBEAT_S_MAX: u64 = 86_400;

/// How often the daemon looks for events appended by the CLI in another
/// process, unless `[sync] poll_interval_s` says otherwise.
pub const POLL_INTERVAL: Duration = Duration::from_secs(POLL_INTERVAL_S_DEFAULT);
/// A hub down for days is retried at least this often, unless
/// `[sync] backoff_max_s` says otherwise.
pub const BACKOFF_MAX: Duration = Duration::from_secs(BACKOFF_MAX_S_DEFAULT);
/// The longest an idle daemon goes without contacting its hub, unless
/// `[sync] heartbeat_s` says otherwise.
pub const HEARTBEAT: Duration = Duration::from_secs(HEARTBEAT_S_DEFAULT);

/// The daemon's timing, from `node.toml`'s `[sync]` section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    pub poll_interval: Duration,
    pub backoff_max: Duration,
    /// Measured from the last successful sync, on the monotonic clock: a
    /// Pi's wall clock may jump when it finds the network.
    pub heartbeat: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            poll_interval: POLL_INTERVAL,
            backoff_max: BACKOFF_MAX,
            heartbeat: HEARTBEAT,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The directory holding `ledger.sqlite`.
    pub data_dir: Option<PathBuf>,
    /// The hub this node pushes to; takes precedence over the link stored by
    /// `sajja-node init --bundle`.
    pub hub: Option<HubSection>,
    #[serde(default)]
    pub log: LogSection,
    #[serde(default)]
    pub sync: SyncSection,
    /// The treasurer's web app; off unless `listen` is set.
    #[serde(default)]
    pub web: WebSection,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebSection {
    /// Where `sajja-node run` serves the app, e.g. `0.0.0.0:8080` on the
    /// hall's Wi-Fi (port 0 picks a free port, written to `web.addr`).
    pub listen: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubSection {
    /// The group's enrolment bundle from the hub operator
    /// (`sajja-hub enrol group`): the hub's address and CA, and this group's
    /// client certificate and key. Required in `[hub]`.
    pub bundle: Option<PathBuf>,
    /// `[hub] url` and `ca` from before enrolment bundles, read only so that
    /// `check-config` can say what replaced them.
    #[serde(default)]
    url: Option<toml::Value>,
    #[serde(default)]
    ca: Option<toml::Value>,
    /// The bundle as read and checked by [`NodeConfig::load`].
    #[serde(skip)]
    enrolment: Option<Enrolment>,
}

impl HubSection {
    /// The bundle file and what it holds; `None` only in a file that failed
    /// [`NodeConfig::load`].
    pub fn bundle(&self) -> Option<(&Path, &Enrolment)> {
        Some((self.bundle.as_deref()?, self.enrolment.as_ref()?))
    }

    /// Reads the bundle once, at load, so every command sees the file
    /// `check-config` saw. Each message names its key.
    fn read_bundle(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        let replaced = "no longer read: the hub's address, its CA and this group's client certificate come from the group's enrolment bundle; replace `url` and `ca` with `bundle = \"FILE\"` (from `sajja-hub enrol group`)";
        if self.url.is_some() {
            problems.push(format!("hub.url: {replaced}"));
        }
        if self.ca.is_some() {
            problems.push(format!("hub.ca: {replaced}"));
        }
        let Some(path) = &self.bundle else {
            problems.push(
                "hub: needs `bundle = \"FILE\"`, the group's enrolment bundle from the hub operator"
                    .to_string(),
            );
            return problems;
        };
        match Enrolment::read(path) {
            Err(e) => problems.push(format!("hub.bundle: {e}")),
            Ok(bundle) if bundle.role != Role::Group => problems.push(format!(
                "hub.bundle: {}: enrols a {}, not a group: a node needs its group's bundle",
                path.display(),
                bundle.role.name()
            )),
            Ok(bundle) => match check_hub_url(&bundle.hub_url) {
                Err(e) => problems.push(format!("hub.bundle: {}: {e}", path.display())),
                Ok(()) => self.enrolment = Some(bundle),
            },
        }
        problems
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    #[serde(default)]
    pub format: LogFormat,
    /// A tracing filter (`warn`, `info`, `sajja_node=debug`); `SAJJA_LOG` wins.
    #[serde(default = "default_level")]
    pub level: String,
}

impl Default for LogSection {
    fn default() -> LogSection {
        LogSection {
            format: LogFormat::Text,
            level: default_level(),
        }
    }
}

fn default_level() -> String {
    LOG_LEVEL_DEFAULT.to_string()
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSection {
    /// How often the daemon looks for events recorded by the CLI.
    #[serde(default = "default_poll")]
    pub poll_interval_s: u64,
    /// The longest wait between retries while the hub is unreachable.
    #[serde(default = "default_backoff_max")]
    pub backoff_max_s: u64,
    /// The longest the daemon goes without contacting its hub: with nothing
    /// to push it still says hello, so the hubs see the group is alive.
    #[serde(default = "default_heartbeat")]
    pub heartbeat_s: u64,
}

impl Default for SyncSection {
    fn default() -> SyncSection {
        SyncSection {
            poll_interval_s: POLL_INTERVAL_S_DEFAULT,
            backoff_max_s: BACKOFF_MAX_S_DEFAULT,
            heartbeat_s: HEARTBEAT_S_DEFAULT,
        }
    }
}

fn default_poll() -> u64 {
    POLL_INTERVAL_S_DEFAULT
}

fn default_backoff_max() -> u64 {
    BACKOFF_MAX_S_DEFAULT
}

fn default_heartbeat() -> u64 {
    HEARTBEAT_S_DEFAULT
}

use crate::link::check_hub_url;

impl NodeConfig {
    /// Reads and validates a config file, resolving relative paths against
    /// its directory.
    pub fn load(path: &Path) -> Result<NodeConfig, ConfigError> {
        toml_check::load(path, |config: &mut NodeConfig, resolve| {
            if let Some(data_dir) = config.data_dir.as_mut() {
                resolve(data_dir);
            }
            let mut messages = Vec::new();
            if let Some(hub) = config.hub.as_mut() {
                if let Some(bundle) = hub.bundle.as_mut() {
                    resolve(bundle);
                }
                messages.extend(hub.read_bundle());
            }
            messages.extend(config.validate());
            messages
        })
    }

    /// Every rule the parsed file breaks, each message starting with its key.
    fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(data_dir) = &self.data_dir
            && data_dir.as_os_str().is_empty()
        {
            problems.push("data_dir: must not be empty".to_string());
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            problems.push(format!(
                "log.level: '{}' is not a filter: {e}",
                self.log.level
            ));
        }
        if !(1..=POLL_INTERVAL_S_MAX).contains(&self.sync.poll_interval_s) {
            problems.push(format!(
                "sync.poll_interval_s: {} is not between 1 and {POLL_INTERVAL_S_MAX}",
                self.sync.poll_interval_s
            ));
        }
        if !(1..=BACKOFF_MAX_S_MAX).contains(&self.sync.backoff_max_s) {
            problems.push(format!(
                "sync.backoff_max_s: {} is not between 1 and {BACKOFF_MAX_S_MAX}",
                self.sync.backoff_max_s
            ));
        }
        if !(1..=HEARTBEAT_S_MAX).contains(&self.sync.heartbeat_s) {
            problems.push(format!(
                "sync.heartbeat_s: {} is not between 1 and {HEARTBEAT_S_MAX}",
                self.sync.heartbeat_s
            ));
        }
        problems
    }

    /// The bundle `[hub]` names, read when the file was loaded.
    pub fn bundle(&self) -> Option<(&Path, &Enrolment)> {
        self.hub.as_ref().and_then(HubSection::bundle)
    }

    pub fn daemon_settings(&self) -> Settings {
        Settings {
            poll_interval: Duration::from_secs(self.sync.poll_interval_s),
            backoff_max: Duration::from_secs(self.sync.backoff_max_s),
            heartbeat: Duration::from_secs(self.sync.heartbeat_s),
        }
    }
}

/// Checks a node config file: `Ok(summary)` when it is valid, else every problem.
pub fn check_file(path: &Path) -> Result<String, Vec<Problem>> {
    match NodeConfig::load(path) {
        Ok(config) => {
            let data_dir = config
                .data_dir
                .as_ref()
                .map_or(DATA_DIR_DEFAULT.to_string(), |d| d.display().to_string());
            let hub = config.bundle().map_or(
                "the link stored by `sajja-node init --bundle`".to_string(),
                |(path, bundle)| {
                    format!(
                        "{} for group {} (bundle {}, certificate serial {})",
                        bundle.hub_url,
                        crate::link::printable(&bundle.subject),
                        path.display(),
                        crate::link::printable(&bundle.serial)
                    )
                },
            );
            Ok(format!("data in {data_dir}, hub {hub}"))
        }
        Err(ConfigError::Read { source, .. }) => Err(vec![Problem {
            line: None,
            message: source.to_string(),
        }]),
        Err(ConfigError::Invalid { problems, .. }) => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_means_every_default() {
        // Proves each option's documented default.
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("node.toml");
        std::fs::write(&path, "").unwrap();
        let config = NodeConfig::load(&path).unwrap();
        assert!(config.data_dir.is_none() && config.hub.is_none());
        assert_eq!(config.log.format, LogFormat::Text);
        assert_eq!(config.log.level, LOG_LEVEL_DEFAULT);
        let settings = config.daemon_settings();
        assert_eq!(settings.poll_interval, POLL_INTERVAL);
        assert_eq!(settings.backoff_max, BACKOFF_MAX);
        assert_eq!(settings.heartbeat, HEARTBEAT);
        assert_eq!(settings, Settings::default());
    }

    #[test]
    fn a_heartbeat_is_between_a_second_and_a_day() {
        // Proves `[sync] heartbeat_s` is read and bounded: longer than a day
        // could let an idle, healthy group turn stale at a hub.
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("node.toml");
        std::fs::write(&path, "[sync]\nheartbeat_s = 30\n").unwrap();
        let config = NodeConfig::load(&path).unwrap();
        assert_eq!(config.daemon_settings().heartbeat, Duration::from_secs(30));
        for bad in [0, HEARTBEAT_S_MAX + 1] {
            std::fs::write(&path, format!("[sync]\nheartbeat_s = {bad}\n")).unwrap();
            match NodeConfig::load(&path) {
                Err(ConfigError::Invalid { problems, .. }) => {
                    assert_eq!(problems.len(), 1, "{problems:?}");
                    assert_eq!(problems[0].line, Some(2), "{problems:?}");
                    assert!(
                        problems[0].message.contains("sync.heartbeat_s"),
                        "{problems:?}"
                    );
                }
                other => panic!("heartbeat_s = {bad} accepted: {other:?}"),
            }
        }
    }
}
