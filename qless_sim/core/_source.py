"""Choosing the qless-core script to run, and describing what was loaded."""

from __future__ import annotations

import enum
import os
import re
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

from ..errors import CoreNotFoundError, CoreSelectionError, InvalidCoreError

CORE_ENV_VAR = "QLESS_SIM_CORE"
DEFAULT_CORE = "reqless"

# name -> (distribution on PyPI, import package, path of the built script inside it)
_NAMED_CORES: dict[str, tuple[str, str, str]] = {
    "reqless": ("reqless", "reqless", "lua/qless.lua"),
    "qless-py": ("qless-py", "qless", "qless-core/qless.lua"),
}

_HOW_TO_CHOOSE = (
    "choose a core with the `core=` argument or the QLESS_SIM_CORE environment variable: "
    "'reqless' (the default), 'qless-py', or the path to a built qless.lua"
)

# Built qless-core scripts start with `-- Current SHA: <commit>` (qless-core's
# Makefile writes it), then `-- This is a generated file`.
_SHA_LINE = re.compile(rb"^-- Current SHA: ([0-9a-f]{7,40})\s*$", re.MULTILINE)


class ApiEdition(enum.Enum):
    """The two shapes of qless-core's command API."""

    #: qless-core up to 2016 (d15c37c): `put(now, queue, jid, ...)`, no `requeue`.
    LEGACY_2016 = "2016"
    #: Later builds: `put(now, worker, queue, jid, ...)`, `requeue`, and throttles in forks.
    WORKER_PUT = "worker-put"


@dataclass(frozen=True)
class CoreScript:
    """A qless-core script read from disk, with what is known about it."""

    name: str
    path: Path
    source: bytes
    distribution: str | None
    version: str | None
    commit: str | None
    edition: ApiEdition
    has_throttles: bool

    def describe(self) -> str:
        """Name the core in one line: ``reqless 0.13.3 (qless-core 62857f6, worker-put API)``."""
        version = f" {self.version}" if self.version else ""
        commit = self.commit[:7] if self.commit else "unknown commit"
        return f"{self.name}{version} (qless-core {commit}, {self.edition.value} API)"


def _script_in_distribution(name: str) -> tuple[Path, str, str]:
    distribution, package, relative = _NAMED_CORES[name]
    try:
        version = metadata.version(distribution)
    except metadata.PackageNotFoundError:
        raise CoreNotFoundError(
            f"core {name!r} needs the {distribution!r} distribution, which is not installed; "
            f"install it (pip install {distribution}) or {_HOW_TO_CHOOSE}"
        ) from None
    try:
        root = resources.files(package)
    except ModuleNotFoundError:
        raise CoreNotFoundError(
            f"core {name!r}: the {distribution!r} distribution is installed but its package "
            f"{package!r} cannot be imported; reinstall it or {_HOW_TO_CHOOSE}"
        ) from None
    path = Path(str(root.joinpath(relative)))
    return path, distribution, version


def _read(path: Path, value: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CoreNotFoundError(f"core file {value!r} does not exist; {_HOW_TO_CHOOSE}") from None
    except IsADirectoryError:
        raise CoreNotFoundError(
            f"core {value!r} is a directory, not a built qless.lua file; {_HOW_TO_CHOOSE}"
        ) from None
    except OSError as error:
        raise CoreNotFoundError(
            f"core file {value!r} cannot be read ({error.strerror}); {_HOW_TO_CHOOSE}"
        ) from None


def _detect_edition(source: bytes) -> ApiEdition:
    if re.search(rb"QlessAPI\.put\s*=\s*function\s*\(\s*now\s*,\s*me\s*,", source):
        return ApiEdition.WORKER_PUT
    return ApiEdition.LEGACY_2016


def _check_is_core(source: bytes, value: str) -> None:
    # Every qless-core build defines the QlessAPI table and dispatches on ARGV[1].
    if b"QlessAPI" not in source or b"ARGV" not in source:
        raise InvalidCoreError(
            f"core file {value!r} is not a built qless-core script (it defines no QlessAPI "
            f"commands); point at the qless.lua that qless-core's `make` produces, or "
            f"{_HOW_TO_CHOOSE}"
        )


def resolve_core_name(core: str | os.PathLike[str] | None = None) -> str:
    """Return the core a caller asked for: the argument, else QLESS_SIM_CORE, else 'reqless'."""
    value = os.fspath(core) if core is not None else os.environ.get(CORE_ENV_VAR) or DEFAULT_CORE
    if not value.strip():
        raise CoreSelectionError(f"core name is empty; {_HOW_TO_CHOOSE}")
    return value


def load_core(core: str | os.PathLike[str] | None = None) -> CoreScript:
    """Read the qless-core script named by `core` (see `resolve_core_name`).

    Raises `CoreNotFoundError` for a missing distribution or file, and
    `InvalidCoreError` for a file that is not a qless-core script. When the
    value came from QLESS_SIM_CORE, the message names the variable.
    """
    value = resolve_core_name(core)
    if core is None and os.environ.get(CORE_ENV_VAR):
        try:
            return _load(value)
        except CoreSelectionError as error:
            raise type(error)(f"{CORE_ENV_VAR}={value!r}: {error}") from None
    return _load(value)


def _load(value: str) -> CoreScript:
    distribution: str | None = None
    version: str | None = None
    if value in _NAMED_CORES:
        path, distribution, version = _script_in_distribution(value)
        name = value
    else:
        path = Path(value).expanduser()
        if not path.suffix and not path.exists() and os.sep not in value:
            raise CoreNotFoundError(
                f"unknown core {value!r}: it is neither a known name nor an existing file; "
                f"{_HOW_TO_CHOOSE}"
            )
        name = str(path)

    source = _read(path, value)
    _check_is_core(source, value)
    match = _SHA_LINE.search(source[:200])
    commit = match.group(1).decode() if match else None
    return CoreScript(
        name=name,
        path=path,
        source=source,
        distribution=distribution,
        version=version,
        commit=commit,
        edition=_detect_edition(source),
        has_throttles=b"QlessAPI['throttle.set']" in source,
    )
