"""Events: callbacks on qless-core's pubsub channels (ql:put, ql:popped, ...)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import InvalidArgumentError

#: qless-core publishes on `ql:<event>` (qless-core d15c37c and reqless 0.13):
#: `log` carries a JSON object, the others carry the jid.
EVENTS = (
    "canceled",
    "completed",
    "failed",
    "log",
    "popped",
    "put",
    "stalled",
    "track",
    "untrack",
)
NAMESPACE = "ql:"

Callback = Callable[[str], object]


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class Events:
    """Callbacks on qless-core's pubsub events, delivered by `poll()` or `listen()`.

    `on(event, callback)` registers `callback(data)`, where `data` is the
    message: a jid, or JSON text for `log`. Like any Redis pubsub client, it
    only sees messages published after it subscribed, which the first
    `on()` (or `subscribe()`) does.
    """

    def __init__(self, redis: Any) -> None:
        self._redis = redis
        self._pubsub: Any = None
        self._callbacks: dict[str, Callback] = {}
        self._stopped = threading.Event()

    @property
    def channels(self) -> list[str]:
        """The pubsub channels listened to, one per event."""
        return [NAMESPACE + event for event in EVENTS]

    def subscribe(self) -> None:
        """Subscribe to every qless channel now (the first `on()` does it too)."""
        if self._pubsub is None:
            # Subscribe confirmations are kept and skipped in `_dispatch`: with
            # ignore_subscribe_messages, get_message returns None for them too,
            # which `poll` would take for "nothing left".
            self._pubsub = self._redis.pubsub()
            self._pubsub.subscribe(*self.channels)

    def on(self, event: str, callback: Callback) -> None:
        """Call `callback(data)` for each `event` message (one of `EVENTS`)."""
        if event not in EVENTS:
            raise InvalidArgumentError(
                f"unknown event {event!r}; qless-core publishes {', '.join(EVENTS)}"
            )
        if not callable(callback):
            raise InvalidArgumentError(f"callback {callback!r} for {event!r} is not callable")
        self.subscribe()
        self._callbacks[event] = callback

    def off(self, event: str) -> Callback | None:
        """Remove the callback for `event`; return it (None when there was none)."""
        return self._callbacks.pop(event, None)

    def _dispatch(self, message: dict[str, Any]) -> bool:
        if message.get("type") != "message":
            return False
        channel = _text(message["channel"])
        callback = self._callbacks.get(channel[len(NAMESPACE):])
        if callback is not None:
            callback(_text(message["data"]))
        return True

    def poll(self, timeout: float = 0.0) -> int:
        """Deliver every message waiting now to its callback; return how many arrived.

        `timeout` is how long to wait, in seconds, for the first message.
        """
        self.subscribe()
        delivered = 0
        wait = timeout
        while True:
            message = self._pubsub.get_message(timeout=wait)
            if message is None:
                return delivered
            if self._dispatch(message):
                delivered += 1
            wait = 0.0

    def listen(self) -> None:
        """Deliver messages to callbacks until `stop()` is called (blocks)."""
        self.subscribe()
        while not self._stopped.is_set():
            self.poll(timeout=0.05)
        # Cleared on the way out, so a `stop()` that came before this call
        # started still ends it, and a later `listen()` runs again.
        self._stopped.clear()

    def stop(self) -> None:
        """Make a running `listen()` return."""
        self._stopped.set()

    @contextmanager
    def thread(self) -> Iterator[Events]:
        """Run `listen()` in a background thread for the duration of a `with` block."""
        self.subscribe()
        self._stopped.clear()
        worker = threading.Thread(target=self.listen, name="qless-events", daemon=True)
        worker.start()
        try:
            yield self
        finally:
            self.stop()
            worker.join()

    def close(self) -> None:
        """Unsubscribe and close the pubsub connection."""
        if self._pubsub is not None:
            self._pubsub.close()
            self._pubsub = None
