"""The native extension (native/market, Rust), when it is installed: it accelerates, it does not
gate (conventions 13). Every number has a Python reference in this package; the extension, when
importable, runs the same float operations in the same order, so both give the same bits.

`DARKHORSES_MARKET_NATIVE=0` forces the reference (the tests run the core both ways). Without the
extension the worker's read-outs cost more per race (README, "Native code").
"""

import functools
import logging
import os
from types import ModuleType

log = logging.getLogger(__name__)

ENV = "DARKHORSES_MARKET_NATIVE"


@functools.cache
def native() -> ModuleType | None:
    """`darkhorses_market` if installed and not switched off, else None (warned once)."""
    if os.environ.get(ENV, "1").strip().lower() in {"0", "false", "no", "off"}:
        log.warning("market core: native extension switched off (%s=0); using the Python "
                    "reference", ENV)  # fmt: skip
        return None
    try:
        import darkhorses_market
    except ImportError:
        log.warning("market core: darkhorses_market (native/market) is not installed; using the "
                    "Python reference (slower analytics, same numbers)")  # fmt: skip
        return None
    return darkhorses_market
