"""The Lua side of the engine: one lupa Lua 5.1 runtime that runs one qless-core script.

The script is compiled once, with Redis's chunk name ``@user_script``, and run
through an error handler written the way Redis 7.0 reports script errors.
`redis.call` is bridged to fakeredis's command implementations on the
simulated server's data, in process.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import lupa.lua51 as lua
from fakeredis._helpers import SimpleError, SimpleString

from ..errors import RedisRulesError
from ._cjson import (
    ENCODER_SOURCE,
    MAX_DEPTH,
    SPARSE_RATIO,
    SPARSE_SAFE,
    CjsonError,
    Decoder,
    lua_type_name,
)
from ._commands import NOT_HANDLED

# Redis versions whose script rules the runtime can emulate. 6.2.7 made the
# Lua globals and libraries read-only; 7.0 changed the error reply wrapping.
SUPPORTED_REDIS_RULES = (5, 6, 7)
DEFAULT_REDIS_RULES = 7

# Lua installed once per runtime. It receives the Python bridges, builds the
# `redis` and `cjson` tables, and returns the functions that bind and run a
# compiled chunk. The bridges `redis.call`, `redis.pcall`, `redis.sha1hex`,
# `cjson.encode`, `cjson.decode` and (under rules 5 and 6) `redis.error_reply`
# and `redis.status_reply` are Python callables, which Lua sees as C
# functions as on Redis: a tail call such as `return redis.call(...)` then
# keeps the script's frame, so errors name the script's line.
_PRELUDE = b"""
local py_call, py_pcall, py_encode, py_decode, py_sha1, py_error_kind, null, rules,
      py_error_reply, py_status_reply, strict_create, strict_read = ...
local error, type, getinfo, xpcall, setfenv = error, type, debug.getinfo, xpcall, setfenv
local select, tostring, tonumber, setmetatable = select, tostring, tonumber, setmetatable
local sub, find = string.sub, string.find

local G = _G
local readonly = rules >= 7

-- Libraries and functions that Redis does not offer to scripts. Redis 7.0
-- also removes print, getfenv, setfenv and newproxy, but Redis 5.0.6 keeps them.
-- NOTE: under rules 5 and 6, getfenv(0) returns the runtime's own globals,
-- not the table the script reads its globals from as on Redis.
local removed = {'io', 'os', 'package', 'require', 'module', 'loadfile',
                 'dofile', 'python', 'debug'}
if readonly then
  for _, name in ipairs({'newproxy', 'print', 'getfenv', 'setfenv'}) do
    removed[#removed + 1] = name
  end
end
for _, name in ipairs(removed) do
  G[name] = nil
end

-- redis.status_reply and redis.error_reply of Redis 7.0, where a failure
-- carries the code ERR instead of a position. Under older rules both are
-- Python bridges, which keep the script's frame for the position even in a
-- tail call such as `return redis.error_reply()`.
local function push_error(message)
  return {err = 'ERR ' .. message}
end

local function single_field_table(field, ...)
  local value = ...
  if select('#', ...) ~= 1 or type(value) ~= 'string' then
    return push_error('wrong number or type of arguments')
  end
  return {[field] = value}
end

local redis = {}
redis.call = py_call
redis.pcall = py_pcall
redis.sha1hex = py_sha1
if readonly then
  redis.status_reply = function(...) return single_field_table('ok', ...) end
  redis.error_reply = function(...)
    local message = ...
    if select('#', ...) ~= 1 or type(message) ~= 'string' then
      return push_error('wrong number or type of arguments')
    end
    -- Redis 7.0 (luaPushErrorBuff) reads '-CODE message' and else uses the code ERR.
    if sub(message, 1, 1) == '-' then message = sub(message, 2) end
    if not find(message, ' ', 1, true) then message = 'ERR ' .. message end
    return {err = message}
  end
else
  -- NOTE: type(redis.error_reply) is then 'userdata' where Redis 5.0.6 says 'function'.
  redis.status_reply = py_status_reply
  redis.error_reply = py_error_reply
end

-- C's (int) cast of a Lua number, as Redis applies it to log levels and
-- replication flags: NaN and out-of-range values become INT_MIN on x86-64.
local function to_c_int(number)
  if number ~= number or number >= 2147483648 or number < -2147483648 then
    return -2147483648
  end
  return number < 0 and -math.floor(-number) or math.floor(number)
end

-- redis.log and redis.set_repl check their arguments with the messages of
-- Redis 5.0.6 and 7.0.15, then do nothing: the simulator keeps no server log,
-- and scripts are replicated by their effects (the default since Redis 5.0).
-- NOTE: they are Lua functions, so a failing tail call such as
-- `return redis.log(9, 'x')` cannot name the script's line, unlike Redis.
redis.log = function(...)
  if select('#', ...) < 2 then error('redis.log() requires two arguments or more.', 0) end
  local level = tonumber((...))
  if level == nil then error('First argument must be a number (log level).', 0) end
  level = to_c_int(level)
  if level < 0 or level > 3 then error('Invalid debug level.', 0) end
end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.replicate_commands = function() return true end
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE = 0, 1, 2
redis.REPL_REPLICA, redis.REPL_ALL = 2, 3
redis.set_repl = function(...)
  if select('#', ...) ~= 1 then error('redis.set_repl() requires two arguments.', 0) end
  -- Redis reads a value that is not a number as the flags 0.
  local flags = to_c_int(tonumber((...)) or 0)
  if flags < 0 or flags > 3 then
    error('Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.', 0)
  end
end
redis.breakpoint = function() return false end
redis.debug = function() end

-- Redis replaces math.random and math.randomseed with its own lrand48
-- (redisLrand48: X = (0x5DEECE66D * X + 0xB) mod 2^48) and reseeds it with 0
-- before every script, so each call sees the same sequence. X is kept as two
-- 24-bit halves so that every product stays exact in a double.
local floor = math.floor
local TWO24 = 16777216
local A_HIGH, A_LOW = 1502, 15525485
local rand_high, rand_low = 0, 0

local function rand_seed(seed)
  -- X = seed << 16 | 0x330E, with seed as a 32-bit integer.
  seed = seed % 4294967296
  local low16, high16 = seed % 65536, floor(seed / 65536)
  rand_high = high16 * 256 + floor(low16 / 256)
  rand_low = (low16 % 256) * 65536 + 0x330E
end

local function lrand48()
  local low = A_LOW * rand_low + 11
  local high = A_HIGH * rand_low + A_LOW * rand_high + floor(low / TWO24)
  rand_low = low % TWO24
  rand_high = high % TWO24
  -- lrand48 returns the top 31 bits of X.
  return rand_high * 128 + floor(rand_low / 131072)
end

local INT32_MAX = 2147483647
local function check_int(value, position)
  local number = tonumber(value)
  if number == nil then
    error("bad argument #" .. position .. " to 'random' (number expected, got "
          .. type(value) .. ")", 3)
  end
  return number < 0 and -floor(-number) or floor(number)
end

-- redis_math_random (Redis 5.0 to 7.x).
-- NOTE: this is a Lua function, so in `return math.random(0)` (a tail call)
-- its argument error cannot name the script's line, unlike Redis's C function.
local function random(...)
  local r = (lrand48() % INT32_MAX) / INT32_MAX
  local count = select('#', ...)
  if count == 0 then return r end
  if count == 1 then
    local upper = check_int((...), 1)
    if upper < 1 then error("bad argument #1 to 'random' (interval is empty)", 2) end
    return floor(r * upper) + 1
  end
  if count == 2 then
    local lower, upper = ...
    lower, upper = check_int(lower, 1), check_int(upper, 2)
    if lower > upper then error("bad argument #2 to 'random' (interval is empty)", 2) end
    return floor(r * (upper - lower + 1)) + lower
  end
  error('wrong number of arguments', 2)
end

G.math.random = random
rand_seed(0)
G.math.randomseed = function(seed) rand_seed(check_int(seed, 1)) end

local cjson = {null = null, encode = py_encode, decode = py_decode}
G.redis = redis
G.cjson = cjson

local function missing_global(_, name)
  error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
end

-- The script sees a copy of the globals, so the runtime's own _G (which lupa
-- uses) keeps no metatable. Reads fall through `env` to `script_globals`.
local script_globals = {}
for name, value in pairs(G) do script_globals[name] = value end

local env
if readonly then
  -- Redis 6.2.7+: globals and library tables are read-only (lua_enablereadonlytable).
  local function reject() error('Attempt to modify a readonly table', 2) end
  local function freeze(t)
    return setmetatable({}, {__index = t, __newindex = reject, __metatable = false})
  end
  for _, name in ipairs({'string', 'table', 'math', 'coroutine', 'redis', 'cjson'}) do
    if script_globals[name] then script_globals[name] = freeze(script_globals[name]) end
  end
  env = setmetatable({}, {__index = script_globals, __newindex = reject, __metatable = false})
else
  -- Redis before 6.2.7: libraries are writable, but creating or reading a
  -- missing global raises, from the checks of the @enable_strict_lua chunk.
  missing_global = strict_read
  env = setmetatable({}, {__index = script_globals, __newindex = strict_create,
                          __metatable = false})
end
script_globals._G = env
setmetatable(script_globals, {__index = missing_global})

-- Redis's error handler (7.0 and 5.0 alike) reports the function that raised
-- (level 2), or its caller when that is a C function. Frames of this prelude
-- stand for Redis's C code, so they are skipped too.
local function handler(err)
  local level = 2
  local info = getinfo(level, 'Sl')
  if info and info.what == 'C' then
    level = 3
    info = getinfo(level, 'Sl')
  end
  while info and (info.source == '=qless_sim' or info.source == '=(tail call)'
                  or (level > 3 and info.what == 'C')) do
    level = level + 1
    info = getinfo(level, 'Sl')
  end

  local kind, text = type(err), nil
  if kind == 'userdata' then
    -- A Python bridge raised: 'reply' is an error table from Redis,
    -- 'caller' a luaL_error message that names the caller's position.
    kind, text = py_error_kind(err)
    if kind == 'caller' then
      kind = 'string'
      if info and info.currentline > 0 then
        text = info.short_src .. ':' .. info.currentline .. ': ' .. text
      end
    elseif kind == 'other' then
      text = tostring(err)
      if not readonly then kind, text = 'handler', 'userdata' end
    end
  elseif kind == 'string' or kind == 'number' then
    kind, text = 'string', tostring(err)
  elseif not readonly then
    -- Redis 5.0's handler concatenates the error value into its message,
    -- which fails for any other type; the wrapper words that failure.
    kind, text = 'handler', kind
  elseif kind == 'table' then
    text = err.err
    if text ~= nil then text = tostring(text) end
  else
    kind, text = 'other', tostring(err)
  end
  return {kind, text or false, info and info.source or false, info and info.currentline or false}
end

local function bind(chunk)
  setfenv(chunk, env)
end

local function run(chunk, keys, argv)
  -- Redis 5.0 reseeds before every script; Redis 7.0 keeps one sequence per server.
  if not readonly then rand_seed(0) end
  script_globals.KEYS = keys
  script_globals.ARGV = argv
  return xpcall(chunk, handler)
end

return bind, run
"""

# The strict-globals checks for rules before 6.2.7, compiled as a chunk named
# "@enable_strict_lua". Redis 5.0.6 runs its own checks in a chunk of that
# name, and its error handler reports the position of the check that raised.
# That is line 8 for creating a global and line 15 for reading a missing one,
# as in "@enable_strict_lua:15: user_script:1: Script attempted to access ...".
# The two `error` calls below are on those lines, so replies name the same
# position.
_STRICT_GLOBALS_5 = b"""local error, tostring = error, tostring

-- __newindex of the script's environment: a script may not create a
-- global. Level 2 makes the message name the script line that tried, and
-- the error call stays on line 8, where Redis 5.0.6 raises the same error.
local function create_global(_, name)
  local message = "Script attempted to create global variable '"
  error(message .. tostring(name) .. "'", 2)
end

-- __index of the globals table: a script may not read a global that does
-- not exist. The error call stays on line 15, as in Redis 5.0.6.
local function missing_global(_, name)
  local message = "Script attempted to access nonexistent global variable '"
  error(message .. tostring(name) .. "'", 2)
end

return create_global, missing_global
"""

# Messages of redis.call and redis.pcall when the script itself is at fault
# (Redis 7.0 script_lua.c and script.c; Redis 5.0 scripting.c).
_SCRIPT_ERRORS_7 = {
    "no_args": "Please specify at least one argument for this redis lib call",
    "bad_arg": "Lua redis lib command arguments must be strings or integers",
    "unknown": "Unknown Redis command called from script",
    "arity": "Wrong number of args calling Redis command from script",
}
# Redis 5.0.6 wording, checked against a real Redis 5.0.6 by the tests that
# use QLESS_SIM_TEST_REDIS5_URL (.ci/run builds and starts one).
# NOTE: rules 6 reuse this wording; no Redis 6.0 to 6.2.6 server checks it.
_SCRIPT_ERRORS_5 = {
    "no_args": "Please specify at least one argument for redis.call()",
    "bad_arg": "Lua redis() command arguments must be strings or integers",
    "unknown": "Unknown Redis command called from Lua script",
    "arity": "Wrong number of args calling Redis command From Lua script",
    "single_field": "wrong number or type of arguments",
}
# redis.sha1hex raises this message. Redis 5.0 adds no position of its own,
# so the error handler names the line once, and Redis 7.0 adds the code ERR.
_SHA1HEX_ERROR = "wrong number of arguments"
# The error Redis 5.0.6's handler raises when it concatenates an error value
# that is not a string or a number, such as the table of error({err='x'}).
# Lua 5.1 passes that error to the handler again, which prefixes the position
# in its own chunk, so the position appears twice.
_HANDLER_ERROR_5 = (
    "@err_handler_def:8: err_handler_def:8: attempt to concatenate local 'err' (a {type} value)"
)
# The two script errors `SimulatedServer._execute` raises, by their text.
_EXECUTE_ERRORS = {
    "ERR Unknown Redis command called from script": "unknown",
    "ERR Wrong number of args calling Redis command from script": "arity",
}

# Redis converts a Lua number reply with a C cast to long long; on x86-64 a
# value out of range (or NaN) becomes INT64_MIN.
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


class _ReplyError(Exception):
    """Raised by a bridge for an error table (redis.call's failures); carries its text."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class _CallerError(Exception):
    """Raised by a bridge for a luaL_error message; Lua prefixes the caller's position."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class ScriptReplyError(Exception):
    """A Redis error reply produced by running a script, worded as the emulated Redis does."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


def check_redis_rules(value: object) -> int:
    """Validate an emulated Redis rules version (5, 6 or 7) and return it as an int."""
    try:
        rules = int(str(value).split(".")[0]) if not isinstance(value, bool) else None
    except ValueError:
        rules = None
    if rules not in SUPPORTED_REDIS_RULES:
        accepted = ", ".join(str(v) for v in SUPPORTED_REDIS_RULES)
        raise RedisRulesError(
            f"redis_rules={value!r} is not supported; use one of {accepted} "
            "(7: Redis 6.2.7 and later, with read-only Lua globals; 5 or 6: older Redis)"
        )
    return rules


class Runtime:
    """One Lua state running one compiled qless-core script against a command executor.

    `execute(name, args)` runs a Redis command on the data and returns its
    Python reply; a `SimpleError` it raises becomes a Redis error in Lua.
    """

    def __init__(
        self,
        source: bytes,
        execute: Callable[[bytes, Sequence[bytes]], Any],
        redis_rules: int = DEFAULT_REDIS_RULES,
    ) -> None:
        self.redis_rules = check_redis_rules(redis_rules)
        self.sha = hashlib.sha1(source).hexdigest()
        self.compilations = 0
        self._execute = execute
        # Command name -> direct implementation (see `_commands.DirectCommands`),
        # set by the server before each run; a command it declines, or one
        # missing here, goes through `execute`.
        self.direct_table: dict[bytes, Callable[[Sequence[bytes]], Any]] = {}
        self._script_errors = _SCRIPT_ERRORS_7 if self.redis_rules >= 7 else _SCRIPT_ERRORS_5
        self._sha1hex_error = _SHA1HEX_ERROR
        if self.redis_rules >= 7:
            self._sha1hex_error = "ERR " + _SHA1HEX_ERROR
        self._lua = lua.LuaRuntime(encoding=None, unpack_returned_tuples=True)
        self._table_from = self._lua.table_from
        self._lua_type = lua.lua_type
        # cjson.null is a NULL light userdata in lua-cjson; a userdata whose
        # tostring reads the same replaces it.
        self._null = self._lua.eval(
            "function() local null = newproxy(true)\n"
            "getmetatable(null).__tostring = function() return 'userdata: (nil)' end\n"
            "return null end"
        )()
        self._encode = self._lua.execute(
            ENCODER_SOURCE, self._null, MAX_DEPTH, SPARSE_RATIO, SPARSE_SAFE
        )
        self._decoder = Decoder(self._lua, self._null)
        # Level 3 from this helper is the script frame that called a bridge.
        self._caller_position = self._lua.execute(
            "local getinfo = debug.getinfo\n"
            "return function() local info = getinfo(3, 'Sl')\n"
            "if info then return info.source, info.currentline end end"
        )
        strict_create = strict_read = None
        if self.redis_rules < 7:
            strict = self._lua.compile(_STRICT_GLOBALS_5, name=b"@enable_strict_lua")
            strict_create, strict_read = strict()
        prelude = self._lua.compile(_PRELUDE, name=b"=qless_sim")
        self._bind, self._run = prelude(
            self._redis_call,
            self._redis_pcall,
            self._cjson_encode,
            self._cjson_decode,
            self._sha1hex,
            _error_kind,
            self._null,
            self.redis_rules,
            self._error_reply_5,
            self._status_reply_5,
            strict_create,
            strict_read,
        )
        self._chunk = self._compile(source)

    def _compile(self, source: bytes) -> Any:
        try:
            chunk = self._lua.compile(source, name=b"@user_script")
        except lua.LuaSyntaxError as error:
            message = str(error).split("\nstack traceback:")[0]
            raise ScriptReplyError(
                f"ERR Error compiling script (new function): {message}"
            ) from None
        self.compilations += 1
        self._bind(chunk)
        return chunk

    def run(self, argv: Sequence[bytes], keys: Sequence[bytes] = ()) -> Any:
        """Run the script with KEYS and ARGV and return its reply as Redis would send it."""
        outcome = self._run(self._chunk, self._table_from(keys), self._table_from(argv))
        # lupa returns a bare True when the script returns nothing.
        if outcome is True:
            return None
        if outcome[0]:
            return self._reply(outcome[1])
        info = outcome[1]
        raise ScriptReplyError(self._wrap_error(info[1], info[2] or None, info[3], info[4]))

    # -- error wording --------------------------------------------------------

    def _wrap_error(self, kind: bytes, message: Any, source: Any, line: Any) -> str:
        text = _text(message) if message is not None else ""
        if self.redis_rules >= 7:
            return self._wrap_error_7(kind, text, source, line)
        return self._wrap_error_5(kind, text, source, line)

    def _wrap_error_7(self, kind: bytes, text: str, source: Any, line: Any) -> str:
        # Redis 7.0 (luaCallFunction): "-<message> script: <sha>, on <source>:<line>.",
        # where a raised string or other value gets the code "ERR ", and an error
        # table (redis.call's errors, error({err=...})) keeps its own text.
        if kind != b"table" and kind != b"reply":
            text = "ERR " + text
        text = _one_line(text)
        if source is False or line is False:
            return text
        return f"{text} script: {self.sha}, on {_text(source)}:{int(line)}."

    def _wrap_error_5(self, kind: bytes, text: str, source: Any, line: Any) -> str:
        # Redis 5.0 (evalGenericCommand): "ERR Error running script (call to f_<sha>):
        # <source>:<line>: <message>" plus the "\n" of its format, sent as a space.
        # Its handler concatenates the error, so any value other than a string
        # or a number fails inside the handler, and that failure is reported.
        if kind == b"handler":
            detail = _HANDLER_ERROR_5.format(type=text)
        elif source is False or line is False:
            detail = text
        else:
            detail = f"{_text(source)}:{int(line)}: {text}"
        return _one_line(f"ERR Error running script (call to f_{self.sha}): {detail}\n")

    # -- replies ----------------------------------------------------------------

    def _reply(self, value: Any) -> Any:
        """Convert a Lua value into the Python form of the Redis reply (RESP2 rules)."""
        kind = type(value)
        if kind is bytes:
            return value
        if kind is int:
            if _INT64_MIN <= value <= _INT64_MAX:
                return value
            return _INT64_MIN
        if kind is float:
            # Redis truncates Lua numbers to integers in replies.
            if _INT64_MIN <= value < 2.0**63:
                return int(value)
            return _INT64_MIN
        if kind is bool:
            return 1 if value else None
        if value is None:
            return None
        if self._lua_type(value) == "table":
            err = value[b"err"]
            if type(err) is bytes:
                raise ScriptReplyError(_one_line(_text(err)))
            ok = value[b"ok"]
            if type(ok) is bytes:
                return SimpleString(ok)
            items = []
            index = 1
            while True:
                item = value[index]
                if item is None:
                    break
                try:
                    items.append(self._reply(item))
                except ScriptReplyError as error:
                    # An error table inside an array is an error element, as
                    # redis-py returns it: an exception instance in the list.
                    items.append(error)
                index += 1
            return items
        return None

    # -- bridges called from Lua ------------------------------------------------

    def _command(self, args: tuple[Any, ...]) -> Any:
        """Run one redis.call command; raise `_ReplyError` with Redis's error text."""
        if not args:
            raise _ReplyError(self._script_error("no_args"))
        # This runs for every redis.call, so the common case (all arguments
        # already strings, a string or integer reply) takes no extra steps.
        for arg in args:
            if type(arg) is not bytes:
                try:
                    args = tuple([_command_arg(item) for item in args])
                except TypeError:
                    raise _ReplyError(self._script_error("bad_arg")) from None
                break
        try:
            reply = self._execute(args[0], args[1:])
        except SimpleError as error:
            script_error = _EXECUTE_ERRORS.get(error.value)
            if script_error is not None:
                raise _ReplyError(self._script_error(script_error)) from None
            raise _ReplyError(self._command_error(error.value)) from None
        kind = type(reply)
        if kind is bytes or kind is int:
            return reply
        return self._to_lua(reply)

    def _redis_call(self, *args: Any) -> Any:
        # The path most redis.call commands take: a direct command (see
        # `direct_table`), string arguments, a string or integer reply.
        if args:
            direct = self.direct_table.get(args[0])
            if direct is not None:
                for arg in args:
                    if type(arg) is not bytes:
                        try:
                            args = tuple([_command_arg(item) for item in args])
                        except TypeError:
                            # A table or boolean argument: `_command` words the error.
                            return self._command(args)
                        break
                reply = direct(args[1:])
                if reply is not NOT_HANDLED:
                    kind = type(reply)
                    if kind is bytes or kind is int:
                        return reply
                    return self._to_lua(reply)
        return self._command(args)

    def _redis_pcall(self, *args: Any) -> Any:
        try:
            return self._redis_call(*args)
        except _ReplyError as error:
            return self._table_from({b"err": error.text.encode("utf-8", "surrogateescape")})

    def _command_error(self, value: str) -> str:
        # Redis 7.0 splits "-CODE message" into code and message (luaPushErrorBuff);
        # Redis 5.0 keeps the reply's text as it is.
        if self.redis_rules >= 7 and " " not in value:
            return "ERR " + value
        return value

    def _script_error(self, name: str) -> str:
        message = self._script_errors[name]
        if self.redis_rules >= 7:
            return "ERR " + message
        # Redis 5.0's luaPushError names the calling line: "@user_script: 3: message".
        position = self._caller_position()
        if position:
            source, line = position
            return f"{_text(source)}: {int(line)}: {message}"
        return message

    def _to_lua(self, reply: Any) -> Any:
        kind = type(reply)
        if kind is bytes or kind is int:
            return reply
        if reply is None:
            return False
        if kind is list:
            for item in reply:
                if type(item) is not bytes:
                    # HMGET and friends: nil elements become false, as in Redis.
                    return self._table_from(
                        [
                            element
                            if type(element) is bytes
                            else False
                            if element is None
                            else self._to_lua(element)
                            for element in reply
                        ]
                    )
            return self._table_from(reply)
        if kind is SimpleString:
            return self._table_from({b"ok": reply.value})
        if kind is str:
            return reply.encode()
        if kind is float:
            return b"%.17g" % reply
        if isinstance(reply, SimpleError):
            return self._table_from({b"err": self._command_error(reply.value).encode()})
        raise TypeError(f"unexpected reply type from fakeredis: {kind.__name__}")

    def _error_reply_5(self, *args: Any) -> Any:
        # redis.error_reply before Redis 7.0: the message goes into the table as it is.
        return self._single_field_table(b"err", args)

    def _status_reply_5(self, *args: Any) -> Any:
        return self._single_field_table(b"ok", args)

    def _single_field_table(self, field: bytes, args: tuple[Any, ...]) -> Any:
        # Redis 5.0 (luaRedisReturnSingleFieldTable) takes exactly one Lua
        # string, and else returns an error table that names the calling line.
        if len(args) != 1 or type(args[0]) is not bytes:
            message = self._script_error("single_field")
            return self._table_from({b"err": message.encode("utf-8", "surrogateescape")})
        return self._table_from({field: args[0]})

    def _sha1hex(self, *args: Any) -> bytes:
        if len(args) != 1:
            raise _ReplyError(self._sha1hex_error)
        value = args[0]
        kind = type(value)
        if kind is bytes:
            data = value
        elif kind is int or kind is float:
            data = b"%.14g" % value
        else:
            # lua_tolstring gives NULL for other types, and Redis hashes "".
            data = b""
        digest: bytes = hashlib.sha1(data).hexdigest().encode()
        return digest

    def _cjson_encode(self, *args: Any) -> Any:
        # NOTE: lupa hands an integral Lua number to Python as an int, so a bare
        # `cjson.encode(-0.0)` gives "0" where Redis gives "-0"; inside a table
        # (which stays in Lua) -0 keeps its sign. The same holds for redis.call
        # arguments.
        if len(args) != 1:
            raise _CallerError("bad argument #1 to 'encode' (expected 1 argument)")
        ok, text = self._encode(args[0])
        if not ok:
            raise _CallerError(_text(text))
        return text

    def _cjson_decode(self, *args: Any) -> Any:
        # NOTE: lua-cjson names the function as the script called it
        # ("to 'd'" after `local d = cjson.decode`); this always names 'decode'.
        if len(args) != 1:
            raise _CallerError("bad argument #1 to 'decode' (expected 1 argument)")
        text = args[0]
        kind = type(text)
        if kind is int or kind is float:
            text = b"%.14g" % text
        elif kind is not bytes:
            raise _CallerError(
                f"bad argument #1 to 'decode' (string expected, got {lua_type_name(text)})"
            )
        try:
            return self._decoder.decode(text)
        except CjsonError as error:
            raise _CallerError(str(error)) from None


def _error_kind(error: Any) -> tuple[bytes, bytes | None]:
    """Classify an error value a Python bridge raised, for the Lua error handler."""
    if isinstance(error, _ReplyError):
        return b"reply", error.text.encode("utf-8", "surrogateescape")
    if isinstance(error, _CallerError):
        return b"caller", error.text.encode("utf-8", "surrogateescape")
    # NOTE: any other Python exception here is a bug in the engine; it reaches
    # the caller as a script error reply with the exception's text.
    if isinstance(error, BaseException):
        return b"string", f"{type(error).__name__}: {error}".encode("utf-8", "replace")
    return b"other", None


def _text(value: Any) -> str:
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else str(value)


def _one_line(text: str) -> str:
    # Redis replaces CR and LF with spaces in error replies (addReplyErrorFormat).
    return text.replace("\r", " ").replace("\n", " ")


def _command_arg(value: Any) -> bytes:
    # Redis 7.0 converts a Lua number argument with "%.17g" (luaRedisGenericCommand).
    kind = type(value)
    if kind is bytes:
        return value  # type: ignore[no-any-return]
    if kind is int or kind is float:
        return b"%.17g" % value
    raise TypeError(value)
