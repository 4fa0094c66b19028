"""The live-stream tests get a broker and database of their own.

Every API process builds its books from the whole retained history of the topics, and a
subscription without a race filter snapshots every race it knows: on the broker the other
modules share, both would depend on what those modules happened to publish.
"""

from collections.abc import Iterator

import pytest

from tests.conftest import PORT_BASE, Infra, running_infra


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    yield from running_infra("test-live", PORT_BASE + 300)
