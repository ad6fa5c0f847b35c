from __future__ import annotations

import pytest

from tests.support.network import Firewall


@pytest.fixture(autouse=True)
def _loopback_only(firewall: Firewall) -> Firewall:
    """No test here may connect anywhere but loopback (see ``tests.support.network``)."""
    return firewall
