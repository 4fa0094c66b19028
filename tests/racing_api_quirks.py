"""Payloads for each upstream quirk seen in real Racing API data (docs/domain.md §5), built from
the recorded samples: the 2025-10-14 Nursery Handicap at 13:44 (10 runners, 28 books each) and
the 2025-10-07 Southwell results.

- `NR_HORSE` is a non-runner: `number: "NR"`, `jockey: "NON-RUNNER(5)"`;
- the card says `field_size: "0"` although 10 runners are listed (9 run);
- `JUNK_HORSE`'s first four prices have a junk decimal beside a valid fractional;
- `NO_OFF_RACE` is the same card without `off_dt` (only the am/pm-less `off_time` "1:44");
- the result's runner `JF_HORSE` has SP "7/2J" (a joint favourite, bare J).
"""

import copy
from decimal import Decimal
from typing import Any

from tests.racing_api_stub import sample

CARD_RACE = "rac_11743160"
NR_HORSE = "hrs_54059628"  # number 10
JUNK_HORSE = "hrs_51491517"  # number 1: Bet365 11/4, William Hill 3/1, Coral 11/4, Betfred 3/1
JUNK_DECIMALS = ("abc", "-3.5", "NaN", "1.0")
JUNK_EXPECTED = {"bet365": Decimal("3.75"), "william_hill": Decimal(4), "coral": Decimal("3.75"),
                 "betfred": Decimal(4)}  # fmt: skip
RESULT_RACE = "rac_11745682"
JF_HORSE = "hrs_30455194"  # the winner, SP 9/4 in the recording


def quirky_cards(tag: str = "", day: str | None = None) -> list[dict[str, Any]]:
    """The quirky card and its twin without `off_dt` (race ids suffixed with `tag`)."""
    card: dict[str, Any] = copy.deepcopy(sample("racecards_pro_2025-10-14.json")["racecards"][1])
    card["race_id"] += tag
    if day is not None:
        card["date"] = day
        card["off_dt"] = f"{day}T{card['off_dt'][11:]}"
        for runner in card["runners"]:
            for odds in runner["odds"]:
                odds["updated"] = f"{day} {odds['updated'][11:]}"
    card["field_size"] = "0"
    for runner in card["runners"]:
        if runner["horse_id"] == NR_HORSE:
            runner.update(number="NR", jockey="NON-RUNNER(5)", odds=[])
        if runner["horse_id"] == JUNK_HORSE:
            for odds, junk in zip(runner["odds"], JUNK_DECIMALS, strict=False):
                odds["decimal"] = junk
    no_off = copy.deepcopy(card)
    no_off["race_id"] = f"{card['race_id']}_nooff"
    del no_off["off_dt"]
    return [card, no_off]


def quirky_result(tag: str = "") -> dict[str, Any]:
    result: dict[str, Any] = copy.deepcopy(sample("results_2025-10-07.json")["results"][0])
    result["race_id"] += tag
    for runner in result["runners"]:
        if runner["horse_id"] == JF_HORSE:
            runner.update(sp="7/2J", sp_dec="")
        elif runner["sp"].endswith("F"):
            runner.update(sp="7/2J", sp_dec="")  # the other joint favourite
    return result
