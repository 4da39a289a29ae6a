from __future__ import annotations

import subprocess
import sys

import pytest

import qless_sim


def test_all_names_resolve() -> None:
    for name in qless_sim.__all__:
        assert getattr(qless_sim, name) is not None, name


def test_all_lists_every_lazy_export() -> None:
    assert sorted(qless_sim.__all__) == sorted([*qless_sim._EXPORTS, "errors"])


def test_unknown_attribute_raises() -> None:
    with pytest.raises(AttributeError) as raised:
        qless_sim.no_such_name  # noqa: B018
    assert str(raised.value) == "module 'qless_sim' has no attribute 'no_such_name'"


def test_plugin_import_stays_light() -> None:
    # Loading the pytest plugin must not import the engine's dependencies.
    probe = (
        "import sys, qless_sim.pytest_plugin\n"
        "heavy = [m for m in ('fakeredis', 'lupa', 'redis') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    output = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert output == ""
