//! `sajja-hub check-config`: every problem in a hub config file, each with
//! its line. The TOML diagnostics are shared with the node (`sajja_edge`);
//! the rules live in [`crate::config`].

use std::path::Path;

pub use sajja_edge::toml_check::*;

/// Checks a hub config file: `Ok(summary)` when it is valid, else every problem.
pub fn check_file(path: &Path) -> Result<String, Vec<Problem>> {
    match crate::config::HubConfig::load(path) {
        Ok(config) => Ok(format!(
            "hub {} ({:?}), listening on {}, data in {}",
            config.hub_id,
            config.level,
            config.listen,
            config.data_dir.display()
        )
        .to_lowercase()),
        Err(crate::config::ConfigError::Read { source, .. }) => Err(vec![Problem {
            line: None,
            message: source.to_string(),
        }]),
        Err(crate::config::ConfigError::Invalid { problems, .. }) => Err(problems),
    }
}
