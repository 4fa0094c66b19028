"""The dashboard in a real headless Chromium against the stack `make up` starts."""

import json
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page

from producers.publisher import EventPublisher
from schemas.base import EventSource
from schemas.odds import OddsSnapshot, RunnerPrice
from schemas.topics import ODDS_LIVE
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


def board_race_stages(stack: Stack) -> dict[str, str]:
    board = httpx.get(f"{stack.base_url}/v1/races/by-stage", timeout=10).json()["data"]
    return {
        race["race_id"]: column["stage"] for column in board["stages"] for race in column["races"]
    }


async def open_dashboard(browser: Browser, stack: Stack, **context: Any) -> Page:
    page = await browser.new_page(**context)
    await page.goto(stack.base_url)
    await page.wait_for_selector(".card")
    return page


async def test_kanban_shows_the_simulators_races(
    stack: Stack, browser: Browser, artifacts: Path
) -> None:
    before = board_race_stages(stack)
    page = await open_dashboard(browser, stack, viewport={"width": 1400, "height": 900})
    shown: list[list[str]] = await page.eval_on_selector_all(
        ".card", "cards => cards.map(c => [c.dataset.raceId, c.closest('.stage').dataset.stage])"
    )
    after = board_race_stages(stack)
    shown_ids = {race_id for race_id, _ in shown}
    assert shown_ids <= before.keys() | after.keys()
    assert before.keys() & after.keys() <= shown_ids
    stable = {r for r in before.keys() & after.keys() if before[r] == after[r]}
    assert stable, "the board should have races whose stage did not change meanwhile"
    for race_id, stage in shown:
        if race_id in stable:
            assert stage == before[race_id]
    assert all(race_id.startswith("rac_") for race_id in shown_ids)
    await page.screenshot(path=artifacts / "dashboard-kanban.png", full_page=True)
    await page.close()


async def test_a_price_published_to_kafka_flashes_in_the_grid(
    stack: Stack, browser: Browser, artifacts: Path
) -> None:
    page = await open_dashboard(browser, stack, viewport={"width": 1400, "height": 900})
    await page.click(".stage[data-stage='Early Market'] .card, .stage[data-stage='Pre Race'] .card")
    cell = page.locator("#grid tbody td[data-bookmaker]").first
    await cell.wait_for()
    race_id = await page.locator("#race").get_attribute("data-race-id")
    horse_id = await cell.get_attribute("data-horse")
    bookmaker_id = await cell.get_attribute("data-bookmaker")
    assert race_id
    assert horse_id
    assert bookmaker_id
    snapshot = OddsSnapshot(
        source=EventSource.SIMULATOR,
        source_time=datetime.now(UTC),
        race_id=race_id,
        bookmaker_id=bookmaker_id,
        bookmaker=bookmaker_id,
        prices=(RunnerPrice(horse_id=horse_id, decimal=Decimal("251"), fractional="250/1"),),
    )
    target = page.locator(f"#grid td[data-horse='{horse_id}'][data-bookmaker='{bookmaker_id}']")
    async with EventPublisher(stack.kafka_bootstrap) as publisher:
        published = time.perf_counter()
        await publisher.publish_and_wait(ODDS_LIVE, snapshot)
    await target.filter(has_text="250/1").wait_for(timeout=15_000)  # fractional, the default
    seen_ms = (time.perf_counter() - published) * 1000
    assert "flash-down" in (await target.get_attribute("class") or "")
    (artifacts / "dashboard-latency.json").write_text(json.dumps({"kafka_to_grid_ms": seen_ms}))
    await page.screenshot(path=artifacts / "dashboard-race.png", full_page=True)
    await page.close()


async def test_the_price_chart_renders(stack: Stack, browser: Browser, artifacts: Path) -> None:
    page = await open_dashboard(browser, stack, viewport={"width": 1400, "height": 900})
    await page.click(".stage[data-stage='Early Market'] .card, .stage[data-stage='Pre Race'] .card")
    # A book whose price has not moved draws a flat line: no height, so never "visible".
    await page.locator("#chart path").first.wait_for(state="attached")
    assert await page.locator("#chart path").count() >= 1
    await page.locator("#chart").screenshot(path=artifacts / "dashboard-chart.png")
    await page.close()


async def test_keyboard_and_phone_sized_screen(
    stack: Stack, browser: Browser, artifacts: Path
) -> None:
    page = await open_dashboard(browser, stack, viewport={"width": 390, "height": 844})
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, "the page must not scroll sideways on a phone"
    await page.locator(".card").first.focus()
    await page.keyboard.press("Enter")
    await page.locator("#race:not([hidden])").wait_for()
    await page.screenshot(path=artifacts / "dashboard-phone.png", full_page=True)
    await page.close()
