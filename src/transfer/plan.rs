//! What a planned write (an import row, a copied secret) would do to its target vault, shown before
//! anything is sent: create, a new version, unchanged (the same value, compared by fingerprint), a conflict
//! with a deleted secret that can be recovered first, or an invalid name (with Key Vault's rule).

use crate::azure::identifiers::check_object_name;

/// The target's state for one name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    Absent,
    /// Live; `same_value`: its current value equals the one to write (`None`: could not be read).
    Live {
        same_value: Option<bool>,
    },
    /// In the Deleted list: a write meets 409 until it is recovered (or purged).
    Deleted,
}

/// A row's fate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteFate {
    Create,
    NewVersion,
    /// The target already holds this value: nothing to write.
    Unchanged,
    /// A deleted secret holds the name; it can be recovered first, then the value written as a new version.
    Conflict,
    /// The row cannot be written (a bad name, no value, …): why.
    Invalid(String),
}

impl WriteFate {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::NewVersion => "new version",
            Self::Unchanged => "unchanged",
            Self::Conflict => "conflict: deleted, recoverable",
            Self::Invalid(_) => "invalid",
        }
    }

    /// Whether the row is written when the plan is applied (conflicts only when recovery is chosen).
    pub fn writes(&self) -> bool {
        matches!(self, Self::Create | Self::NewVersion | Self::Conflict)
    }
}

/// The fate of writing to `name` with the target in `state`.
pub fn fate(name: &str, state: TargetState) -> WriteFate {
    if let Err(rule) = check_object_name(name) {
        return WriteFate::Invalid(rule);
    }
    match state {
        TargetState::Absent => WriteFate::Create,
        TargetState::Live {
            same_value: Some(true),
        } => WriteFate::Unchanged,
        TargetState::Live { .. } => WriteFate::NewVersion,
        TargetState::Deleted => WriteFate::Conflict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_state_has_its_fate() {
        assert_eq!(fate("a", TargetState::Absent), WriteFate::Create);
        assert_eq!(
            fate(
                "a",
                TargetState::Live {
                    same_value: Some(true)
                }
            ),
            WriteFate::Unchanged
        );
        assert_eq!(
            fate(
                "a",
                TargetState::Live {
                    same_value: Some(false)
                }
            ),
            WriteFate::NewVersion
        );
        assert_eq!(
            fate("a", TargetState::Live { same_value: None }),
            WriteFate::NewVersion
        );
        assert_eq!(fate("a", TargetState::Deleted), WriteFate::Conflict);
        assert!(matches!(
            fate("db_password", TargetState::Absent),
            WriteFate::Invalid(rule) if rule.contains("'_' is not allowed")
        ));
    }
}
