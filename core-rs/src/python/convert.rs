//! Conversions between numpy arrays and Rust slices, in one place.

use std::borrow::Cow;

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

/// A 1-d array's elements as a slice, copied only if the array is not contiguous.
pub(crate) fn slice<'a, T: numpy::Element + Copy>(
    array: &'a PyReadonlyArray1<'_, T>,
) -> Cow<'a, [T]> {
    match array.as_slice() {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(array.as_array().iter().copied().collect()),
    }
}

/// `Err(LengthMismatch)` unless every batch column has the same length.
pub(crate) fn same_lengths(lengths: &[usize]) -> Result<(), crate::indicators::IndicatorError> {
    if lengths.windows(2).all(|w| w[0] == w[1]) {
        Ok(())
    } else {
        Err(crate::indicators::IndicatorError::LengthMismatch)
    }
}

/// A vector handed to numpy without a copy.
pub(crate) fn array<T: numpy::Element>(py: Python<'_>, values: Vec<T>) -> Bound<'_, PyArray1<T>> {
    PyArray1::from_vec(py, values)
}

/// A JSON value as the matching Python object (dict, list, str, int, float, bool, None).
pub(crate) fn json_to_py<'py>(
    py: Python<'py>,
    value: &serde_json::Value,
) -> PyResult<Bound<'py, PyAny>> {
    use pyo3::types::PyList;
    use pyo3::IntoPyObjectExt;
    use serde_json::Value;
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_bound_py_any(py)?,
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_bound_py_any(py)?,
            (None, Some(u)) => u.into_bound_py_any(py)?,
            _ => n.as_f64().unwrap_or(f64::NAN).into_bound_py_any(py)?,
        },
        Value::String(s) => s.into_bound_py_any(py)?,
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => json_object_to_py(py, map)?.into_any(),
    })
}

pub(crate) fn json_object_to_py<'py>(
    py: Python<'py>,
    map: &serde_json::Map<String, serde_json::Value>,
) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
    let dict = pyo3::types::PyDict::new(py);
    for (k, v) in map {
        dict.set_item(k, json_to_py(py, v)?)?;
    }
    Ok(dict)
}

/// A Python object (dict with str keys, list, tuple, str, int, float, bool, None) as JSON.
pub(crate) fn py_to_json(obj: &Bound<'_, PyAny>) -> PyResult<serde_json::Value> {
    use pyo3::exceptions::PyTypeError;
    use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
    use serde_json::Value;
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.cast::<PyInt>().is_ok() {
        return match obj.extract::<i64>() {
            Ok(i) => Ok(Value::from(i)),
            Err(_) => Ok(Value::from(obj.extract::<u64>()?)),
        };
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return serde_json::Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| {
                pyo3::exceptions::PyValueError::new_err("JSON cannot hold NaN or infinity")
            });
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_owned()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        return Ok(Value::Object(py_dict_to_json(d)?));
    }
    if obj.cast::<PyList>().is_ok() || obj.cast::<PyTuple>().is_ok() {
        return obj
            .try_iter()?
            .map(|item| py_to_json(&item?))
            .collect::<PyResult<Vec<_>>>()
            .map(Value::Array);
    }
    Err(PyTypeError::new_err(format!(
        "cannot encode {} as JSON",
        obj.get_type().name()?
    )))
}

pub(crate) fn py_dict_to_json(
    d: &Bound<'_, pyo3::types::PyDict>,
) -> PyResult<serde_json::Map<String, serde_json::Value>> {
    let mut map = serde_json::Map::with_capacity(d.len());
    for (k, v) in d.iter() {
        let key = k
            .cast::<pyo3::types::PyString>()
            .map_err(|_| pyo3::exceptions::PyTypeError::new_err("JSON object keys must be str"))?;
        map.insert(key.to_str()?.to_owned(), py_to_json(&v)?);
    }
    Ok(map)
}
