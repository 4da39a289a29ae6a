"""Direct execution of the Redis commands qless-core issues most, on fakeredis's data model.

fakeredis runs each command through generic dispatch: signature parsing,
argument conversion, a `CommandItem` per key, RESP conversion and keyspace
notifications. That costs about 12 µs a command, and one qless-core pop makes
over 30 of them. The functions here do the same work on the same objects
(`Hash`, `ZSet`, `ExpiringMembersSet`, `list` inside `Database`) for the
common argument shapes. For anything else (options, wrong types, malformed
numbers, errors) they return `NOT_HANDLED`, and the command goes to
fakeredis's own implementation, so every error reply still comes from it.

Replies match fakeredis's RESP2 replies, which the differential tests compare
with a real Redis 7.0.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from fakeredis._core import Database
from fakeredis._core._database import Item
from fakeredis._helpers import SimpleString
from fakeredis.model import ExpiringMembersSet, Hash, ZSet


class _NotHandled:
    def __repr__(self) -> str:
        return "NOT_HANDLED"


# The reply a fast path returns to decline a command (None is a valid reply: nil).
NOT_HANDLED: Any = _NotHandled()

_OK = SimpleString(b"OK")

# Redis's string2ll accepts an optional minus sign and no leading zeros,
# spaces or plus sign; Python's int() accepts all of those, so check first.
_INTEGER = re.compile(rb"^(?:0|-?[1-9][0-9]{0,18})$")
# A plain decimal score. Python's float() also takes "1_0", " 1" and "nan",
# which Redis rejects, so anything outside this shape goes to fakeredis.
_DECIMAL = re.compile(rb"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
_INFINITIES = {b"inf": math.inf, b"+inf": math.inf, b"-inf": -math.inf}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _integer(raw: bytes) -> int | None:
    if _INTEGER.match(raw) is None:
        return None
    value = int(raw)
    return value if _INT64_MIN <= value <= _INT64_MAX else None


def _score(raw: bytes) -> float | None:
    """Parse a score or range bound; None when fakeredis must decide (errors, exclusive bounds)."""
    if _DECIMAL.match(raw) is not None:
        return float(raw)
    return _INFINITIES.get(raw.lower())


def _hash_getter(value: Hash) -> Callable[[bytes], Any]:
    """Return the field lookup of a Hash, its plain dict's get when no field has a TTL."""
    if _HASH_INTERNALS and not value._expiry_heap:
        get: Callable[[bytes], Any] = value._values.get
        return get
    return value.get


# fakeredis 2.3x keeps hash fields in `_values` and field TTLs in `_expiry_heap`;
# with another layout the public (slower) accessors are used.
_HASH_INTERNALS = hasattr(Hash(), "_values") and hasattr(Hash(), "_expiry_heap")


def _inclusive_range(start: int, stop: int, length: int) -> tuple[int, int]:
    """Clamp a Redis index range (negative counts from the end, stop inclusive).

    The result is empty when start > stop, as ZRANGE, LRANGE and LTRIM treat it.
    """
    if start < 0:
        start = max(length + start, 0)
    if stop < 0:
        stop += length
    return start, min(stop, length - 1)


def format_score(score: float) -> bytes:
    # Redis 7.0 replies with doubles as "%.17g" and "inf"/"-inf" (addReplyDouble).
    if math.isinf(score):
        return b"inf" if score > 0 else b"-inf"
    return b"%.17g" % score


class DirectCommands:
    """Run common commands on one fakeredis `Database`, marking written keys.

    `table` maps a command name (lowercase or uppercase) to its fast
    implementation, which takes the arguments after the name and returns the
    reply, or `NOT_HANDLED`.
    `written` collects the keys written since it was last cleared, so the
    caller can wake WATCHers once the script finishes, as Redis does.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.written: set[bytes] = set()
        self.table: dict[bytes, Callable[[Sequence[bytes]], Any]] = {
            b"hget": self.hget,
            b"hmget": self.hmget,
            b"hset": self.hset,
            b"hmset": self.hmset,
            b"hincrby": self.hincrby,
            b"hdel": self.hdel,
            b"hgetall": self.hgetall,
            b"zadd": self.zadd,
            b"zrem": self.zrem,
            b"zscore": self.zscore,
            b"zcard": self.zcard,
            b"zcount": self.zcount,
            b"zincrby": self.zincrby,
            b"zrange": self.zrange,
            b"zrevrange": self.zrevrange,
            b"zrangebyscore": self.zrangebyscore,
            b"zrevrangebyscore": self.zrevrangebyscore,
            b"sadd": self.sadd,
            b"srem": self.srem,
            b"smembers": self.smembers,
            b"sismember": self.sismember,
            b"scard": self.scard,
            b"del": self.delete,
            b"exists": self.exists,
            b"llen": self.llen,
            b"lrange": self.lrange,
            b"rpush": self.rpush,
            b"lpush": self.lpush,
            b"lpop": self.lpop,
            b"ltrim": self.ltrim,
            b"zremrangebyscore": self.zremrangebyscore,
            b"zremrangebyrank": self.zremrangebyrank,
        }

        # Redis command names are case-insensitive; qless-core writes them in lowercase.
        for lowercase in list(self.table):
            self.table[lowercase.upper()] = self.table[lowercase]

    # -- key access -----------------------------------------------------------

    def _get(self, key: bytes) -> Any:
        """Return the live value at `key`, or None; expired keys are removed as Redis does."""
        item = self.db._dict.get(key)
        if item is None:
            return None
        if item.expireat is not None and item.expireat < self.db.time:
            del self.db._dict[key]
            return None
        return item.value

    def _store(self, key: bytes, value: Any) -> None:
        self.db._dict[key] = Item(value)

    def _drop_if_empty(self, key: bytes, value: Any) -> None:
        # Redis deletes a hash, set, list or sorted set when its last element goes.
        if len(value) == 0:
            self.db._dict.pop(key, None)

    # -- hashes ---------------------------------------------------------------

    def hget(self, args: Sequence[bytes]) -> Any:
        if len(args) != 2:
            return NOT_HANDLED
        value = self._get(args[0])
        if value is None:
            return None
        if type(value) is not Hash:
            return NOT_HANDLED
        return _hash_getter(value)(args[1])

    def hmget(self, args: Sequence[bytes]) -> Any:
        if len(args) < 2:
            return NOT_HANDLED
        value = self._get(args[0])
        if value is None:
            return [None] * (len(args) - 1)
        if type(value) is not Hash:
            return NOT_HANDLED
        get = _hash_getter(value)
        return [get(field) for field in args[1:]]

    def _hset(self, args: Sequence[bytes]) -> Any:
        if len(args) < 3 or len(args) % 2 == 0:
            return NOT_HANDLED
        key = args[0]
        value = self._get(key)
        if value is None:
            value = Hash()
            self._store(key, value)
        elif type(value) is not Hash:
            return NOT_HANDLED
        added = 0
        if _HASH_INTERNALS and not value._expiry_heap:
            # No field has a TTL, so the plain dict is the whole hash.
            fields = value._values
            for index in range(1, len(args), 2):
                field = args[index]
                if field not in fields:
                    added += 1
                fields[field] = args[index + 1]
        else:
            for index in range(1, len(args), 2):
                field = args[index]
                if field not in value:
                    added += 1
                value[field] = args[index + 1]
        self.written.add(key)
        return added

    def hset(self, args: Sequence[bytes]) -> Any:
        return self._hset(args)

    def hmset(self, args: Sequence[bytes]) -> Any:
        return NOT_HANDLED if self._hset(args) is NOT_HANDLED else _OK

    def hincrby(self, args: Sequence[bytes]) -> Any:
        if len(args) != 3:
            return NOT_HANDLED
        key, field = args[0], args[1]
        amount = _integer(args[2])
        if amount is None:
            return NOT_HANDLED
        value = self._get(key)
        if value is not None and type(value) is not Hash:
            return NOT_HANDLED
        current = 0
        if value is not None:
            raw = value.get(field)
            if raw is not None:
                parsed = _integer(raw)
                if parsed is None:
                    return NOT_HANDLED
                current = parsed
        result = current + amount
        if not _INT64_MIN <= result <= _INT64_MAX:
            return NOT_HANDLED
        if value is None:
            value = Hash()
            self._store(key, value)
        value[field] = b"%d" % result
        self.written.add(key)
        return result

    def hdel(self, args: Sequence[bytes]) -> Any:
        if len(args) < 2:
            return NOT_HANDLED
        key = args[0]
        value = self._get(key)
        if value is None:
            return 0
        if type(value) is not Hash:
            return NOT_HANDLED
        deleted = 0
        for field in set(args[1:]):
            if field in value:
                del value[field]
                deleted += 1
        if deleted:
            self.written.add(key)
            self._drop_if_empty(key, value)
        return deleted

    def hgetall(self, args: Sequence[bytes]) -> Any:
        if len(args) != 1:
            return NOT_HANDLED
        value = self._get(args[0])
        if value is None:
            return []
        if type(value) is not Hash:
            return NOT_HANDLED
        return list(itertools.chain.from_iterable(value.getall().items()))

    # -- sorted sets ----------------------------------------------------------

    def _zset(self, key: bytes) -> Any:
        """Return the ZSet at `key`, None when missing, or False for another type."""
        value = self._get(key)
        if value is None or type(value) is ZSet:
            return value
        return False

    def zadd(self, args: Sequence[bytes]) -> Any:
        if len(args) < 3 or len(args) % 2 == 0:
            return NOT_HANDLED
        pairs = []
        for index in range(1, len(args), 2):
            score = _score(args[index])
            if score is None:
                # Options (NX, XX, GT, LT, CH, INCR) and invalid scores.
                return NOT_HANDLED
            pairs.append((score, args[index + 1]))
        key = args[0]
        zset = self._zset(key)
        if zset is False:
            return NOT_HANDLED
        if zset is None:
            zset = ZSet()
            self._store(key, zset)
        added = 0
        for score, member in pairs:
            if member not in zset:
                added += 1
            zset.add(member, score)
        self.written.add(key)
        return added

    def zrem(self, args: Sequence[bytes]) -> Any:
        if len(args) < 2:
            return NOT_HANDLED
        key = args[0]
        zset = self._zset(key)
        if zset is False:
            return NOT_HANDLED
        if zset is None:
            return 0
        removed = 0
        for member in args[1:]:
            if member in zset:
                zset.discard(member)
                removed += 1
        if removed:
            self.written.add(key)
            self._drop_if_empty(key, zset)
        return removed

    def zscore(self, args: Sequence[bytes]) -> Any:
        if len(args) != 2:
            return NOT_HANDLED
        zset = self._zset(args[0])
        if zset is False:
            return NOT_HANDLED
        if zset is None:
            return None
        score = zset.get(args[1])
        return None if score is None else format_score(score)

    def zcard(self, args: Sequence[bytes]) -> Any:
        if len(args) != 1:
            return NOT_HANDLED
        zset = self._zset(args[0])
        if zset is False:
            return NOT_HANDLED
        return 0 if zset is None else len(zset)

    def zcount(self, args: Sequence[bytes]) -> Any:
        if len(args) != 3:
            return NOT_HANDLED
        low, high = _score(args[1]), _score(args[2])
        if low is None or high is None:
            return NOT_HANDLED
        zset = self._zset(args[0])
        if zset is False:
            return NOT_HANDLED
        if zset is None:
            return 0
        return sum(1 for _ in zset.irange_score((low,), (high, _AFTER_ANY), False))

    def zincrby(self, args: Sequence[bytes]) -> Any:
        if len(args) != 3:
            return NOT_HANDLED
        amount = _score(args[1])
        if amount is None:
            return NOT_HANDLED
        key, member = args[0], args[2]
        zset = self._zset(key)
        if zset is False:
            return NOT_HANDLED
        score = amount + (zset.get(member, 0.0) if zset is not None else 0.0)
        if math.isnan(score):
            return NOT_HANDLED
        if zset is None:
            zset = ZSet()
            self._store(key, zset)
        zset.add(member, score)
        self.written.add(key)
        return format_score(score)

    def _range_by_rank(self, args: Sequence[bytes], reverse: bool) -> Any:
        if len(args) != 3:
            return NOT_HANDLED
        start, stop = _integer(args[1]), _integer(args[2])
        if start is None or stop is None:
            return NOT_HANDLED
        zset = self._zset(args[0])
        if zset is False:
            return NOT_HANDLED
        if zset is None:
            return []
        length = len(zset)
        start, stop = _inclusive_range(start, stop, length)
        if start > stop:
            return []
        if reverse:
            # Ranks count from the highest score; islice takes forward positions.
            start, stop = length - 1 - stop, length - 1 - start
        return [member for _, member in zset.islice_score(start, stop + 1, reverse)]

    def zrange(self, args: Sequence[bytes]) -> Any:
        return self._range_by_rank(args, False)

    def zrevrange(self, args: Sequence[bytes]) -> Any:
        return self._range_by_rank(args, True)

    def _range_by_score(self, args: Sequence[bytes], reverse: bool) -> Any:
        if len(args) == 3:
            offset, count = 0, -1
        elif len(args) == 6 and args[3].lower() == b"limit":
            parsed_offset, parsed_count = _integer(args[4]), _integer(args[5])
            if parsed_offset is None or parsed_count is None:
                return NOT_HANDLED
            offset, count = parsed_offset, parsed_count
        else:
            return NOT_HANDLED
        first, second = _score(args[1]), _score(args[2])
        if first is None or second is None:
            return NOT_HANDLED
        low, high = (second, first) if reverse else (first, second)
        zset = self._zset(args[0])
        if zset is False:
            return NOT_HANDLED
        if zset is None or offset < 0:
            # Redis returns an empty array for a negative offset.
            return []
        members = (member for _, member in zset.irange_score((low,), (high, _AFTER_ANY), reverse))
        stop = None if count < 0 else offset + count
        return list(itertools.islice(members, offset, stop))

    def zremrangebyscore(self, args: Sequence[bytes]) -> Any:
        if len(args) != 3:
            return NOT_HANDLED
        low, high = _score(args[1]), _score(args[2])
        if low is None or high is None:
            return NOT_HANDLED
        key = args[0]
        zset = self._zset(key)
        if zset is False:
            return NOT_HANDLED
        if zset is None:
            return 0
        doomed = [member for _, member in zset.irange_score((low,), (high, _AFTER_ANY), False)]
        return self._zremove(key, zset, doomed)

    def zremrangebyrank(self, args: Sequence[bytes]) -> Any:
        if len(args) != 3:
            return NOT_HANDLED
        key = args[0]
        doomed = self._range_by_rank(args, False)
        if doomed is NOT_HANDLED or not doomed:
            return NOT_HANDLED if doomed is NOT_HANDLED else 0
        return self._zremove(key, self._zset(key), doomed)

    def _zremove(self, key: bytes, zset: Any, members: list[bytes]) -> int:
        for member in members:
            zset.discard(member)
        if members:
            self.written.add(key)
            self._drop_if_empty(key, zset)
        return len(members)

    def zrangebyscore(self, args: Sequence[bytes]) -> Any:
        return self._range_by_score(args, False)

    def zrevrangebyscore(self, args: Sequence[bytes]) -> Any:
        return self._range_by_score(args, True)

    # -- sets -----------------------------------------------------------------

    def _set(self, key: bytes) -> Any:
        value = self._get(key)
        if value is None or type(value) is ExpiringMembersSet:
            return value
        return False

    def sadd(self, args: Sequence[bytes]) -> Any:
        if len(args) < 2:
            return NOT_HANDLED
        key = args[0]
        members = self._set(key)
        if members is False:
            return NOT_HANDLED
        if members is None:
            members = ExpiringMembersSet()
            self._store(key, members)
        before = len(members)
        members.update(args[1:])
        self.written.add(key)
        return len(members) - before

    def srem(self, args: Sequence[bytes]) -> Any:
        if len(args) < 2:
            return NOT_HANDLED
        key = args[0]
        members = self._set(key)
        if members is False:
            return NOT_HANDLED
        if members is None:
            return 0
        removed = 0
        for member in set(args[1:]):
            if member in members:
                members.discard(member)
                removed += 1
        if removed:
            self.written.add(key)
            self._drop_if_empty(key, members)
        return removed

    def smembers(self, args: Sequence[bytes]) -> Any:
        if len(args) != 1:
            return NOT_HANDLED
        members = self._set(args[0])
        if members is False:
            return NOT_HANDLED
        return [] if members is None else list(members)

    def sismember(self, args: Sequence[bytes]) -> Any:
        if len(args) != 2:
            return NOT_HANDLED
        members = self._set(args[0])
        if members is False:
            return NOT_HANDLED
        return 0 if members is None else int(args[1] in members)

    def scard(self, args: Sequence[bytes]) -> Any:
        if len(args) != 1:
            return NOT_HANDLED
        members = self._set(args[0])
        if members is False:
            return NOT_HANDLED
        return 0 if members is None else len(members)

    # -- keys and lists -------------------------------------------------------

    def delete(self, args: Sequence[bytes]) -> Any:
        if not args:
            return NOT_HANDLED
        deleted = 0
        for key in set(args):
            if self._get(key) is not None:
                del self.db._dict[key]
                self.written.add(key)
                deleted += 1
        return deleted

    def exists(self, args: Sequence[bytes]) -> Any:
        if not args:
            return NOT_HANDLED
        # EXISTS counts a key once for each time it is named.
        return sum(1 for key in args if self._get(key) is not None)

    def _list(self, key: bytes) -> Any:
        value = self._get(key)
        if value is None or type(value) is list:
            return value
        return False

    def llen(self, args: Sequence[bytes]) -> Any:
        if len(args) != 1:
            return NOT_HANDLED
        items = self._list(args[0])
        if items is False:
            return NOT_HANDLED
        return 0 if items is None else len(items)

    def lrange(self, args: Sequence[bytes]) -> Any:
        if len(args) != 3:
            return NOT_HANDLED
        start, stop = _integer(args[1]), _integer(args[2])
        if start is None or stop is None:
            return NOT_HANDLED
        items = self._list(args[0])
        if items is False:
            return NOT_HANDLED
        if items is None:
            return []
        start, stop = _inclusive_range(start, stop, len(items))
        if start > stop:
            return []
        return items[start : stop + 1]

    def _push(self, args: Sequence[bytes], left: bool) -> Any:
        if len(args) < 2:
            return NOT_HANDLED
        key = args[0]
        items = self._list(key)
        if items is False:
            return NOT_HANDLED
        if items is None:
            items = []
            self._store(key, items)
        if left:
            # LPUSH a b c leaves c first.
            items[0:0] = reversed(args[1:])
        else:
            items.extend(args[1:])
        self.written.add(key)
        return len(items)

    def lpop(self, args: Sequence[bytes]) -> Any:
        if len(args) != 1:
            # LPOP key count replies with an array; fakeredis handles that form.
            return NOT_HANDLED
        key = args[0]
        items = self._list(key)
        if items is False:
            return NOT_HANDLED
        if not items:
            return None
        first = items.pop(0)
        self.written.add(key)
        self._drop_if_empty(key, items)
        return first

    def ltrim(self, args: Sequence[bytes]) -> Any:
        if len(args) != 3:
            return NOT_HANDLED
        start, stop = _integer(args[1]), _integer(args[2])
        if start is None or stop is None:
            return NOT_HANDLED
        key = args[0]
        items = self._list(key)
        if items is False:
            return NOT_HANDLED
        if items is None:
            return _OK
        start, stop = _inclusive_range(start, stop, len(items))
        if start > stop:
            del items[:]
        else:
            del items[stop + 1 :]
            del items[:start]
        self.written.add(key)
        self._drop_if_empty(key, items)
        return _OK

    def rpush(self, args: Sequence[bytes]) -> Any:
        return self._push(args, False)

    def lpush(self, args: Sequence[bytes]) -> Any:
        return self._push(args, True)


class _AfterAnyMember:
    """Sorts after every member, so (score, _AFTER_ANY) includes all members at `score`."""

    def __lt__(self, other: object) -> bool:
        return False

    def __gt__(self, other: object) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        return other is self

    def __hash__(self) -> int:
        return 0


_AFTER_ANY = _AfterAnyMember()
