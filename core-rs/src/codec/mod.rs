//! The bus envelope `{type, timestamp, source, payload, metadata}` as JSON (the spec's format).
//!
//! The Rust codec checks the envelope's shape (a non-empty `type`, an ISO-8601 `timestamp` with a
//! UTC offset, a `source` string, an object `payload`, flat scalar `metadata`) and leaves the
//! payload's fields to the typed Python structs. It is benchmarked against msgspec in
//! BENCHMARKS.md; the faster one (msgspec) is what `tsxbot.messages` uses on the hot path.

mod envelope;
mod error;
mod timestamp;

pub use envelope::{decode, encode, Envelope, Metadata};
pub use error::CodecError;
pub use serde_json::{Map, Value};
pub use timestamp::is_rfc3339_with_offset;
