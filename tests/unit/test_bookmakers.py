import pytest

from schemas.bookmakers import REGISTRY, BookmakerType, resolve

DOMAIN_NAMES = (
    "Bet365",
    "William Hill",
    "Coral",
    "Betfred",
    "Boyle Sports",
    "Ladbrokes",
    "Unibet",
    "Bet Goodwin",
    "Bet Victor",
    "10 Bet",
    "BetMGM",
    "Grosvenor Sports",
    "Betway",
    "Virgin Bet",
    "talkSPORT BET",
    "Dragon Bet",
    "CopyBet",
    "PricedUp Bet",
    "Spreadex",
    "BresBet",
    "Star Sports",
    "7Bet",
    "BetTom",
    "Gentlemen Jim",
    "Midnite",
    "SportingIndex",
    "Quinn Bet",
    "Betfair Exchange",
    "Sky Bet",
    "Paddy Power",
    "888 Sport",
    "Betfair Sportsbook",
    "Bet UK",
    "Livescore Bet",
    "Pari Match",
    "V Bet",
    "Tote",
    "Matchbook",
)


@pytest.mark.parametrize("name", DOMAIN_NAMES)
def test_every_known_name_resolves_to_a_registered_bookmaker(name: str) -> None:
    bookmaker = resolve(name)
    assert bookmaker.known
    assert bookmaker in REGISTRY


def test_spellings_resolve_to_one_id() -> None:
    assert resolve("bet365") == resolve("Bet365") == resolve("BET 365")
    assert resolve("Betfair").id == "betfair_exchange"


def test_types() -> None:
    assert resolve("Betfair Exchange").type is BookmakerType.EXCHANGE
    assert resolve("Matchbook").type is BookmakerType.EXCHANGE
    assert resolve("Spreadex").type is BookmakerType.SPREAD
    assert resolve("Tote").type is BookmakerType.TOTE
    assert resolve("Coral").type is BookmakerType.FIXED


def test_unknown_names_get_a_derived_id_not_dropped() -> None:
    unknown = resolve("Brand New Bet!")
    assert unknown.id == "x_brand_new_bet"
    assert not unknown.known
    with pytest.raises(ValueError, match="empty"):
        resolve("  ")


def test_ids_are_unique() -> None:
    assert len({b.id for b in REGISTRY}) == len(REGISTRY)
