//! Who a certificate names: a group, a child hub, a coordinator or an
//! operator, as the URI `sajja://role/subject` in its subject alternative
//! names; and the geocode, name and scope rules those subjects follow.

use sajja_common::GroupId;
pub use sajja_edge::enrolment::Role;

pub(crate) const URI_PREFIX: &str = "sajja://";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    Group(GroupId),
    /// A child hub, by geocode.
    Hub(String),
    Coordinator {
        name: String,
        /// A province (2 digits) or tambon (6 digits) geocode.
        scope: String,
    },
    Operator(String),
}

impl Principal {
    pub fn role(&self) -> Role {
        match self {
            Principal::Group(_) => Role::Group,
            Principal::Hub(_) => Role::Hub,
            Principal::Coordinator { .. } => Role::Coordinator,
            Principal::Operator(_) => Role::Operator,
        }
    }

    /// What the bundle and the credentials table call the holder.
    pub fn subject(&self) -> &str {
        match self {
            Principal::Group(group) => group.as_str(),
            Principal::Hub(hub) => hub,
            Principal::Coordinator { name, .. } | Principal::Operator(name) => name,
        }
    }

    pub fn scope(&self) -> Option<&str> {
        match self {
            Principal::Coordinator { scope, .. } => Some(scope),
            _ => None,
        }
    }

    pub fn uri(&self) -> String {
        match self {
            Principal::Coordinator { name, scope } => {
                format!("{URI_PREFIX}coordinator/{scope}/{name}")
            }
            other => format!("{URI_PREFIX}{}/{}", other.role().name(), other.subject()),
        }
    }

    pub fn from_uri(uri: &str) -> Option<Principal> {
        let rest = uri.strip_prefix(URI_PREFIX)?;
        let (role, rest) = rest.split_once('/')?;
        match role {
            "group" => GroupId::parse(rest).ok().map(Principal::Group),
            "hub" => is_scope_geocode(rest).then(|| Principal::Hub(rest.to_string())),
            "coordinator" => {
                let (scope, name) = rest.split_once('/')?;
                (is_scope_geocode(scope) && check_name(name)).then(|| Principal::Coordinator {
                    name: name.to_string(),
                    scope: scope.to_string(),
                })
            }
            "operator" => check_name(rest).then(|| Principal::Operator(rest.to_string())),
            _ => None,
        }
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Principal::Coordinator { name, scope } => {
                write!(f, "coordinator {name} (scope {scope})")
            }
            other => write!(f, "{} {}", other.role().name(), other.subject()),
        }
    }
}

/// Whether `text` names a scope: a province (2 digits) or tambon (6
/// digits) geocode, as `sajja_common::ids::check_geocode` reads each.
pub fn is_scope_geocode(text: &str) -> bool {
    use sajja_common::ids::check_geocode;
    check_geocode(text, "province", 2).is_ok() || check_geocode(text, "tambon", 6).is_ok()
}

/// Coordinator and operator names: short, lower-case ASCII, safe in a URI
/// and a file name (a person's real name belongs nowhere in a certificate).
pub fn check_name(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// Does `scope` (a geocode, or a group id) lie within `within` (a geocode)?
/// Geocodes nest by prefix: province 23 holds tambon 230101 holds group
/// 230101-007.
pub fn scope_within(scope: &str, within: &str) -> bool {
    scope.starts_with(within)
}
