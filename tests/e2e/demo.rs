//! The README's first command: the demo network starts from nothing, syncs six
//! real nodes to two real hubs, and prints their positions.

use crate::support::*;

#[test]
fn the_demo_network_syncs_six_groups_and_prints_their_positions() {
    let mut command = std::process::Command::new(bin("sajja-hub"));
    command.args(["demo", "--no-wait"]);
    let output = run(command);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("all six logs verified and stored"), "{out}");
    for group in [
        "230101-001",
        "230101-002",
        "230101-003",
        "230102-001",
        "230102-002",
        "230102-003",
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with(group))
            .unwrap_or_else(|| panic!("{group} missing: {out}"));
        assert!(line.trim_end().ends_with("ok"), "{line}");
    }
    let root = out
        .lines()
        .find_map(|l| l.strip_prefix("Sajja demo network in "))
        .expect("the demo names its directory");
    assert!(
        !std::path::Path::new(root.trim()).exists(),
        "the demo removes its directory when it ends"
    );
}
