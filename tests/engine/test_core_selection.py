from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from qless_sim.core import ApiEdition, load_core, resolve_core_name
from qless_sim.errors import CoreNotFoundError, CoreSelectionError, InvalidCoreError


@pytest.fixture(autouse=True)
def no_core_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QLESS_SIM_CORE", raising=False)


def test_default_core_is_reqless() -> None:
    core = load_core()
    assert core.name == "reqless"
    assert core.distribution == "reqless"
    assert core.version == metadata.version("reqless")
    assert core.path.parts[-3:] == ("reqless", "lua", "qless.lua")


def test_reqless_core_facts_from_script() -> None:
    core = load_core("reqless")
    first_line = core.source.splitlines()[0].decode()
    assert first_line == f"-- Current SHA: {core.commit}"
    assert core.edition is ApiEdition.WORKER_PUT
    assert core.has_throttles is True
    assert core.describe() == (
        f"reqless {core.version} (qless-core {core.commit[:7]}, worker-put API)"  # type: ignore[index]
    )


def test_qless_py_core_is_2016_edition() -> None:
    core = load_core("qless-py")
    assert core.distribution == "qless-py"
    assert core.version == "0.11.4"
    assert core.commit == "d15c37cfc27fd77ee97fe629b22d55bcdf2dfb0d"
    assert core.edition is ApiEdition.LEGACY_2016
    assert core.has_throttles is False
    assert core.path.parts[-3:] == ("qless", "qless-core", "qless.lua")


def test_env_var_selects_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QLESS_SIM_CORE", "qless-py")
    assert resolve_core_name() == "qless-py"
    assert load_core().name == "qless-py"


def test_argument_wins_over_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QLESS_SIM_CORE", "qless-py")
    assert load_core("reqless").name == "reqless"


def test_core_from_path(tmp_path: Path) -> None:
    copy = tmp_path / "my-qless.lua"
    copy.write_bytes(load_core("reqless").source)
    core = load_core(copy)
    assert core.name == str(copy)
    assert core.distribution is None
    assert core.version is None
    assert core.edition is ApiEdition.WORKER_PUT
    assert core.describe().startswith(f"{copy} (qless-core ")


def test_unknown_name_rejected() -> None:
    with pytest.raises(CoreNotFoundError) as raised:
        load_core("qless-rb")
    message = str(raised.value)
    assert "unknown core 'qless-rb'" in message
    assert "'reqless' (the default), 'qless-py', or the path to a built qless.lua" in message


def test_missing_file_rejected(tmp_path: Path) -> None:
    missing = tmp_path / "qless.lua"
    with pytest.raises(CoreNotFoundError) as raised:
        load_core(missing)
    assert f"core file {str(missing)!r} does not exist" in str(raised.value)
    assert "QLESS_SIM_CORE" in str(raised.value)


def test_directory_rejected(tmp_path: Path) -> None:
    with pytest.raises(CoreNotFoundError) as raised:
        load_core(tmp_path)
    assert "is a directory, not a built qless.lua file" in str(raised.value)


def test_non_core_file_rejected(tmp_path: Path) -> None:
    script = tmp_path / "other.lua"
    script.write_text("return redis.call('ping')\n")
    with pytest.raises(InvalidCoreError) as raised:
        load_core(script)
    assert f"core file {str(script)!r} is not a built qless-core script" in str(raised.value)


def test_unreadable_path_rejected(tmp_path: Path) -> None:
    # A path through a regular file fails with NotADirectoryError, even for root.
    parent = tmp_path / "not-a-dir"
    parent.write_text("")
    with pytest.raises(CoreNotFoundError) as raised:
        load_core(parent / "qless.lua")
    assert "cannot be read (Not a directory)" in str(raised.value)


def test_empty_name_rejected() -> None:
    with pytest.raises(CoreSelectionError) as raised:
        load_core("  ")
    assert "core name is empty" in str(raised.value)


def test_missing_distribution_named(monkeypatch: pytest.MonkeyPatch) -> None:
    real_version = metadata.version

    def version(name: str) -> str:
        if name == "qless-py":
            raise metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(metadata, "version", version)
    with pytest.raises(CoreNotFoundError) as raised:
        load_core("qless-py")
    message = str(raised.value)
    assert "core 'qless-py' needs the 'qless-py' distribution, which is not installed" in message
    assert "pip install qless-py" in message


def test_env_var_named_in_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "missing.lua"
    monkeypatch.setenv("QLESS_SIM_CORE", str(missing))
    with pytest.raises(CoreNotFoundError) as raised:
        load_core()
    assert str(raised.value).startswith(
        f"QLESS_SIM_CORE={str(missing)!r}: core file {str(missing)!r} does not exist"
    )
