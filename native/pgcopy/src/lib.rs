//! PostgreSQL binary COPY payloads from Python rows, for the DarkHorses sinks.
//!
//! asyncpg encodes COPY rows value by value, calling back into Python for the codecs the sinks
//! install (`streams/pg_codecs.py`): a few microseconds a row, a sixth of the streams worker's
//! time. `encode(rows, types)` builds the whole `COPY ... FROM STDIN (FORMAT binary)` stream in
//! one call, with exactly the bytes those codecs give (the tests compare them value by value).
//! A value it does not take raises `TypeError` or `ValueError`; the caller then lets asyncpg
//! encode the batch, so an unusual value costs time, never correctness.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyBytes, PyDate, PyDateAccess, PyDateTime, PyDelta, PyDeltaAccess, PyFloat, PyInt,
    PyList, PyString, PyTimeAccess, PyTuple,
};

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";
/// 2000-01-01, PostgreSQL's epoch, in days and microseconds since the Unix epoch.
const PG_EPOCH_DAYS: i64 = 10_957;
const PG_EPOCH_US: i64 = PG_EPOCH_DAYS * 86_400_000_000;
const NUMERIC_POSITIVE: u16 = 0x0000;
const NUMERIC_NEGATIVE: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;
/// Exponents past this are refused (left to asyncpg): PostgreSQL's numeric ends near 10^131072.
const MAX_EXPONENT: i64 = 140_000;

/// A column's binary encoding, named as `streams/pg_copy.py` names it.
#[derive(Clone, Copy)]
enum Column {
    Text,
    Int2,
    Int4,
    Int8,
    Float8,
    Bool,
    Numeric,
    Timestamptz,
    Date,
    Json,
    Jsonb,
    /// A one-dimensional array of text-like elements, with the element type's OID.
    TextArray(u32),
}

impl Column {
    fn parse(name: &str) -> PyResult<Self> {
        Ok(match name {
            "text" => Column::Text,
            "int2" => Column::Int2,
            "int4" => Column::Int4,
            "int8" => Column::Int8,
            "float8" => Column::Float8,
            "bool" => Column::Bool,
            "numeric" => Column::Numeric,
            "timestamptz" => Column::Timestamptz,
            "date" => Column::Date,
            "json" => Column::Json,
            "jsonb" => Column::Jsonb,
            "text[]" => Column::TextArray(25),
            "varchar[]" => Column::TextArray(1043),
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown column type {other:?}"
                )))
            }
        })
    }
}

/// The binary COPY stream (signature, rows, trailer) of `rows`, each a tuple of values in the
/// order of `types`.
#[pyfunction]
fn encode<'py>(
    py: Python<'py>,
    rows: &Bound<'py, PyAny>,
    types: Vec<String>,
) -> PyResult<Bound<'py, PyBytes>> {
    let columns = types
        .iter()
        .map(|t| Column::parse(t))
        .collect::<PyResult<Vec<_>>>()?;
    let width = i16::try_from(columns.len())
        .map_err(|_| PyValueError::new_err("more than 32767 columns"))?;
    let mut out = Vec::with_capacity(64 * 1024);
    out.extend_from_slice(SIGNATURE);
    out.extend_from_slice(&0i32.to_be_bytes()); // flags
    out.extend_from_slice(&0i32.to_be_bytes()); // header extension length
    for (index, row) in rows.try_iter()?.enumerate() {
        let row = row?;
        let row = row.cast::<PyTuple>().map_err(|_| {
            PyTypeError::new_err(format!(
                "row {index}: a tuple expected, got {}",
                type_name(&row)
            ))
        })?;
        if row.len() != columns.len() {
            return Err(PyValueError::new_err(format!(
                "row {index}: {} values for {} columns",
                row.len(),
                columns.len()
            )));
        }
        out.extend_from_slice(&width.to_be_bytes());
        for (position, (value, column)) in row.iter().zip(&columns).enumerate() {
            field(&mut out, &value, *column).map_err(|error| {
                let name = &types[position];
                let message = format!("row {index}, column {position} ({name}): {error}");
                if error.is_instance_of::<PyTypeError>(py) {
                    PyTypeError::new_err(message)
                } else {
                    PyValueError::new_err(message)
                }
            })?;
        }
    }
    out.extend_from_slice(&(-1i16).to_be_bytes());
    Ok(PyBytes::new(py, &out))
}

/// One field: its length (-1: NULL), then its bytes.
fn field(out: &mut Vec<u8>, value: &Bound<'_, PyAny>, column: Column) -> PyResult<()> {
    if value.is_none() {
        out.extend_from_slice(&(-1i32).to_be_bytes());
        return Ok(());
    }
    let start = out.len();
    out.extend_from_slice(&0i32.to_be_bytes()); // the length, filled in below
    match column {
        Column::Text => out.extend_from_slice(text(value)?.as_bytes()),
        Column::Int2 => {
            out.extend_from_slice(&i16::try_from(int(value)?).map_err(range)?.to_be_bytes())
        }
        Column::Int4 => {
            out.extend_from_slice(&i32::try_from(int(value)?).map_err(range)?.to_be_bytes())
        }
        Column::Int8 => out.extend_from_slice(&int(value)?.to_be_bytes()),
        Column::Float8 => out.extend_from_slice(&float(value)?.to_be_bytes()),
        Column::Bool => {
            let flag = value
                .cast::<PyBool>()
                .map_err(|_| expected("bool", value))?;
            out.push(u8::from(flag.is_true()));
        }
        Column::Numeric => numeric(out, value)?,
        Column::Timestamptz => {
            out.extend_from_slice(&timestamptz(value)?.to_be_bytes());
        }
        Column::Date => {
            let date = value
                .cast::<PyDate>()
                .map_err(|_| expected("date", value))?;
            if value.is_instance_of::<PyDateTime>() {
                return Err(expected("date (not datetime)", value));
            }
            let days = days_from_civil(date.get_year(), date.get_month(), date.get_day());
            out.extend_from_slice(
                &i32::try_from(days - PG_EPOCH_DAYS)
                    .map_err(range)?
                    .to_be_bytes(),
            );
        }
        Column::Json | Column::Jsonb => {
            if let Column::Jsonb = column {
                out.push(1); // the binary jsonb format's version; json's is the text alone
            }
            if let Ok(bytes) = value.cast::<PyBytes>() {
                out.extend_from_slice(bytes.as_bytes());
            } else {
                out.extend_from_slice(
                    text(value)
                        .map_err(|_| expected("bytes or str", value))?
                        .as_bytes(),
                );
            }
        }
        Column::TextArray(element) => text_array(out, value, element)?,
    }
    let length = i32::try_from(out.len() - start - 4)
        .map_err(|_| PyValueError::new_err("a value over 2 GB"))?;
    out[start..start + 4].copy_from_slice(&length.to_be_bytes());
    Ok(())
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

fn expected(what: &str, value: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!("{what} expected, got {}", type_name(value)))
}

fn range<E: std::fmt::Display>(error: E) -> PyErr {
    PyValueError::new_err(format!("out of range: {error}"))
}

fn text<'a>(value: &'a Bound<'_, PyAny>) -> PyResult<std::borrow::Cow<'a, str>> {
    let string = value
        .cast::<PyString>()
        .map_err(|_| expected("str", value))?;
    string.to_cow()
}

fn int(value: &Bound<'_, PyAny>) -> PyResult<i64> {
    let number = value.cast::<PyInt>().map_err(|_| expected("int", value))?;
    number.extract::<i64>().map_err(range)
}

fn float(value: &Bound<'_, PyAny>) -> PyResult<f64> {
    if let Ok(number) = value.cast::<PyFloat>() {
        return Ok(number.value());
    }
    if value.is_instance_of::<PyInt>() {
        return value.extract::<f64>();
    }
    Err(expected("float", value))
}

/// Microseconds since PostgreSQL's epoch: from integer microseconds since the Unix epoch (the
/// streams' clock), or an aware datetime.
fn timestamptz(value: &Bound<'_, PyAny>) -> PyResult<i64> {
    if value.is_instance_of::<PyInt>() {
        return int(value)?
            .checked_sub(PG_EPOCH_US)
            .ok_or_else(|| range("timestamp"));
    }
    let moment = value
        .cast::<PyDateTime>()
        .map_err(|_| expected("int or datetime", value))?;
    let offset = value.call_method0("utcoffset")?;
    if offset.is_none() {
        return Err(PyValueError::new_err("naive datetime for a timestamptz"));
    }
    let offset = offset
        .cast::<PyDelta>()
        .map_err(|_| expected("timedelta offset", &offset))?;
    let offset_us = i64::from(offset.get_days()) * 86_400_000_000
        + i64::from(offset.get_seconds()) * 1_000_000
        + i64::from(offset.get_microseconds());
    let days = days_from_civil(moment.get_year(), moment.get_month(), moment.get_day());
    let seconds = i64::from(moment.get_hour()) * 3600
        + i64::from(moment.get_minute()) * 60
        + i64::from(moment.get_second());
    Ok(
        days * 86_400_000_000 + seconds * 1_000_000 + i64::from(moment.get_microsecond())
            - offset_us
            - PG_EPOCH_US,
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn text_array(out: &mut Vec<u8>, value: &Bound<'_, PyAny>, element: u32) -> PyResult<()> {
    let items: Vec<Bound<'_, PyAny>> = if let Ok(list) = value.cast::<PyList>() {
        list.iter().collect()
    } else if let Ok(tuple) = value.cast::<PyTuple>() {
        tuple.iter().collect()
    } else {
        return Err(expected("list or tuple", value));
    };
    let has_null = items.iter().any(|item| item.is_none());
    let dimensions: i32 = if items.is_empty() { 0 } else { 1 };
    out.extend_from_slice(&dimensions.to_be_bytes());
    out.extend_from_slice(&i32::from(has_null).to_be_bytes());
    out.extend_from_slice(&element.to_be_bytes());
    if items.is_empty() {
        return Ok(());
    }
    let count = i32::try_from(items.len()).map_err(range)?;
    out.extend_from_slice(&count.to_be_bytes());
    out.extend_from_slice(&1i32.to_be_bytes()); // lower bound
    for item in &items {
        if item.is_none() {
            out.extend_from_slice(&(-1i32).to_be_bytes());
            continue;
        }
        let item = text(item)?;
        let length = i32::try_from(item.len()).map_err(range)?;
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(item.as_bytes());
    }
    Ok(())
}

/// A numeric from its decimal text (or str() of an int or Decimal), as `pg_codecs.encode_numeric`
/// encodes it: base-10000 digit groups aligned on the decimal point without the zero groups at
/// either end, the weight (power of 10000) of the first, the sign and the display scale.
fn numeric(out: &mut Vec<u8>, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let owned;
    let source: &str = if let Ok(string) = value.cast::<PyString>() {
        owned = string.to_cow()?;
        &owned
    } else if value.is_instance_of::<PyInt>() || type_name(value) == "Decimal" {
        owned = std::borrow::Cow::Owned(value.str()?.to_cow()?.into_owned());
        &owned
    } else {
        return Err(expected("str, int or Decimal", value));
    };
    let parsed = Decimal::parse(source).ok_or_else(|| {
        PyValueError::new_err(format!("{source:?} is not a decimal this encoder takes"))
    })?;
    let Decimal::Finite {
        negative,
        whole,
        fraction,
        exponent,
    } = parsed
    else {
        header(out, 0, 0, NUMERIC_NAN, 0);
        return Ok(());
    };
    let dscale = u16::try_from((-exponent).max(0)).map_err(range)?;
    // The digits whole ++ fraction, the last one at power `exponent` of ten.
    let count = whole.len() + fraction.len();
    let digit = |index: usize| -> u16 {
        let byte = if index < whole.len() {
            whole[index]
        } else {
            fraction[index - whole.len()]
        };
        u16::from(byte - b'0')
    };
    let power_of = |index: usize| exponent + (count - 1 - index) as i64;
    let Some(first) = (0..count).find(|&i| digit(i) != 0) else {
        header(out, 0, 0, NUMERIC_POSITIVE, dscale);
        return Ok(());
    };
    let last = (0..count).rev().find(|&i| digit(i) != 0).unwrap_or(first);
    let (high, low) = (power_of(first).div_euclid(4), power_of(last).div_euclid(4));
    let groups = i16::try_from(high - low + 1).map_err(range)?;
    let weight = i16::try_from(high).map_err(range)?;
    let sign = if negative {
        NUMERIC_NEGATIVE
    } else {
        NUMERIC_POSITIVE
    };
    header(out, groups, weight, sign, dscale);
    for group in (low..=high).rev() {
        let mut value = 0u16;
        for power in (4 * group..4 * group + 4).rev() {
            // The digit at `power`: index = count - 1 - (power - exponent), zero outside.
            let index = count as i64 - 1 - (power - exponent);
            let d = if (0..count as i64).contains(&index) {
                digit(index as usize)
            } else {
                0
            };
            value = value * 10 + d;
        }
        out.extend_from_slice(&value.to_be_bytes());
    }
    Ok(())
}

/// A numeric's header: digit groups, weight, sign and display scale.
fn header(out: &mut Vec<u8>, groups: i16, weight: i16, sign: u16, dscale: u16) {
    out.extend_from_slice(&groups.to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&dscale.to_be_bytes());
}

/// A decimal as Python's `Decimal(text)` reads it: sign, the digits before and after the point,
/// and the exponent of the last digit (`as_tuple().exponent`).
enum Decimal<'a> {
    Finite {
        negative: bool,
        whole: &'a [u8],
        fraction: &'a [u8],
        exponent: i64,
    },
    NaN,
}

impl<'a> Decimal<'a> {
    /// `[+-]digits[.digits][(e|E)[+-]digits]` (digits on at least one side of the point) or NaN,
    /// around optional whitespace; None for anything else (infinities, underscores...).
    fn parse(text: &'a str) -> Option<Self> {
        let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
        let (negative, body) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        if body.eq_ignore_ascii_case("nan") || body.eq_ignore_ascii_case("snan") {
            return Some(Decimal::NaN);
        }
        let (mantissa, exponent) = match body.find(['e', 'E']) {
            Some(at) => (&body[..at], parse_exponent(&body[at + 1..])?),
            None => (body, 0),
        };
        let (whole, fraction) = match mantissa.find('.') {
            Some(at) => (&mantissa[..at], &mantissa[at + 1..]),
            None => (mantissa, ""),
        };
        let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction)
        {
            return None;
        }
        let exponent = exponent - fraction.len() as i64;
        if exponent.abs() > MAX_EXPONENT || whole.len() + fraction.len() > 100_000 {
            return None;
        }
        Some(Decimal::Finite {
            negative,
            whole: whole.as_bytes(),
            fraction: fraction.as_bytes(),
            exponent,
        })
    }
}

fn parse_exponent(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude: i64 = digits.parse().ok()?;
    Some(if text.starts_with('-') {
        -magnitude
    } else {
        magnitude
    })
}

#[pymodule]
fn darkhorses_pgcopy(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(encode, module)?)?;
    Ok(())
}
