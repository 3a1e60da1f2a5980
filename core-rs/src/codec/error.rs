//! Why an envelope could not be decoded.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// Not JSON at all (with serde_json's position and reason).
    NotJson(String),
    /// JSON, but not an envelope: names the field and what is wrong with it.
    InvalidEnvelope(&'static str, &'static str),
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotJson(e) => write!(f, "not JSON: {e}"),
            Self::InvalidEnvelope(field, what) => write!(f, "invalid envelope: `{field}` {what}"),
        }
    }
}

impl std::error::Error for CodecError {}
