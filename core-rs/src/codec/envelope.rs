//! Decoding and encoding of one envelope.

use serde_json::{Map, Value};

use super::timestamp::is_rfc3339_with_offset;
use super::CodecError;

/// Flat metadata: JSON scalars only.
pub type Metadata = Map<String, Value>;

#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub message_type: String,
    pub timestamp: String,
    pub source: String,
    pub payload: Map<String, Value>,
    pub metadata: Metadata,
}

fn invalid(field: &'static str, what: &'static str) -> CodecError {
    CodecError::InvalidEnvelope(field, what)
}

fn take_string(obj: &mut Map<String, Value>, field: &'static str) -> Result<String, CodecError> {
    match obj.remove(field) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(invalid(field, "must be a string")),
        None => Err(invalid(field, "is missing")),
    }
}

/// Decodes and checks one envelope.
pub fn decode(bytes: &[u8]) -> Result<Envelope, CodecError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| CodecError::NotJson(e.to_string()))?;
    let Value::Object(mut obj) = value else {
        return Err(invalid("$", "must be an object"));
    };
    let message_type = take_string(&mut obj, "type")?;
    if message_type.is_empty() {
        return Err(invalid("type", "must not be empty"));
    }
    let timestamp = take_string(&mut obj, "timestamp")?;
    if !is_rfc3339_with_offset(&timestamp) {
        return Err(invalid(
            "timestamp",
            "must be an ISO-8601 time with a UTC offset",
        ));
    }
    let source = take_string(&mut obj, "source")?;
    let payload = match obj.remove("payload") {
        Some(Value::Object(p)) => p,
        Some(_) => return Err(invalid("payload", "must be an object")),
        None => return Err(invalid("payload", "is missing")),
    };
    let metadata = match obj.remove("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => {
            if m.values().any(|v| v.is_array() || v.is_object()) {
                return Err(invalid("metadata", "values must be JSON scalars"));
            }
            m
        }
        Some(_) => return Err(invalid("metadata", "must be an object")),
    };
    Ok(Envelope {
        message_type,
        timestamp,
        source,
        payload,
        metadata,
    })
}

/// Encodes an envelope (keys in the spec's order).
pub fn encode(envelope: &Envelope) -> Vec<u8> {
    let mut obj = Map::with_capacity(5);
    obj.insert("type".into(), Value::String(envelope.message_type.clone()));
    obj.insert(
        "timestamp".into(),
        Value::String(envelope.timestamp.clone()),
    );
    obj.insert("source".into(), Value::String(envelope.source.clone()));
    obj.insert("payload".into(), Value::Object(envelope.payload.clone()));
    obj.insert("metadata".into(), Value::Object(envelope.metadata.clone()));
    serde_json::to_vec(&Value::Object(obj)).expect("a Value always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SPEC: &str = r#"{"type":"ORDER_SUBMISSION","timestamp":"2024-01-01T10:00:00.000Z","source":"bot_1",
        "payload":{"orderId":"uuid","symbol":"MGC","side":"BUY","quantity":1,"orderType":"MARKET",
        "stopLoss":1850.0,"takeProfit":1870.0},"metadata":{"strategy":"PDH_PDL","signal":"BREAKOUT"}}"#;

    #[test]
    fn decodes_the_spec_example_and_round_trips() {
        let e = decode(SPEC.as_bytes()).unwrap();
        assert_eq!(e.message_type, "ORDER_SUBMISSION");
        assert_eq!(e.payload["stopLoss"], Value::from(1850.0));
        assert_eq!(e.metadata["signal"], Value::from("BREAKOUT"));
        assert_eq!(decode(&encode(&e)).unwrap(), e);
    }

    #[test]
    fn typed_errors() {
        assert!(matches!(decode(b"{"), Err(CodecError::NotJson(_))));
        assert_eq!(decode(b"[]"), Err(invalid("$", "must be an object")));
        let no_tz = SPEC.replace(".000Z", "");
        assert_eq!(
            decode(no_tz.as_bytes()),
            Err(invalid(
                "timestamp",
                "must be an ISO-8601 time with a UTC offset"
            ))
        );
        let nested = SPEC.replace(r#""signal":"BREAKOUT""#, r#""signal":[1]"#);
        assert_eq!(
            decode(nested.as_bytes()),
            Err(invalid("metadata", "values must be JSON scalars"))
        );
    }

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (-1e12f64..1e12).prop_map(Value::from),
            ".{0,12}".prop_map(Value::from),
        ]
    }

    fn json() -> impl Strategy<Value = Value> {
        scalar().prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(".{0,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn mutated_envelopes_never_panic(cut in 0usize..260, byte in any::<u8>()) {
            let mut bytes = SPEC.as_bytes().to_vec();
            let at = cut.min(bytes.len() - 1);
            bytes[at] = byte;
            let _ = decode(&bytes);
            let _ = decode(&SPEC.as_bytes()[..at]);
        }

        #[test]
        fn any_envelope_round_trips(
            message_type in "[A-Z_]{1,20}",
            source in ".{0,20}",
            payload in proptest::collection::btree_map(".{0,8}", json(), 0..6),
            metadata in proptest::collection::btree_map(".{0,8}", scalar(), 0..4),
        ) {
            let e = Envelope {
                message_type,
                timestamp: "2024-01-01T10:00:00.123+00:00".into(),
                source,
                payload: payload.into_iter().collect(),
                metadata: metadata.into_iter().collect(),
            };
            prop_assert_eq!(decode(&encode(&e)).unwrap(), e);
        }
    }
}
