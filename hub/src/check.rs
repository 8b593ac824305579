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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        cert: String,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        id: String,
        inner: Inner,
    }

    #[test]
    fn every_unknown_key_is_reported_with_its_line() {
        // Proves parsing resumes after an unknown key, so each one is named.
        let text = "id = \"a\"\nbogus = 1\n[inner]\ncert = \"x\"\nalso = 2\n";
        let (value, problems) = parse::<Outer>(text);
        assert!(value.is_some());
        let lines: Vec<_> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [Some(2), Some(5)], "{problems:?}");
    }

    #[test]
    fn a_bad_value_is_named_by_its_key() {
        // Proves a type error says which key holds the bad value, and where.
        let text = "id = \"a\"\n[inner]\ncert = 5\n";
        let (value, problems) = parse::<Outer>(text);
        assert!(value.is_none());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].line, Some(3));
        assert!(
            problems[0].message.starts_with("inner.cert: "),
            "{problems:?}"
        );
    }

    #[test]
    fn a_nested_key_is_located() {
        // Proves a semantic problem is placed on the line of the key it names.
        let text = "id = \"a\"\n\n[inner]\ncert = \"x\"\n";
        assert_eq!(line_of_key(text, "inner.cert"), Some(4));
        assert_eq!(locate(text, "id: bad".into()).line, Some(1));
        assert_eq!(locate(text, "nowhere: bad".into()).line, None);
    }
}
