"""The reference producer on the real broker: compacted topics keyed by id, pedigree once."""

import uuid
from collections import Counter

import pytest

from producers.racing_api.run import run_reference
from schemas.base import decode
from schemas.reference import Course, Horse, Participant
from schemas.topics import REF_COURSES, REF_HORSES, REF_JOCKEYS, REFERENCE_TOPICS
from tests.conftest import Infra
from tests.integration.racing_api.conftest import producer_settings, serving
from tests.kafka_helpers import read_all
from tests.racing_api_stub import StubState

pytestmark = pytest.mark.integration


def pedigree_requests(stub: StubState) -> int:
    return sum(count for path, count in stub.requests.items() if path.startswith("/v1/horses"))


async def test_reference_topics_are_keyed_by_id_and_pedigree_is_fetched_once(
    infra: Infra,
) -> None:
    stub = StubState.today(tag=f"_{uuid.uuid4().hex[:6]}")
    settings = producer_settings(infra)
    async with serving(stub) as api:
        first = await run_reference(settings, api)
        pedigree_calls = sum(
            n for path, n in stub.requests.items() if path.startswith("/v1/horses")
        )
        second = await run_reference(settings, api)
        again = sum(n for path, n in stub.requests.items() if path.startswith("/v1/horses"))

    assert first == second
    assert first[REF_HORSES.name] == 18
    assert pedigree_calls == 18
    assert again == pedigree_calls, "horses enriched before are read from reference.horses.v1"
    assert all(t.cleanup.value == "compact" and t.key == "id" for t in REFERENCE_TOPICS)

    horses = await read_all(infra.kafka_bootstrap, REF_HORSES.name)
    keys = {r.key.decode() for r in horses if r.key}
    decoded = [decode(Horse, r.value) for r in horses]
    assert keys == {h.id for h in decoded}
    assert all(h.pedigree_checked and h.breeder == "Stub Stud" for h in decoded)
    courses = [
        decode(Course, r.value) for r in await read_all(infra.kafka_bootstrap, REF_COURSES.name)
    ]
    assert Counter(c.id for c in courses) == {"crs_832": 2, "crs_52": 2}
    jockeys = [
        decode(Participant, r.value)
        for r in await read_all(infra.kafka_bootstrap, REF_JOCKEYS.name)
    ]
    on_card = {r["jockey_id"] for card in stub.cards.values() for r in card["runners"]}
    assert Counter(j.id for j in jockeys) == dict.fromkeys(on_card, 2)  # once per run
