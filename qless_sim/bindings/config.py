"""Config: qless-core's settings as a mutable mapping."""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from ..errors import InvalidArgumentError
from ._args import check_name, dump_data, loads

if TYPE_CHECKING:
    from .client import Client


def _decode(value: Any) -> Any:
    # qless-core stores settings as strings in the ql:config hash and returns
    # its defaults as Lua numbers. Both are read as qless-py does: JSON text
    # is decoded, and any other string is kept as it is.
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


class Config(MutableMapping[str, Any]):
    """qless's settings (heartbeat, grace-period, jobs-history, ...), read and written live.

    Keys not set in qless read as qless-core's defaults; deleting a key
    restores its default (or removes it when it has none).
    """

    def __init__(self, client: Client) -> None:
        self._client = client

    @property
    def all(self) -> dict[str, Any]:
        """Every setting, defaults included, in one call."""
        settings: dict[str, Any] = loads(self._client.call("config.get"))
        return {key: _decode(value) for key, value in settings.items()}

    def __getitem__(self, key: str) -> Any:
        check_name(key, "config key")
        value = self._client.call("config.get", key)
        if value is None:
            raise KeyError(key)
        return _decode(value)

    def __setitem__(self, key: str, value: Any) -> None:
        check_name(key, "config key")
        if key == "heartbeat" or key.endswith("-heartbeat"):
            _check_lease_length(key, value)
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            # Stored as JSON text, so reading it back returns the same value.
            value = dump_data(value, f"config value for {key!r}")
        self._client.call("config.set", key, value)

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._client.call("config.unset", key)

    def clear(self) -> None:
        """Unset every setting, so each reads as qless-core's default again."""
        # MutableMapping.clear pops keys until none is left, but a key with a
        # default stays present after it is unset, so that would never end.
        for key in list(self.all):
            self._client.call("config.unset", key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.all)

    def __len__(self) -> int:
        return len(self.all)

    def __contains__(self, key: object) -> bool:
        return key in self.all

    def __repr__(self) -> str:
        return f"Config({self.all!r})"


def _check_lease_length(key: str, value: Any) -> None:
    # qless-core reads these with tonumber. A lease of zero or fewer seconds
    # has lapsed the moment a job is popped, and text fails inside a pop.
    try:
        seconds = float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        seconds = None
    if seconds is None or not seconds > 0:
        raise InvalidArgumentError(
            f"config[{key!r}] = {value!r} is invalid: a lease length must be a number of "
            "seconds > 0, e.g. 60"
        )
