from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.payment.stripe_wire import LocalStripe, run_localstripe


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStripe]:
    """localstripe on a loopback port for this test process, killed at the end."""
    with run_localstripe(tmp_path_factory.mktemp("localstripe")) as stripe:
        yield stripe
