from __future__ import annotations

import pytest

from tests.support.network import Firewall, firewall, listener, resolver  # noqa: F401


@pytest.fixture(autouse=True)
def _loopback_only(firewall: Firewall) -> Firewall:  # noqa: F811
    """No test here may connect anywhere but loopback (see ``tests.support.network``)."""
    return firewall
