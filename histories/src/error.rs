//! Errors of reading and validating histories. Each names the source, the line and column, and
//! what was wrong; an inconsistent history is not an error (that is for the checkers to say).

use crate::op::Pos;

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The source could not be read at all.
    #[error("failed to read {source_name}: {error}")]
    Io {
        source_name: String,
        #[source]
        error: std::io::Error,
    },
    /// The text is not well-formed in its format (EDN, JSON), or an operation lacks a field or
    /// has one of the wrong type.
    #[error("{source_name}: {pos}: {message}")]
    Syntax {
        source_name: String,
        pos: Pos,
        message: String,
    },
    /// The operations are well-formed but do not make a history: a completion with no open
    /// invocation, a process invoking twice, and the like.
    #[error("{source_name}: {pos}: {message}")]
    Invalid {
        source_name: String,
        pos: Pos,
        message: String,
    },
}

impl HistoryError {
    /// Where the error was found, if it was found in the text.
    pub fn pos(&self) -> Option<Pos> {
        match self {
            HistoryError::Io { .. } => None,
            HistoryError::Syntax { pos, .. } | HistoryError::Invalid { pos, .. } => Some(*pos),
        }
    }
}
