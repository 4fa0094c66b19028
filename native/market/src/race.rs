//! An odds event applied to one race of the market board (`streams.market_board`): its prices
//! to the race's quotes, then the race's and the board's bookkeeping, and the batch's rows.
//!
//! The bookkeeping was ~15 Python statements an event, more than the prices themselves cost
//! (bench card: ~8 µs of ~13 an event, most events carrying 1-3 prices). The race and the board
//! stay Python objects; this reads and writes their attributes.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PySet, PyString};

use crate::quote::{apply_book, Applied};
use crate::rows::PriceRows;

/// The fields of an `OddsIn` every step reads.
pub struct Event<'py> {
    pub snapshot: Bound<'py, PyAny>,
    pub race: Bound<'py, PyString>,
    pub book: Bound<'py, PyString>,
    pub event_id: Bound<'py, PyString>,
    pub at: i64, // source_time in microseconds
    pub bookmaker: Bound<'py, PyAny>,
    pub source: Bound<'py, PyAny>,
}

impl<'py> Event<'py> {
    pub fn read(snapshot: &Bound<'py, PyAny>) -> PyResult<Self> {
        let py = snapshot.py();
        Ok(Event {
            snapshot: snapshot.clone(),
            race: snapshot.getattr(intern!(py, "race_id"))?.cast_into()?,
            book: snapshot.getattr(intern!(py, "bookmaker_id"))?.cast_into()?,
            event_id: snapshot.getattr(intern!(py, "event_id"))?.cast_into()?,
            at: snapshot.getattr(intern!(py, "source_us"))?.extract()?,
            bookmaker: snapshot.getattr(intern!(py, "bookmaker"))?,
            source: snapshot.getattr(intern!(py, "source"))?,
        })
    }
}

/// `RaceMarket.apply_odds`: the prices newer than what the race holds, with their quotes.
#[pyfunction]
pub fn apply_odds<'py>(
    race: &Bound<'py, PyAny>,
    snapshot: &Bound<'py, PyAny>,
    keep_us: i64,
    rate_window_us: i64,
) -> PyResult<Bound<'py, PyList>> {
    let applied = apply_to_race(race, &Event::read(snapshot)?, keep_us, rate_window_us)?;
    PyList::new(race.py(), applied.into_iter().map(|a| (a.price, a.quote)))
}

/// `MarketBoard.apply_odds` for a race the board holds: the race's `apply_odds`, then the
/// board's pending sets, and the event's rows into `rows`. Returns how many prices it applied.
#[pyfunction]
#[pyo3(signature = (board, race, snapshot, keep_us, rate_window_us, rows=None))]
pub fn apply_event(
    board: &Bound<'_, PyAny>,
    race: &Bound<'_, PyAny>,
    snapshot: &Bound<'_, PyAny>,
    keep_us: i64,
    rate_window_us: i64,
    rows: Option<&Bound<'_, PriceRows>>,
) -> PyResult<usize> {
    let py = board.py();
    let event = Event::read(snapshot)?;
    let applied = apply_to_race(race, &event, keep_us, rate_window_us)?;
    if applied.is_empty() {
        return Ok(0);
    }
    attribute::<PySet>(board, intern!(py, "changed"))?.add(&event.race)?;
    attribute::<PyDict>(board, intern!(py, "dirty_races"))?.set_item(&event.race, py.None())?;
    attribute::<PySet>(board, intern!(py, "dirty_books"))?.add(&event.book)?;
    let names = attribute::<PyDict>(board, intern!(py, "bookmaker_names"))?;
    if !names.contains(&event.book)? {
        names.set_item(&event.book, &event.bookmaker)?;
    }
    let latest: i64 = race.getattr(intern!(py, "latest"))?.extract()?;
    if latest > board.getattr(intern!(py, "now"))?.extract::<i64>()? {
        board.setattr(intern!(py, "now"), latest)?;
    }
    if let Some(rows) = rows {
        rows.borrow_mut().add_applied(&event, &applied)?;
    }
    Ok(applied.len())
}

fn apply_to_race<'py>(
    race: &Bound<'py, PyAny>,
    event: &Event<'py>,
    keep_us: i64,
    rate_window_us: i64,
) -> PyResult<Vec<Applied<'py>>> {
    let py = race.py();
    let quotes = attribute::<PyDict>(race, intern!(py, "quotes"))?;
    let book = match quotes.get_item(&event.book)? {
        Some(book) => book.cast_into::<PyDict>()?,
        None => {
            let book = PyDict::new(py);
            quotes.set_item(&event.book, &book)?;
            book
        }
    };
    let prices = event.snapshot.getattr(intern!(py, "prices"))?;
    let applied = apply_book(&book, &prices, event.at, &event.event_id, keep_us)?;
    if applied.is_empty() {
        return Ok(applied);
    }
    attribute::<PyDict>(race, intern!(py, "book_names"))?
        .set_item(&event.book, &event.bookmaker)?;
    let updated = attribute::<PyDict>(race, intern!(py, "book_updates"))?;
    let before = count(&updated, &event.book)?;
    updated.set_item(&event.book, before.max(event.at))?;
    let counts = attribute::<PyDict>(race, intern!(py, "book_applied"))?;
    let before = count(&counts, &event.book)?;
    counts.set_item(&event.book, before + applied.len() as i64)?;
    let latest = race
        .getattr(intern!(py, "latest"))?
        .extract::<i64>()?
        .max(event.at);
    race.setattr(intern!(py, "latest"), latest)?;
    race.setattr(intern!(py, "source"), &event.source)?;
    // The event times of the rate window, in order: `bisect.insort`, then the stale ones go.
    let updates = attribute::<PyList>(race, intern!(py, "updates"))?;
    updates.insert(partition_point(&updates, |t| t <= event.at)?, event.at)?;
    let stale = partition_point(&updates, |t| t < latest - rate_window_us)?;
    if stale > 0 {
        updates.del_slice(0, stale)?;
    }
    let revision: i64 = race.getattr(intern!(py, "revision"))?.extract()?;
    race.setattr(intern!(py, "revision"), revision + 1)?;
    Ok(applied)
}

fn attribute<'py, T: pyo3::PyTypeCheck>(
    object: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
) -> PyResult<Bound<'py, T>> {
    Ok(object.getattr(name)?.cast_into::<T>()?)
}

/// A count or time in a dict of them; 0 when absent.
fn count(dict: &Bound<'_, PyDict>, key: &Bound<'_, PyString>) -> PyResult<i64> {
    dict.get_item(key)?.map_or(Ok(0), |value| value.extract())
}

/// The first index of a sorted list of ints whose item fails `before` (as `bisect` finds it).
fn partition_point(list: &Bound<'_, PyList>, before: impl Fn(i64) -> bool) -> PyResult<usize> {
    let (mut low, mut high) = (0, list.len());
    while low < high {
        let middle = (low + high) / 2;
        if before(list.get_item(middle)?.extract()?) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    Ok(low)
}
