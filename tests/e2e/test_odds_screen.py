"""The odds screen a trader keeps open (issue 21): every book reachable, the right best price, UK
odds formats, deep links, results, readable labels, movers, and a clean console; in a real
headless Chromium against the stack `make up` starts. Screenshots go to tests/artifacts/."""

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, Request, Response, ViewportSize

from darkhorses.apikeys import create_key
from producers.publisher import EventPublisher
from schemas.base import EventSource
from schemas.bookmakers import REGISTRY
from schemas.odds import OddsSnapshot, RunnerPrice
from schemas.topics import ODDS_LIVE
from tests.e2e.conftest import Stack
from tests.e2e.races import FabricatedRaces

pytestmark = pytest.mark.e2e

DESKTOP = ViewportSize(width=1400, height=1000)
PHONE = ViewportSize(width=390, height=844)
DISPLAY_NAMES = {b.name for b in REGISTRY}


class Watched:
    """A page and every console error, uncaught exception and failed request it has had."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        page.on("response", self._response)
        page.on("requestfailed", self._failed)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.problems.append(f"console: {message.text}")

    def _failed(self, request: Request) -> None:
        # A reload or a route change abandons requests in flight (net::ERR_ABORTED): not a fault.
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"failed: {request.url} {request.failure}")

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")


async def watched_page(browser: Browser, viewport: ViewportSize) -> Watched:
    return Watched(await browser.new_page(viewport=viewport))


async def open_race(stack: Stack, watched: Watched, race_id: str) -> Page:
    page = watched.page
    await page.goto(f"{stack.base_url}/#/race/{race_id}")
    await page.locator(
        f"#race[data-race-id='{race_id}'] #grid tbody td[data-bookmaker]"
    ).first.wait_for()
    return page


def book_of(stack: Stack, race_id: str) -> dict[str, Any]:
    data: dict[str, Any] = httpx.get(
        f"{stack.base_url}/v1/races/{race_id}/book", timeout=10
    ).json()["data"]
    return data


def busiest_live_race(stack: Stack) -> str:
    """A simulated race well before the off (it stays open through a test), fully priced."""
    board = httpx.get(f"{stack.base_url}/v1/races/by-stage", timeout=10).json()["data"]
    candidates = [
        race
        for column in board["stages"]
        if column["stage"] in ("Early Market", "Pre Race", "Going To Post")
        for race in column["races"]
        if race["race_id"].startswith("rac_sim") and race["last_update"]
    ]
    assert candidates, "the simulator should have priced races before the off"
    race_id: str = max(candidates, key=lambda r: (r["minutes_to_off"] < 100, r["minutes_to_off"]))[
        "race_id"
    ]
    return race_id


async def publish_price(
    stack: Stack, race_id: str, horse_id: str, bookmaker_id: str, decimal: str
) -> None:
    snapshot = OddsSnapshot(
        source=EventSource.SIMULATOR,
        source_time=datetime.now(UTC),
        race_id=race_id,
        bookmaker_id=bookmaker_id,
        bookmaker=next(b.name for b in REGISTRY if b.id == bookmaker_id),
        prices=(RunnerPrice(horse_id=horse_id, decimal=Decimal(decimal)),),
    )
    async with EventPublisher(stack.kafka_bootstrap) as publisher:
        await publisher.publish_and_wait(ODDS_LIVE, snapshot)


# 1. Every book visible -------------------------------------------------------------------------
STICKY_PROBE = """wrap => {
    const frame = wrap.getBoundingClientRect();
    const seen = (cell, selector) => {
        const box = cell.getBoundingClientRect();
        const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
        return hit !== null && hit.closest(selector) === cell;
    };
    const rows = [...wrap.querySelectorAll('tbody tr')];
    return {
        scrollLeft: wrap.scrollLeft,
        runnersAtLeftEdge: rows.every(r =>
            Math.abs(r.querySelector('th.runner').getBoundingClientRect().left - frame.left) <= 2),
        runnersVisible: rows.every(r => seen(r.querySelector('th.runner'), 'th.runner')),
        bestVisible: rows.every(r => seen(r.querySelector('td.best-col'), 'td.best-col')),
        lastBookVisible: seen(wrap.querySelector('thead th[data-bookmaker]:last-child'), 'th'),
    };
}"""


async def test_every_book_is_reachable_and_the_runner_column_stays_while_scrolling(
    stack: Stack, browser: Browser, artifacts: Path
) -> None:
    race_id = busiest_live_race(stack)
    book = book_of(stack, race_id)
    watched = await watched_page(browser, DESKTOP)
    page = await open_race(stack, watched, race_id)
    await page.screenshot(path=artifacts / "odds-desktop-race.png")

    shown = await page.eval_on_selector_all(
        "#grid thead th[data-bookmaker]",
        "ths => ths.map(t => [t.dataset.bookmaker, t.dataset.type])",
    )
    assert {b for b, _ in shown} == {b["bookmaker_id"] for b in book["bookmakers"]}
    kinds = [kind == "exchange" for _, kind in shown]
    assert any(kinds), "the simulator's books include exchanges"
    assert kinds == sorted(kinds), "exchanges are grouped at the right of the fixed-odds books"

    wrap = page.locator("#grid-wrap")
    widths = await wrap.evaluate("w => [w.scrollWidth, w.clientWidth]")
    assert widths[0] > widths[1], f"{len(shown)} books should not fit at 1400 px: the grid scrolls"
    await wrap.evaluate("w => { w.scrollLeft = w.scrollWidth; }")
    probe = await wrap.evaluate(STICKY_PROBE)
    assert probe["scrollLeft"] > 0
    assert probe["runnersAtLeftEdge"], probe
    assert probe["runnersVisible"], probe
    assert probe["bestVisible"], probe
    assert probe["lastBookVisible"], probe
    await page.screenshot(path=artifacts / "odds-desktop-scrolled-right.png")

    # A short frame scrolled to its last row still shows the bookmakers' names above it.
    await wrap.evaluate("w => { w.style.maxHeight = '130px'; w.scrollTop = w.scrollHeight; }")
    header = await wrap.evaluate(
        """w => {
            const frame = w.getBoundingClientRect();
            const th = w.querySelector('thead th[data-bookmaker]:last-child');
            const box = th.getBoundingClientRect();
            const hit = document.elementFromPoint(
                box.left + box.width / 2, box.top + box.height / 2);
            return {
                scrollTop: w.scrollTop, top: box.top - frame.top, hit: hit?.closest('th') === th };
        }"""
    )
    assert header["scrollTop"] > 0
    assert header["hit"], header
    assert header["top"] < 60, header

    # Compact is the default density; the other one is roomier and remembered.
    compact = await page.locator("#grid tbody tr").first.evaluate(
        "r => r.getBoundingClientRect().height"
    )
    await page.click("#density")
    roomy = await page.locator("#grid tbody tr").first.evaluate(
        "r => r.getBoundingClientRect().height"
    )
    assert roomy > compact
    await page.reload()
    await page.locator("#grid tbody td[data-bookmaker]").first.wait_for()
    assert await page.locator("body.compact").count() == 0
    assert watched.problems == []
    await page.close()


async def test_the_column_chooser_is_remembered_across_a_reload(
    stack: Stack, browser: Browser, races: FabricatedRaces
) -> None:
    race_id = busiest_live_race(stack)
    book = book_of(stack, race_id)
    fixed = next(b["bookmaker_id"] for b in book["bookmakers"] if b["type"] != "exchange")
    exchange = next(b["bookmaker_id"] for b in book["bookmakers"] if b["type"] == "exchange")
    total = len(book["bookmakers"])
    watched = await watched_page(browser, DESKTOP)
    page = await open_race(stack, watched, race_id)

    await page.click("#chooser summary")
    for bookmaker in (fixed, exchange):
        await page.uncheck(f"#chooser-body input[value='{bookmaker}']")
    for bookmaker in (fixed, exchange):
        assert await page.locator(f"#grid [data-bookmaker='{bookmaker}']").count() == 0
    assert await page.locator("#chooser-count").inner_text() == f"{total - 2}/{total}"

    await page.reload()
    await page.locator("#grid tbody td[data-bookmaker]").first.wait_for()
    for bookmaker in (fixed, exchange):
        assert await page.locator(f"#grid [data-bookmaker='{bookmaker}']").count() == 0
    assert await page.locator("#grid thead th[data-bookmaker]").count() == total - 2
    await page.click("#chooser summary")
    assert not await page.locator(f"#chooser-body input[value='{fixed}']").is_checked()

    # The choice is per book, not per race: another race hides the same book.
    await page.goto(f"{stack.base_url}/#/race/{races.movers_id}")
    await page.locator(f"#race[data-race-id='{races.movers_id}'] #grid tbody td").first.wait_for()
    assert await page.locator(f"#grid [data-bookmaker='{exchange}']").count() == 0

    await page.click("#chooser summary")
    await page.click("#chooser-body button:has-text('Show all')")
    await page.reload()
    await page.locator("#grid tbody td[data-bookmaker]").first.wait_for()
    assert await page.locator(f"#grid thead th[data-bookmaker='{exchange}']").count() == 1
    assert watched.problems == []
    await page.close()


# 2. The right best price -----------------------------------------------------------------------
BEST_PROBE = """rows => rows.map(row => ({
    horse: row.dataset.horseRow,
    prices: [...row.querySelectorAll('td[data-bookmaker]')].map(c => ({
        book: c.dataset.bookmaker, type: c.dataset.type, decimal: c.dataset.decimal,
        best: c.classList.contains('best'),
    })),
    best: row.querySelector('td.best-col').dataset.decimal,
    exch: row.querySelector('td.exch-col').dataset.decimal,
}))"""


def check_best(rows: list[dict[str, Any]]) -> int:
    """Asserts the highlight on every row; returns how many rows an exchange beats the books on."""
    exchange_longer = 0
    for row in rows:
        fixed = [
            Decimal(p["decimal"]) for p in row["prices"] if p["type"] != "exchange" and p["decimal"]
        ]
        exchanges = [
            Decimal(p["decimal"]) for p in row["prices"] if p["type"] == "exchange" and p["decimal"]
        ]
        assert not [p for p in row["prices"] if p["best"] and p["type"] == "exchange"], row
        if not fixed:
            continue
        best = max(fixed)
        marked = {p["book"] for p in row["prices"] if p["best"]}
        offering = {
            p["book"]
            for p in row["prices"]
            if p["type"] != "exchange" and p["decimal"] and Decimal(p["decimal"]) == best
        }
        assert marked == offering, row
        assert Decimal(row["best"]) == best
        if exchanges:
            assert Decimal(row["exch"]) == max(exchanges)
            exchange_longer += max(exchanges) > best
    return exchange_longer


async def test_the_best_price_is_never_an_exchange(
    stack: Stack, browser: Browser, races: FabricatedRaces
) -> None:
    watched = await watched_page(browser, DESKTOP)
    page = await open_race(stack, watched, busiest_live_race(stack))
    await page.locator("#grid td.best").first.wait_for()
    rows = await page.eval_on_selector_all("#grid tbody tr", BEST_PROBE)
    check_best(rows)

    # Live: the exchange goes longest of all, then a bookmaker beats the other books.
    page = await open_race(stack, watched, races.movers_id)
    horse = f"hrs_{races.movers_id}_0"
    await publish_price(stack, races.movers_id, horse, "betfair_exchange", "990")
    await (
        page.locator(f"#grid td[data-horse='{horse}'][data-bookmaker='betfair_exchange']")
        .filter(has_text="989/1")
        .wait_for(timeout=15_000)
    )
    rows = await page.eval_on_selector_all("#grid tbody tr", BEST_PROBE)
    assert check_best(rows) >= 1
    row = page.locator(f"#grid tr[data-horse-row='{horse}']")
    assert await row.locator("td.exch-col").inner_text() == "989/1"
    assert await row.locator("td.best-col").inner_text() == "5/2"
    await publish_price(stack, races.movers_id, horse, "coral", "4.0")
    await row.locator("td.best-col").filter(has_text="3/1").wait_for(timeout=15_000)
    assert await row.locator("td.best").evaluate_all(
        "cells => cells.map(c => c.dataset.bookmaker)"
    ) == ["coral"]
    check_best(await page.eval_on_selector_all("#grid tbody tr", BEST_PROBE))
    assert watched.problems == []
    await page.close()


# 3. Odds the way UK punters read them ----------------------------------------------------------
PRICES_PROBE = """() => [
    ...document.querySelectorAll('#grid td[data-decimal], .odds[data-decimal]')]
    .filter(n => n.dataset.decimal !== '').map(n => [n.textContent, n.dataset.decimal])"""


async def test_the_odds_format_toggle_changes_every_price_and_is_remembered(
    stack: Stack, browser: Browser, races: FabricatedRaces
) -> None:
    watched = await watched_page(browser, DESKTOP)
    page = await open_race(stack, watched, busiest_live_race(stack))
    await page.locator("#movers-steamers .odds").first.wait_for()

    prices = await page.evaluate(PRICES_PROBE)
    assert len(prices) > 50
    assert all(re.fullmatch(r"\d+/\d+|Evs", text) for text, _ in prices), prices

    await page.click("#odds-format label:has-text('Decimal')")
    prices = await page.evaluate(PRICES_PROBE)
    assert all(abs(Decimal(text) - Decimal(d)) <= Decimal("0.005") for text, d in prices), prices
    assert all(re.fullmatch(r"\d+\.\d\d", text) for text, _ in prices), prices

    await page.click("#odds-format label:has-text('Implied %')")
    prices = await page.evaluate(PRICES_PROBE)
    assert all(abs(float(text[:-1]) - 100 / float(d)) <= 0.05 for text, d in prices), prices
    assert all(re.fullmatch(r"\d+\.\d%", text) for text, _ in prices), prices
    await page.locator("#chart text.tick").first.wait_for()
    ticks = await page.locator("#chart text.tick").all_text_contents()
    assert any(t.endswith("%") for t in ticks), ticks

    await page.reload()
    await page.locator("#grid tbody td[data-bookmaker]").first.wait_for()
    assert await page.locator("#odds-format input[value='probability']").is_checked()
    prices = await page.evaluate(PRICES_PROBE)
    assert prices
    assert all(text.endswith("%") for text, _ in prices), prices
    assert watched.problems == []
    await page.close()


# 4. Deep links ---------------------------------------------------------------------------------
async def shown_race(stack: Stack, page: Page, race_id: str) -> None:
    """The race is open and its grid shows its own runners (not the last race's)."""
    runners = {r["horse_id"] for r in book_of(stack, race_id)["runners"]}
    await page.locator(
        f"#race[data-race-id='{race_id}']:not([hidden]) #grid tbody tr"
    ).first.wait_for()
    rows = await page.eval_on_selector_all(
        "#grid tbody tr", "rows => rows.map(r => r.dataset.horseRow)"
    )
    assert set(rows) == runners


async def test_a_deep_link_survives_back_forward_and_reload(
    stack: Stack, browser: Browser, races: FabricatedRaces
) -> None:
    first = busiest_live_race(stack)
    watched = await watched_page(browser, DESKTOP)
    page = watched.page
    await page.goto(stack.base_url)
    await page.click(f".card[data-race-id='{first}']")
    await shown_race(stack, page, first)
    assert page.url.endswith(f"#/race/{first}")
    await page.click(f".card[data-race-id='{races.movers_id}']")
    await shown_race(stack, page, races.movers_id)
    assert page.url.endswith(f"#/race/{races.movers_id}")
    assert "Ludlow" in await page.locator("#race-title").inner_text()

    await page.go_back()
    await shown_race(stack, page, first)
    await page.go_forward()
    await shown_race(stack, page, races.movers_id)
    await page.reload()
    await shown_race(stack, page, races.movers_id)
    assert "Ludlow" in await page.locator("#race-title").inner_text()

    await page.click("#race-close")
    await page.locator("#race[hidden]").wait_for(state="attached")
    assert page.url.endswith("#/")
    await page.go_back()
    await shown_race(stack, page, races.movers_id)
    assert watched.problems == []
    await page.close()


# 5. Results done right -------------------------------------------------------------------------
async def test_a_result_card_shows_the_winner_sp_and_placed_horses(
    stack: Stack, browser: Browser, races: FabricatedRaces, artifacts: Path
) -> None:
    watched = await watched_page(browser, DESKTOP)
    page = watched.page
    await page.goto(stack.base_url)
    card = page.locator(f".stage[data-stage='Result'] .card[data-race-id='{races.result_id}']")
    await card.locator(".winner").wait_for()
    text = await card.inner_text()
    assert races.winner in text
    assert races.winner_sp in text
    assert all(horse in text for horse in races.placed)
    assert "Fav" not in text
    off = page.locator(f".stage[data-stage='Off'] .card[data-race-id='{races.off_id}'] .when")
    assert await off.inner_text() == "Off"
    clocks = await page.locator("[data-off]").all_inner_texts()
    assert clocks
    assert not [c for c in clocks if c.startswith("-")], clocks
    await page.screenshot(path=artifacts / "odds-desktop-kanban.png", full_page=True)

    await card.click()
    result = page.locator("#result:not([hidden])")
    await result.wait_for()
    winner = await result.locator("li.winner").inner_text()
    assert races.winner in winner
    assert f"SP {races.winner_sp}" in winner
    placed = await result.locator("li.placed").all_inner_texts()
    assert [races.placed[0] in placed[0], races.placed[1] in placed[1]] == [True, True]
    assert await page.locator("#race-clock").inner_text() == "Result"
    await page.screenshot(path=artifacts / "odds-desktop-result.png")
    await page.click("#odds-format label:has-text('Decimal')")
    assert "SP 3.75 F" in await result.locator("li.winner").inner_text()
    assert watched.problems == []
    await page.close()


# 6. Readable everywhere ------------------------------------------------------------------------
async def test_stale_books_are_badged_after_the_chosen_time(
    stack: Stack, browser: Browser, races: FabricatedRaces
) -> None:
    """The race at the off was last priced 7 minutes ago: stale after 5 minutes, not after 30."""
    watched = await watched_page(browser, DESKTOP)
    page = await open_race(stack, watched, races.off_id)
    badges = page.locator("#grid thead .fresh")
    assert await badges.count() == 4
    assert await page.locator("#grid thead .fresh.stale").count() == 4
    assert all(re.fullmatch(r"stale \d+m", t) for t in await badges.all_inner_texts())
    await page.select_option("#stale-after", "30")
    assert await page.locator("#grid thead .fresh.stale").count() == 0
    await page.reload()
    await page.locator("#grid tbody td[data-bookmaker]").first.wait_for()
    assert await page.locator("#stale-after").input_value() == "30"
    assert await page.locator("#grid thead .fresh.stale").count() == 0
    assert all(re.fullmatch(r"\d+m ago", t) for t in await badges.all_inner_texts())
    assert watched.problems == []
    await page.close()


async def test_names_not_ids_and_a_chart_with_axes_and_a_key(
    stack: Stack, browser: Browser, artifacts: Path
) -> None:
    watched = await watched_page(browser, DESKTOP)
    page = await open_race(stack, watched, busiest_live_race(stack))
    # A book whose price has not moved draws a flat line: no height, so never "visible".
    await page.locator("#chart path").first.wait_for(state="attached")
    ticks = await page.locator("#chart text.tick").all_text_contents()
    times = [t for t in ticks if re.fullmatch(r"\d\d:\d\d", t)]
    prices = [t for t in ticks if re.fullmatch(r"\d+/\d+|Evs", t)]
    assert len(times) >= 2, ticks
    assert len(prices) >= 3, ticks
    legend = await page.locator("#chart-legend li .book").all_inner_texts()
    assert 1 <= len(legend) == await page.locator("#chart path").count()
    assert set(legend) <= DISPLAY_NAMES, legend
    colours = await page.locator("#chart-legend .swatch").evaluate_all(
        "swatches => swatches.map(s => getComputedStyle(s).backgroundColor)"
    )
    strokes = await page.locator("#chart path").evaluate_all(
        "paths => paths.map(p => getComputedStyle(p).stroke)"
    )
    assert colours == strokes, "the key's colours are the lines' colours, in order"
    stalest = await page.locator("#stalest").inner_text()
    assert re.sub(r" \(.*\)$", "", stalest) in DISPLAY_NAMES, stalest
    headers = await page.locator("#grid thead th[data-bookmaker] .name").all_inner_texts()
    assert set(headers) <= DISPLAY_NAMES
    await page.locator("#chart").screenshot(path=artifacts / "odds-chart.png")
    assert watched.problems == []
    await page.close()


async def test_a_phone_shows_the_selected_race_first(
    stack: Stack, browser: Browser, artifacts: Path
) -> None:
    watched = await watched_page(browser, PHONE)
    page = await open_race(stack, watched, busiest_live_race(stack))
    race_top = await page.locator("#race").evaluate("n => n.getBoundingClientRect().top")
    kanban_top = await page.locator("#kanban").evaluate("n => n.getBoundingClientRect().top")
    assert race_top < kanban_top
    assert 0 <= race_top < PHONE["height"] / 2
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, "the page must not scroll sideways on a phone (the grid scrolls inside)"
    await page.screenshot(path=artifacts / "odds-phone-race.png")
    await page.locator("#grid-wrap").evaluate("w => { w.scrollLeft = w.scrollWidth; }")
    probe = await page.locator("#grid-wrap").evaluate(STICKY_PROBE)
    assert probe["runnersVisible"], probe
    await page.screenshot(path=artifacts / "odds-phone-race-scrolled.png")
    await page.click("#race-close")
    await page.locator("#race[hidden]").wait_for(state="attached")
    await page.screenshot(path=artifacts / "odds-phone-kanban.png", full_page=True)
    assert watched.problems == []
    await page.close()


# 7. Movers at a glance -------------------------------------------------------------------------
async def test_steamers_and_drifters_are_marked_and_listed_across_races(
    stack: Stack, browser: Browser, races: FabricatedRaces
) -> None:
    watched = await watched_page(browser, DESKTOP)
    page = watched.page
    await page.goto(stack.base_url)
    steamer = page.locator(f"#movers-steamers li[data-race-id='{races.movers_id}']").filter(
        has_text=races.steamer
    )
    await steamer.wait_for()
    assert "+15.0 pts" in await steamer.inner_text()
    drifter = page.locator(f"#movers-drifters li[data-race-id='{races.movers_id}']").filter(
        has_text=races.drifter
    )
    assert "-" in await drifter.inner_text()
    await steamer.locator("a").click()
    await shown_race(stack, page, races.movers_id)
    steaming = page.locator(f"#grid tr.steamer[data-horse-row='hrs_{races.movers_id}_1']")
    assert await steaming.locator(".mark.steamer").inner_text() == "▲"
    drifting = page.locator(f"#grid tr.drifter[data-horse-row='hrs_{races.movers_id}_5']")
    assert await drifting.locator(".mark.drifter").inner_text() == "▼"
    assert await page.locator("#grid tr.steamer, #grid tr.drifter").count() == 2
    assert races.steamer in await page.locator("#steamers").inner_text()
    assert watched.problems == []
    await page.close()


# 8. Favicon; no console errors -----------------------------------------------------------------
async def test_a_favicon_and_no_console_errors_through_a_session(
    stack: Stack, browser: Browser, races: FabricatedRaces
) -> None:
    watched = await watched_page(browser, DESKTOP)
    page = watched.page
    await page.goto(stack.base_url)
    icon = await page.locator("link[rel=icon]").get_attribute("href")
    assert icon
    response = await page.request.get(f"{stack.base_url}{icon}")
    assert response.status == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    await page.locator(".card").first.wait_for()
    for race_id in (busiest_live_race(stack), races.result_id, races.off_id, races.movers_id):
        await page.click(f".card[data-race-id='{race_id}']")
        await shown_race(stack, page, race_id)
        await page.locator("#grid .runner .name").nth(1).click()
        await page.locator("#chart path, #chart text").first.wait_for(state="attached")
    for label in ("Decimal", "Implied %", "Fractional"):
        await page.click(f"#odds-format label:has-text('{label}')")
    await page.click("#chooser summary")
    await page.click("#chooser-body button:has-text('Hide all')")
    await page.click("#chooser-body button:has-text('Show all')")
    await page.select_option("#movers-window", "open")
    await page.go_back()
    await page.click("#race-close")
    await page.wait_for_timeout(1500)  # a websocket frame or two, a Kanban refresh
    assert watched.problems == []
    await page.close()


# Where the API requires a key ------------------------------------------------------------------
async def test_with_keys_required_the_page_asks_for_one_and_then_runs_live(
    stack: Stack, browser: Browser, auth_api: str, races: FabricatedRaces
) -> None:
    _, key = await create_key(stack.database_url, "e2e dashboard", 6000)
    watched = await watched_page(browser, DESKTOP)
    page = watched.page
    await page.goto(f"{auth_api}/#/race/{races.movers_id}")
    await page.locator("#key-form").wait_for()
    assert await page.locator("#connection").inner_text() == "API key required"
    assert await page.locator(".card").count() == 0
    assert all("401" in p for p in watched.problems), watched.problems  # asked without a key

    await page.fill("#key-input", "dh_wrong_key")
    await page.click("#key-form button")
    await page.locator("#connection").filter(has_text="API key refused").wait_for()
    await page.fill("#key-input", key)
    await page.click("#key-form button")
    watched.problems.clear()
    await shown_race(stack, page, races.movers_id)
    await page.locator(".card").first.wait_for()
    await page.locator("#connection.ok").filter(has_text="live").wait_for(timeout=15_000)
    assert await page.locator("#key-form").is_hidden()
    assert watched.problems == []
    await page.close()
