"""Configuration's table: every parameter this server has, its default, parser and
validation (the live values are :class:`miniredis.config.Config`'s).

The same table serves the command line, the redis.conf-style file, and CONFIG GET/SET,
so a parameter is declared once. Values are kept parsed (ints, bools...) in
``Config.values``; ``Config.render(name)`` gives the text CONFIG GET shows.

The table is Redis 7.0.15's (src/config.c): all 192 names CONFIG GET * lists (aliases
included) plus its hidden ones, with Redis's defaults, bounds, units, aliases,
mutability, protection and error texts. Defaults differ only for ``bind``
(127.0.0.1 rather than "* -::*") and where noted on the table.

Accepted, validated and reported, but with no effect on this server:

- replication: repl-disable-tcp-nodelay (repl-diskless-load is honoured:
  miniredis.replication.disklessload);
- cluster: cluster-* ; TLS: tls-* (tls-port opens no listener);
- threads, memory allocator and process: io-threads, io-threads-do-reads,
  jemalloc-bg-thread, activedefrag (only "no" is accepted, as on a Redis built
  without its jemalloc), active-defrag-*, activerehashing,
  dynamic-hz, active-expire-effort, server_cpulist, bio_cpulist, aof_rewrite_cpulist,
  bgsave_cpulist, disable-thp (set-proc-title and proc-title-template are
  honoured: miniredis.proctitle), daemonize, pidfile, supervised, always-show-logo,
  crash-memcheck-enabled,
  socket-mark-id, tcp-keepalive, ignore-warnings,
  syslog-enabled, syslog-ident, syslog-facility, shutdown-on-sigint,
  shutdown-on-sigterm, shutdown-timeout, enable-module-command;
- persistence tuning: rdbcompression, rdb-del-sync-files, rdb-save-incremental-fsync,
  aof-rewrite-incremental-fsync, no-appendfsync-on-rewrite
  (loading-process-events-interval-bytes paces a replica's diskless load only);
- encodings not modelled: list-max-listpack-size, list-compress-depth.

lazyfree-lazy-* and replica-lazy-flush decide only what INFO's lazyfreed_objects counts
(miniredis.datatypes.lazyfree): values are always freed as they leave.
"""
from __future__ import annotations

import os
import re
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import proctitle


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
    a space, an unknown unit or 128 digits or more is an error. The text is a C string
    (a NUL ends it).
    """
    match = re.fullmatch(r"(\d*)([a-zA-Z]*)", _c_string(text))
    if not match or match.group(2).lower() not in _MEMORY_UNITS or len(match.group(1)) >= 128:
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
                 "protected", "combine", "multi", "hidden", "deny_loading", "sensitive")

    def __init__(self, name: str, default: Any, parse: Callable[[Any], Any],
                 render: Callable[[Any], str] = str, mutable: bool = True,
                 aliases: Tuple[str, ...] = (), protected: bool = False,
                 combine: Optional[Callable[[Any, Any], Any]] = None,
                 multi: bool = False, hidden: bool = False, deny_loading: bool = False,
                 sensitive: bool = False) -> None:
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
        # MULTI_ARG_CONFIG: ``parse`` takes a list of words (CONFIG SET splits the value
        # at every single space, the command line and the file at runs of blanks).
        self.multi = multi
        # HIDDEN_CONFIG: CONFIG GET answers it by exact name only, never for a pattern.
        self.hidden = hidden
        # DENY_LOADING_CONFIG: CONFIG SET refuses it (-LOADING) while a dataset loads
        # (a replica's diskless load, asynchronous or not; the start-up load).
        self.deny_loading = deny_loading
        # SENSITIVE_CONFIG: its CONFIG SET value is redacted from SLOWLOG and MONITOR.
        self.sensitive = sensitive


def _kind(parse: Callable[..., Any], kind: str) -> Callable[..., Any]:
    """Tag a parser with the kind of value it yields: CONFIG REWRITE writes each kind
    as Redis does (miniredis.configrewrite)."""
    parse.kind = kind          # type: ignore[attr-defined]
    return parse


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
    return _kind(parse, "int")


def _memory(lo: int, hi: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = parse_memory(text)
        if not lo <= value <= hi:
            raise ConfigError(f"argument must be between {lo} and {hi} inclusive")
        return value
    return _kind(parse, "memory")


def _bool(text: str) -> bool:
    low = _c_string(text).lower()      # (yesnotoi: strcasecmp)
    if low == "yes":
        return True
    if low == "no":
        return False
    raise ConfigError("argument must be 'yes' or 'no'")


def _render_bool(value: bool) -> str:
    return "yes" if value else "no"


def _activedefrag(text: str) -> bool:
    # Redis built without its own jemalloc refuses "yes"; so does this server.
    if _bool(text):
        raise ConfigError("Active defragmentation cannot be enabled: it requires a Redis "
                          "server compiled with a modified Jemalloc like the one shipped "
                          "by default with the Redis source distribution")
    return False


def _enum(*choices: str, canonical: Optional[Dict[str, str]] = None) -> Callable[[str], str]:
    """One of ``choices`` (any case); ``canonical`` names synonyms by the spelling
    CONFIG GET shows (oom-score-adj "relative" reads back as "yes", as in Redis)."""
    def parse(text: str) -> str:
        low = _c_string(text).lower()  # (strcasecmp)
        if low not in choices:
            raise ConfigError("argument(s) must be one of the following: " + ", ".join(choices))
        return (canonical or {}).get(low, low)
    return _kind(parse, "enum")


# shutdown-on-sigint/sigterm: several flags at once; "default" adds none.
_SHUTDOWN_FLAGS = ("default", "save", "nosave", "now", "force")


def _shutdown_flags(args: List[str]) -> str:
    flags = set()
    for arg in args:
        arg = _c_string(arg).lower()    # (strcasecmp)
        if arg not in _SHUTDOWN_FLAGS:
            args = []
            break
        flags.add(arg)
    if not args:
        raise ConfigError("argument(s) must be one of the following: "
                          + ", ".join(_SHUTDOWN_FLAGS))
    if "save" in flags and "nosave" in flags:
        raise ConfigError("shutdown options SAVE and NOSAVE can't be used simultaneously")
    shown = [flag for flag in _SHUTDOWN_FLAGS[1:] if flag in flags]
    return " ".join(shown) or "default"


def _c_string(text: str) -> str:
    """What a C string keeps of ``text``: Redis stores most string parameters as
    char*, so a value ends at its first NUL (CONFIG SET masteruser "a\\0b" reads "a")."""
    end = text.find("\x00")
    return text if end < 0 else text[:end]


def _string(text: str) -> str:
    return _c_string(text)


def _sds(text: str) -> str:
    """requirepass, masterauth: binary-safe strings (sds), NULs included."""
    return text


def _basename(what: str, kind: str = "filename", empty_ok: bool = True) -> Callable[[str], str]:
    """A file name without a directory part (dbfilename, appendfilename...)."""
    def parse(text: str) -> str:
        text = _c_string(text)
        if not text and not empty_ok:
            raise ConfigError("%s can't be empty" % what)
        if "/" in text or "\\" in text:
            raise ConfigError("%s can't be a path, just a %s" % (what, kind))
        return text
    return _kind(parse, "string")


def _hostname(text: str) -> str:
    text = _c_string(text)
    if len(text) >= 256:
        raise ConfigError("Hostnames must be less than 256 characters")
    if not re.fullmatch(r"[A-Za-z0-9.-]*", text):
        raise ConfigError("Hostnames may only contain alphanumeric characters, hyphens or dots")
    return text


def _proc_title_template(text: str) -> str:
    """Redis's template check: known {variables}, "{{" for a brace, not blank."""
    text = _c_string(text)
    if not proctitle.valid(text):
        raise ConfigError(proctitle.TEMPLATE_ERROR)
    return text


def _octal(lo: int, hi: int) -> Callable[[str], int]:
    """An octal number (unixsocketperm), bounds reported in octal as Redis does."""
    def parse(text: str) -> int:
        match = re.fullmatch(r"[ \t\n\v\f\r]*([+-]?)([0-7]+)", text)
        if not match or int(match.group(2), 8) >= 2 ** 63:
            raise ConfigError("argument couldn't be parsed as an octal number")
        value = int(match.group(2), 8) * (-1 if match.group(1) == "-" else 1)
        if not lo <= value % 2 ** 64 <= hi:
            raise ConfigError("argument must be between %o and %o inclusive" % (lo, hi))
        return value
    return _kind(parse, "octal")


def _render_octal(value: int) -> str:
    return "%o" % value


def _memory_or_percent(lo: int, hi: int) -> Callable[[str], int]:
    """maxmemory-clients: bytes, or ``N%`` of maxmemory (kept as -N, as Redis does)."""
    def parse(text: str) -> int:
        try:
            value = parse_memory(text)
            value = value - 2 ** 64 if value >= 2 ** 63 else value   # ssize_t
        except ConfigError:
            number = parse_strict_int(text[:-1]) if len(text) > 1 and text[-1] == "%" else None
            if number is None or number < 0:
                raise ConfigError("argument must be a memory or percent value") from None
            value = -number
        if value < 0:
            if value < lo:
                raise ConfigError("percentage argument must be less or equal to %d" % -lo)
        elif value > hi:
            raise ConfigError(f"argument must be between {lo} and {hi} inclusive")
        return value
    return _kind(parse, "percent")


def _render_percent(value: int) -> str:
    return "%d%%" % -value if value < 0 else str(value)


def _words(args: List[str]) -> List[str]:
    """A multi-word value's words; a single empty word stands for none (save "")."""
    return [] if args == [""] else args


def _bind(args: List[str]) -> str:
    if len(args) > 16:
        raise ConfigError("Too many bind addresses specified.")
    return " ".join(_c_string(word) for word in _words(args))     # (char *bindaddr[])


def _strtoll(text: str) -> Optional[int]:
    """C strtoll with a check that the whole text was consumed (leading space, sign ok):
    the text is a C string (a NUL ends it)."""
    match = re.fullmatch(r"[ \t\n\v\f\r]*([+-]?\d+)", _c_string(text))
    if not match:
        return None
    return max(-(2 ** 63), min(2 ** 63 - 1, int(match.group(1))))


def _save(args: List[str]) -> str:
    """"<seconds> <changes> ..." pairs: seconds at least 1, changes at least 0."""
    parts = _words(args)
    if len(parts) % 2:
        raise ConfigError("Invalid save parameters")
    values = []
    for i, part in enumerate(parts):
        value = _strtoll(part)
        if value is None or value < (1 if i % 2 == 0 else 0):
            raise ConfigError("Invalid save parameters")
        values.append(str(value))
    return " ".join(values)


def _replicaof(args: List[str]) -> str:
    """"<host> <port>", or "no one" (stored as ""): the master a replica follows from
    start-up (CONFIG REWRITE keeps the one REPLICAOF set)."""
    if len(args) != 2:
        raise ConfigError("wrong number of arguments")
    if args[0].lower() == "no" and args[1].lower() == "one":
        return ""
    match = re.fullmatch(r"[ \t\n\v\f\r]*([+-]?\d+)", args[1])
    if not match or not 0 <= int(match.group(1)) <= 65535:
        raise ConfigError("Invalid master port")
    return "%s %d" % (args[0], int(match.group(1)))


def _oom_score_adj_values(args: List[str]) -> str:
    if len(args) != 3:
        raise ConfigError("wrong number of arguments")
    values = [_strtoll(arg) for arg in args]
    if any(value is None or not -2000 <= value <= 2000 for value in values):
        raise ConfigError("Invalid oom-score-adj-values, elements must be between -2000 "
                          "and 2000.")
    return " ".join(str(value) for value in values)


_FLOAT = re.compile(r"[ \t\n\v\f\r]*[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)")


def _percentiles(args: List[str]) -> str:
    """latency-tracking-info-percentiles: numbers from 0 to 100, shown as %f trimmed."""
    shown = []
    for arg in _words(args):
        if not _FLOAT.fullmatch(arg):
            raise ConfigError("Invalid latency-tracking-info-percentiles parameters")
        value = float(arg)
        if not 0.0 <= value <= 100.0:
            raise ConfigError("latency-tracking-info-percentiles parameters should sit "
                              "between [0.0,100.0]")
        text = "%f" % value
        shown.append(text.rstrip("0").rstrip(".") if "." in text else text)
    return " ".join(shown)


_BUFFER_CLASSES = {"normal": "normal", "slave": "slave", "replica": "slave",
                   "pubsub": "pubsub"}


def _client_output_buffer_limit(args: List[str]) -> Dict[str, Tuple[int, int, int]]:
    """"<class> <hard> <soft> <soft seconds>" groups, keyed by class (replica=slave)."""
    parts = args
    if len(parts) % 4:
        raise ConfigError("Wrong number of arguments in buffer limit configuration.")
    limits: Dict[str, Tuple[int, int, int]] = {}
    for i in range(0, len(parts), 4):
        kind = _BUFFER_CLASSES.get(_c_string(parts[i]).lower())   # (getClientTypeByName)
        if kind is None:
            raise ConfigError("Invalid client class specified in buffer limit configuration.")
        try:
            hard, soft = parse_memory(parts[i + 1]), parse_memory(parts[i + 2])
        except ConfigError:
            hard = soft = -1
        seconds = _strtoll(parts[i + 3])
        if seconds is not None:
            seconds = (seconds + 2 ** 31) % 2 ** 32 - 2 ** 31     # Redis keeps an int
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
    text = _c_string(text)      # (keyspaceEventsStringToFlags reads a C string)
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


def check_dir(path: str) -> None:
    """dir (CONFIG SET, or a config line at start-up): Redis chdir()s there and
    answers strerror() if it cannot."""
    if not os.path.exists(path):
        raise ConfigError(os.strerror(2))        # No such file or directory
    if not os.path.isdir(path):
        raise ConfigError(os.strerror(20))       # Not a directory
    if not os.access(path, os.X_OK):
        raise ConfigError(os.strerror(13))       # Permission denied


def _render_dir(value: str) -> str:
    # Redis chdir()s into dir and reports getcwd(): an absolute path without
    # symbolic links.
    return os.path.realpath(value)


LONG_MAX = 2 ** 63 - 1

UINT_MAX = 2 ** 32 - 1
INT_MAX = 2 ** 31 - 1
INT_MIN = -(2 ** 31)


# Defaults, ranges and mutability are Redis 7.0's. The first group is what this server
# acts on; the rest are accepted and reported (clients and tools read them) but have
# no effect here (replication, cluster, TLS-free persistence tuning...).
for _parse, _parse_kind in ((_bool, "bool"), (_activedefrag, "bool"), (_string, "string"),
                           (_sds, "string"), (_hostname, "string"),
                           (_proc_title_template, "string"), (_shutdown_flags, "enum"),
                           (_dir, "string")):
    _kind(_parse, _parse_kind)


PARAMS: List[Param] = [
    # bind differs from Redis's "* -::*" on purpose: an embedded or casually started
    # server listens on loopback only unless told otherwise.
    Param("bind", "127.0.0.1", _bind, multi=True),     # CONFIG SET rebinds (state.rebind)
    Param("port", 6379, _int(0, 65535)),               # likewise
    Param("unixsocket", "", _string, mutable=False),
    Param("unixsocketperm", 0, _octal(0, 0o777), _render_octal, mutable=False),
    # the default user's password (security.acl)
    Param("requirepass", "", _sds, sensitive=True),
    Param("aclfile", "", _string, mutable=False),
    Param("acl-pubsub-default", "resetchannels", _enum("allchannels", "resetchannels")),
    Param("databases", 16, _int(1, INT_MAX), mutable=False),
    Param("dir", ".", _dir, _render_dir, protected=True, deny_loading=True),
    Param("dbfilename", "dump.rdb", _basename("dbfilename"), protected=True),
    Param("appendonly", False, _bool, _render_bool, deny_loading=True),
    Param("appendfilename", "appendonly.aof", _basename("appendfilename", empty_ok=False),
          mutable=False),
    Param("appenddirname", "appendonlydir",
          _basename("appenddirname", "dirname", empty_ok=False), mutable=False),
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
          combine=lambda old, new: {**old, **new}, multi=True),
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
    Param("save", "3600 1 300 100 60 10000", _save, multi=True),
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
    Param("hash-max-listpack-value", 64, _memory(0, LONG_MAX),
          aliases=("hash-max-ziplist-value",)),
    Param("list-max-listpack-size", -2, _int(INT_MIN, INT_MAX),
          aliases=("list-max-ziplist-size",)),
    Param("list-compress-depth", 0, _int(0, INT_MAX)),
    Param("sanitize-dump-payload", "no", _enum("no", "yes", "clients")),
    Param("set-max-intset-entries", 512, _int(0, LONG_MAX)),
    Param("zset-max-listpack-entries", 128, _int(0, LONG_MAX),
          aliases=("zset-max-ziplist-entries",)),
    Param("zset-max-listpack-value", 64, _memory(0, LONG_MAX),
          aliases=("zset-max-ziplist-value",)),
    Param("stream-node-max-bytes", 4096, _memory(0, LONG_MAX)),
    Param("stream-node-max-entries", 100, _int(0, LONG_MAX)),
    Param("hll-sparse-max-bytes", 3000, _memory(0, LONG_MAX)),
    # Not acted upon here: Redis's values, for clients and tools that read them.
    Param("latency-tracking", True, _bool, _render_bool),
    Param("latency-tracking-info-percentiles", "50 99 99.9", _percentiles, multi=True),
    Param("activerehashing", True, _bool, _render_bool),
    Param("activedefrag", False, _activedefrag, _render_bool),
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
    Param("repl-backlog-ttl", 3600, _int(0, LONG_MAX)),
    Param("repl-timeout", 60, _int(1, INT_MAX)),
    Param("repl-diskless-sync", True, _bool, _render_bool),
    Param("repl-diskless-sync-delay", 5, _int(0, INT_MAX)),
    Param("min-replicas-to-write", 0, _int(0, INT_MAX), aliases=("min-slaves-to-write",)),
    Param("min-replicas-max-lag", 10, _int(0, INT_MAX), aliases=("min-slaves-max-lag",)),
    Param("masterauth", "", _sds, sensitive=True),
    Param("masteruser", "", _string, sensitive=True),
    Param("cluster-enabled", False, _bool, _render_bool, mutable=False),
    Param("io-threads", 1, _int(1, 128), mutable=False),
    Param("io-threads-do-reads", False, _bool, _render_bool, mutable=False),
    Param("supervised", "no", _enum("upstart", "systemd", "auto", "no"), mutable=False),
    Param("stop-writes-on-bgsave-error", True, _bool, _render_bool),
    Param("rdbcompression", True, _bool, _render_bool),
    Param("rdbchecksum", True, _bool, _render_bool, mutable=False),
    Param("rdb-del-sync-files", False, _bool, _render_bool),
    Param("aof-use-rdb-preamble", True, _bool, _render_bool),
    Param("aof-timestamp-enabled", False, _bool, _render_bool),
    Param("no-appendfsync-on-rewrite", False, _bool, _render_bool),
    Param("tracking-table-max-keys", 1000000, _int(0, LONG_MAX)),
    Param("acllog-max-len", 128, _int(0, LONG_MAX)),
    Param("shutdown-timeout", 10, _int(0, INT_MAX)),
    # The rest of Redis 7.0's table, in its order: accepted, validated, reported.
    Param("always-show-logo", False, _bool, _render_bool, mutable=False),
    Param("set-proc-title", True, _bool, _render_bool, mutable=False),
    Param("repl-disable-tcp-nodelay", False, _bool, _render_bool),
    Param("aof-rewrite-incremental-fsync", True, _bool, _render_bool),
    Param("cluster-require-full-coverage", True, _bool, _render_bool),
    Param("rdb-save-incremental-fsync", True, _bool, _render_bool),
    Param("cluster-replica-no-failover", False, _bool, _render_bool,
          aliases=("cluster-slave-no-failover",)),
    Param("replica-ignore-maxmemory", True, _bool, _render_bool,
          aliases=("slave-ignore-maxmemory",)),
    Param("jemalloc-bg-thread", True, _bool, _render_bool),
    Param("syslog-enabled", False, _bool, _render_bool, mutable=False),
    Param("cluster-allow-reads-when-down", False, _bool, _render_bool),
    Param("cluster-allow-pubsubshard-when-down", True, _bool, _render_bool),
    Param("crash-log-enabled", True, _bool, _render_bool),
    Param("crash-memcheck-enabled", True, _bool, _render_bool),
    Param("use-exit-on-panic", False, _bool, _render_bool, hidden=True),
    Param("disable-thp", True, _bool, _render_bool, mutable=False),
    Param("cluster-allow-replica-migration", True, _bool, _render_bool),
    Param("replica-announced", True, _bool, _render_bool),
    Param("aof-disable-auto-gc", False, _bool, _render_bool),
    Param("replica-ignore-disk-write-errors", False, _bool, _render_bool),
    Param("replica-announce-ip", "", _string, aliases=("slave-announce-ip",)),
    Param("cluster-announce-ip", "", _string),
    Param("cluster-config-file", "nodes.conf", _string, mutable=False),
    Param("cluster-announce-hostname", "", _hostname),
    Param("syslog-ident", "redis", _string, mutable=False),
    Param("server_cpulist", "", _string, mutable=False),
    Param("bio_cpulist", "", _string, mutable=False),
    Param("aof_rewrite_cpulist", "", _string, mutable=False),
    Param("bgsave_cpulist", "", _string, mutable=False),
    Param("ignore-warnings", "", _string),
    Param("proc-title-template", "{title} {listen-addr} {server-mode}", _proc_title_template),
    Param("bind-source-addr", "", _string),
    Param("syslog-facility", "local0", _enum("user", "local0", "local1", "local2", "local3",
                                             "local4", "local5", "local6", "local7"),
          mutable=False),
    Param("repl-diskless-load", "disabled", _enum("disabled", "on-empty-db", "swapdb"),
          deny_loading=True),
    Param("oom-score-adj", "no", _enum("no", "yes", "relative", "absolute",
                                       canonical={"relative": "yes"})),
    Param("sanitize-dump-payload", "no", _enum("no", "yes", "clients")),
    Param("cluster-preferred-endpoint-type", "ip",
          _enum("ip", "hostname", "unknown-endpoint")),
    Param("propagation-error-behavior", "ignore",
          _enum("ignore", "panic", "panic-on-replicas")),
    Param("shutdown-on-sigint", "default", _shutdown_flags, multi=True),
    Param("shutdown-on-sigterm", "default", _shutdown_flags, multi=True),
    Param("cluster-replica-validity-factor", 10, _int(0, INT_MAX),
          aliases=("cluster-slave-validity-factor",)),
    Param("cluster-migration-barrier", 1, _int(0, INT_MAX)),
    Param("active-defrag-cycle-min", 1, _int(1, 99)),
    Param("active-defrag-cycle-max", 25, _int(1, 99)),
    Param("active-defrag-threshold-lower", 10, _int(0, 1000)),
    Param("active-defrag-threshold-upper", 100, _int(0, 1000)),
    Param("replica-announce-port", 0, _int(0, 65535), aliases=("slave-announce-port",)),
    Param("cluster-port", 0, _int(0, 65535), mutable=False),
    Param("cluster-announce-bus-port", 0, _int(0, 65535)),
    Param("cluster-announce-port", 0, _int(0, 65535)),
    Param("cluster-announce-tls-port", 0, _int(0, 65535)),
    Param("repl-ping-replica-period", 10, _int(1, INT_MAX),
          aliases=("repl-ping-slave-period",)),
    Param("rdb-key-save-delay", 0, _int(INT_MIN, INT_MAX), hidden=True),
    Param("key-load-delay", 0, _int(INT_MIN, INT_MAX), hidden=True),
    Param("watchdog-period", 0, _int(0, INT_MAX), hidden=True),
    Param("repl-diskless-sync-max-replicas", 0, _int(0, INT_MAX)),
    Param("socket-mark-id", 0, _int(0, UINT_MAX), mutable=False),
    Param("active-defrag-max-scan-fields", 1000, _int(1, LONG_MAX)),
    Param("cluster-node-timeout", 15000, _int(0, LONG_MAX)),
    Param("cluster-link-sendbuf-limit", 0, _memory(0, ULLONG_MAX)),
    Param("active-defrag-ignore-bytes", 100 * 1024 ** 2, _memory(1, LONG_MAX)),
    Param("maxmemory-clients", 0, _memory_or_percent(-100, LONG_MAX), _render_percent),
    Param("loading-process-events-interval-bytes", 2 * 1024 ** 2, _int(1024, INT_MAX),
          hidden=True),
    # TLS (redis-server built with OpenSSL has these; this server speaks no TLS).
    Param("tls-port", 0, _int(0, 65535)),
    Param("tls-session-cache-size", 20 * 1024, _int(0, INT_MAX)),
    Param("tls-session-cache-timeout", 300, _int(0, INT_MAX)),
    Param("tls-cluster", False, _bool, _render_bool),
    Param("tls-replication", False, _bool, _render_bool),
    Param("tls-auth-clients", "yes", _enum("no", "yes", "optional")),
    Param("tls-prefer-server-ciphers", False, _bool, _render_bool),
    Param("tls-session-caching", True, _bool, _render_bool),
    Param("tls-cert-file", "", _string),
    Param("tls-key-file", "", _string),
    Param("tls-key-file-pass", "", _string),
    Param("tls-client-cert-file", "", _string),
    Param("tls-client-key-file", "", _string),
    Param("tls-client-key-file-pass", "", _string),
    Param("tls-dh-params-file", "", _string),
    Param("tls-ca-cert-file", "", _string),
    Param("tls-ca-cert-dir", "", _string),
    Param("tls-protocols", "", _string),
    Param("tls-ciphers", "", _string),
    Param("tls-ciphersuites", "", _string),
    Param("oom-score-adj-values", "0 200 800", _oom_score_adj_values, multi=True),
    Param("replicaof", "", _replicaof, mutable=False, aliases=("slaveof",), multi=True),
]

PARAMS_BY_NAME: Dict[str, Param] = {}
for _p in PARAMS:
    PARAMS_BY_NAME[_p.name] = _p
    for _alias in _p.aliases:
        PARAMS_BY_NAME[_alias] = _p
