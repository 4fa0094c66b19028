"""The bookmaker registry: one canonical id, display name and type per bookmaker, everywhere.

Upstream spells names inconsistently ("Bet365", "bet365", "Betfair Exchange"); `resolve` maps any
spelling to one `Bookmaker`. An unknown name still resolves, to a derived id flagged `known=False`,
so its prices are kept and the name can be reported and added here.
"""

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache


class BookmakerType(StrEnum):
    FIXED = "fixed"
    EXCHANGE = "exchange"
    SPREAD = "spread"
    TOTE = "tote"


@dataclass(frozen=True, slots=True)
class Bookmaker:
    id: str
    name: str
    type: BookmakerType
    known: bool = True


def _book(id_: str, name: str, type_: BookmakerType = BookmakerType.FIXED) -> Bookmaker:
    return Bookmaker(id_, name, type_)


_F, _X, _S, _T = (
    BookmakerType.FIXED,
    BookmakerType.EXCHANGE,
    BookmakerType.SPREAD,
    BookmakerType.TOTE,
)

REGISTRY: tuple[Bookmaker, ...] = (
    _book("bet365", "Bet365"),
    _book("william_hill", "William Hill"),
    _book("coral", "Coral"),
    _book("betfred", "Betfred"),
    _book("boylesports", "Boyle Sports"),
    _book("ladbrokes", "Ladbrokes"),
    _book("unibet", "Unibet"),
    _book("betgoodwin", "Bet Goodwin"),
    _book("betvictor", "Bet Victor"),
    _book("10bet", "10 Bet"),
    _book("betmgm", "BetMGM"),
    _book("grosvenor", "Grosvenor Sports"),
    _book("betway", "Betway"),
    _book("virgin_bet", "Virgin Bet"),
    _book("talksport_bet", "talkSPORT BET"),
    _book("dragon_bet", "Dragon Bet"),
    _book("copybet", "CopyBet"),
    _book("pricedup", "PricedUp Bet"),
    _book("spreadex", "Spreadex", _S),
    _book("bresbet", "BresBet"),
    _book("star_sports", "Star Sports"),
    _book("7bet", "7Bet"),
    _book("bettom", "BetTom"),
    _book("gentlemen_jim", "Gentlemen Jim"),
    _book("midnite", "Midnite"),
    _book("sporting_index", "SportingIndex", _S),
    _book("quinnbet", "Quinn Bet"),
    _book("betfair_exchange", "Betfair Exchange", _X),
    _book("sky_bet", "Sky Bet"),
    _book("paddy_power", "Paddy Power"),
    _book("888sport", "888 Sport"),
    _book("betfair_sportsbook", "Betfair Sportsbook"),
    _book("betuk", "Bet UK"),
    _book("livescore_bet", "Livescore Bet"),
    _book("parimatch", "Pari Match"),
    _book("vbet", "V Bet"),
    _book("tote", "Tote", _T),
    _book("matchbook", "Matchbook", _X),
)

# Alternative spellings seen upstream, beyond case and punctuation differences.
_ALIASES = {
    "betfair": "betfair_exchange",
    "betfairexchange": "betfair_exchange",
    "skybet": "sky_bet",
    "paddypower": "paddy_power",
    "boyle": "boylesports",
    "williamhill": "william_hill",
    "sportingindex": "sporting_index",
    "talksport": "talksport_bet",
}


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_BY_KEY: dict[str, Bookmaker] = {}
for _bookmaker in REGISTRY:
    _BY_KEY[_normalise(_bookmaker.name)] = _bookmaker
    _BY_KEY[_normalise(_bookmaker.id)] = _bookmaker
_BY_ID = {b.id: b for b in REGISTRY}
for _alias, _target in _ALIASES.items():
    _BY_KEY[_alias] = _BY_ID[_target]


@cache
def resolve(name: str) -> Bookmaker:
    """The registry entry for any spelling of `name`; unknown names get a derived id."""
    key = _normalise(name)
    if not key:
        raise ValueError("bookmaker name is empty")
    found = _BY_KEY.get(key)
    if found is not None:
        return found
    derived = re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")
    return Bookmaker(id=f"x_{derived}", name=name.strip(), type=BookmakerType.FIXED, known=False)


def by_id(bookmaker_id: str) -> Bookmaker | None:
    return _BY_ID.get(bookmaker_id)
