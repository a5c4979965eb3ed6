"""The command table: every command declared once, with Redis's metadata.

A handler is registered with ``@command(...)``: its name, arity (Redis convention:
negative means "at least"), flags, key positions and documentation fields. Dispatch,
``COMMAND INFO/DOCS/LIST/GETKEYS``, MULTI queueing, auth gating, Lua restrictions and
AOF logging all read this one table, so nothing about a command is stated twice.

A handler is ``handler(client, args) -> reply`` where ``args`` is the full argv
(``args[0]`` is the command name as sent) and the reply is a typed value
(see :mod:`miniredis.protocol`).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Optional, Tuple

from .. import errors
from ..histogram import NO_HISTOGRAM
from ..args import to_int
from ..dirty import COUNTS_OWN, FORCED
from ..errors import CommandError
from ..evict import stamps_count
from ..keyspecs import specs_of

Handler = Callable[..., object]
_CHANGES_CONFIG = ("config|set", "exec")    # (EXEC: a CONFIG SET it ran)
# Commands a pipeline may repeat through the dispatcher's short loop (Command.alike):
# they never block, swap the reply buffer, change settings or the connection's state.
_ALIKE_GROUPS = frozenset(("string", "list", "set", "sorted-set", "hash", "stream",
                           "hyperloglog", "geo", "bitmap"))
_ALIKE_NAMES = frozenset(("ping", "echo", "del", "unlink", "exists", "touch", "type",
                          "expire", "pexpire", "expireat", "pexpireat", "persist", "ttl",
                          "pttl"))


# The most arguments a request a command's own loop (Command.run) answers may have
# (MSET, LPUSH/RPUSH, XADD take any number): runs.py times what one call of it answers
# together, so their costs must be alike; a longer request goes through the handler.
OWN_LOOP_ARGS = 64
# ...and the most elements its reply may hold (LRANGE): a longer range goes through the
# handler, timed alone.
OWN_LOOP_ITEMS = 256


_WINDOW = 16   # requests identical_run_end compares at once


def identical_run_end(requests: List[List[bytes]], start: int, count: int) -> int:
    """The end of the window of up to _WINDOW requests from ``start`` when all of them
    are identical to ``requests[start]`` (an INCR repeated, a pipeline repeating one
    push), else ``start``. Told by one C comparison of each, once the window's last
    one matches the first (so a window that is not one costs a comparison)."""
    end = start + _WINDOW if count - start > _WINDOW else count
    first = requests[start]
    if requests[end - 1] == first and end - start > 1 and \
            requests[start:end].count(first) == end - start:
        return end
    return start


def unchanged_windows(requests: List[List[bytes]], done: int, count: int, name: bytes,
                      tables: Tuple[Any, ...], kinds: Tuple[type, ...],
                      unchanged: Callable[[Any, List[bytes]], bool], append: Any) -> int:
    """Windows of identical writes from ``requests[done]`` (a pipeline repeating one
    SADD, ZADD or HSET: redis-benchmark's ``-P 16``) that would each leave the value
    as it is: the key holds one of ``kinds`` not due to expire and
    ``unchanged(value, request)`` (the member is there, at that score; the field
    holds that data). Each request's access is counted, nothing is written and each
    is answered ``:0`` (``append``); the caller counts what Redis counts for each
    (SADD and ZADD then count no change and tell no one; an HSET counts one, so its
    loop comes here only while no one is told). Returns where the own loop's
    per-request steps take over (``done``: no window). ``tables`` is
    :meth:`Database.tables_for_writes`'s. The callers call it only when the next
    request repeats ``requests[done]`` (a comparison spares other runs a call)."""
    index, values, access, expires, now, _, _, lru, _ = tables
    first = done
    while True:
        window = identical_window(requests, done, count, name, index, values, expires,
                                  now)
        if window is None:
            break
        end, slot, value = window
        if value.__class__ not in kinds or not unchanged(value, requests[done]):
            break
        count_accesses(access, slot, lru, end - done)
        done = end
    if done > first:
        append(b":0\r\n" * (done - first))
    return done


def identical_window(requests: List[List[bytes]], done: int, count: int, name: bytes,
                     index: Any, values: Any, expires: Any,
                     now: int) -> Optional[Tuple[int, int, Any]]:
    """The window of identical requests from ``requests[done]`` (identical_run_end:
    two or more) when they are the run's command (``name``, as it is spelt: a window
    after the first may be another's) and their key exists and is not due to expire:
    its end, the key's slot and value (an own loop's tables); else None. The caller
    checks the arity."""
    if count - done < 2:
        return None
    request = requests[done]
    if request[0] != name:
        return None
    end = identical_run_end(requests, done, count)
    if end == done:
        return None
    key = request[1]
    if expires and key in expires and expires[key] <= now:
        return None
    slot = index.get(key)
    if slot is None:
        return None
    return end, slot, values[slot]


def one_key_run_end(requests: List[List[bytes]], start: int, count: int, name: bytes,
                    key: bytes, size: int) -> int:
    """Where the run that ``requests[start]`` begins ends: the requests after it of
    ``size`` arguments, under the name ``name``, at ``key`` (own loops that apply such
    a run together: LPUSH/RPUSH, INCR/DECR). Negated when the run is a window of
    requests identical to the first (a push run then repeats one element)."""
    # identical_run_end, written out (a call per window would cost INCR's run 1%)
    end = start + _WINDOW if count - start > _WINDOW else count
    first = requests[start]
    if requests[end - 1] == first and end - start > 1 and \
            requests[start:end].count(first) == end - start and len(first) == size:
        return -end
    stop = start + 1
    while stop < count:
        other = requests[stop]
        if len(other) != size or other[1] != key or other[0] != name:
            break
        stop += 1
    return stop


def count_accesses(access: Any, slot: int, lru: int, times: int) -> None:
    """``times`` accesses to the key at ``slot`` by an own loop's run applied together:
    one stamp in an LRU table; an LFU table (``evict.LFUAccess``) counts each."""
    if not stamps_count(access):
        access[slot] = lru
    else:
        for _ in range(times):
            access[slot] = lru


class Command:
    """One entry of the command table (a command or a subcommand)."""

    __slots__ = (
        "name", "fullname", "handler", "arity", "flags", "first_key", "last_key",
        "key_step", "group", "since", "summary", "subcommands", "parent",
        "is_write", "calls", "seconds", "failed_calls", "rejected_calls", "key_finder",
        "key_flags", "hist", "hist_big", "changes_config", "min_args", "max_args",
        "effect", "plain_arity", "alike", "run", "adds_one", "forced",
    )

    def __init__(self, name: str, handler: Optional[Handler], arity: int,
                 flags: Iterable[str], keys: Tuple[int, int, int], group: str,
                 since: str, summary: str, parent: Optional["Command"] = None,
                 key_finder: Optional[Callable[[List[bytes]], List[int]]] = None) -> None:
        self.name = name
        self.fullname = f"{parent.name}|{name}" if parent else name
        self.handler = handler
        self.arity = arity
        self.flags: FrozenSet[str] = frozenset(flags)
        self.first_key, self.last_key, self.key_step = keys
        self.group = group
        self.since = since
        self.summary = summary
        self.subcommands: Dict[bytes, "Command"] = {}
        self.parent = parent
        self.is_write = "write" in self.flags
        # The dirty counter (miniredis/dirty.py): the dispatcher adds one for it when it
        # does not fail, or its handler counts its own changes; propagated even when
        # it changed nothing.
        self.adds_one = self.is_write and self.fullname not in COUNTS_OWN
        self.forced = self.fullname in FORCED
        self.key_finder = key_finder
        # The flags of its first key spec (miniredis/keyspecs.py): ACL checks not_key.
        specs = specs_of(self.fullname)
        self.key_flags = list(specs[0].flags) if specs else []
        self.calls = 0
        self.seconds = 0.0      # time spent in the handler (INFO commandstats)
        self.failed_calls = 0
        self.rejected_calls = 0
        # Latency histogram (see miniredis.histogram): a list once the command has one.
        self.hist: Any = NO_HISTOGRAM
        self.hist_big: Optional[Dict[int, int]] = None
        # The dispatcher reads settings once per batch, and again after these.
        self.changes_config = self.fullname in _CHANGES_CONFIG
        self.min_args = self.max_args = 0
        self.set_dispatch_range()
        # Its effect function for the AOF and replicas (miniredis.propagate), looked up
        # there on first use: False until then, None when it is its own effect; and
        # an argument count with which it is its own effect all the same (SET k v).
        self.effect: Any = False
        self.plain_arity = -1
        # Several in a row run through the dispatcher's short loop (miniredis/runs.py).
        self.alike = handler is not None and parent is None \
            and "blocking" not in self.flags and not self.changes_config \
            and (group in _ALIKE_GROUPS or name in _ALIKE_NAMES)
        # Its own loop for such runs (miniredis/runs.py), if it has one.
        self.run: Optional[Callable[..., int]] = None

    def set_dispatch_range(self) -> None:
        """Argument counts (``min_args`` to ``max_args``) with which dispatch runs the
        handler straight away: one range check per request instead of the arity rule.
        None for a command without a handler of its own (subcommands decide)."""
        if self.handler is None:
            self.min_args, self.max_args = 1 << 62, 0
        elif self.arity >= 0:
            self.min_args = self.max_args = self.arity
        else:
            self.min_args, self.max_args = -self.arity, 1 << 62

    def reset_stats(self) -> None:
        """CONFIG RESETSTAT (and the end of loading): calls, timings, histogram."""
        self.calls = self.failed_calls = self.rejected_calls = 0
        self.seconds = 0.0
        self.hist = NO_HISTOGRAM
        self.hist_big = None

    def key_indexes(self, args: List[bytes]) -> List[int]:
        """Positions of the key arguments in ``args`` (for COMMAND GETKEYS, WATCH, AOF)."""
        if self.key_finder is not None:
            return self.key_finder(args)
        if self.first_key == 0:
            return []
        last = self.last_key if self.last_key >= 0 else len(args) + self.last_key
        return list(range(self.first_key, last + 1, self.key_step))

    @property
    def usec(self) -> int:
        """Microseconds spent running this command (the dispatcher sums seconds)."""
        return int(self.seconds * 1_000_000)

    @usec.setter
    def usec(self, value: int) -> None:
        self.seconds = value / 1_000_000

    def arity_ok(self, nargs: int) -> bool:
        arity = self.arity
        return nargs == arity if arity >= 0 else nargs >= -arity

    def __repr__(self) -> str:
        return f"<Command {self.fullname}>"


# name (lower case bytes) -> Command; also the upper-case spelling, which
# redis-benchmark and many clients send, so dispatch rarely needs .lower().
COMMANDS: Dict[bytes, Command] = {}
_LOOKUP: Dict[bytes, Command] = {}
_BARE: Dict[bytes, Command] = {}   # name -> the form run without a subcommand


def command(name: str, arity: int, flags: str = "", keys: Tuple[int, int, int] = (0, 0, 0),
            group: str = "generic", since: str = "1.0.0", summary: str = "",
            key_finder: Optional[Callable[[List[bytes]], List[int]]] = None
            ) -> Callable[[Handler], Handler]:
    """Register a command or, with ``"parent|sub"``, a subcommand.

    ``flags`` is a space-separated list of Redis command flags (``write``,
    ``readonly``, ``denyoom``, ``fast``, ``admin``, ``noscript``, ``blocking``,
    ``loading``, ``stale``, ``pubsub``, ``no_auth``, ``no_multi``...). How each key is
    used (Redis's key specs) is in :mod:`miniredis.keyspecs`, by command name.
    """
    def register(handler: Handler) -> Handler:
        if "|" in name:
            parent_name, sub = name.split("|", 1)
            parent = COMMANDS[parent_name.encode()]
            cmd = Command(sub, handler, arity, flags.split(), keys, group, since, summary,
                          parent=parent, key_finder=key_finder)
            parent.subcommands[sub.encode()] = cmd
            if parent.handler is not None:
                # A command that also runs bare (COMMAND): dispatch must look at the
                # subcommand first, so the bare form moves to its own entry.
                bare = Command(parent.name, parent.handler, 1, parent.flags, (0, 0, 0),
                               parent.group, parent.since, parent.summary)
                _BARE[parent.name.encode()] = bare
                parent.handler = None
                parent.alike = False
                parent.set_dispatch_range()
        else:
            cmd = Command(name, handler, arity, flags.split(), keys, group, since, summary,
                          key_finder=key_finder)
            COMMANDS[name.encode()] = cmd
            _LOOKUP[name.encode()] = cmd
            _LOOKUP[name.upper().encode()] = cmd
        return handler
    return register


def container(name: str, arity: int = -2, flags: str = "", group: str = "server",
              since: str = "1.0.0", summary: str = "") -> None:
    """Declare a command that only dispatches to subcommands (CONFIG, CLIENT...)."""
    cmd = Command(name, None, arity, flags.split(), (0, 0, 0), group, since, summary)
    COMMANDS[name.encode()] = cmd
    _LOOKUP[name.encode()] = cmd
    _LOOKUP[name.upper().encode()] = cmd


class CommandNames:
    """The names one server knows its commands by: Redis's ``server.commands``.

    rename-command (config files only) renames or removes a command for that server;
    every lookup Redis makes in ``server.commands`` -- dispatch, MULTI, scripts,
    COMMAND, INFO commandstats, LATENCY HISTOGRAM, ACL DRYRUN -- goes through the
    server's own. ACL rules keep the original names (``orig_commands``): they use the
    module's table. Without renames the shared tables serve, so nothing is copied."""

    __slots__ = ("by_name", "fast")

    def __init__(self, renames: Iterable[Tuple[bytes, bytes]] = ()) -> None:
        renames = list(renames)
        # lower-case name -> Command, and ``fast``: also each upper-case spelling
        self.by_name: Dict[bytes, Command] = COMMANDS
        self.fast: Dict[bytes, Command] = _LOOKUP
        if renames:
            by_name = dict(COMMANDS)
            for old, new in renames:
                cmd = by_name.pop(old.lower())
                if new:
                    by_name[new.lower()] = cmd
            self.by_name = by_name
            self.fast = {}
            for name, cmd in by_name.items():
                self.fast[name] = self.fast[name.upper()] = cmd

    def lookup(self, name: bytes) -> Optional[Command]:
        """The command called ``name`` (any case), or None."""
        cmd = self.fast.get(name)
        if cmd is None:
            try:
                cmd = self.by_name.get(name.lower())
            except AttributeError:
                return None
        return cmd

    def command_of(self, args: List[bytes]) -> Optional[Command]:
        """lookupCommand: the command ``args`` runs (a container's subcommand, the
        form run without one), or None -- an unknown subcommand is no command."""
        cmd = self.lookup(args[0])
        if cmd is None:
            return None
        if len(args) == 1 or not cmd.subcommands:
            if cmd.handler is None:
                return _BARE.get(cmd.name.encode(), cmd)
            return cmd
        return cmd.subcommands.get(args[1].lower())

    def commands(self) -> List[Command]:
        """Every top-level command this server knows, in table order."""
        return list(self.by_name.values())

    def resolve(self, args: List[bytes]) -> Command:
        """The command (or subcommand) ``args`` invokes, with its arity checked.

        Raises the unknown-command, unknown-subcommand or wrong-arity error exactly as
        Redis words them.
        """
        return _resolve(self.lookup(args[0]), args)

    def stats_entries(self) -> List[Command]:
        """Every command that keeps statistics (INFO commandstats and latencystats,
        LATENCY HISTOGRAM), in table order: each command (the form run without a
        subcommand where it has one, as COMMAND) followed by its subcommands."""
        entries = []
        for cmd in self.by_name.values():
            entries.append(_BARE.get(cmd.name.encode(), cmd))
            entries.extend(cmd.subcommands.values())
        return entries

    def by_fullname(self, name: bytes) -> List[Command]:
        """LATENCY HISTOGRAM's lookup (lookupCommandBySds): ``name`` or ``parent|sub``
        in any case; the entries holding its statistics: the command (its bare form
        where it has one) then its subcommands. Empty when no such command."""
        parts = name.lower().split(b"|")
        if len(parts) > 2:
            return []
        cmd = self.by_name.get(parts[0])
        if cmd is None:
            return []
        if len(parts) == 2:
            sub = cmd.subcommands.get(parts[1])
            return [sub] if sub is not None else []
        return [_BARE.get(cmd.name.encode(), cmd)] + list(cmd.subcommands.values())


# The names every server starts with (the module's own tables, filled as the command
# modules register).
SHARED_NAMES = CommandNames()


def lookup(name: bytes) -> Optional[Command]:
    """The command called ``name`` (any case) by its original name, or None."""
    return SHARED_NAMES.lookup(name)


def resolve(args: List[bytes]) -> Command:
    """:meth:`CommandNames.resolve` with the original names."""
    return SHARED_NAMES.resolve(args)


def _resolve(cmd: Optional[Command], args: List[bytes]) -> Command:
    if cmd is None:
        raise CommandError(unknown_command_message(args))
    if cmd.subcommands or cmd.handler is None:
        if len(args) < 2 and cmd.handler is None:
            bare = _BARE.get(cmd.name.encode())
            if bare is not None:
                return bare
            raise CommandError(errors.WRONG_ARITY.format(cmd.name))
        if len(args) >= 2:
            sub = cmd.subcommands.get(args[1].lower())
            if sub is None:
                if cmd.handler is None:
                    raise CommandError(errors.UNKNOWN_SUBCOMMAND.format(
                        _printable(args[1][:128]), _printable(args[0]).upper()))
            else:
                cmd = sub
    if not cmd.arity_ok(len(args)):
        raise CommandError(errors.WRONG_ARITY.format(cmd.fullname))
    return cmd


def own_name(client: Any, args: List[bytes]) -> str:
    """The name Redis's errors give the running command (``cmd->fullname``): its own,
    whatever rename-command called it."""
    cmd = client.state.names.lookup(args[0])
    return cmd.fullname if cmd is not None else errors.c_text(args[0]).lower()


def unknown_command_message(args: List[bytes]) -> str:
    """Redis's text: the name, then quoted arguments until 128 characters are shown."""
    shown = ""
    for arg in args[1:]:
        if len(shown) >= 128:
            break
        shown += "'%s' " % _printable(arg[:128 - len(shown)])
    return errors.UNKNOWN_COMMAND.format(_printable(args[0][:128]), shown)


def _printable(value: bytes) -> str:
    """An argument quoted in an error text: Redis turns CR and LF into spaces, and its
    C formatting ends the argument at a NUL byte."""
    if b"\0" in value:
        value = value[:value.index(b"\0")]
    return value.decode("utf-8", "surrogateescape").replace("\r", " ").replace("\n", " ")


def numkeys_positions(args: List[bytes], at: int = 1) -> List[int]:
    """Key positions of commands whose key count is at ``args[at]`` (LMPOP, ZUNION,
    SINTERCARD...); empty when the count is not a positive number of keys present,
    which COMMAND GETKEYS reports as invalid arguments."""
    numkeys = to_int(args[at]) if len(args) > at else None
    if not numkeys or numkeys < 0 or at + numkeys >= len(args):
        return []
    return list(range(at + 1, at + 1 + numkeys))


def all_commands() -> List[Command]:
    """Every registered top-level command."""
    return list(COMMANDS.values())


def stats_entries() -> List[Command]:
    """Every command that keeps statistics, renamed or not (their counters are the
    commands' own): what CONFIG RESETSTAT and a start-up load reset."""
    return SHARED_NAMES.stats_entries()


def load_all() -> None:
    """Import every command module so its decorators register its commands.

    Every module in this package is a command group; a new group is picked up by
    adding its file, with no list to keep in step.
    """
    import importlib
    import pkgutil
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        importlib.import_module(f"{__name__}.{module}")
