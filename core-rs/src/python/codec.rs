//! Python wrappers for `crate::codec` (benchmarked against msgspec; see BENCHMARKS.md).

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use super::convert::{json_object_to_py, py_dict_to_json};
use crate::codec::{self, Envelope};

/// Decodes one envelope into `{"type", "timestamp", "source", "payload", "metadata"}` (payload
/// as plain dicts/lists); raises `EnvelopeDecodeError`.
#[pyfunction]
fn decode_envelope<'py>(py: Python<'py>, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    let e = if let Ok(b) = data.cast::<PyBytes>() {
        codec::decode(b.as_bytes())?
    } else if let Ok(s) = data.cast::<PyString>() {
        codec::decode(s.to_str()?.as_bytes())?
    } else {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "data must be bytes or str",
        ));
    };
    let d = PyDict::new(py);
    d.set_item("type", e.message_type)?;
    d.set_item("timestamp", e.timestamp)?;
    d.set_item("source", e.source)?;
    d.set_item("payload", json_object_to_py(py, &e.payload)?)?;
    d.set_item("metadata", json_object_to_py(py, &e.metadata)?)?;
    Ok(d)
}

/// Encodes one envelope to JSON bytes (keys in the spec's order).
#[pyfunction]
#[pyo3(signature = (message_type, timestamp, source, payload, metadata = None))]
fn encode_envelope<'py>(
    py: Python<'py>,
    message_type: String,
    timestamp: String,
    source: String,
    payload: &Bound<'py, PyDict>,
    metadata: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let envelope = Envelope {
        message_type,
        timestamp,
        source,
        payload: py_dict_to_json(payload)?,
        metadata: metadata
            .map(py_dict_to_json)
            .transpose()?
            .unwrap_or_default(),
    };
    Ok(PyBytes::new(py, &codec::encode(&envelope)))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(decode_envelope, m)?)?;
    m.add_function(wrap_pyfunction!(encode_envelope, m)?)?;
    Ok(())
}
