"""ParityJobLifecycleMachine: the same steps on the simulator and a real Redis."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from qless_sim.errors import QlessSimError
from qless_sim.hypothesis.stateful import ParityJobLifecycleMachine


@pytest.mark.redis_server
def test_simulator_and_redis_agree(redis_url: str) -> None:
    class OnTestRedis(ParityJobLifecycleMachine):
        pass

    OnTestRedis.redis_url = redis_url
    run_state_machine_as_test(
        OnTestRedis,
        settings=settings(OnTestRedis.TestCase.settings, max_examples=15, database=None),
    )


def test_parity_without_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QLESS_SIM_TEST_REDIS_URL", raising=False)

    with pytest.raises(QlessSimError) as raised:
        ParityJobLifecycleMachine()

    assert str(raised.value) == (
        "ParityJobLifecycleMachine needs a Redis URL: set QLESS_SIM_TEST_REDIS_URL "
        "or the redis_url class attribute"
    )
