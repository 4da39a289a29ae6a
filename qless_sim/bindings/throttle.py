"""Throttle: a named cap on how many jobs run at once (cores with throttles only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._args import as_list, check_int, check_jid, loads

if TYPE_CHECKING:
    from .client import Client


class Throttle:
    """A qless throttle by name; jobs put with `throttles=[name]` share its locks."""

    def __init__(self, client: Client, name: str) -> None:
        client.require_throttles("throttles")
        self.client = client
        self.name = name

    @property
    def maximum(self) -> int:
        """How many jobs may hold its locks at once (0: no cap)."""
        reply = self.client.call("throttle.get", self.name)
        state: dict[str, Any] = loads(reply) if reply else {}
        return int(state.get("maximum", 0))

    @maximum.setter
    def maximum(self, value: int) -> None:
        self.set_maximum(value)

    def set_maximum(self, maximum: int, expiration: int = 0) -> None:
        """Set the cap; with `expiration` > 0 the throttle is deleted after that many seconds."""
        check_int(maximum, "maximum", minimum=0)
        check_int(expiration, "expiration", minimum=0)
        self.client.call("throttle.set", self.name, maximum, expiration)

    def delete(self) -> None:
        """Delete the throttle's settings."""
        self.client.call("throttle.delete", self.name)

    def locks(self) -> list[str]:
        """Return the jids holding a lock."""
        return as_list(self.client.call("throttle.locks", self.name))

    def pending(self) -> list[str]:
        """Return the jids waiting for a lock."""
        return as_list(self.client.call("throttle.pending", self.name))

    def ttl(self) -> int:
        """Return the seconds until the throttle expires (-1: never; -2: not set)."""
        return int(self.client.call("throttle.ttl", self.name))

    def release(self, *jids: str) -> None:
        """Release the locks `jids` hold."""
        self.client.call("throttle.release", self.name, *(check_jid(jid) for jid in jids))

    def __repr__(self) -> str:
        return f"<Throttle {self.name}>"
