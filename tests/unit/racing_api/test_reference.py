"""The reference producer over a mock transport: entities once each, pedigree for new horses."""

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import httpx

from darkhorses.settings import RacingApiSettings
from producers.racing_api.client import RacingApiClient
from producers.racing_api.reference import ReferenceProducer, collect
from producers.racing_api.report import ParseReport
from producers.racing_api.settings import RacingApiProducerSettings
from schemas.reference import Horse, Participant, ParticipantKind
from schemas.topics import REF_COURSES, REF_DAMSIRES, REF_HORSES, REF_JOCKEYS, REF_REGIONS
from tests.racing_api_stub import sample
from tests.unit.racing_api.conftest import MemorySink, Sleeps

TODAY = date(2025, 10, 14)


def upstream(request: httpx.Request) -> httpx.Response:
    path, params = request.url.path, request.url.params
    if path == "/v1/courses/regions":
        return httpx.Response(200, json=sample("courses_regions.json"))
    if path == "/v1/courses":
        assert params.get_list("region_codes") == ["gb", "ire"]
        return httpx.Response(200, json=sample("courses_gb.json"))
    if path == "/v1/racecards/pro":
        page = sample("racecards_pro_2025-10-14.json")
        return httpx.Response(200, json=page if params["date"] == "2025-10-14" else {
            "racecards": [], "total": 0, "limit": 500, "skip": 0, "query": []})  # fmt: skip
    if path == "/v1/results":
        return httpx.Response(200, json=sample("results_2025-10-07.json") | {"total": 5})
    if path.startswith("/v1/horses/"):
        horse_id = path.split("/")[3]
        if horse_id == "hrs_57816129":
            return httpx.Response(500, text="upstream down")
        return httpx.Response(200, json={"id": horse_id, "name": "Pedigreed", "sire": "Frankel",
                                         "sire_id": "sir_1", "breeder": "Juddmonte"})  # fmt: skip
    return httpx.Response(404)


async def test_reference_entities_are_published_once_with_pedigree_for_new_horses(
    sink: MemorySink,
    make_settings: Callable[..., RacingApiProducerSettings],
    api_settings: RacingApiSettings,
    sleeps: Sleeps,
) -> None:
    settings = make_settings(list_rate_per_s=1000, race_rate_per_s=1000, max_retries=0)
    stored = Horse(
        source="racing_api", source_time=datetime(2025, 1, 1, tzinfo=UTC), id="hrs_51491517",
        name="Old Name", breeder="Known Stud", pedigree_checked=True,
    )  # fmt: skip
    known = {stored.id: stored}
    transport = httpx.MockTransport(upstream)
    async with RacingApiClient(api_settings, settings, transport=transport, sleep=sleeps) as client:
        producer = ReferenceProducer(client, sink, settings)
        counts = await producer.run(TODAY, known)

    assert [r.id for r in sink.on(REF_REGIONS)] == ["spa", "gb"]
    assert [(c.id, c.region_code) for c in sink.on(REF_COURSES)] == [
        ("crs_832", "gb"), ("crs_52", "gb")
    ]  # fmt: skip
    horses: list[Horse] = sink.on(REF_HORSES)
    ids = [h.id for h in horses]
    assert len(ids) == len(set(ids)) == 18 + 36  # card runners + result runners, each once
    by_id = {h.id: h for h in horses}
    kept = by_id["hrs_51491517"]  # enriched before: not fetched again, pedigree kept
    assert kept.pedigree_checked
    assert kept.breeder == "Known Stud"
    assert kept.name != "Old Name"  # updated from the card
    assert not by_id["hrs_57816129"].pedigree_checked  # fetch failed: counted, still published
    assert by_id["hrs_30455194"].pedigree_checked
    assert by_id["hrs_30455194"].breeder == "Juddmonte"
    assert producer.failures == 1
    jockeys: list[Participant] = sink.on(REF_JOCKEYS)
    assert all(j.kind is ParticipantKind.JOCKEY and j.id.startswith("jky_") for j in jockeys)
    assert len({j.id for j in jockeys}) == len(jockeys)
    assert all(d.id.startswith("dsi_") for d in sink.on(REF_DAMSIRES))
    assert counts[REF_HORSES.name] == 54


def test_collect_counts_bad_documents_and_keeps_the_rest() -> None:
    cards: list[Any] = sample("racecards_pro_2025-10-14.json")["racecards"]
    cards[1]["runners"][0] = {"horse": "no id"}
    report = ParseReport()
    entities = collect([*cards, "junk"], [42], datetime.now(UTC), report)
    assert len(entities.horses) == 17
    assert report.rejected == {"runner": 1, "race": 1, "result": 1}
