//! One batch's price rows: a history row per applied event, and the newest `odds_latest` row of
//! every quote the batch touched (`streams/odds.py` names the tables and their columns).
//!
//! In Python these rows cost ~5 µs a price (tuples, `orjson.dumps` of each event's prices and of
//! each quote's history, datetime arithmetic), a third of the worker's time per price.

use std::collections::HashMap;
use std::fmt::Write;

use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{
    PyBytes, PyDateAccess, PyDateTime, PyDelta, PyDeltaAccess, PyList, PyString, PyTimeAccess,
    PyTuple, PyTzInfo, PyTzInfoAccess,
};

use crate::quote::{Applied, Price, Quote};
use crate::race::Event;

/// The newest applied price of one quote in the batch: its row's fields, and the quote.
struct Newest {
    race: Py<PyString>,
    horse: Py<PyAny>,
    book: Py<PyString>,
    bookmaker: Py<PyAny>,
    decimal: Py<PyAny>,
    fractional: Py<PyAny>,
    ew_places: Py<PyAny>,
    ew_denom: Py<PyAny>,
    source: Py<PyAny>,
    source_us: i64,
    ingested: i64,
    event_id: Py<PyString>,
    quote: Py<Quote>,
}

#[pyclass(module = "darkhorses_market")]
pub struct PriceRows {
    /// `odds_history_events` rows: (race_id, bookmaker_id, source_time, event_id, source,
    /// ingest_time, prices JSON), times in microseconds.
    #[pyo3(get)]
    history: Py<PyList>,
    newest: Vec<Newest>,
    /// Quote -> its place in `newest`. A quote is one (race, horse, book) for a whole batch
    /// (races are restored, revived or forgotten only between batches), so its address is the key.
    at: HashMap<usize, usize>,
}

#[pymethods]
impl PriceRows {
    #[new]
    fn new(py: Python<'_>) -> Self {
        PriceRows {
            history: PyList::empty(py).unbind(),
            newest: Vec::new(),
            at: HashMap::new(),
        }
    }

    /// Take one applied event (an `OddsIn`) and the (price, quote) pairs it applied.
    fn add(&mut self, snapshot: &Bound<'_, PyAny>, applied: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut read = Vec::new();
        for pair in applied.try_iter()? {
            let pair = pair?.cast_into::<PyTuple>()?;
            read.push(Applied::read(
                pair.get_item(0)?,
                pair.get_item(1)?.cast_into()?,
            )?);
        }
        self.add_applied(&Event::read(snapshot)?, &read)
    }

    /// The `odds_latest` rows of the quotes as they stand now (after the whole batch): those of
    /// quotes new in this batch, and those of quotes already stored. Each quote's row goes in
    /// this batch's transaction, so none is fresh after.
    #[allow(clippy::type_complexity)]
    fn latest<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyList>)> {
        let (new, stored) = (PyList::empty(py), PyList::empty(py));
        for entry in &self.newest {
            let quote = entry.quote.bind(py);
            let mut held = quote.borrow_mut();
            let text = |p: &Option<Price>| p.as_ref().map(|p| p.text.bind(py).clone().into_any());
            let none = || py.None().into_bound(py);
            let row = PyTuple::new(
                py,
                [
                    entry.race.bind(py).clone().into_any(),
                    entry.horse.bind(py).clone(),
                    entry.book.bind(py).clone().into_any(),
                    entry.bookmaker.bind(py).clone(),
                    entry.decimal.bind(py).clone(),
                    entry.fractional.bind(py).clone(),
                    entry.ew_places.bind(py).clone(),
                    entry.ew_denom.bind(py).clone(),
                    entry.source.bind(py).clone(),
                    entry.source_us.into_pyobject(py)?.into_any(),
                    entry.ingested.into_pyobject(py)?.into_any(),
                    entry.event_id.bind(py).clone().into_any(),
                    text(&held.opening).unwrap_or_else(none),
                    text(&held.high).unwrap_or_else(none),
                    text(&held.low).unwrap_or_else(none),
                    held.changes.into_pyobject(py)?.into_any(),
                    held.last_change.into_pyobject(py)?.into_any(),
                    PyString::new(py, &history_json(&held.history)).into_any(),
                ],
            )?;
            if held.fresh { &new } else { &stored }.append(row)?;
            held.fresh = false;
        }
        Ok((new, stored))
    }
}

impl PriceRows {
    /// The rows of one applied event: its history row, and its quotes' newest prices.
    pub fn add_applied(&mut self, event: &Event<'_>, applied: &[Applied<'_>]) -> PyResult<()> {
        let py = event.snapshot.py();
        let ingested = micros(&event.snapshot.getattr(intern!(py, "ingest_time"))?)?;
        let mut prices = String::from("[");
        for (index, price) in applied.iter().enumerate() {
            if index > 0 {
                prices.push(',');
            }
            prices.push('[');
            json_value(&mut prices, &price.horse)?;
            for field in [
                &price.decimal,
                &price.fractional,
                &price.ew_places,
                &price.ew_denom,
            ] {
                prices.push(',');
                json_value(&mut prices, field)?;
            }
            prices.push(']');
            let key = price.quote.as_ptr() as usize;
            let newest = Newest {
                race: event.race.clone().unbind(),
                horse: price.horse.clone().unbind(),
                book: event.book.clone().unbind(),
                bookmaker: event.bookmaker.clone().unbind(),
                decimal: price.decimal.clone().unbind(),
                fractional: price.fractional.clone().unbind(),
                ew_places: price.ew_places.clone().unbind(),
                ew_denom: price.ew_denom.clone().unbind(),
                source: event.source.clone().unbind(),
                source_us: event.at,
                ingested,
                event_id: event.event_id.clone().unbind(),
                quote: price.quote.clone().unbind(),
            };
            // Newer than any before it in the batch; its row keeps the first one's place.
            match self.at.get(&key) {
                Some(&slot) => self.newest[slot] = newest,
                None => {
                    self.at.insert(key, self.newest.len());
                    self.newest.push(newest);
                }
            }
        }
        prices.push(']');
        let row = PyTuple::new(
            py,
            [
                event.race.clone().into_any(),
                event.book.clone().into_any(),
                event.at.into_pyobject(py)?.into_any(),
                event.event_id.clone().into_any(),
                event.source.clone(),
                ingested.into_pyobject(py)?.into_any(),
                PyBytes::new(py, prices.as_bytes()).into_any(),
            ],
        )?;
        self.history.bind(py).append(row)
    }
}

/// A quote's (time, price) changes as JSON, as `orjson.dumps` gives them: `[[t,2.75],[t,3.0]]`.
fn history_json(history: &[(i64, f64)]) -> String {
    let mut out = String::with_capacity(2 + history.len() * 28);
    out.push('[');
    for (index, (at, price)) in history.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        // `{:?}` is the shortest text that reads back as the same double, with a ".0" if whole.
        let _ = write!(out, "[{at},{price:?}]");
    }
    out.push(']');
    out
}

/// A str, int or None as JSON.
fn json_value(out: &mut String, value: &Bound<'_, PyAny>) -> PyResult<()> {
    if value.is_none() {
        out.push_str("null");
    } else if let Ok(text) = value.cast::<PyString>() {
        json_string(out, &text.to_cow()?);
    } else if let Ok(number) = value.extract::<i64>() {
        let _ = write!(out, "{number}");
    } else {
        return Err(PyTypeError::new_err(format!(
            "a price field must be str, int or None, got {}",
            value.get_type().name()?
        )));
    }
    Ok(())
}

/// A JSON string: quotes, backslashes and control characters escaped, the rest as UTF-8.
fn json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// An aware datetime as microseconds since the Unix epoch, exactly (`market.clock.micros`).
fn micros(value: &Bound<'_, PyAny>) -> PyResult<i64> {
    let time = value.cast::<PyDateTime>()?;
    let Some(zone) = time.get_tzinfo() else {
        return Err(PyTypeError::new_err(
            "ingest_time must be an aware datetime",
        ));
    };
    let days = days_from_civil(
        i64::from(time.get_year()),
        time.get_month().into(),
        time.get_day().into(),
    );
    let seconds = days * 86_400
        + i64::from(time.get_hour()) * 3600
        + i64::from(time.get_minute()) * 60
        + i64::from(time.get_second());
    let mut us = seconds * 1_000_000 + i64::from(time.get_microsecond());
    if zone.is(&*PyTzInfo::utc(value.py())?) {
        return Ok(us); // as decoded events' times are: no call into Python for the offset
    }
    let offset = zone.call_method1(intern!(value.py(), "utcoffset"), (time,))?;
    if !offset.is_none() {
        let offset = offset.cast::<PyDelta>()?;
        us -= (i64::from(offset.get_days()) * 86_400 + i64::from(offset.get_seconds())) * 1_000_000
            + i64::from(offset.get_microseconds());
    }
    Ok(us)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
