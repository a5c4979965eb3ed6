"""Configuration: every parameter this server has, its default, parser and validation.

The same table serves the command line, the redis.conf-style file, and CONFIG GET/SET,
so a parameter is declared once. Values are kept parsed (ints, bools...) in
``Config.values``; ``Config.render(name)`` gives the text CONFIG GET shows.
"""
from __future__ import annotations

import os
import re
from typing import Any, Callable, Dict, List, Optional, Tuple

from .glob import compile_pattern


class ConfigError(ValueError):
    """A bad value for a parameter; the text is Redis's explanation."""


_MEMORY_UNITS = {
    "": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000 ** 2, "mb": 1024 ** 2,
    "g": 1000 ** 3, "gb": 1024 ** 3,
}


ULLONG_MAX = 2 ** 64 - 1


def parse_memory(text: str) -> int:
    """Redis memory notation (memtoull): ``1gb``, ``512mb``, ``100k``, ``4096``.

    As in Redis, the digits may be absent (``""`` and ``"mb"`` are 0), a number too
    big saturates at 2**64-1 and the unit multiplication wraps modulo 2**64; a sign,
    a space or an unknown unit is an error.
    """
    match = re.fullmatch(r"(\d*)([a-zA-Z]*)", text)
    if not match or match.group(2).lower() not in _MEMORY_UNITS:
        raise ConfigError("argument must be a memory value")
    digits = min(int(match.group(1) or "0"), ULLONG_MAX)
    return (digits * _MEMORY_UNITS[match.group(2).lower()]) & ULLONG_MAX


_STRICT_INT = re.compile(r"-?[1-9][0-9]*|0")


def parse_strict_int(text: str) -> Optional[int]:
    """Redis's string2ll: no sign but '-', no spaces, no leading zeros, 64-bit."""
    if not _STRICT_INT.fullmatch(text):
        return None
    value = int(text)
    return value if -(2 ** 63) <= value < 2 ** 63 else None


def _render_memory(value: int) -> str:
    return str(value)


class Param:
    """One configuration parameter."""

    __slots__ = ("name", "default", "parse", "render", "mutable", "aliases", "apply",
                 "protected", "combine")

    def __init__(self, name: str, default: Any, parse: Callable[[str], Any],
                 render: Callable[[Any], str] = str, mutable: bool = True,
                 aliases: Tuple[str, ...] = (), protected: bool = False,
                 combine: Optional[Callable[[Any, Any], Any]] = None) -> None:
        self.name = name
        self.default = default
        self.parse = parse
        self.render = render
        self.mutable = mutable
        self.aliases = aliases
        # Settable at runtime only where enable-protected-configs allows it (dir...).
        self.protected = protected
        # How a parsed value merges into the current one (client-output-buffer-limit
        # changes only the classes it names); None: the new value replaces the old.
        self.combine = combine


def _int(lo: int, hi: int, clamp: Optional[Tuple[int, int]] = None) -> Callable[[str], int]:
    """An integer parameter; ``clamp`` bounds the stored value as Redis does for hz."""
    def parse(text: str) -> int:
        value = parse_strict_int(text)
        if value is None:
            raise ConfigError("argument couldn't be parsed into an integer")
        if not lo <= value <= hi:
            raise ConfigError(f"argument must be between {lo} and {hi} inclusive")
        if clamp is not None:
            value = max(clamp[0], min(clamp[1], value))
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


def _strtoll(text: str) -> Optional[int]:
    """C strtoll with a check that the whole text was consumed (leading space, sign ok)."""
    match = re.fullmatch(r"[ \t\n\v\f\r]*([+-]?\d+)", text)
    if not match:
        return None
    return max(-(2 ** 63), min(2 ** 63 - 1, int(match.group(1))))


def _save(text: str) -> str:
    """"<seconds> <changes> ..." pairs: seconds at least 1, changes at least 0."""
    parts = text.split()
    if len(parts) % 2:
        raise ConfigError("Invalid save parameters")
    values = []
    for i, part in enumerate(parts):
        value = _strtoll(part)
        if value is None or value < (1 if i % 2 == 0 else 0):
            raise ConfigError("Invalid save parameters")
        values.append(str(value))
    return " ".join(values)


_BUFFER_CLASSES = {"normal": "normal", "slave": "slave", "replica": "slave",
                   "pubsub": "pubsub"}


def _client_output_buffer_limit(text: str) -> Dict[str, Tuple[int, int, int]]:
    """"<class> <hard> <soft> <soft seconds>" groups, keyed by class (replica=slave)."""
    parts = text.split()
    if len(parts) % 4:
        raise ConfigError("Wrong number of arguments in buffer limit configuration.")
    limits: Dict[str, Tuple[int, int, int]] = {}
    for i in range(0, len(parts), 4):
        kind = _BUFFER_CLASSES.get(parts[i].lower())
        if kind is None:
            raise ConfigError("Invalid client class specified in buffer limit configuration.")
        try:
            hard, soft = parse_memory(parts[i + 1]), parse_memory(parts[i + 2])
        except ConfigError:
            hard = soft = -1
        seconds = _strtoll(parts[i + 3])
        if hard < 0 or soft < 0 or seconds is None or seconds < 0:
            raise ConfigError("Error in hard, soft or soft_seconds setting in buffer limit "
                              "configuration.")
        limits[kind] = (hard, soft, seconds)
    return limits


def _render_buffer_limits(limits: Dict[str, Tuple[int, int, int]]) -> str:
    return " ".join("%s %d %d %d" % ((kind,) + limits[kind])
                    for kind in ("normal", "slave", "pubsub"))


# notify-keyspace-events: parsed to Redis's canonical spelling, which CONFIG GET shows
# ("A" for all the type classes, then K, E, m).
_NOTIFY_TYPES = "g$lshzxetd"


def _notify_flags(text: str) -> str:
    if any(ch not in "KEg$lshzxetmdnA" for ch in text):
        raise ConfigError("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
    flags = set(text.replace("A", _NOTIFY_TYPES))
    if all(ch in flags for ch in _NOTIFY_TYPES):
        out = "A"
    else:
        out = "".join(ch for ch in _NOTIFY_TYPES if ch in flags)
    out += "n" if "n" in flags else ""
    return out + "".join(ch for ch in "KEm" if ch in flags)


def _render_notify(value: str) -> str:
    # Redis spells "all types" as A and, doing so, leaves out n (new-key events).
    return value.replace("n", "") if value.startswith("A") else value


def _dir(text: str) -> str:
    return text


def _render_dir(value: str) -> str:
    # Redis chdir()s into dir and reports getcwd(): always an absolute path.
    return os.path.abspath(value)


LONG_MAX = 2 ** 63 - 1

UINT_MAX = 2 ** 32 - 1
INT_MAX = 2 ** 31 - 1
INT_MIN = -(2 ** 31)


# Defaults, ranges and mutability are Redis 7.0's. The first group is what this server
# acts on; the rest are accepted and reported (clients and tools read them) but have
# no effect here (replication, cluster, TLS-free persistence tuning...).
PARAMS: List[Param] = [
    Param("bind", "127.0.0.1", _bind, mutable=False),
    Param("port", 6379, _int(0, 65535), mutable=False),
    Param("unixsocket", "", _string, mutable=False),
    Param("unixsocketperm", 0, lambda t: int(t, 8), render=lambda v: "%o" % v if v else "0",
          mutable=False),
    Param("requirepass", "", _string),
    Param("databases", 16, _int(1, INT_MAX), mutable=False),
    Param("dir", ".", _dir, _render_dir, protected=True),
    Param("dbfilename", "dump.rdb", _string, protected=True),
    Param("appendonly", False, _bool, _render_bool),
    Param("appendfilename", "appendonly.aof", _string, mutable=False),
    Param("appenddirname", "appendonlydir", _string, mutable=False),
    Param("appendfsync", "everysec", _enum("everysec", "always", "no")),
    Param("loglevel", "notice", _enum("debug", "verbose", "notice", "warning")),
    Param("logfile", "", _string, mutable=False),
    Param("maxclients", 10000, _int(1, UINT_MAX)),
    Param("timeout", 0, _int(0, INT_MAX)),
    Param("tcp-keepalive", 300, _int(0, INT_MAX)),
    Param("tcp-backlog", 511, _int(0, INT_MAX), mutable=False),
    Param("hz", 10, _int(0, INT_MAX, clamp=(1, 500))),
    Param("proto-max-bulk-len", 512 * 1024 ** 2, _memory(1024 * 1024, LONG_MAX)),
    Param("client-query-buffer-limit", 1024 ** 3, _memory(1024 * 1024, LONG_MAX)),
    Param("client-output-buffer-limit",
          {"normal": (0, 0, 0), "slave": (268435456, 67108864, 60),
           "pubsub": (33554432, 8388608, 60)},
          _client_output_buffer_limit, _render_buffer_limits,
          combine=lambda old, new: {**old, **new}),
    Param("slowlog-log-slower-than", 10000, _int(-1, LONG_MAX)),
    Param("slowlog-max-len", 128, _int(0, LONG_MAX)),
    Param("latency-monitor-threshold", 0, _int(0, LONG_MAX)),
    Param("notify-keyspace-events", "", _notify_flags, _render_notify),
    Param("maxmemory", 0, _memory(0, ULLONG_MAX)),
    Param("maxmemory-policy", "noeviction", _enum(
        "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru",
        "allkeys-lfu", "allkeys-random", "noeviction")),
    Param("maxmemory-samples", 5, _int(1, INT_MAX)),
    Param("maxmemory-eviction-tenacity", 10, _int(0, 100)),
    Param("save", "3600 1 300 100 60 10000", _save),
    Param("busy-reply-threshold", 5000, _int(0, LONG_MAX), aliases=("lua-time-limit",)),
    Param("aof-load-truncated", True, _bool, _render_bool),
    Param("auto-aof-rewrite-percentage", 100, _int(0, INT_MAX)),
    Param("auto-aof-rewrite-min-size", 64 * 1024 ** 2, _memory(0, LONG_MAX)),
    Param("daemonize", False, _bool, _render_bool, mutable=False),
    Param("pidfile", "", _string, mutable=False),
    # Refuse non-loopback TCP clients while the default user has no password.
    Param("protected-mode", True, _bool, _render_bool),
    Param("enable-protected-configs", "no", _enum("no", "yes", "local"), mutable=False),
    # Redis's "no" on the command line; the embedded Server() defaults to "local" (tests
    # drive DEBUG from loopback). Immutable at run time, as in Redis.
    Param("enable-debug-command", "no", _enum("no", "yes", "local"), mutable=False),
    Param("enable-module-command", "no", _enum("no", "yes", "local"), mutable=False),
    Param("lfu-log-factor", 10, _int(0, INT_MAX)),
    Param("lfu-decay-time", 1, _int(0, INT_MAX)),
    Param("active-expire-effort", 1, _int(1, 10)),
    Param("hash-max-listpack-entries", 512, _int(0, LONG_MAX),
          aliases=("hash-max-ziplist-entries",)),
    Param("hash-max-listpack-value", 64, _int(0, LONG_MAX), aliases=("hash-max-ziplist-value",)),
    Param("list-max-listpack-size", -2, _int(INT_MIN, INT_MAX),
          aliases=("list-max-ziplist-size",)),
    Param("list-compress-depth", 0, _int(0, INT_MAX)),
    Param("set-max-intset-entries", 512, _int(0, LONG_MAX)),
    Param("zset-max-listpack-entries", 128, _int(0, LONG_MAX),
          aliases=("zset-max-ziplist-entries",)),
    Param("zset-max-listpack-value", 64, _int(0, LONG_MAX), aliases=("zset-max-ziplist-value",)),
    Param("stream-node-max-bytes", 4096, _memory(0, LONG_MAX)),
    Param("stream-node-max-entries", 100, _int(0, LONG_MAX)),
    Param("hll-sparse-max-bytes", 3000, _memory(0, LONG_MAX)),
    # Not acted upon here: Redis's values, for clients and tools that read them.
    Param("latency-tracking", False, _bool, _render_bool),   # no latency histograms
    Param("latency-tracking-info-percentiles", "50 99 99.9", _string),
    Param("activerehashing", True, _bool, _render_bool),
    Param("activedefrag", False, _bool, _render_bool),
    Param("dynamic-hz", True, _bool, _render_bool),
    Param("lazyfree-lazy-eviction", False, _bool, _render_bool),
    Param("lazyfree-lazy-expire", False, _bool, _render_bool),
    Param("lazyfree-lazy-server-del", False, _bool, _render_bool),
    Param("lazyfree-lazy-user-del", False, _bool, _render_bool),
    Param("lazyfree-lazy-user-flush", False, _bool, _render_bool),
    Param("replica-lazy-flush", False, _bool, _render_bool, aliases=("slave-lazy-flush",)),
    Param("replica-read-only", True, _bool, _render_bool, aliases=("slave-read-only",)),
    Param("replica-serve-stale-data", True, _bool, _render_bool,
          aliases=("slave-serve-stale-data",)),
    Param("replica-priority", 100, _int(0, INT_MAX), aliases=("slave-priority",)),
    Param("repl-backlog-size", 1024 ** 2, _memory(1, LONG_MAX)),
    Param("repl-backlog-ttl", 3600, _int(0, INT_MAX)),
    Param("repl-timeout", 60, _int(1, INT_MAX)),
    Param("repl-diskless-sync", True, _bool, _render_bool),
    Param("repl-diskless-sync-delay", 5, _int(0, INT_MAX)),
    Param("min-replicas-to-write", 0, _int(0, INT_MAX), aliases=("min-slaves-to-write",)),
    Param("min-replicas-max-lag", 10, _int(0, INT_MAX), aliases=("min-slaves-max-lag",)),
    Param("masterauth", "", _string),
    Param("masteruser", "", _string),
    Param("cluster-enabled", False, _bool, _render_bool, mutable=False),
    Param("io-threads", 1, _int(1, 128), mutable=False),
    Param("io-threads-do-reads", False, _bool, _render_bool, mutable=False),
    Param("supervised", "no", _enum("upstart", "systemd", "auto", "no"), mutable=False),
    Param("stop-writes-on-bgsave-error", True, _bool, _render_bool),
    Param("rdbcompression", True, _bool, _render_bool),
    Param("rdbchecksum", True, _bool, _render_bool),
    Param("rdb-del-sync-files", False, _bool, _render_bool),
    Param("aof-use-rdb-preamble", True, _bool, _render_bool),
    Param("aof-timestamp-enabled", False, _bool, _render_bool),
    Param("no-appendfsync-on-rewrite", False, _bool, _render_bool),
    Param("tracking-table-max-keys", 1000000, _int(0, LONG_MAX)),
    Param("acllog-max-len", 128, _int(0, LONG_MAX)),
    Param("shutdown-timeout", 10, _int(0, INT_MAX)),
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
        if param.combine is not None:
            value = param.combine(self.values[param.name], value)
        self.values[param.name] = value
        return value

    def render(self, name: str) -> str:
        param = PARAMS_BY_NAME[name]
        return param.render(self.values[param.name])

    def matching(self, pattern: str) -> List[Tuple[str, str]]:
        """(name, rendered value) for every parameter (or alias) CONFIG GET ``pattern`` hits.

        As in Redis, a pattern without glob characters is a plain (case-insensitive)
        lookup that answers with the name as it was given; a glob matches without
        regard to case and lists aliases as parameters of their own.
        """
        if not any(ch in pattern for ch in "[*?"):
            if pattern.lower() in PARAMS_BY_NAME:
                return [(pattern, self.render(pattern.lower()))]
            return []
        matches = compile_pattern(pattern.encode("utf-8", "surrogateescape"), nocase=True)
        return [(name, self.render(name)) for name in PARAMS_BY_NAME
                if matches(name.encode())]

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
