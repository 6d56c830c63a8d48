//! Exit codes, as Jepsen's CLI: 0 valid, 1 invalid, 2 unknown, 254 bad usage or unreadable
//! input, 255 internal error.

pub const VALID: i32 = 0;
pub const INVALID: i32 = 1;
pub const UNKNOWN: i32 = 2;
pub const USAGE: i32 = 254;
pub const INTERNAL: i32 = 255;

/// A command that could not produce a verdict: the message for stderr and the exit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    /// Bad usage or unreadable input (254).
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: USAGE,
            message: message.into(),
        }
    }

    /// Something went wrong inside schism or its environment (255).
    pub fn internal(message: impl Into<String>) -> Failure {
        Failure {
            code: INTERNAL,
            message: message.into(),
        }
    }
}
