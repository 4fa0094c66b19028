"""REST input (issue 16): no parameter value gets a 5xx or costs the client its connection.

Against a real API process serving a simulated day stored by the streams worker:
- the cases the issue reported, as they were reported;
- name and course filters are literal: `%`, `_` and `\\` match themselves, checked against the
  database with `strpos` (no pattern at all);
- a corpus of hostile values for every kind of parameter (out-of-range and non-date-times,
  numbers out of bounds, oversize strings and ids, NUL bytes, bad enums, odd but valid text), each
  answered 4xx (or 200/404 where the value is valid) on a keep-alive connection that then serves a
  normal request;
- schemathesis with every check, with the ids of stored races, runners and people offered to it,
  finds nothing, and the API logs no unhandled error.
"""

import asyncio
import http.client
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import asyncpg
import orjson
import pytest

from tests.conftest import ApiProcess, Infra, Runtime, free_port, start_runtime, wait_for_ready
from tests.rest_market import Market, publish, recorded, simulated, wait_until_stored

pytestmark = pytest.mark.integration

PREFIX = "inp"  # race and horse ids of this module: rac_inp..., hrs_inp...
NOW = datetime.now(UTC).replace(microsecond=0)
NORMAL = "/v1/races?limit=1"  # the request every hostile one is followed by


@pytest.fixture(scope="module")
def api(infra: Infra, artifacts: Path, streams_app_id: str) -> Iterator[ApiProcess]:
    """The API without a practical rate limit: schemathesis sends thousands of requests a
    minute, and a 429 would hide what the request would have got."""
    port = free_port()
    env = infra.env(
        DARKHORSES_API_PORT=str(port),
        DARKHORSES_API_STREAMS_GROUP_ID=streams_app_id,
        DARKHORSES_API_ANONYMOUS_RATE_LIMIT_PER_MIN="100000000",
    )
    runtime = start_runtime(["api"], env, artifacts / f"api-input-{port}.log")
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for_ready(base_url, runtime)
        yield ApiProcess(runtime, base_url)
    finally:
        runtime.stop()


@dataclass(frozen=True)
class Stored:
    """Ids of stored data for the requests: an open race, a resulted one, their runners..."""

    open_race: str
    resulted_race: str
    horse: str  # a runner of open_race
    runners: list[str]  # of both races
    course: str  # a course name
    course_id: str
    people: list[str]  # a jockey, a trainer and an owner


@pytest.fixture(scope="module")
async def stored(infra: Infra, streams_worker: Runtime, api: ApiProcess) -> Stored:
    market = Market()
    # The recorded cards bring owners; their odds are left to test_api_rest (new event ids).
    events = simulated(market, PREFIX, NOW) + recorded(market, NOW, odds=False)
    await publish(infra.kafka_bootstrap, events)
    await wait_until_stored(infra.database_url, market)
    ours = [r for r in market.cards if r.startswith(f"rac_{PREFIX}")]
    open_race = next(r for r in market.open_races() if r in ours)
    resulted = next(r for r in ours if r in market.results)
    connection = await asyncpg.connect(infra.database_url)
    try:
        people = [
            await connection.fetchval(f"SELECT min({column}) FROM runners")  # noqa: S608
            for column in ("jockey_id", "trainer_id", "owner_id")
        ]
    finally:
        await connection.close()
    card = market.cards[open_race]
    return Stored(
        open_race=open_race,
        resulted_race=resulted,
        horse=card.runners[0].horse_id,
        runners=[r.horse_id for race in (open_race, resulted) for r in market.cards[race].runners],
        course=card.course,
        course_id=card.course_id,
        people=people,
    )


class Connection:
    """One HTTP/1.1 connection, kept alive: a request fails if the server has closed it."""

    def __init__(self, base_url: str) -> None:
        url = urlsplit(base_url)
        self.http = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
        self.http.connect()
        self.socket = self.http.sock

    def get(self, target: str) -> tuple[int, Any]:
        """GET `target` (path and query, already percent-encoded): status and JSON body."""
        self.http.request("GET", target)
        response = self.http.getresponse()
        body = response.read()
        assert (response.getheader("connection") or "").lower() != "close", target
        assert self.http.sock is self.socket, f"{target}: the server closed the connection"
        content_type = response.getheader("content-type") or ""
        return response.status, orjson.loads(body) if "json" in content_type else body

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def connection(api: ApiProcess) -> Iterator[Connection]:
    kept = Connection(api.base_url)
    try:
        yield kept
    finally:
        kept.close()


def assert_ok_after(connection: Connection) -> None:
    status, body = connection.get(NORMAL)
    assert status == 200, body


def assert_refused(status: int, body: Any, field: str | None = None) -> None:
    assert status == 422, body
    assert body["error"]["code"] == "invalid_request", body
    if field is not None:
        assert [p["field"] for p in body["error"]["detail"]] == [field], body


# -- the cases reported in the issue -------------------------------------------------------------


async def test_reported_rest_cases(stored: Stored, connection: Connection) -> None:
    """Each was a 500 that also reset the next request on the connection, or wrong results."""
    status, body = connection.get("/v1/races?course=%5C")  # LIKE's escape character, alone
    assert (status, body["data"]) == (200, []), body
    assert_ok_after(connection)
    everything = connection.get("/v1/races?limit=1")[1]["meta"]["total"]
    assert everything > 0
    status, body = connection.get("/v1/races?course=%25")  # was a wildcard: every race
    assert (status, body["meta"]["total"]) == (200, 0), body
    history = f"/v1/races/{stored.open_race}/runners/{stored.horse}/history"
    for path, name in (
        (f"/v1/races/{stored.open_race}/book", "at"),
        (history, "from"),
        (history, "to"),
    ):
        for value in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
            status, body = connection.get(f"{path}?{name}={quote(value)}")
            assert_refused(status, body, f"query.{name}")
            assert "year must be 1900 to 2099" in body["error"]["detail"][0]["message"]
            assert_ok_after(connection)
    for path, name in ((history, "to"), ("/v1/results", "to"), ("/v1/races", "date")):
        status, body = connection.get(f"{path}?{name}=0")  # was read as a Unix time
        assert_refused(status, body, f"query.{name}")
        assert "a number is not a date" in body["error"]["detail"][0]["message"]
        assert_ok_after(connection)


# -- literal filters ----------------------------------------------------------------------------

# route, its name column and table (the oracle's), the field the route serves the name in
NAMED = [
    ("/v1/courses", "course", "courses", "course"),
    ("/v1/bookmakers", "name", "bookmakers", "name"),
    ("/v1/jockeys", "jockey", "jockeys", "name"),
    ("/v1/trainers", "trainer", "trainers", "name"),
    ("/v1/owners", "owner", "owners", "name"),
    ("/v1/horses", "horse", "horses", "horse"),
]
METACHARACTERS = ["%", "_", "\\", "%%", "a%", "%a", "_a", "\\%", "\\_", "[a]", "'", "a'b", "*", "."]


async def test_name_filters_match_the_text_literally(
    stored: Stored, connection: Connection, db: asyncpg.Connection
) -> None:
    for route, column, table, served_as in NAMED:
        some = await db.fetchval(f"SELECT {column} FROM {table} ORDER BY {column} LIMIT 1")  # noqa: S608
        assert some, table
        for needle in [*METACHARACTERS, some[1:4], some.upper()]:
            expected = await db.fetchval(
                f"SELECT count(*) FROM {table} WHERE strpos(lower({column}), lower($1)) > 0",  # noqa: S608
                needle,
            )
            status, body = connection.get(f"{route}?name={quote(needle)}&limit=500")
            assert status == 200, (route, needle, body)
            names = [row[served_as] for row in body["data"]]
            assert body["meta"]["total"] == expected, (route, needle, names)
            assert all(needle.lower() in name.lower() for name in names), (route, needle, names)


async def test_course_filter_is_an_id_or_a_whole_name(
    stored: Stored, connection: Connection, db: asyncpg.Connection
) -> None:
    expected = await db.fetchval("SELECT count(*) FROM races WHERE course = $1", stored.course)
    for course in (stored.course, stored.course.upper(), stored.course.lower(), stored.course_id):
        status, body = connection.get(f"/v1/races?course={quote(course)}&limit=500")
        assert status == 200, body
        assert body["meta"]["total"] == expected > 0, course
        assert {r["course"] for r in body["data"]} == {stored.course}
    for course in (f"{stored.course[:3]}%", f"{stored.course[:-1]}_", "%", "_", "\\", "%%"):
        status, body = connection.get(f"/v1/races?course={quote(course)}")
        assert (status, body["meta"]["total"]) == (200, 0), (course, body)


@pytest.mark.parametrize(
    ("route", "sort", "field", "key"),
    [
        ("/v1/races", "off_dt", "off_dt", ("race_id",)),
        ("/v1/runners", "number", "number", ("race_id", "horse_id")),  # every race has a 1
        ("/v1/jockeys", "wins", "wins", ("id",)),  # most have none
        ("/v1/historical/odds", "position", "finished", ("race_id", "horse_id")),
        ("/v1/bookmakers", "prices", "prices", ("bookmaker_id",)),
    ],
)
def test_pages_of_tied_rows_neither_repeat_nor_skip(
    stored: Stored, connection: Connection, route: str, sort: str, field: str, key: tuple[str, ...]
) -> None:
    """Rows that tie on the sort are ordered by their key: small pages walk the rows of big
    ones, and a `-` sort is exactly the reverse (rows without a value last both ways)."""

    def walk(sort: str, limit: int, most: int = 10_000) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        while len(rows) < most:
            status, page = connection.get(f"{route}?sort={sort}&limit={limit}&offset={len(rows)}")
            assert status == 200, page
            rows += page["data"]
            if len(rows) >= page["meta"]["total"]:
                break
        return rows

    def ids(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [tuple(row[k] for k in key) for row in rows]

    whole = walk(sort, 500)
    assert len(whole) >= 10, route
    small = walk(sort, 7, most=210)
    assert ids(small) == ids(whole[: len(small)])
    valued = [row for row in whole if row[field] is not None]
    unvalued = [row for row in whole if row[field] is None]
    assert ids(walk(f"-{sort}", 500)) == ids(valued[::-1] + unvalued[::-1])


# -- hostile values -----------------------------------------------------------------------------

RACE, HORSE = "{race}", "{horse}"  # filled with stored ids per case
BOOK = f"/v1/races/{RACE}/book"
HISTORY = f"/v1/races/{RACE}/runners/{HORSE}/history"
INSTANTS = [(BOOK, "at"), (HISTORY, "from"), (HISTORY, "to"), ("/v1/odds", "updated_since")]
DAYS = [
    ("/v1/races", "date"),
    ("/v1/odds", "date"),
    ("/v1/results", "from"),
    ("/v1/results", "to"),
    ("/v1/historical/odds", "from"),
    ("/v1/historical/odds", "to"),
    ("/v1/historical/summary", "from"),
    ("/v1/historical/summary", "to"),
]
BAD_INSTANTS = [
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00Z",
    "1899-12-31T23:59:59Z", "2100-01-01T00:00:00Z", "0", "-1", "1700000000", "1e10", "0.5",
    "2026-01-01T12:00:00", "2026-01-01T12:00", "2026-01-01", "2026-02-30T00:00:00Z",
    "2026-01-01T24:00:00Z", "2026-01-01T12:00:60Z", "2026-01-01T12:00:00+24:00",
    "2026-01-01T12:00:00.1234567Z", "2026-01-01 12:00:00Z", "2026-01-01t12:00:00z",
    "2026-01-01T12:00:00Z\n", "now", "", "null", "true", "x" * 5000,
]  # fmt: skip
GOOD_INSTANTS = ["1900-01-01T00:00:00+14:00", "2099-12-31T23:59:59-23:59", "2026-11-28T14:00:00.5Z"]
BAD_DAYS = [
    "0001-01-01", "9999-12-31", "1899-12-31", "2100-01-01", "0", "-1", "20260101", "2026-02-30",
    "2026-1-1", "2026-01-01T00:00:00Z", "", "today", "2026-01-01\n",
]  # fmt: skip
GOOD_DAYS = ["1900-01-01", "2099-12-31", "2024-02-29"]
LONG = "x" * 5000
STRING_PARAMS = [  # route, parameter, longest accepted
    ("/v1/races", "course", 100),
    ("/v1/races", "region", 8),
    ("/v1/courses", "name", 100),
    ("/v1/courses", "region", 8),
    ("/v1/bookmakers", "name", 100),
    ("/v1/horses", "name", 100),
    ("/v1/jockeys", "name", 100),
    ("/v1/results", "course_id", 64),
    ("/v1/results", "region", 8),
    ("/v1/runners", "race_id", 64),
    ("/v1/runners", "horse_id", 64),
    ("/v1/runners", "jockey_id", 64),
    ("/v1/runners", "trainer_id", 64),
    ("/v1/historical/odds", "horse_id", 64),
    ("/v1/historical/odds", "position", 16),
    ("/v1/historical/summary", "course_id", 64),
    (HISTORY, "bookmaker", 64),
    ("/v1/odds", "course", 100),
    ("/v1/odds", "region", 8),
    ("/v1/odds", "bookmaker", 64),
]
PATH_IDS = [
    "/v1/races/{id}", "/v1/races/{id}/book", "/v1/races/{id}/odds", "/v1/courses/{id}",
    "/v1/horses/{id}", "/v1/jockeys/{id}", "/v1/trainers/{id}", "/v1/owners/{id}",
    "/v1/results/{id}", f"/v1/races/{RACE}/runners/{{id}}/history",
]  # fmt: skip
OUT_OF_BOUNDS = [  # route, parameter, values refused
    ("/v1/races", "limit", ["0", "-1", "501", "1.5", "1e3", "99999999999999999999", "abc", ""]),
    ("/v1/races", "offset", ["-1", "10000001", str(2**63), "0x10"]),
    ("/v1/courses", "limit", ["0", "501", str(-(2**63))]),
    ("/v1/historical/odds", "offset", ["-1", "10000001"]),
    ("/v1/races/by-stage", "hours_ahead", ["0", "73", str(2**64)]),
    ("/v1/races/by-stage", "hours_back", ["-1", "25"]),
    ("/v1/races/upcoming", "hours", ["0", "73"]),
    (HISTORY, "interval_s", ["0", "86401", str(2**31), str(2**63), "1.5", "-1"]),
    ("/v1/movers", "limit", ["0", "201"]),
    ("/v1/historical/odds", "sp_min", ["NaN", "Infinity", "-1", "1", "1e999999", "10000.01", "x"]),
    ("/v1/historical/summary", "sp_max", ["-Infinity", "0", "1E-999999", "1e5", "1,5"]),
    ("/v1/races", "stage", ["Nope", "early market", "%"]),
    ("/v1/odds", "stage", ["Nope", "result", ""]),
    ("/v1/odds", "limit", ["0", "501", "1.5", str(2**63)]),
    (
        "/v1/odds",
        "cursor",
        [
            "",
            "x",
            "1",
            "1-61-62",
            "1-6-62-63",
            "1-61-62-63-64",
            "1-61-62-63 ",
            "1-61-62-6G",
            "A-61-62-63",
            "123456789abcdef-61-62-63",
            "1-" + "61" * 257 + "-62-63",
            "1-%00-62-63",
        ],
    ),
    ("/v1/races", "sort", ["horse", "off_dt;DROP TABLE races", "--off_dt", "off_dt "]),
    ("/v1/jockeys", "sort", ["rides desc", "-"]),
    ("/v1/bookmakers", "type", ["casino", "fixed%"]),
    (BOOK, "odds_format", ["x", "DECIMAL", ""]),
    ("/v1/movers", "window", ["1h", ""]),
    ("/v1/movers", "direction", ["up", "steamers\n"]),
]


def _cases() -> list[Any]:
    cases: list[Any] = []

    def case(path: str, query: str, expected: int, label: str) -> None:
        cases.append(pytest.param(path, query, expected, id=label[:90]))

    for path, name in INSTANTS:
        for value in BAD_INSTANTS:
            case(path, f"{name}={quote(value)}", 422, f"{path}?{name}={value}")
        for value in GOOD_INSTANTS:
            case(path, f"{name}={quote(value)}", 200, f"{path}?{name}={value}")
    for path, name in DAYS:
        for value in BAD_DAYS:
            case(path, f"{name}={quote(value)}", 422, f"{path}?{name}={value}")
        for value in GOOD_DAYS:
            case(path, f"{name}={quote(value)}", 200, f"{path}?{name}={value}")
    for path, name, longest in STRING_PARAMS:
        case(path, f"{name}={'a' * (longest + 1)}", 422, f"{path}?{name}=<{longest + 1} chars>")
        case(path, f"{name}={LONG}", 422, f"{path}?{name}=<5000 chars>")
        case(path, f"{name}=a%00b", 422, f"{path}?{name}=NUL")
        case(path, f"{name}=%00", 422, f"{path}?{name}=NUL alone")
        for odd in ("%01%1F%7F", "%FF%FE", "%F0%9F%90%8E", "%C0%80", "%ED%A0%80", "'%22;--", "%5C"):
            case(path, f"{name}={odd}", 200, f"{path}?{name}={odd}")
    for template in PATH_IDS:
        for bad, label in (("a" * 65, "65 chars"), (LONG, "5000 chars"), ("a%00b", "NUL")):
            case(template.replace("{id}", bad), "", 422, f"{template} {label}")
        for odd in ("%FF", "%01", "%20", "%5C", "%25", "a%2Fb", "%F0%9F%90%8E", "..", "'"):
            case(template.replace("{id}", odd), "", 404, f"{template} {odd}")
    for path, name, values in OUT_OF_BOUNDS:
        for value in values:
            case(path, f"{name}={quote(value)}", 422, f"{path}?{name}={value}")
    many = "&".join(f"bookmaker=b{i}" for i in range(51))
    case(HISTORY, many, 422, "history with 51 bookmakers")
    case(HISTORY, "bookmaker=", 422, "history with an empty bookmaker")
    case("/v1/odds", many, 422, "odds with 51 bookmakers")
    case("/v1/odds", "bookmaker=", 422, "odds with an empty bookmaker")
    case("/v1/odds", "cursor=0-00-ff-c3", 200, "odds with a cursor never issued")
    case("/v1/odds", "cursor=" + "f" * 14 + "-61-62-63", 200, "odds with a cursor far ahead")
    case("/v1/races", "limit=1&limit=2&limit=x", 422, "races with limit repeated, one bad")
    case("/v1/races", "%00=1", 422, "a NUL parameter name")
    case("/v1/races", "unknown=%00", 422, "a NUL in an unknown parameter")
    case("/v1/races", "unknown=1&date=", 422, "an empty date")
    return cases


@pytest.mark.parametrize(("path", "query", "expected"), _cases())
def test_hostile_value_is_answered_and_the_connection_kept(
    stored: Stored, connection: Connection, path: str, query: str, expected: int
) -> None:
    target = path.replace(RACE, stored.open_race).replace(HORSE, stored.horse)
    if query:
        target = f"{target}?{query}"
    status, body = connection.get(target)
    assert status == expected, (target[:300], body)
    if expected == 422:
        assert body["error"]["code"] == "invalid_request", body
        assert body["error"]["message"], body
    elif expected == 404:
        assert body["error"]["code"] == "not_found", body
    assert_ok_after(connection)


# -- schemathesis -------------------------------------------------------------------------------


def _toml(value: Any) -> str:
    return orjson.dumps(value).decode()  # a JSON string or list of strings is valid TOML


def schemathesis_config(stored: Stored) -> str:
    """Offer stored ids (and literal-filter traps) alongside generated values, so operations
    reach real races, runners and people instead of 404ing on random ids."""
    dictionaries = {
        "race_ids": [stored.open_race, stored.resulted_race],
        "horse_ids": stored.runners,
        "people": stored.people,
        "course_ids": [stored.course_id],
        "names": [stored.course, stored.course[:3], "%", "_", "\\", "a%b"],
        "regions": ["GB", "ire", "%"],
    }
    parameters = {
        "race_id": "race_ids",
        "horse_id": "horse_ids",
        "entity_id": "people",
        "course_id": "course_ids",
        "course": "names",
        "name": "names",
        "region": "regions",
    }
    lines = [
        "# Written by tests/integration/test_api_input.py",
        "[cache]",
        "enabled = false  # no crashes replayed from earlier runs: each run stands alone",
        "",
        "[generation]",
        'database = "none"',
        "",
    ]
    for name, values in dictionaries.items():
        lines += [f"[dictionaries.{name}]", f"values = {_toml(values)}", ""]
    lines.append("[parameters]")
    lines += [
        f'{parameter} = {{ dictionary = "{name}", probability = 0.5 }}'
        for parameter, name in parameters.items()
    ]
    return "\n".join(lines) + "\n"


@pytest.mark.timeout(900)
async def test_schemathesis_with_every_check_finds_nothing(
    stored: Stored, api: ApiProcess, artifacts: Path
) -> None:
    """Every phase (examples, coverage, fuzzing, stateful) and every check: no 5xx, every
    response as documented, schema-valid requests accepted and invalid ones refused."""
    config = artifacts / "schemathesis-input.toml"
    config.write_text(schemathesis_config(stored))
    report = artifacts / "schemathesis-input"
    run = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config),
         "run", f"{api.base_url}/openapi.json", "--checks", "all",
         "--max-examples", "40", "--seed", "16", "--workers", "2",
         "--report", "junit", "--report-dir", str(report)],
        capture_output=True, text=True, check=False, timeout=840,
    )  # fmt: skip
    (artifacts / "schemathesis-input.log").write_text(run.stdout + run.stderr)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "Server error" not in run.stdout
    # Nothing unexpected even where schemathesis would not have looked (CatchAll logs each).
    assert "unhandled error" not in api.runtime.output()
    assert "Traceback" not in api.runtime.output()
