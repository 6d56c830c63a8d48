//! Three-valued verdicts and their composition, as Jepsen's `checker/merge-valid`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A checker's verdict.
///
/// `Unknown` means a limit was hit (time, memory, search space) or the history says too
/// little; a result that is `Unknown` always carries its reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Validity {
    Valid,
    Invalid,
    Unknown,
}

impl Validity {
    /// Composes two verdicts: invalid beats unknown beats valid.
    pub fn merge(self, other: Validity) -> Validity {
        use Validity::*;
        match (self, other) {
            (Invalid, _) | (_, Invalid) => Invalid,
            (Unknown, _) | (_, Unknown) => Unknown,
            (Valid, Valid) => Valid,
        }
    }

    /// Composes any number of verdicts; an empty list is valid.
    pub fn merge_all(verdicts: impl IntoIterator<Item = Validity>) -> Validity {
        verdicts.into_iter().fold(Validity::Valid, Validity::merge)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Validity::Valid => "valid",
            Validity::Invalid => "invalid",
            Validity::Unknown => "unknown",
        }
    }

    /// The process exit code of DESIGN.md: 0 valid, 1 invalid, 2 unknown.
    pub fn exit_code(self) -> i32 {
        match self {
            Validity::Valid => 0,
            Validity::Invalid => 1,
            Validity::Unknown => 2,
        }
    }
}

impl fmt::Display for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Validity::*;
    use super::*;

    #[test]
    fn invalid_beats_unknown_beats_valid() {
        assert_eq!(Validity::merge_all([Valid, Unknown, Valid]), Unknown);
        assert_eq!(Validity::merge_all([Unknown, Invalid, Valid]), Invalid);
        assert_eq!(Validity::merge_all([]), Valid);
    }
}
