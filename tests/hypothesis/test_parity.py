"""ParityJobLifecycleMachine: the same steps on the simulator and a real Redis."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from qless_sim.errors import QlessSimError
from qless_sim.hypothesis.stateful import ParityJobLifecycleMachine


@pytest.mark.redis_server
def test_simulator_and_redis_agree(redis_url: str, real_redis: Any) -> None:
    # real_redis empties the database first, so the machine's check passes.
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


@pytest.mark.redis_server
def test_parity_rejects_database_with_data(redis_url: str, real_redis: Any) -> None:
    from qless_sim.hypothesis import stateful

    real_redis.set("app:user:1", "alice")
    stateful._CHECKED_PARITY_URLS.discard(redis_url)

    class OnTestRedis(ParityJobLifecycleMachine):
        pass

    OnTestRedis.redis_url = redis_url
    with pytest.raises(QlessSimError) as raised:
        OnTestRedis()

    assert "contains keys outside qless's 'ql:' namespace" in str(raised.value)
    assert str(raised.value).startswith(f"ParityJobLifecycleMachine {redis_url!r}: ")
    assert real_redis.get("app:user:1") == b"alice"
