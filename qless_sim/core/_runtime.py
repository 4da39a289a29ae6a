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
from ._cjson import CjsonError, Decoder, Encoder

# Redis versions whose script rules the runtime can emulate. 6.2.7 made the
# Lua globals and libraries read-only; 7.0 changed the error reply wrapping.
SUPPORTED_REDIS_RULES = (5, 6, 7)
DEFAULT_REDIS_RULES = 7

# Lua installed once per runtime. It receives the Python bridges, builds the
# `redis` and `cjson` tables, and returns the function that runs a compiled
# chunk under an error handler that finds the failing line of user_script.
_PRELUDE = b"""
local py_call, py_log, py_encode, py_decode, py_sha1, null, readonly = ...
local error, type, getinfo, xpcall, setfenv = error, type, debug.getinfo, xpcall, setfenv
local select, tostring, setmetatable = select, tostring, setmetatable

local G = _G

-- Libraries that Redis does not load into its scripting state.
for _, name in ipairs({'io', 'os', 'package', 'require', 'module', 'loadfile',
                       'dofile', 'python', 'debug', 'newproxy', 'gcinfo'}) do
  G[name] = nil
end

local redis = {}
redis.call = function(...)
  local ok, reply = py_call(...)
  if not ok then error({err = reply}) end
  return reply
end
redis.pcall = function(...)
  local ok, reply = py_call(...)
  if not ok then return {err = reply} end
  return reply
end
redis.error_reply = function(message) return {err = message} end
redis.status_reply = function(message) return {ok = message} end
redis.sha1hex = function(text) return py_sha1(text) end
redis.log = function(level, ...) py_log(level, ...) end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3

-- lua-cjson raises with luaL_error, which names the caller's line: level 2 here.
local cjson = {null = null}
cjson.encode = function(...)
  if select('#', ...) ~= 1 then
    error("bad argument #1 to 'encode' (expected 1 argument)", 2)
  end
  local ok, text = py_encode(...)
  if not ok then error(text, 2) end
  return text
end
cjson.decode = function(...)
  if select('#', ...) ~= 1 then
    error("bad argument #1 to 'decode' (expected 1 argument)", 2)
  end
  local text = ...
  local kind = type(text)
  if kind == 'number' then
    text = tostring(text)
  elseif kind ~= 'string' then
    error("bad argument #1 to 'decode' (string expected, got " .. kind .. ")", 2)
  end
  local ok, value = py_decode(text)
  if not ok then error(value, 2) end
  return value
end
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
  -- Redis before 6.2.7: libraries are writable, but creating a global is not.
  local function create_global(_, name)
    error("Script attempted to create global variable '" .. tostring(name) .. "'", 2)
  end
  env = setmetatable({}, {__index = script_globals, __newindex = create_global,
                          __metatable = false})
end
script_globals._G = env
setmetatable(script_globals, {__index = missing_global})

-- The innermost frame of user_script, as Redis's error handler reports it.
local function script_line()
  local level = 3
  while true do
    local info = getinfo(level, 'Sl')
    if not info then return -1 end
    if info.source == '@user_script' then return info.currentline end
    level = level + 1
  end
end

local function handler(err)
  if type(err) == 'table' and err.err ~= nil then
    return {true, tostring(err.err), script_line()}
  end
  return {false, tostring(err), script_line()}
end

local function bind(chunk)
  setfenv(chunk, env)
end

local function run(chunk, keys, argv)
  script_globals.KEYS = keys
  script_globals.ARGV = argv
  return xpcall(chunk, handler)
end

return bind, run
"""


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
        self._lua = lua.LuaRuntime(encoding=None, unpack_returned_tuples=True)
        self._null = self._lua.eval("function() return newproxy(false) end")()
        self._encoder = Encoder(self._null)
        self._decoder = Decoder(self._lua, self._null)
        self._table_from = self._lua.table_from
        self._lua_type = lua.lua_type
        prelude = self._lua.compile(_PRELUDE, name=b"=qless_sim")
        self._bind, self._run = prelude(
            self._redis_call,
            self._redis_log,
            self._cjson_encode,
            self._cjson_decode,
            _sha1hex,
            self._null,
            self.redis_rules >= 7,
        )
        self._chunk = self._compile(source)

    def _compile(self, source: bytes) -> Any:
        try:
            chunk = self._lua.compile(source, name=b"@user_script")
        except lua.LuaSyntaxError as error:
            message = str(error).split("\nstack traceback:")[0]
            raise ScriptReplyError(f"ERR Error compiling script (new function): {message}") from None
        self.compilations += 1
        self._bind(chunk)
        return chunk

    def run(self, argv: Sequence[bytes], keys: Sequence[bytes] = ()) -> Any:
        """Run the script with KEYS and ARGV and return its reply as Redis would send it."""
        returned = self._run(self._chunk, self._table_from(keys), self._table_from(argv))
        # lupa returns a lone value unwrapped: a script that returns nothing
        # (config.set) comes back as just the status flag.
        ok, *result = returned if isinstance(returned, tuple) else (returned,)
        if ok:
            return self._reply(result[0] if result else None)
        is_reply, message, line = result[0][1], result[0][2], result[0][3]
        raise ScriptReplyError(self._wrap_error(message, bool(is_reply), int(line)))

    # -- error wording --------------------------------------------------------

    def _wrap_error(self, message: Any, is_reply: bool, line: int) -> str:
        text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
        if self.redis_rules >= 7:
            # Redis 7.0: "ERR <message> script: <sha>, on @user_script:<line>."
            if not is_reply:
                text = "ERR " + text
            elif not text.split(" ", 1)[0].isupper():
                text = "ERR " + text
            return f"{text} script: {self.sha}, on @user_script:{line}."
        # Redis 5 and 6: the reply names the function Redis compiled the body into,
        # and its error handler prefixes the failing position.
        # NOTE: checked against Redis 5.0 source, not against a running Redis 5 or 6.
        return (
            f"ERR Error running script (call to f_{self.sha}): "
            f"@user_script:{line}: {text}"
        )

    # -- replies ----------------------------------------------------------------

    def _reply(self, value: Any) -> Any:
        """Convert a Lua value into the Python form of the Redis reply (RESP2 rules)."""
        kind = type(value)
        if kind is bytes or kind is int:
            return value
        if kind is float:
            # Redis truncates Lua numbers to integers in replies.
            return int(value)
        if kind is bool:
            return 1 if value else None
        if value is None:
            return None
        if self._lua_type(value) == "table":
            ok = value[b"ok"]
            if ok is not None:
                return SimpleString(ok)
            err = value[b"err"]
            if err is not None:
                raise ScriptReplyError(err.decode("utf-8", "replace"))
            items = []
            index = 1
            while True:
                item = value[index]
                if item is None:
                    break
                items.append(self._reply(item))
                index += 1
            return items
        return None

    # -- bridges called from Lua ------------------------------------------------

    def _redis_call(self, *args: Any) -> tuple[bool, Any]:
        if not args:
            return False, b"ERR Please specify at least one argument for this redis lib call"
        try:
            converted = [_command_arg(arg) for arg in args]
        except TypeError:
            return False, b"ERR Lua redis lib command arguments must be strings or integers"
        try:
            reply = self._execute(converted[0], converted[1:])
        except SimpleError as error:
            # Lua strings are bytes here: a Python str would reach Lua as userdata.
            return False, error.value.encode("utf-8", "surrogateescape")
        return True, self._to_lua(reply)

    def _to_lua(self, reply: Any) -> Any:
        kind = type(reply)
        if kind is bytes or kind is int:
            return reply
        if reply is None:
            return False
        if kind is list:
            return self._table_from([self._to_lua(item) for item in reply])
        if kind is SimpleString:
            return self._table_from({b"ok": reply.value})
        if kind is str:
            return reply.encode()
        if kind is float:
            return b"%.17g" % reply
        if isinstance(reply, SimpleError):
            raise reply
        raise TypeError(f"unexpected reply type from fakeredis: {kind.__name__}")

    def _redis_log(self, level: Any, *args: Any) -> None:
        # Redis writes script logs to its own log file; tests have nowhere to read it.
        return None

    def _cjson_encode(self, value: Any) -> tuple[bool, Any]:
        try:
            return True, self._encoder.encode(value)
        except CjsonError as error:
            return False, str(error)

    def _cjson_decode(self, text: bytes) -> tuple[bool, Any]:
        try:
            return True, self._decoder.decode(text)
        except CjsonError as error:
            return False, str(error)


def _sha1hex(text: Any) -> bytes:
    data = text if isinstance(text, bytes) else str(text).encode()
    return hashlib.sha1(data).hexdigest().encode()


def _command_arg(value: Any) -> bytes:
    # Redis 7.0 converts a Lua number argument with "%.17g" (luaRedisGenericCommand).
    kind = type(value)
    if kind is bytes:
        return value
    if kind is int or kind is float:
        return b"%.17g" % value
    raise TypeError(value)
