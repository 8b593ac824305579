//! Every problem in a TOML config file, each with its line, so an operator
//! fixes them all in one pass (`check-config` on both binaries).
//!
//! The rules themselves live in each binary's config module; this module
//! turns TOML spans into line numbers and keeps parsing past unknown keys so
//! that each one is reported.

use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue, Deserializer};

/// How many problems one file may report before we stop looking.
const PROBLEMS_MAX: usize = 50;

/// One thing wrong with a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line, when the problem has a place in the file.
    pub line: Option<usize>,
    pub message: String,
}

impl Problem {
    /// `FILE:LINE: message`, or `FILE: message` when there is no line.
    pub fn display(&self, file: &str) -> String {
        match self.line {
            Some(line) => format!("{file}:{line}: {}", self.message),
            None => format!("{file}: {}", self.message),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// Every problem found, each with its line (see `check-config`).
    #[error("{}", show_problems(path, problems))]
    Invalid {
        path: String,
        problems: Vec<Problem>,
    },
}

fn show_problems(path: &str, problems: &[Problem]) -> String {
    let lines: Vec<String> = problems.iter().map(|p| p.display(path)).collect();
    lines.join("\n")
}

/// Reads and checks a config file: parses it (reporting every unknown key),
/// lets `prepare` resolve relative paths against the file's directory and
/// return the rules it breaks (each message starting with its key, which is
/// how the line is found), and refuses with every problem in line order.
pub fn load<T: DeserializeOwned>(
    path: &std::path::Path,
    prepare: impl FnOnce(&mut T, &dyn Fn(&mut std::path::PathBuf)) -> Vec<String>,
) -> Result<T, ConfigError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: display.clone(),
        source,
    })?;
    let (parsed, mut problems) = parse::<T>(&text);
    let Some(mut config) = parsed else {
        return Err(ConfigError::Invalid {
            path: display,
            problems,
        });
    };
    // Relative to the file, so a directory of config and keys moves whole.
    let base = path.parent().unwrap_or(std::path::Path::new("."));
    let resolve = |p: &mut std::path::PathBuf| {
        if p.is_relative() {
            *p = base.join(&*p);
        }
    };
    problems.extend(
        prepare(&mut config, &resolve)
            .into_iter()
            .map(|message| locate(&text, message)),
    );
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.line);
        return Err(ConfigError::Invalid {
            path: display,
            problems,
        });
    }
    Ok(config)
}

/// The 1-based line holding byte `offset` of `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn problem_at(text: &str, span: Option<Range<usize>>, message: &str, syntax: bool) -> Problem {
    // serde reports a missing top-level key with the empty span 0..0: it has no line.
    let line = span
        .filter(|s| syntax || s.end > 0)
        .map(|s| line_of(text, s.start));
    Problem {
        line,
        message: message.to_string(),
    }
}

/// Deserializes `text`, reporting every syntax error; then each bad key
/// (unknown, or holding a value of the wrong type or form) is reported,
/// dropped, and parsing resumes, so one pass names every such key. A key
/// dropped this way and then found missing is not reported twice.
pub fn parse<T: DeserializeOwned>(text: &str) -> (Option<T>, Vec<Problem>) {
    let (mut document, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        let mut problems: Vec<Problem> = errors
            .iter()
            .take(PROBLEMS_MAX)
            .map(|e| problem_at(text, e.span(), e.message(), true))
            .collect();
        problems.sort_by_key(|p| p.line);
        return (None, problems);
    }
    let mut problems = Vec::new();
    let mut dropped: Vec<String> = Vec::new();
    while problems.len() < PROBLEMS_MAX {
        let error = match T::deserialize(Deserializer::from(document.clone())) {
            Ok(value) => return (Some(value), problems),
            Err(error) => error,
        };
        let message = error.message();
        if dropped
            .iter()
            .any(|key| message == format!("missing field `{key}`"))
        {
            break;
        }
        // An empty span (a missing top-level key) belongs to no key.
        let path = error
            .span()
            .filter(|s| s.end > s.start)
            .and_then(|s| key_at(document.get_ref(), s.start));
        let message = match &path {
            Some(path) if !message.starts_with("unknown field") => {
                format!("{}: {message}", path.join("."))
            }
            _ => message.to_string(),
        };
        problems.push(problem_at(text, error.span(), &message, false));
        match path {
            Some(path) if remove_path(document.get_mut(), &path) => {
                dropped.extend(path.last().cloned());
            }
            _ => break,
        }
    }
    (None, problems)
}

/// The key path (`["tls", "cert"]`) of the innermost key or value covering `offset`.
fn key_at(table: &DeTable<'_>, offset: usize) -> Option<Vec<String>> {
    table.iter().find_map(|(key, value)| {
        let inner = match value.get_ref() {
            DeValue::Table(inner) => key_at(inner, offset),
            _ => None,
        };
        let covers = value.span().contains(&offset) || key.span().contains(&offset);
        match inner {
            Some(mut path) => {
                path.insert(0, key.get_ref().to_string());
                Some(path)
            }
            None if covers => Some(vec![key.get_ref().to_string()]),
            None => None,
        }
    })
}

/// Drops the key at `path`; false if there is none.
fn remove_path(table: &mut DeTable<'_>, path: &[String]) -> bool {
    match path {
        [] => false,
        [last] => table.remove(last.as_str()).is_some(),
        [first, rest @ ..] => match table.get_mut(first.as_str()).map(|v| v.get_mut()) {
            Some(DeValue::Table(inner)) => remove_path(inner, rest),
            _ => false,
        },
    }
}

/// The line of a dotted key such as `tls.cert`, if the file spells it out.
pub fn line_of_key(text: &str, dotted: &str) -> Option<usize> {
    let (document, _) = DeTable::parse_recoverable(text);
    let mut table = document.get_ref();
    let mut parts = dotted.split('.').peekable();
    while let Some(part) = parts.next() {
        let (key, value) = table.get_key_value(part)?;
        if parts.peek().is_none() {
            return Some(line_of(text, key.span().start));
        }
        match value.get_ref() {
            DeValue::Table(inner) => table = inner,
            _ => return Some(line_of(text, key.span().start)),
        }
    }
    None
}

/// A rule's message names its key first (`tls.cert: ...`); find that key's line.
pub fn locate(text: &str, message: String) -> Problem {
    let key = message.split_once(": ").map(|(key, _)| key);
    let line = key
        .filter(|k| !k.is_empty() && !k.contains(' '))
        .and_then(|k| line_of_key(text, k));
    Problem { line, message }
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
