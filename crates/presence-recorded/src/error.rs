//! The one error type of the crate: why a corpus file (or the index) could not be read.
//!
//! A plain message rather than an enum because the suite only prints it next to the file name;
//! nothing branches on the kind of failure.

use std::fmt;

/// Why a file (or the index) could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError(pub String);

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReadError {}

pub(crate) fn err<T>(msg: impl Into<String>) -> Result<T, ReadError> {
    Err(ReadError(msg.into()))
}
