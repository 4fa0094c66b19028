//! One runner at one bookmaker, and the loop that applies an event's prices to a book's quotes.
//!
//! `Quote` was a Python dataclass: applying a price cost ~4.5 µs of attribute traffic, and
//! reading 240 of them for a race's analytics chased ~8 Python objects each (the history list,
//! its tuples, their numbers, the price texts). Here a quote is one object: its texts stay the
//! Python strings they arrived as (handed back without copies), their prices are parsed once,
//! and the history is a plain vector.

use std::cmp::Ordering;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyList, PyString, PyTuple};

/// A price as published ("2.75"; "2.7500" when restored from PostgreSQL) and its value.
pub struct Price {
    pub text: Py<PyString>,
    pub value: f64,
}

impl Price {
    fn parse(text: &Bound<'_, PyString>) -> PyResult<Self> {
        Ok(Price {
            text: text.clone().unbind(),
            value: as_float(text)?,
        })
    }

    fn clone_ref(&self, py: Python<'_>) -> Self {
        Price {
            text: self.text.clone_ref(py),
            value: self.value,
        }
    }
}

/// Python's `float(text)`: Rust's parser where it takes the text (decimal text is correctly
/// rounded by both), Python's for the rest (underscores, spaces) and for its error.
pub fn as_float(text: &Bound<'_, PyAny>) -> PyResult<f64> {
    if let Ok(string) = text.cast::<PyString>() {
        if let Ok(parsed) = string.to_str()?.parse::<f64>() {
            return Ok(parsed);
        }
    }
    text.py().get_type::<PyFloat>().call1((text,))?.extract()
}

/// One runner at one bookmaker: the latest price and its story since the book opened.
#[pyclass(module = "darkhorses_market")]
pub struct Quote {
    pub latest: Option<Price>, // None: quoted without a price (SP)
    #[pyo3(get)]
    pub fractional: Option<Py<PyAny>>,
    #[pyo3(get)]
    pub ew_places: Option<Py<PyAny>>,
    #[pyo3(get)]
    pub ew_denom: Option<Py<PyAny>>,
    pub opening: Option<Price>, // the first price seen
    pub high: Option<Price>,
    pub low: Option<Price>,
    #[pyo3(get)]
    pub changes: i64, // price changes after the opening price
    #[pyo3(get)]
    pub last_change: i64, // when the price last changed (or opened)
    pub version: (i64, Py<PyString>), // (source_time, event_id) of the last event applied
    pub history: Vec<(i64, f64)>,     // (time, price) changes, kept for the longest window
    /// The analytics' dict of this quote, until it changes.
    #[pyo3(get, set)]
    pub view: Option<Py<PyAny>>,
    /// Created since its last stored row.
    #[pyo3(get, set)]
    pub fresh: bool,
}

fn text_of(py: Python<'_>, price: &Option<Price>) -> Option<Py<PyString>> {
    price.as_ref().map(|p| p.text.clone_ref(py))
}

fn price_of(text: Option<Bound<'_, PyString>>) -> PyResult<Option<Price>> {
    text.map(|t| Price::parse(&t)).transpose()
}

fn same_text(py: Python<'_>, a: &Option<Price>, b: &Option<Price>) -> PyResult<bool> {
    match (a, b) {
        (None, None) => Ok(true),
        (Some(a), Some(b)) => a.text.bind(py).as_any().eq(b.text.bind(py)),
        _ => Ok(false),
    }
}

fn same_object(py: Python<'_>, a: &Option<Py<PyAny>>, b: &Option<Py<PyAny>>) -> PyResult<bool> {
    match (a, b) {
        (None, None) => Ok(true),
        (Some(a), Some(b)) => a.bind(py).eq(b.bind(py)),
        _ => Ok(false),
    }
}

fn none_if_none(value: Option<Bound<'_, PyAny>>) -> Option<Py<PyAny>> {
    value.filter(|v| !v.is_none()).map(Bound::unbind)
}

#[pymethods]
impl Quote {
    /// `Quote(text, fractional, ew_places, ew_denom, opening, high, low, changes, last_change,
    /// version, history=(), fresh=False)`, as `streams.market_store` restores one.
    #[new]
    #[pyo3(signature = (
        text, fractional, ew_places, ew_denom, opening, high, low, changes, last_change, version,
        history=None, fresh=false
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        text: Option<Bound<'_, PyString>>,
        fractional: Option<Bound<'_, PyAny>>,
        ew_places: Option<Bound<'_, PyAny>>,
        ew_denom: Option<Bound<'_, PyAny>>,
        opening: Option<Bound<'_, PyString>>,
        high: Option<Bound<'_, PyString>>,
        low: Option<Bound<'_, PyString>>,
        changes: i64,
        last_change: i64,
        version: (i64, Bound<'_, PyString>),
        history: Option<Bound<'_, PyAny>>,
        fresh: bool,
    ) -> PyResult<Self> {
        let mut changes_seen = Vec::new();
        if let Some(history) = history {
            for item in history.try_iter()? {
                let item = item?;
                changes_seen.push((item.get_item(0)?.extract()?, item.get_item(1)?.extract()?));
            }
        }
        Ok(Quote {
            latest: price_of(text)?,
            fractional: none_if_none(fractional),
            ew_places: none_if_none(ew_places),
            ew_denom: none_if_none(ew_denom),
            opening: price_of(opening)?,
            high: price_of(high)?,
            low: price_of(low)?,
            changes,
            last_change,
            version: (version.0, version.1.unbind()),
            history: changes_seen,
            view: None,
            fresh,
        })
    }

    /// The latest decimal as published; None when quoted without a price.
    #[getter]
    fn text(&self, py: Python<'_>) -> Option<Py<PyString>> {
        text_of(py, &self.latest)
    }

    #[setter]
    fn set_text(&mut self, text: Option<Bound<'_, PyString>>) -> PyResult<()> {
        self.latest = price_of(text)?;
        Ok(())
    }

    /// The latest price as a number (changes are compared as numbers: "2.7500" is "2.75").
    #[getter]
    fn price(&self) -> Option<f64> {
        self.latest.as_ref().map(|p| p.value)
    }

    #[getter]
    fn opening(&self, py: Python<'_>) -> Option<Py<PyString>> {
        text_of(py, &self.opening)
    }

    #[getter]
    fn high(&self, py: Python<'_>) -> Option<Py<PyString>> {
        text_of(py, &self.high)
    }

    #[getter]
    fn low(&self, py: Python<'_>) -> Option<Py<PyString>> {
        text_of(py, &self.low)
    }

    /// (source_time in microseconds, event_id) of the last event applied.
    #[getter]
    fn version<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(
            py,
            [
                self.version.0.into_pyobject(py)?.into_any(),
                self.version.1.bind(py).clone().into_any(),
            ],
        )
    }

    /// The (time, price) changes kept, oldest first (a copy).
    #[getter]
    fn history<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, &self.history)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let py = other.py();
        let Ok(other) = other.cast::<Quote>() else {
            return Ok(false);
        };
        let other = other.borrow();
        Ok(same_text(py, &self.latest, &other.latest)?
            && same_object(py, &self.fractional, &other.fractional)?
            && same_object(py, &self.ew_places, &other.ew_places)?
            && same_object(py, &self.ew_denom, &other.ew_denom)?
            && same_text(py, &self.opening, &other.opening)?
            && same_text(py, &self.high, &other.high)?
            && same_text(py, &self.low, &other.low)?
            && self.changes == other.changes
            && self.last_change == other.last_change
            && self.version.0 == other.version.0
            && self
                .version
                .1
                .bind(py)
                .as_any()
                .eq(other.version.1.bind(py))?
            && self.history == other.history)
    }

    fn __copy__(&self, py: Python<'_>) -> Self {
        self.clone_ref(py)
    }

    fn __deepcopy__(&self, py: Python<'_>, _memo: &Bound<'_, PyAny>) -> Self {
        self.clone_ref(py) // its texts are immutable strings; the view is rebuilt on demand
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let show = |price: &Option<Price>| match price {
            Some(p) => p.text.bind(py).repr().map(|r| r.to_string()),
            None => Ok("None".to_owned()),
        };
        Ok(format!(
            "Quote(text={}, opening={}, high={}, low={}, changes={}, last_change={}, \
             version=({}, {}), history={:?})",
            show(&self.latest)?,
            show(&self.opening)?,
            show(&self.high)?,
            show(&self.low)?,
            self.changes,
            self.last_change,
            self.version.0,
            self.version.1.bind(py).repr()?,
            self.history,
        ))
    }
}

impl Quote {
    fn clone_ref(&self, py: Python<'_>) -> Self {
        let copy = |p: &Option<Price>| p.as_ref().map(|p| p.clone_ref(py));
        let object = |o: &Option<Py<PyAny>>| o.as_ref().map(|o| o.clone_ref(py));
        Quote {
            latest: copy(&self.latest),
            fractional: object(&self.fractional),
            ew_places: object(&self.ew_places),
            ew_denom: object(&self.ew_denom),
            opening: copy(&self.opening),
            high: copy(&self.high),
            low: copy(&self.low),
            changes: self.changes,
            last_change: self.last_change,
            version: (self.version.0, self.version.1.clone_ref(py)),
            history: self.history.clone(),
            view: None,
            fresh: self.fresh,
        }
    }
}

/// `a if float(a) >= float(b) else b` (`wins` decides), or whichever is set.
fn extreme(
    py: Python<'_>,
    a: &Option<Price>,
    b: &Option<Price>,
    wins: fn(f64, f64) -> bool,
) -> Option<Price> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if wins(a.value, b.value) {
            a.clone_ref(py)
        } else {
            b.clone_ref(py)
        }),
        (Some(a), None) => Some(a.clone_ref(py)),
        (None, b) => b.as_ref().map(|b| b.clone_ref(py)),
    }
}

/// Drop changes older than `cutoff`, keeping the last one before it (the price then).
fn trim(history: &mut Vec<(i64, f64)>, cutoff: i64) {
    let mut drop = 0;
    while drop + 1 < history.len() && history[drop + 1].0 <= cutoff {
        drop += 1;
    }
    history.drain(..drop);
}

/// Apply one event's prices to one book's quotes (horse -> `Quote`, created as needed): those
/// newer than the quote's (source_time, event_id). Returns the (price, quote) pairs applied.
#[pyfunction]
pub fn apply_prices<'py>(
    book: &Bound<'py, PyDict>,
    prices: &Bound<'py, PyAny>,
    at: i64,
    event_id: &Bound<'py, PyString>,
    keep_us: i64,
) -> PyResult<Bound<'py, PyList>> {
    let applied = apply_book(book, prices, at, event_id, keep_us)?;
    PyList::new(book.py(), applied.into_iter().map(|a| (a.price, a.quote)))
}

/// A price (`PriceIn`) applied to a quote, and the price's fields as read.
pub struct Applied<'py> {
    pub price: Bound<'py, PyAny>,
    pub quote: Bound<'py, Quote>,
    pub horse: Bound<'py, PyAny>,
    pub decimal: Bound<'py, PyAny>,
    pub fractional: Bound<'py, PyAny>,
    pub ew_places: Bound<'py, PyAny>,
    pub ew_denom: Bound<'py, PyAny>,
}

impl<'py> Applied<'py> {
    pub fn read(price: Bound<'py, PyAny>, quote: Bound<'py, Quote>) -> PyResult<Self> {
        let py = price.py();
        Ok(Applied {
            horse: price.getattr(intern!(py, "horse_id"))?,
            decimal: price.getattr(intern!(py, "decimal"))?,
            fractional: price.getattr(intern!(py, "fractional"))?,
            ew_places: price.getattr(intern!(py, "ew_places"))?,
            ew_denom: price.getattr(intern!(py, "ew_denom"))?,
            price,
            quote,
        })
    }
}

/// `apply_prices`, returning the pairs as they are.
pub fn apply_book<'py>(
    book: &Bound<'py, PyDict>,
    prices: &Bound<'py, PyAny>,
    at: i64,
    event_id: &Bound<'py, PyString>,
    keep_us: i64,
) -> PyResult<Vec<Applied<'py>>> {
    let py = book.py();
    let mut applied = Vec::new();
    for price in prices.try_iter()? {
        let price = price?;
        let horse = price.getattr(intern!(py, "horse_id"))?;
        let existing = match book.get_item(&horse)? {
            Some(existing) => {
                let existing = existing.cast_into::<Quote>()?;
                let newer = {
                    let quote = existing.borrow();
                    match quote.version.0.cmp(&at) {
                        Ordering::Less => true,
                        Ordering::Greater => false,
                        Ordering::Equal => quote.version.1.bind(py).lt(event_id)?,
                    }
                };
                if !newer {
                    continue;
                }
                Some(existing)
            }
            None => None,
        };
        let decimal = price.getattr(intern!(py, "decimal"))?;
        let fractional = price.getattr(intern!(py, "fractional"))?;
        let ew_places = price.getattr(intern!(py, "ew_places"))?;
        let ew_denom = price.getattr(intern!(py, "ew_denom"))?;
        let latest = if decimal.is_none() {
            None
        } else {
            Some(Price::parse(decimal.cast::<PyString>()?)?)
        };
        let held = |value: &Bound<'py, PyAny>| none_if_none(Some(value.clone()));
        let quote = match existing {
            None => {
                let quote = Bound::new(
                    py,
                    Quote {
                        history: latest
                            .as_ref()
                            .map(|p| vec![(at, p.value)])
                            .unwrap_or_default(),
                        opening: latest.as_ref().map(|p| p.clone_ref(py)),
                        high: latest.as_ref().map(|p| p.clone_ref(py)),
                        low: latest.as_ref().map(|p| p.clone_ref(py)),
                        latest,
                        fractional: held(&fractional),
                        ew_places: held(&ew_places),
                        ew_denom: held(&ew_denom),
                        changes: 0,
                        last_change: at,
                        version: (at, event_id.clone().unbind()),
                        view: None,
                        fresh: true,
                    },
                )?;
                book.set_item(&horse, &quote)?;
                quote
            }
            Some(existing) => {
                {
                    let mut quote = existing.borrow_mut();
                    quote.view = None;
                    quote.version = (at, event_id.clone().unbind());
                    quote.fractional = held(&fractional);
                    quote.ew_places = held(&ew_places);
                    quote.ew_denom = held(&ew_denom);
                    let value = latest.as_ref().map(|p| p.value);
                    if value != quote.latest.as_ref().map(|p| p.value) {
                        quote.changes += 1;
                        quote.last_change = at;
                        quote.high = extreme(py, &quote.high, &latest, |a, b| a >= b);
                        quote.low = extreme(py, &quote.low, &latest, |a, b| a <= b);
                        if quote.opening.is_none() {
                            quote.opening = latest.as_ref().map(|p| p.clone_ref(py));
                        }
                        if let Some(value) = value {
                            quote.history.push((at, value));
                            trim(&mut quote.history, at - keep_us);
                        }
                        quote.latest = latest;
                    }
                }
                existing
            }
        };
        applied.push(Applied {
            price,
            quote,
            horse,
            decimal,
            fractional,
            ew_places,
            ew_denom,
        });
    }
    Ok(applied)
}

/// One book's quotes in one race (horse -> `Quote`): how many were updated at or after
/// `cutoff`, and how many carry a price (for the bookmaker analytics, over every race held).
#[pyfunction]
pub fn book_coverage(quotes: &Bound<'_, PyDict>, cutoff: i64) -> PyResult<(usize, usize)> {
    let (mut recent, mut priced) = (0, 0);
    for quote in quotes.values() {
        let quote = quote.cast_into::<Quote>()?;
        let quote = quote.borrow();
        recent += usize::from(quote.version.0 >= cutoff);
        priced += usize::from(quote.latest.is_some());
    }
    Ok((recent, priced))
}
