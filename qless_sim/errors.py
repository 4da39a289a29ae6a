"""Every exception qless_sim raises.

The hierarchy has two roots. `QlessSimError` covers problems with how qless_sim
itself is set up (which core to load, the clock, the Redis rules version).
`QlessError` covers errors qless-core reports while running a command, and
carries qless-core's own message unchanged.
"""

from __future__ import annotations

__all__ = [
    "ClockError",
    "CoreNotFoundError",
    "CoreSelectionError",
    "InvalidCoreError",
    "InvalidArgumentError",
    "JobNotFoundError",
    "LostLockError",
    "QlessError",
    "QlessSimError",
    "RedisRulesError",
    "ScriptError",
    "UnsupportedCommandError",
]


class QlessSimError(Exception):
    """Base class for errors in how qless_sim is configured or used."""


class ClockError(QlessSimError, ValueError):
    """A clock was asked to move in a way qless-core cannot follow (for example, backwards)."""


class CoreSelectionError(QlessSimError, ValueError):
    """The core named by an argument or by `QLESS_SIM_CORE` cannot be used."""


class CoreNotFoundError(CoreSelectionError):
    """The core names a distribution that is not installed or a file that does not exist."""


class InvalidCoreError(CoreSelectionError):
    """The file exists but is not a built qless-core script."""


class RedisRulesError(QlessSimError, ValueError):
    """The emulated Redis rules version is not one qless_sim can emulate."""


class InvalidArgumentError(QlessSimError, ValueError):
    """An argument was rejected in Python before any command reached qless-core."""


class QlessError(Exception):
    """An error reply from qless-core (or from Redis while running it).

    `message` is qless-core's own text, for example
    ``Heartbeat(): Job given out to another worker: worker-b``; `reply` is the
    whole Redis error reply, with the script wrapping the Redis version adds.
    """

    def __init__(self, message: str, reply: str | None = None, command: str | None = None):
        super().__init__(message)
        self.message = message
        self.reply = reply if reply is not None else message
        self.command = command


class ScriptError(QlessError):
    """The script failed for a reason other than a qless-core argument check.

    Raised, for example, when a core script cannot run under the emulated Redis
    rules, or when a `redis.call` inside it is rejected by Redis.
    """


class UnsupportedCommandError(QlessError):
    """The loaded core has no such command (qless-core's ``Unknown command``)."""


class LostLockError(QlessError):
    """The job's lease went to another worker, or the job left the running state."""


class JobNotFoundError(QlessError, KeyError):
    """No job (or recurring job) exists with the given jid."""

    def __str__(self) -> str:
        # KeyError's own __str__ quotes the message; a message reads better plain.
        return self.message
