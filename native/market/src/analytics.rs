//! A race's market analytics.
//!
//! `race_analytics(race, params)` is the native port of
//! `market.analytics.race_analytics_reference`: the same `RaceAnalytics` dict from the
//! same `RaceMarket`, equal to the last bit (the same operations on the same doubles in the same
//! order; the tests compare the two on random markets and on the golden day). The reference
//! costs ~2.3 ms for a 12-runner, 20-book race, enough to cap the worker's throughput through
//! its read-out share.

use std::collections::{HashMap, HashSet};

use pyo3::exceptions::{PyOverflowError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyList, PyString};

use crate::quote::Quote;

const US: i64 = 1_000_000;
const SOLVER_STEPS: usize = 200;
const SOLVER_TOLERANCE: f64 = 1e-12;

/// `AnalyticsParams` and its `MoveThresholds`.
struct Params {
    windows_min: Vec<i64>,
    move_window_min: i64,
    points: f64,
    min_books: i64,
    rate_window_min: i64,
}

impl Params {
    fn read(params: &Bound<'_, PyAny>) -> PyResult<Self> {
        let py = params.py();
        let thresholds = params.getattr(intern!(py, "thresholds"))?;
        Ok(Params {
            windows_min: params.getattr(intern!(py, "windows_min"))?.extract()?,
            move_window_min: params.getattr(intern!(py, "move_window_min"))?.extract()?,
            points: thresholds.getattr(intern!(py, "points"))?.extract()?,
            min_books: thresholds.getattr(intern!(py, "min_books"))?.extract()?,
            rate_window_min: params.getattr(intern!(py, "rate_window_min"))?.extract()?,
        })
    }
}

/// One runner at one bookmaker, as the analytics read it.
struct QuoteRead<'py> {
    object: Bound<'py, Quote>,
    horse: Bound<'py, PyString>,
    horse_key: String,
    book: usize,
    price: Option<f64>,
    opening: Option<f64>,
    history: Vec<(i64, f64)>, // (time, price) changes in time order
}

struct Book<'py> {
    id: Bound<'py, PyString>,
    key: String,
    priced: bool,                   // some quote has a price text
    quotes: HashMap<String, usize>, // horse -> quote
}

/// `Movement`: the change of a runner's consensus implied probability over one window.
#[derive(Clone, Copy)]
struct Movement {
    change: Option<f64>,
    shortened: i64,
    drifted: i64,
}

/// What a runner's dict needs, before the race's fair probabilities are known.
struct Runner<'py> {
    horse: Bound<'py, PyString>,
    key: String,
    non_runner: bool,
    quotes: Vec<usize>, // in the race's book order
    books_priced: usize,
    best: Option<(f64, Vec<usize>)>, // price and its books (sorted by id)
    middle: Option<f64>,
    opening_middle: Option<f64>,
    moves: Vec<(i64, Movement)>,
    trend: Movement,
}

impl<'py> Runner<'py> {
    /// A runner's statistics from its quotes (`mine`, in the race's book order).
    #[allow(clippy::too_many_arguments)]
    fn new(
        horse: &Bound<'py, PyString>,
        key: &str,
        non_runner: bool,
        mine: Vec<usize>,
        quotes: &[QuoteRead<'py>],
        books: &[Book<'py>],
        now: i64,
        windows_us: &[i64],
        params: &Params,
    ) -> Self {
        let priced: Vec<(usize, f64)> = mine
            .iter()
            .filter_map(|&q| quotes[q].price.map(|p| (quotes[q].book, p)))
            .collect();
        let (mut best, mut middle, mut opening_middle) = (None, None, None);
        if !priced.is_empty() {
            let top = priced
                .iter()
                .map(|&(_, p)| p)
                .fold(f64::NEG_INFINITY, f64::max);
            let mut at_top: Vec<usize> = priced
                .iter()
                .filter(|&&(_, p)| p == top)
                .map(|&(b, _)| b)
                .collect();
            at_top.sort_by(|a, b| books[*a].key.cmp(&books[*b].key));
            best = Some((top, at_top));
            middle = Some(median(priced.iter().map(|&(_, p)| p).collect()));
            let openings: Vec<f64> = mine.iter().filter_map(|&q| quotes[q].opening).collect();
            opening_middle = (!openings.is_empty()).then(|| median(openings));
        }
        let histories: Vec<&[(i64, f64)]> = mine
            .iter()
            .map(|&q| quotes[q].history.as_slice())
            .filter(|h| !h.is_empty())
            .collect();
        let by_window = movements(&histories, now, windows_us);
        let at = |minutes: i64| by_window[windows_us.binary_search(&(minutes * 60 * US)).unwrap()];
        Runner {
            horse: horse.clone(),
            key: key.to_owned(),
            non_runner,
            books_priced: priced.len(),
            best,
            middle,
            opening_middle,
            moves: params.windows_min.iter().map(|&w| (w, at(w))).collect(),
            trend: at(params.move_window_min),
            quotes: mine,
        }
    }
}

/// The race's analytics event payload (a `RaceAnalytics` as a dict).
#[pyfunction]
pub fn race_analytics<'py>(
    race: &Bound<'py, PyAny>,
    params: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    let py = race.py();
    let params = Params::read(params)?;
    let now: i64 = race.getattr(intern!(py, "latest"))?.extract()?;
    let (books, quotes) = read_quotes(race)?;

    let declared: Vec<Bound<'py, PyString>> = race
        .getattr(intern!(py, "runners"))?
        .try_iter()?
        .map(|h| Ok(h?.cast_into::<PyString>()?))
        .collect::<PyResult<_>>()?;
    let mut non_runners = HashSet::new();
    for horse in race.getattr(intern!(py, "non_runners"))?.try_iter()? {
        non_runners.insert(horse?.extract::<String>()?);
    }
    let (everyone, active) = everyone(&quotes, &declared, &non_runners)?;
    let active_keys: Vec<&str> = everyone[..active].iter().map(|(_, h)| h.as_str()).collect();
    let active_set: HashSet<&str> = active_keys.iter().copied().collect();

    let mut windows_us: Vec<i64> = params
        .windows_min
        .iter()
        .chain([&params.move_window_min])
        .map(|w| w * 60 * US)
        .collect();
    windows_us.sort_unstable();
    windows_us.dedup();

    let mut by_horse: HashMap<&str, Vec<usize>> = HashMap::new(); // quotes in book order
    for (index, quote) in quotes.iter().enumerate() {
        by_horse
            .entry(quote.horse_key.as_str())
            .or_default()
            .push(index);
    }

    let mut consensus: Vec<(String, f64)> = Vec::new(); // horse -> middle, first-seen order
    let mut best_prices: Vec<f64> = Vec::new();
    let mut runners: Vec<Runner<'py>> = Vec::with_capacity(everyone.len());
    for (horse, key) in &everyone {
        let mine = by_horse.get(key.as_str()).cloned().unwrap_or_default();
        let non_runner = non_runners.contains(key);
        let runner = Runner::new(
            horse,
            key,
            non_runner,
            mine,
            &quotes,
            &books,
            now,
            &windows_us,
            &params,
        );
        if let (Some((top, _)), Some(middle)) = (&runner.best, runner.middle) {
            if active_set.contains(key.as_str()) {
                match consensus.iter_mut().find(|(h, _)| h == key) {
                    Some(entry) => entry.1 = middle,
                    None => consensus.push((key.clone(), middle)),
                }
                best_prices.push(*top);
            }
        }
        runners.push(runner);
    }

    let fair = fair_by_method(&consensus)?;
    let dict = dict_with_room(py, 17);
    let race_id = race.getattr(intern!(py, "race_id"))?;
    let revision = race.getattr(intern!(py, "revision"))?;
    let mut instants = Instants::new(py);
    let as_of = instants.text(now)?;
    dict.set_item(intern!(py, "event_id"), format!("{race_id}:{revision}"))?;
    dict.set_item(intern!(py, "source"), race.getattr(intern!(py, "source"))?)?;
    dict.set_item(intern!(py, "source_time"), &as_of)?;
    dict.set_item(intern!(py, "ingest_time"), &as_of)?;
    dict.set_item(intern!(py, "race_id"), &race_id)?;
    dict.set_item(intern!(py, "revision"), &revision)?;
    dict.set_item(intern!(py, "as_of"), &as_of)?;
    dict.set_item(intern!(py, "status"), race.getattr(intern!(py, "status"))?)?;
    let off_dt: Option<i64> = race.getattr(intern!(py, "off_dt"))?.extract()?;
    let off_dt = off_dt.map(|at| instants.text(at)).transpose()?;
    dict.set_item(intern!(py, "off_dt"), off_dt)?;
    dict.set_item(
        intern!(py, "books_priced"),
        books.iter().filter(|b| b.priced).count(),
    )?;
    dict.set_item(intern!(py, "runners_priced"), consensus.len())?;
    let best_book_percent = if best_prices.is_empty() {
        None
    } else {
        Some(book_percent(py, &best_prices)?)
    };
    dict.set_item(intern!(py, "best_book_percent"), best_book_percent)?;
    let updates = race.getattr(intern!(py, "updates"))?.len()?;
    dict.set_item(
        intern!(py, "update_rate_per_min"),
        updates as f64 / params.rate_window_min as f64,
    )?;
    let book_updates = race
        .getattr(intern!(py, "book_updates"))?
        .cast_into::<PyDict>()?;
    stalest(&dict, &book_updates, now)?;
    let book_list = book_percents(
        &mut instants,
        &books,
        &quotes,
        &active_keys,
        &book_updates,
        now,
    )?;
    dict.set_item(intern!(py, "books"), book_list)?;
    let runner_list = PyList::empty(py);
    for runner in &runners {
        let fair_at = consensus.iter().position(|(h, _)| *h == runner.key);
        let fair = fair_at.map(|at| [fair[0][at], fair[1][at], fair[2][at]]);
        runner_list.append(runner_dict(
            &mut instants,
            runner,
            &books,
            &quotes,
            &params,
            fair,
        )?)?;
    }
    dict.set_item(intern!(py, "runners"), runner_list)?;
    Ok(dict)
}

/// Every quote of the race, and its books in the race's order.
#[allow(clippy::type_complexity)]
fn read_quotes<'py>(race: &Bound<'py, PyAny>) -> PyResult<(Vec<Book<'py>>, Vec<QuoteRead<'py>>)> {
    let py = race.py();
    let by_book = race.getattr(intern!(py, "quotes"))?.cast_into::<PyDict>()?;
    let mut books = Vec::with_capacity(by_book.len());
    let mut quotes = Vec::new();
    for (book_id, horses) in by_book.iter() {
        let id = book_id.cast_into::<PyString>()?;
        let key = id.to_str()?.to_owned();
        let mut book = Book {
            id,
            key,
            priced: false,
            quotes: HashMap::new(),
        };
        for (horse, object) in horses.cast_into::<PyDict>()?.iter() {
            let horse = horse.cast_into::<PyString>()?;
            let horse_key = horse.to_str()?.to_owned();
            let object = object.cast_into::<Quote>()?;
            let quote = {
                let held = object.borrow();
                book.priced |= held.latest.is_some();
                QuoteRead {
                    book: books.len(),
                    price: held.latest.as_ref().map(|p| p.value),
                    opening: held.opening.as_ref().map(|p| p.value),
                    history: held.history.clone(),
                    horse,
                    horse_key: horse_key.clone(),
                    object: object.clone(),
                }
            };
            book.quotes.insert(horse_key, quotes.len());
            quotes.push(quote);
        }
        books.push(book);
    }
    Ok((books, quotes))
}

type Horses<'py> = Vec<(Bound<'py, PyString>, String)>;

/// The runners in output order, and how many of the first are active (`active_runners`): the
/// declared runners still running (without a card, every quoted horse, sorted), then the quoted
/// horses off the card, then the card's non-runners.
fn everyone<'py>(
    quotes: &[QuoteRead<'py>],
    declared: &[Bound<'py, PyString>],
    non_runners: &HashSet<String>,
) -> PyResult<(Horses<'py>, usize)> {
    let mut quoted: Horses<'py> = Vec::new();
    let mut seen = HashSet::new();
    for quote in quotes {
        if seen.insert(quote.horse_key.as_str()) {
            quoted.push((quote.horse.clone(), quote.horse_key.clone()));
        }
    }
    quoted.sort_by(|a, b| a.1.cmp(&b.1));
    let declared: Horses<'py> = declared
        .iter()
        .map(|h| Ok((h.clone(), h.to_str()?.to_owned())))
        .collect::<PyResult<_>>()?;
    let source = if declared.is_empty() {
        &quoted
    } else {
        &declared
    };
    let active: Horses<'py> = source
        .iter()
        .filter(|(_, h)| !non_runners.contains(h))
        .cloned()
        .collect();
    let active_keys: HashSet<&str> = active.iter().map(|(_, h)| h.as_str()).collect();
    let mut all = active.clone();
    all.extend(
        quoted
            .iter()
            .filter(|(_, h)| !active_keys.contains(h.as_str()) && !non_runners.contains(h))
            .cloned(),
    );
    all.extend(
        declared
            .iter()
            .filter(|(_, h)| non_runners.contains(h))
            .cloned(),
    );
    Ok((all, active.len()))
}

/// The middle value (mean of the middle two for an even count), as `market_maths.median`.
/// Means here are `(a + b) / 2`, as in Python, never `f64::midpoint` (its rounding differs).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

/// `bisect.bisect_right(history, (at, inf))`: the changes at or before `at`, by Python's search.
fn changes_until(history: &[(i64, f64)], at: i64) -> usize {
    let (mut low, mut high) = (0, history.len());
    while low < high {
        let middle = (low + high) / 2;
        if at < history[middle].0 {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    low
}

/// `market_maths.movements`: per window, the consensus implied-probability change and the books
/// that shortened or drifted.
fn movements(histories: &[&[(i64, f64)]], now: i64, windows: &[i64]) -> Vec<Movement> {
    let mut now_prices = Vec::with_capacity(histories.len());
    let mut then_prices: Vec<Vec<f64>> = vec![Vec::with_capacity(histories.len()); windows.len()];
    let mut moves = vec![
        Movement {
            change: None,
            shortened: 0,
            drifted: 0
        };
        windows.len()
    ];
    for history in histories {
        let last = history[history.len() - 1];
        let current = if last.0 <= now {
            last.1
        } else {
            match changes_until(history, now) {
                0 => continue,
                index => history[index - 1].1,
            }
        };
        now_prices.push(current);
        for (slot, &window) in windows.iter().enumerate() {
            let earlier = match changes_until(history, now - window) {
                0 => history[0].1,
                index => history[index - 1].1,
            };
            then_prices[slot].push(earlier);
            if current < earlier {
                moves[slot].shortened += 1;
            } else if current > earlier {
                moves[slot].drifted += 1;
            }
        }
    }
    if !now_prices.is_empty() {
        let current_chance = 1.0 / median(now_prices);
        for (slot, then) in then_prices.into_iter().enumerate() {
            moves[slot].change = Some(current_chance - 1.0 / median(then));
        }
    }
    moves
}

/// 100 x the sum of implied probabilities, as `market_maths.book_percent`.
fn book_percent(py: Python<'_>, prices: &[f64]) -> PyResult<f64> {
    let mut total = 0.0;
    for &price in prices {
        if price <= 1.0 {
            let shown = PyFloat::new(py, price).repr()?;
            return Err(PyValueError::new_err(format!(
                "decimal odds must be > 1, got {shown}"
            )));
        }
        total += 1.0 / price;
    }
    Ok(100.0 * total)
}

/// The fair probabilities of the consensus market by method (proportional, power, Shin), per
/// horse in `consensus` order.
fn fair_by_method(consensus: &[(String, f64)]) -> PyResult<[Vec<f64>; 3]> {
    if consensus.is_empty() {
        return Ok([vec![], vec![], vec![]]);
    }
    let implied: Vec<f64> = consensus.iter().map(|(_, middle)| 1.0 / middle).collect();
    if implied.iter().any(|&q| !(0.0 < q && q < 1.0)) {
        return Err(PyValueError::new_err(
            "implied probabilities must lie strictly between 0 and 1",
        ));
    }
    if implied.len() == 1 {
        return Ok([vec![1.0], vec![1.0], vec![1.0]]);
    }
    Ok([proportional(&implied), power(&implied), shin(&implied)])
}

/// Python's `sum` of floats (3.11: left to right from 0).
fn sum(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(0.0, |total, value| total + value)
}

fn proportional(implied: &[f64]) -> Vec<f64> {
    let total = sum(implied.iter().copied());
    implied.iter().map(|q| q / total).collect()
}

/// Where a falling `total` crosses 1 between `low` and `high`, by `market_maths`' bisection (the
/// same steps, so the same double): the midpoint of the last bracket.
fn bisect(mut low: f64, mut high: f64, total: impl Fn(f64) -> f64) -> f64 {
    for _ in 0..SOLVER_STEPS {
        let middle = (low + high) / 2.0;
        if total(middle) > 1.0 {
            low = middle;
        } else {
            high = middle;
        }
        if high - low < SOLVER_TOLERANCE {
            break;
        }
    }
    (low + high) / 2.0
}

/// `market_maths._power`: p_i = q_i ** k, k found by bisection so the p_i sum to 1.
fn power(implied: &[f64]) -> Vec<f64> {
    let total = |k: f64| sum(implied.iter().map(|q| q.powf(k)));
    let mut high = 1.0;
    while total(high) > 1.0 {
        high *= 2.0;
    }
    let k = bisect(1e-6, high, total);
    proportional(&implied.iter().map(|q| q.powf(k)).collect::<Vec<_>>())
}

/// `market_maths._shin`: Shin's insider share z by bisection, then his probabilities.
fn shin(implied: &[f64]) -> Vec<f64> {
    let booksum = sum(implied.iter().copied());
    if booksum <= 1.0 {
        return proportional(implied);
    }
    let each = |z: f64, q: f64| {
        ((z * z + 4.0 * (1.0 - z) * q * q / booksum).sqrt() - z) / (2.0 * (1.0 - z))
    };
    let total = |z: f64| sum(implied.iter().map(|&q| each(z, q)));
    let z = bisect(0.0, 0.999, total);
    proportional(&implied.iter().map(|&q| each(z, q)).collect::<Vec<_>>())
}

/// `stalest_bookmaker_id` and `stalest_age_s`: the book updated longest ago (ties: lowest id).
fn stalest(dict: &Bound<'_, PyDict>, book_updates: &Bound<'_, PyDict>, now: i64) -> PyResult<()> {
    let py = dict.py();
    let mut stalest: Option<(i64, String, Bound<'_, PyAny>)> = None;
    for (book, updated) in book_updates.iter() {
        let updated: i64 = updated.extract()?;
        let key: String = book.extract()?;
        if stalest
            .as_ref()
            .is_none_or(|(t, k, _)| (updated, &key) < (*t, k))
        {
            stalest = Some((updated, key, book));
        }
    }
    match stalest {
        None => {
            dict.set_item(intern!(py, "stalest_bookmaker_id"), py.None())?;
            dict.set_item(intern!(py, "stalest_age_s"), py.None())?;
        }
        Some((updated, _, book)) => {
            dict.set_item(intern!(py, "stalest_bookmaker_id"), book)?;
            dict.set_item(
                intern!(py, "stalest_age_s"),
                (now - updated) as f64 / US as f64,
            )?;
        }
    }
    Ok(())
}

/// Per book (sorted by id): its book % over the active runners it prices.
fn book_percents<'py>(
    instants: &mut Instants<'py>,
    books: &[Book<'py>],
    quotes: &[QuoteRead<'py>],
    active: &[&str],
    book_updates: &Bound<'py, PyDict>,
    now: i64,
) -> PyResult<Bound<'py, PyList>> {
    let py = instants.py;
    let mut order: Vec<&Book<'py>> = books.iter().collect();
    order.sort_by(|a, b| a.key.cmp(&b.key));
    let list = PyList::empty(py);
    for book in order {
        let prices: Vec<f64> = active
            .iter()
            .filter_map(|h| book.quotes.get(*h).and_then(|&q| quotes[q].price))
            .filter(|&p| p != 0.0)
            .collect();
        let entry = dict_with_room(py, 5);
        entry.set_item(intern!(py, "bookmaker_id"), &book.id)?;
        let percent = if prices.is_empty() {
            None
        } else {
            Some(book_percent(py, &prices)?)
        };
        entry.set_item(intern!(py, "book_percent"), percent)?;
        entry.set_item(intern!(py, "runners_priced"), prices.len())?;
        let complete = !active.is_empty() && prices.len() == active.len();
        entry.set_item(intern!(py, "complete"), complete)?;
        let updated = match book_updates.get_item(&book.id)? {
            Some(updated) => updated.extract()?,
            None => now,
        };
        entry.set_item(intern!(py, "last_update"), instants.text(updated)?)?;
        list.append(entry)?;
    }
    Ok(list)
}

fn runner_dict<'py>(
    instants: &mut Instants<'py>,
    runner: &Runner<'py>,
    books: &[Book<'py>],
    quotes: &[QuoteRead<'py>],
    params: &Params,
    fair: Option<[f64; 3]>,
) -> PyResult<Bound<'py, PyDict>> {
    let py = instants.py;
    let dict = dict_with_room(py, 16);
    dict.set_item(intern!(py, "horse_id"), &runner.horse)?;
    dict.set_item(intern!(py, "non_runner"), runner.non_runner)?;
    dict.set_item(intern!(py, "books_priced"), runner.books_priced)?;
    let (best, best_books) = match &runner.best {
        Some((top, books_at_top)) => (Some(price_text(*top)), books_at_top.as_slice()),
        None => (None, &[][..]),
    };
    dict.set_item(intern!(py, "best_price"), best)?;
    let best_ids = PyList::empty(py);
    for &book in best_books {
        best_ids.append(&books[book].id)?;
    }
    dict.set_item(intern!(py, "best_books"), best_ids)?;
    dict.set_item(
        intern!(py, "consensus_price"),
        runner.middle.map(price_text),
    )?;
    dict.set_item(
        intern!(py, "implied_probability"),
        runner.middle.map(|m| 1.0 / m),
    )?;
    for (method, name) in [
        intern!(py, "fair_proportional"),
        intern!(py, "fair_power"),
        intern!(py, "fair_shin"),
    ]
    .into_iter()
    .enumerate()
    {
        dict.set_item(name, fair.map(|by_method| by_method[method]))?;
    }
    dict.set_item(
        intern!(py, "opening_consensus_price"),
        runner.opening_middle.map(price_text),
    )?;
    let since_open = match (runner.middle, runner.opening_middle) {
        (Some(middle), Some(opening)) => Some(1.0 / middle - 1.0 / opening),
        _ => None,
    };
    dict.set_item(intern!(py, "move_since_open"), since_open)?;
    let moves = PyList::empty(py);
    for (window, movement) in &runner.moves {
        let entry = dict_with_room(py, 4);
        entry.set_item(intern!(py, "window_min"), window)?;
        entry.set_item(intern!(py, "change"), movement.change)?;
        entry.set_item(intern!(py, "books_shortened"), movement.shortened)?;
        entry.set_item(intern!(py, "books_drifted"), movement.drifted)?;
        moves.append(entry)?;
    }
    dict.set_item(intern!(py, "moves"), moves)?;
    let trend = runner.trend;
    let steamer =
        trend.change.is_some_and(|c| c >= params.points) && trend.shortened >= params.min_books;
    let drifter =
        trend.change.is_some_and(|c| c <= -params.points) && trend.drifted >= params.min_books;
    dict.set_item(intern!(py, "steamer"), !runner.non_runner && steamer)?;
    dict.set_item(intern!(py, "drifter"), !runner.non_runner && drifter)?;
    let mut by_book: Vec<usize> = runner.quotes.clone();
    by_book.sort_by(|a, b| books[quotes[*a].book].key.cmp(&books[quotes[*b].book].key));
    let views = PyList::empty(py);
    for quote in by_book {
        views.append(quote_view(
            instants,
            &quotes[quote],
            &books[quotes[quote].book],
        )?)?;
    }
    dict.set_item(intern!(py, "quotes"), views)?;
    Ok(dict)
}

/// A quote's dict, kept on the quote until it changes (`Quote.view`).
fn quote_view<'py>(
    instants: &mut Instants<'py>,
    quote: &QuoteRead<'py>,
    book: &Book<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = instants.py;
    if let Some(view) = &quote.object.borrow().view {
        return Ok(view.bind(py).clone());
    }
    let view = dict_with_room(py, 10);
    {
        let held = quote.object.borrow();
        let text =
            |price: &Option<crate::quote::Price>| price.as_ref().map(|p| p.text.bind(py).clone());
        let object = |value: &Option<Py<PyAny>>| value.as_ref().map(|v| v.bind(py).clone());
        view.set_item(intern!(py, "bookmaker_id"), &book.id)?;
        view.set_item(intern!(py, "price"), text(&held.latest))?;
        view.set_item(intern!(py, "fractional"), object(&held.fractional))?;
        view.set_item(intern!(py, "ew_places"), object(&held.ew_places))?;
        view.set_item(intern!(py, "ew_denom"), object(&held.ew_denom))?;
        view.set_item(intern!(py, "opening"), text(&held.opening))?;
        view.set_item(intern!(py, "high"), text(&held.high))?;
        view.set_item(intern!(py, "low"), text(&held.low))?;
        view.set_item(intern!(py, "changes"), held.changes)?;
        view.set_item(intern!(py, "last_change"), instants.text(held.last_change)?)?;
    }
    quote.object.borrow_mut().view = Some(view.clone().into_any().unbind());
    Ok(view.into_any())
}

/// `_price`: a price as text with at most 4 decimals and no trailing zeros ("2.75", "3").
fn price_text(value: f64) -> String {
    let text = format!("{value:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A dict with room for `items` (no resizes as it fills): CPython's `_PyDict_NewPresized`.
fn dict_with_room(py: Python<'_>, items: usize) -> Bound<'_, PyDict> {
    extern "C" {
        fn _PyDict_NewPresized(minused: pyo3::ffi::Py_ssize_t) -> *mut pyo3::ffi::PyObject;
    }
    let items = pyo3::ffi::Py_ssize_t::try_from(items).unwrap_or(0);
    // SAFETY: the GIL is held (`py`); the call returns a new reference to a dict, or NULL only
    // when out of memory, which `from_owned_ptr` turns into a panic like any failed allocation.
    unsafe { Bound::from_owned_ptr(py, _PyDict_NewPresized(items)).cast_into_unchecked() }
}

/// ISO texts of instants, made once per read-out: a race's quotes share their events' times.
struct Instants<'py> {
    py: Python<'py>,
    made: HashMap<i64, Bound<'py, PyString>>,
}

impl<'py> Instants<'py> {
    fn new(py: Python<'py>) -> Self {
        Instants {
            py,
            made: HashMap::new(),
        }
    }

    fn text(&mut self, us: i64) -> PyResult<Bound<'py, PyString>> {
        if let Some(text) = self.made.get(&us) {
            return Ok(text.clone());
        }
        let text = PyString::new(self.py, &iso(us)?);
        self.made.insert(us, text.clone());
        Ok(text)
    }
}

/// `datetime.isoformat()` of an instant in microseconds since the epoch, in UTC.
fn iso(us: i64) -> PyResult<String> {
    let days = us.div_euclid(86_400 * US);
    let within = us.rem_euclid(86_400 * US);
    let (year, month, day) = civil_from_days(days);
    if !(1..=9999).contains(&year) {
        return Err(PyOverflowError::new_err("date value out of range"));
    }
    let seconds = within / US;
    let micros = within % US;
    let (hour, minute, second) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    let fraction = if micros == 0 {
        String::new()
    } else {
        format!(".{micros:06}")
    };
    Ok(format!(
        "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{fraction}+00:00"
    ))
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
