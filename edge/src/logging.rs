//! Log output: human-readable lines by default, JSON objects (one a line) for
//! log collectors with `--log-format json`. Both go to stderr.

use std::io::IsTerminal;
use std::str::FromStr;

use serde::Deserialize;
use tracing_subscriber::EnvFilter;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<LogFormat, String> {
        match text {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("'{other}': expected text or json")),
        }
    }
}

/// Installs the global subscriber. `filter` comes from the environment or a default.
pub fn init(format: LogFormat, filter: EnvFilter) {
    // Colour only for a person at a terminal: a log file or journald would
    // keep the escape codes as noise around every field.
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
