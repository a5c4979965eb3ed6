"""Configuration: every parameter this server has, its default, parser and validation.

The same table serves the command line, the redis.conf-style file, and CONFIG GET/SET,
so a parameter is declared once. Values are kept parsed (ints, bools...) in
``Config.values``; ``Config.render(name)`` gives the text CONFIG GET shows.
"""
from __future__ import annotations

import fnmatch
import re
from typing import Any, Callable, Dict, List, Optional, Tuple


class ConfigError(ValueError):
    """A bad value for a parameter; the text is Redis's explanation."""


_MEMORY_UNITS = {
    "": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000 ** 2, "mb": 1024 ** 2,
    "g": 1000 ** 3, "gb": 1024 ** 3,
}


def parse_memory(text: str) -> int:
    """Redis memory notation: ``1gb``, ``512mb``, ``100k``, ``4096``."""
    match = re.fullmatch(r"(-?\d+)([a-zA-Z]*)", text.strip())
    if not match or match.group(2).lower() not in _MEMORY_UNITS:
        raise ConfigError("argument must be a memory value")
    return int(match.group(1)) * _MEMORY_UNITS[match.group(2).lower()]


def _render_memory(value: int) -> str:
    return str(value)


class Param:
    """One configuration parameter."""

    __slots__ = ("name", "default", "parse", "render", "mutable", "aliases", "apply")

    def __init__(self, name: str, default: Any, parse: Callable[[str], Any],
                 render: Callable[[Any], str] = str, mutable: bool = True,
                 aliases: Tuple[str, ...] = ()) -> None:
        self.name = name
        self.default = default
        self.parse = parse
        self.render = render
        self.mutable = mutable
        self.aliases = aliases


def _int(lo: int, hi: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ConfigError("argument couldn't be parsed into an integer") from None
        if not lo <= value <= hi:
            raise ConfigError(f"argument must be between {lo} and {hi} inclusive")
        return value
    return parse


def _memory(lo: int, hi: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = parse_memory(text)
        if not lo <= value <= hi:
            raise ConfigError(f"argument must be between {lo} and {hi} inclusive")
        return value
    return parse


def _bool(text: str) -> bool:
    low = text.lower()
    if low == "yes":
        return True
    if low == "no":
        return False
    raise ConfigError("argument must be 'yes' or 'no'")


def _render_bool(value: bool) -> str:
    return "yes" if value else "no"


def _enum(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        low = text.lower()
        if low not in choices:
            raise ConfigError("argument(s) must be one of the following: " + ", ".join(choices))
        return low
    return parse


def _string(text: str) -> str:
    return text


def _bind(text: str) -> str:
    return " ".join(text.split())


def _save(text: str) -> str:
    parts = text.split()
    if len(parts) % 2:
        raise ConfigError("Invalid save parameters")
    for part in parts:
        if not part.isdigit():
            raise ConfigError("Invalid save parameters")
    return " ".join(parts)


def _client_output_buffer_limit(text: str) -> str:
    parts = text.split()
    if len(parts) % 4:
        raise ConfigError("Wrong number of arguments in buffer limit configuration.")
    return " ".join(parts)


def _notify_flags(text: str) -> str:
    if any(ch not in "KEg$lshzxetmdnA" for ch in text):
        raise ConfigError("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
    return text


LONG_MAX = 2 ** 63 - 1

PARAMS: List[Param] = [
    Param("bind", "127.0.0.1", _bind, mutable=False),
    Param("port", 6379, _int(0, 65535), mutable=False),
    Param("unixsocket", "", _string, mutable=False),
    Param("unixsocketperm", 0, lambda t: int(t, 8), render=lambda v: "%o" % v if v else "0",
          mutable=False),
    Param("requirepass", "", _string),
    Param("databases", 16, _int(1, 2 ** 31 - 1), mutable=False),
    Param("dir", ".", _string),
    Param("dbfilename", "dump.rdb", _string),
    Param("appendonly", False, _bool, _render_bool),
    Param("appendfilename", "appendonly.aof", _string, mutable=False),
    Param("appendfsync", "everysec", _enum("always", "everysec", "no")),
    Param("loglevel", "notice", _enum("debug", "verbose", "notice", "warning", "nothing")),
    Param("logfile", "", _string, mutable=False),
    Param("maxclients", 10000, _int(1, 2 ** 31 - 1)),
    Param("timeout", 0, _int(0, 2 ** 31 - 1)),
    Param("tcp-keepalive", 300, _int(0, 2 ** 31 - 1)),
    Param("tcp-backlog", 511, _int(0, 2 ** 31 - 1), mutable=False),
    Param("hz", 10, _int(0, 2 ** 31 - 1)),
    Param("proto-max-bulk-len", 512 * 1024 ** 2, _memory(1024 * 1024, LONG_MAX)),
    Param("client-query-buffer-limit", 1024 ** 3, _memory(1024 * 1024, LONG_MAX)),
    Param("client-output-buffer-limit", "normal 0 0 0 slave 268435456 67108864 60 "
          "pubsub 33554432 8388608 60", _client_output_buffer_limit),
    Param("slowlog-log-slower-than", 10000, _int(-(2 ** 63), LONG_MAX)),
    Param("slowlog-max-len", 128, _int(0, LONG_MAX)),
    Param("latency-monitor-threshold", 0, _int(0, LONG_MAX)),
    Param("notify-keyspace-events", "", _notify_flags),
    Param("maxmemory", 0, _memory(0, LONG_MAX)),
    Param("maxmemory-policy", "noeviction", _enum(
        "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru",
        "allkeys-lfu", "allkeys-random", "noeviction")),
    Param("save", "3600 1 300 100 60 10000", _save),
    Param("busy-reply-threshold", 5000, _int(0, LONG_MAX), aliases=("lua-time-limit",)),
    Param("aof-load-truncated", True, _bool, _render_bool),
    Param("auto-aof-rewrite-percentage", 100, _int(0, 2 ** 31 - 1)),
    Param("auto-aof-rewrite-min-size", 64 * 1024 ** 2, _memory(0, LONG_MAX)),
    Param("daemonize", False, _bool, _render_bool, mutable=False),
    Param("pidfile", "", _string, mutable=False),
    Param("protected-mode", False, _bool, _render_bool),
    Param("lfu-log-factor", 10, _int(0, 2 ** 31 - 1)),
    Param("lfu-decay-time", 1, _int(0, 2 ** 31 - 1)),
    Param("active-expire-effort", 1, _int(1, 10)),
    Param("hash-max-listpack-entries", 128, _int(0, LONG_MAX),
          aliases=("hash-max-ziplist-entries",)),
    Param("hash-max-listpack-value", 64, _int(0, LONG_MAX), aliases=("hash-max-ziplist-value",)),
    Param("list-max-listpack-size", -2, _int(-5, 2 ** 31 - 1),
          aliases=("list-max-ziplist-size",)),
    Param("list-compress-depth", 0, _int(0, 2 ** 31 - 1)),
    Param("set-max-intset-entries", 512, _int(0, LONG_MAX)),
    Param("zset-max-listpack-entries", 128, _int(0, LONG_MAX),
          aliases=("zset-max-ziplist-entries",)),
    Param("zset-max-listpack-value", 64, _int(0, LONG_MAX), aliases=("zset-max-ziplist-value",)),
    Param("stream-node-max-bytes", 4096, _memory(0, LONG_MAX)),
    Param("stream-node-max-entries", 100, _int(0, LONG_MAX)),
]

PARAMS_BY_NAME: Dict[str, Param] = {}
for _p in PARAMS:
    PARAMS_BY_NAME[_p.name] = _p
    for _alias in _p.aliases:
        PARAMS_BY_NAME[_alias] = _p


class Config:
    """The live configuration of one server."""

    def __init__(self, **overrides: Any) -> None:
        self.values: Dict[str, Any] = {p.name: p.default for p in PARAMS}
        for name, value in overrides.items():
            self.set(name.replace("_", "-"), value if isinstance(value, str) else
                     _to_text(value), startup=True)

    def __getitem__(self, name: str) -> Any:
        return self.values[PARAMS_BY_NAME[name].name]

    def set(self, name: str, text: str, startup: bool = False) -> Any:
        """Parse ``text`` and store it; raise ConfigError (or KeyError if unknown)."""
        param = PARAMS_BY_NAME[name.lower()]
        if not startup and not param.mutable:
            raise ConfigError("can't set immutable config")
        value = param.parse(text)
        self.values[param.name] = value
        return value

    def render(self, name: str) -> str:
        param = PARAMS_BY_NAME[name]
        return param.render(self.values[param.name])

    def matching(self, pattern: str) -> List[Tuple[str, str]]:
        """(name, rendered value) for every parameter (or alias) matching a glob."""
        pattern = pattern.lower()
        found: Dict[str, str] = {}
        if pattern in PARAMS_BY_NAME:
            found[pattern] = self.render(pattern)
            return list(found.items())
        for name in PARAMS_BY_NAME:
            if fnmatch.fnmatchcase(name, pattern):
                found[name] = self.render(name)
        return list(found.items())

    def load_file(self, path: str) -> List[Tuple[str, str]]:
        """The (name, value) directives of a redis.conf-style file, in order."""
        with open(path, encoding="utf-8") as handle:
            return parse_directives(handle.read())


def _to_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def parse_directives(text: str) -> List[Tuple[str, str]]:
    """Split redis.conf text into (name, value) pairs; ``#`` starts a comment line."""
    result = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        name = parts[0].lower()
        value = parts[1] if len(parts) > 1 else ""
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        result.append((name, value))
    return result


def get_param(name: str) -> Optional[Param]:
    return PARAMS_BY_NAME.get(name.lower())
