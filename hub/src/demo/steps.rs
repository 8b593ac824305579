//! One step of the demo: a command run to completion, its output or why it
//! failed. Shared by the demo's network and its exchange.

use std::process::{Command, Stdio};

use anyhow::{Context, bail};

pub(super) fn run_checked(command: &mut Command, what: &str) -> anyhow::Result<String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("starting {what}"))?;
    if !output.status.success() {
        bail!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
