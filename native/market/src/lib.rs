//! The hot paths of the DarkHorses streams worker, natively: its quotes, the loop applying an
//! event's prices to them, the rows a batch writes for them, and a race's analytics.

mod analytics;
mod quote;
mod race;
mod rows;

use pyo3::prelude::*;

#[pymodule]
fn darkhorses_market(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<quote::Quote>()?;
    module.add_class::<rows::PriceRows>()?;
    module.add_function(wrap_pyfunction!(quote::apply_prices, module)?)?;
    module.add_function(wrap_pyfunction!(race::apply_odds, module)?)?;
    module.add_function(wrap_pyfunction!(race::apply_event, module)?)?;
    module.add_function(wrap_pyfunction!(quote::book_coverage, module)?)?;
    module.add_function(wrap_pyfunction!(analytics::race_analytics, module)?)
}
