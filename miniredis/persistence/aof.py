"""Append-only persistence: effects logging, fsync policies, loading and rewrite.

The layout is Redis 7.0's multi-part AOF (the default of real Redis 7): a directory
(``appenddirname``, inside ``dir``) holding one *base* file (a compact rewrite of the
dataset), the *incr* files written since, and ``<appendfilename>.manifest`` naming
them in load order::

    file appendonly.aof.1.base.aof seq 1 type b
    file appendonly.aof.1.incr.aof seq 1 type i

Every file is plain RESP (``aof-use-rdb-preamble`` is not honoured: our base is always
``.base.aof``), so a real redis-server 7 loads the directory as it is, and
``cat base incr | redis-cli --pipe`` replays it into any Redis.

Effects, not requests, are logged (Redis's propagation): after a write command runs,
:meth:`AOF.feed` appends its deterministic effect, which is the request itself unless
the command is listed in :data:`EFFECTS` (relative expiries become absolute, ``XADD *``
gets its concrete ID, served blocking pops become plain pops, SPOP becomes SREM...).
The effects of one atomic unit (EXEC, a script: :func:`begin_unit`/:func:`end_unit`)
are wrapped in MULTI/EXEC when there is more than one. A SELECT is written whenever
the database of an effect differs from the file's current one.

Durability: effects go to an in-memory buffer; :meth:`AOF.write` empties it into the
file (and, with ``appendfsync always``, fsyncs) and the dispatcher calls it before any
reply leaves the server, so an acknowledged write is in the file (``always``: on disk).
With ``everysec`` the cron hands an fsync to a worker thread once a second.

Rewrite (BGREWRITEAOF, automatic, or turning AOF on): the dataset is copied in one
step (atomic: handlers never yield), a new incr file takes every later write at once,
and a greenlet serialises the copy into a temporary base file in slices, so clients
keep being served. The temporary file is fsynced and renamed, then a new manifest
(base N+1, the new incr) replaces the old one atomically (temp file, fsync, rename,
fsync of the directory). Until then the old manifest (old base, old incr, new incr)
describes a complete dataset, so a crash or a failed rewrite loses nothing.
"""
from __future__ import annotations

import os
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

from ..blocking import BLOCKED
from ..commands import lookup as lookup_command
from ..datatypes.stream import Stream, format_id
from ..protocol import NULL_ARRAY, Map, format_double

if TYPE_CHECKING:  # pragma: no cover
    from ..connection import Client
    from ..keyspace import Database
    from ..state import ServerState

_ITEMS_PER_COMMAND = 64         # AOF_REWRITE_ITEMS_PER_CMD: elements per RPUSH/SADD...
_REWRITE_SLICE_SECONDS = 0.005  # serialise for this long, then let clients run


class AOFLoadError(Exception):
    """The AOF cannot be loaded (corruption, refused truncation): start-up must stop."""


def encode(argv: List[Any]) -> bytes:
    """One command as a RESP array of bulk strings (ints written in decimal)."""
    parts = [b"*%d\r\n" % len(argv)]
    for arg in argv:
        if arg.__class__ is not bytes:
            arg = b"%d" % arg if isinstance(arg, int) else bytes(arg)
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


_MULTI = encode([b"MULTI"])
_EXEC = encode([b"EXEC"])


# -- the manifest ---------------------------------------------------------------------
class Manifest:
    """The list of AOF files to load, Redis 7.0's ``appendonly.aof.manifest``."""

    def __init__(self, base: Optional[Tuple[str, int]] = None,
                 incrs: Optional[List[Tuple[str, int]]] = None) -> None:
        self.base = base                  # (file name, seq) or None
        self.incrs = incrs or []          # [(file name, seq)], load order

    def render(self) -> bytes:
        lines = []
        if self.base is not None:
            lines.append("file %s seq %d type b\n" % self.base)
        for name, seq in self.incrs:
            lines.append("file %s seq %d type i\n" % (name, seq))
        return "".join(lines).encode()

    @classmethod
    def parse(cls, text: bytes, path: str) -> "Manifest":
        manifest = cls()
        for number, raw in enumerate(text.decode("utf-8", "replace").splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            words = line.split()
            fields = dict(zip(words[0::2], words[1::2]))
            if len(words) % 2 or "file" not in fields or "seq" not in fields \
                    or fields.get("type") not in ("b", "h", "i"):
                raise AOFLoadError("Invalid AOF manifest file format: %s (line %d)"
                                   % (path, number))
            try:
                entry = (fields["file"], int(fields["seq"]))
            except ValueError:
                raise AOFLoadError("Invalid AOF manifest file format: %s (line %d)"
                                   % (path, number)) from None
            if fields["type"] == "b":
                if manifest.base is not None:
                    raise AOFLoadError("Found duplicate base file information in %s"
                                       % path)
                manifest.base = entry
            elif fields["type"] == "i":
                manifest.incrs.append(entry)
        return manifest


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data``: temp file, fsync, rename, fsync of the dir."""
    temp = "%s.tmp-%d" % (path, os.getpid())
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)
    _fsync_dir(os.path.dirname(path) or ".")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


# -- effects of individual commands -----------------------------------------------------
# name -> function(client, args, reply) -> the effects (argv lists) to log instead of
# ``args``. Called right after the command ran, so the keyspace shows its result.
EffectFunction = Callable[["Client", List[bytes], Any], List[List[Any]]]
EFFECTS: Dict[str, EffectFunction] = {}


def effect(*names: str) -> Callable[[EffectFunction], EffectFunction]:
    """Declare the effect function of the commands ``names`` (full names)."""
    def register(function: EffectFunction) -> EffectFunction:
        for name in names:
            EFFECTS[name] = function
        return function
    return register


def _restate_string(db: "Database", key: bytes) -> List[List[Any]]:
    """The string at ``key`` as it is now (value and absolute expiry), or its deletion:
    correct whatever the command did (SET NX that did nothing restates the same)."""
    value = db.data.get(key)
    if value is None:
        return [[b"DEL", key]]
    if value.__class__ is not bytes and value.__class__ is not bytearray:
        return []
    when = db.expires.get(key) if db.expires else None
    if when is None:
        return [[b"SET", key, bytes(value)]]
    return [[b"SET", key, bytes(value), b"PXAT", when]]


@effect("set")
def _set_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    # Relative (EX/PX) and second-resolution (EXAT) expiries become SET ... PXAT.
    for arg in args[3:]:
        if arg.lower() in (b"ex", b"px", b"exat"):
            return _restate_string(client.db, args[1])
    return [args]


@effect("setex", "psetex")
def _setex_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    return _restate_string(client.db, args[1])


@effect("getex")
def _getex_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    if reply is None or len(args) == 2:
        return []                       # no key, or a plain read
    key = args[1]
    db = client.db
    if args[2].lower() == b"persist":
        return [[b"PERSIST", key]]
    if key not in db.data:
        return [[b"DEL", key]]          # an expiry in the past deleted it
    return [[b"PEXPIREAT", key, db.expires[key]]]


@effect("expire", "pexpire", "expireat")
def _expire_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    if reply != 1:
        return []
    key = args[1]
    db = client.db
    if key not in db.data:
        return [[b"DEL", key]]
    return [[b"PEXPIREAT", key, db.expires[key]]]


@effect("incrbyfloat")
def _incrbyfloat_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    # The float rendering is the server's: log the result, not the addition.
    return [[b"SET", args[1], reply, b"KEEPTTL"]]


@effect("hincrbyfloat")
def _hincrbyfloat_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    return [[b"HSET", args[1], args[2], reply]]


@effect("spop")
def _spop_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    if reply is None or reply is NULL_ARRAY:
        return []
    members = [reply] if isinstance(reply, (bytes, bytearray)) else list(reply)
    if not members:
        return []
    return [[b"SREM", args[1]] + members]


@effect("blpop", "brpop")
def _bpop_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    if not isinstance(reply, list):
        return []
    name = b"LPOP" if args[0].lower() == b"blpop" else b"RPOP"
    return [[name, reply[0]]]


@effect("brpoplpush")
def _brpoplpush_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    if not isinstance(reply, (bytes, bytearray)):
        return []
    return [[b"RPOPLPUSH", args[1], args[2]]]


@effect("blmove")
def _blmove_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    if not isinstance(reply, (bytes, bytearray)):
        return []
    return [[b"LMOVE", args[1], args[2], args[3], args[4]]]


def _mpop_direction(args: List[bytes]) -> bytes:
    numkeys = int(args[2])
    return args[3 + numkeys].upper()


@effect("blmpop")
def _blmpop_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    if not isinstance(reply, list):
        return []
    key, elements = reply
    name = b"LPOP" if _mpop_direction(args) == b"LEFT" else b"RPOP"
    return [[name, key, len(elements)]]


@effect("bzpopmin", "bzpopmax")
def _bzpop_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    if not isinstance(reply, list):
        return []
    return [[b"ZREM", reply[0], reply[1]]]


@effect("bzmpop")
def _bzmpop_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    if not isinstance(reply, list):
        return []
    key, pairs = reply
    return [[b"ZREM", key] + [pair[0] for pair in pairs]]


def _trim_threshold(stream: Stream, maxlen: bool) -> List[Any]:
    """An approximate trim as the exact one with the same result (Redis does this)."""
    if maxlen or not len(stream):
        return [b"MAXLEN", b"=", len(stream)]
    return [b"MINID", b"=", format_id(stream.first_id)]


def _parse_trim(args: List[bytes], xadd: bool) -> Tuple[bool, bool, bool, int]:
    """XADD/XTRIM options from args[2]: (NOMKSTREAM?, approximate?, MAXLEN (not
    MINID)?, index of what follows: XADD's ID)."""
    nomkstream = approx = False
    maxlen = True
    i = 2
    n = len(args)
    while i < n:
        low = args[i].lower()
        if low in (b"maxlen", b"minid"):
            maxlen = low == b"maxlen"
            i += 1
            if args[i] in (b"~", b"="):
                approx = args[i] == b"~"
                i += 1
            i += 1
        elif low == b"limit":
            i += 2
        elif low == b"nomkstream" and xadd:
            nomkstream = True
            i += 1
        else:
            break
    return nomkstream, approx, maxlen, i


@effect("xadd")
def _xadd_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    if reply is None:
        return []                       # NOMKSTREAM on a missing key
    nomkstream, approx, maxlen, i = _parse_trim(args, xadd=True)
    if not approx:
        return [list(args[:i]) + [reply] + list(args[i + 1:])]
    stream = client.db.data.get(args[1])
    options = [b"NOMKSTREAM"] if nomkstream else []
    return [[b"XADD", args[1]] + options + _trim_threshold(stream, maxlen) + [reply]
            + list(args[i + 1:])]


@effect("xtrim")
def _xtrim_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    _, approx, maxlen, _ = _parse_trim(args, xadd=False)
    if not approx:
        return [args]
    stream = client.db.data.get(args[1])
    if stream is None:
        return []
    return [[b"XTRIM", args[1]] + _trim_threshold(stream, maxlen)]


def _restate_pending(db: "Database", key: bytes, group_name: bytes,
                     ids: List[bytes]) -> List[List[Any]]:
    """The PEL entries ``ids`` of a group as they are now: XCLAIM each one that is
    pending (owner, delivery time and count, the group's last ID), XACK the others."""
    stream = db.data.get(key)
    if stream.__class__ is not Stream:
        return []
    group = stream.groups.get(group_name)
    if group is None:
        return []
    out: List[List[Any]] = []
    gone: List[bytes] = []
    last = format_id(group.last_id)
    for text in ids:
        ms, _, seq = text.partition(b"-")
        nack = group.pel.get((int(ms), int(seq)))
        if nack is None or nack.consumer is None:
            gone.append(text)
            continue
        out.append([b"XCLAIM", key, group_name, nack.consumer.name, b"0", text,
                    b"TIME", nack.delivery_time, b"RETRYCOUNT", nack.delivery_count,
                    b"FORCE", b"JUSTID", b"LASTID", last])
    if gone:
        out.append([b"XACK", key, group_name] + gone)
    return out


def _group_position(db: "Database", key: bytes, group_name: bytes) -> List[List[Any]]:
    stream = db.data.get(key)
    group = stream.groups.get(group_name) if stream.__class__ is Stream else None
    if group is None:
        return []
    return [[b"XGROUP", b"SETID", key, group_name, format_id(group.last_id),
             b"ENTRIESREAD", group.entries_read]]


def _stream_items(reply: Any) -> List[Tuple[bytes, Any]]:
    if isinstance(reply, Map):
        return list(reply.items())
    return [(item[0], item[1]) for item in reply]


@effect("xreadgroup")
def _xreadgroup_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    if not isinstance(reply, (list, Map)):
        return []
    for i, arg in enumerate(args):
        if arg.lower() == b"group":
            group_name, consumer = args[i + 1], args[i + 2]
            break
    db = client.db
    out: List[List[Any]] = []
    for key, entries in _stream_items(reply):
        # Deleted entries read from the history (ID with a null body) are untouched.
        ids = [entry[0] for entry in entries if entry[1] is not NULL_ARRAY]
        claims = _restate_pending(db, key, group_name, ids)
        claims = [c for c in claims if c[0] == b"XCLAIM"]   # NOACK: nothing pending
        if not claims:
            out.append([b"XGROUP", b"CREATECONSUMER", key, group_name, consumer])
        out += claims
        out += _group_position(db, key, group_name)
    return out


@effect("xclaim")
def _xclaim_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    ids = []
    for arg in args[5:]:
        if b"-" not in arg and not arg.isdigit():
            break
        ids.append(arg if b"-" in arg else arg + b"-0")
    out = _restate_pending(client.db, args[1], args[2], ids)
    return out + _group_position(client.db, args[1], args[2])


@effect("xautoclaim")
def _xautoclaim_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    claimed = [item if isinstance(item, (bytes, bytearray)) else item[0]
               for item in reply[1]]
    return _restate_pending(client.db, args[1], args[2], claimed + list(reply[2]))


@effect("xgroup|create", "xgroup|setid")
def _xgroup_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    key, group_name = args[2], args[3]
    stream = client.db.data.get(key)
    group = stream.groups.get(group_name) if stream.__class__ is Stream else None
    if group is None:
        return []
    if args[1].lower() == b"create":
        return [[b"XGROUP", b"CREATE", key, group_name, format_id(group.last_id),
                 b"MKSTREAM", b"ENTRIESREAD", group.entries_read]]
    return _group_position(client.db, key, group_name)


@effect("pfadd")
def _pfadd_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    return [args] if reply else []       # no register changed: Redis logs nothing


@effect("pfdebug")
def _pfdebug_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    # Only a conversion to dense is logged (GETREG converts too: always restated).
    sub = args[1].split(b"\x00", 1)[0].lower()
    if sub == b"todense":
        return [args] if reply == 1 else []
    return [args] if sub == b"getreg" else []


@effect("geoadd")
def _geoadd_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    # GEOADD runs ZADD and Redis propagates that ZADD (spelled "zadd"), unless
    # nothing changed: known from a reply of 0 with CH, or with NX (no updates).
    from ..commands.geo import geoadd_options, zadd_arguments
    if reply == 0 and {b"ch", b"nx"} & set(geoadd_options(args)):
        return []
    argv = zadd_arguments(args)
    argv[0] = b"zadd"
    return [argv]


@effect("georadius", "georadiusbymember")
def _georadius_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    # A write command only with STORE/STOREDIST; then it is logged as it came.
    cmd = lookup_command(args[0])
    return [args] if cmd is not None and len(cmd.key_indexes(args)) > 1 else []


# -- the writer -------------------------------------------------------------------------
class AOF:
    """The append-only file of one server (``state.aof`` while appendonly is on)."""

    def __init__(self, state: "ServerState") -> None:
        self.state = state
        config = state.config
        self.dir = os.path.join(os.path.abspath(config["dir"]), config["appenddirname"])
        self.prefix = config["appendfilename"]
        self.manifest_path = os.path.join(self.dir, self.prefix + ".manifest")
        self.manifest = Manifest()
        self.fd = -1
        self.buf: List[bytes] = []          # committed effects not yet written
        self.waiting: Dict[Any, None] = {}  # clients whose replies wait for write()
        self.group_scheduled = False
        self.releasing = False              # sending the held replies now
        self.pending: List[Tuple[int, bytes]] = []   # effects of the open unit
        self.depth = 0                      # open units (EXEC, scripts)
        self.file_db: Optional[int] = None  # the database the file has SELECTed
        self.current_size = 0               # bytes in base + incr files
        self.base_size = 0                  # current_size after the last rewrite
        self.unsynced = False               # written since the last fsync
        self.fsync_running = False
        self.last_fsync = time.monotonic()
        self.last_write_ok = True
        self.last_write_error = ""
        self.delayed_fsync = 0
        self.rewrite: Optional["_Rewrite"] = None
        self.rewrite_scheduled = False
        self.rewrites = 0
        self.rewrite_failures = 0           # consecutive
        self.last_rewrite_ok = True
        self.last_rewrite_seconds = -1
        # Does the manifest on disk describe the dataset? Not while the first rewrite
        # after turning AOF on at runtime is running (Redis's AOF_WAIT_REWRITE).
        self.complete = True
        self.on = False                     # appendonly yes: effects are being logged
        self.orphan: Optional[str] = None   # that rewrite's incr, not in a manifest yet

    # -- effects --------------------------------------------------------------------
    def propagate(self, db_id: int, argv: List[Any]) -> None:
        """Log ``argv`` as an effect in database ``db_id``."""
        data = encode(argv)
        if self.depth:
            self.pending.append((db_id, data))
        else:
            self._emit(db_id, data)

    def _emit(self, db_id: int, data: bytes) -> None:
        if db_id != self.file_db:
            self.buf.append(encode([b"SELECT", db_id]))
            self.file_db = db_id
        self.buf.append(data)

    def commit(self) -> None:
        """Close the open unit: its effects, wrapped in MULTI/EXEC if more than one."""
        pending, self.pending = self.pending, []
        if len(pending) == 1:
            self._emit(*pending[0])
        elif pending:
            self.buf.append(_MULTI)
            for db_id, data in pending:
                self._emit(db_id, data)
            self.buf.append(_EXEC)

    def feed(self, client: "Client", cmd: Any, args: List[bytes], reply: Any) -> None:
        """A write command ran (successfully): log its effect."""
        function = EFFECTS.get(cmd.fullname)
        db_id = client.db.id
        if function is None:
            self.propagate(db_id, args)
            return
        if reply is BLOCKED:
            return                           # parked: logged when served
        for argv in function(client, args, reply):
            self.propagate(db_id, argv)

    def served(self, waiter: Any, reply: Any) -> None:
        """A blocked client was served: log its command's effect (LPOP for BLPOP...)."""
        args = getattr(waiter, "args", None)
        if args is None or isinstance(reply, Exception):
            return
        cmd = lookup_command(args[0])
        function = EFFECTS.get(cmd.fullname) if cmd is not None else None
        if function is None:
            return
        for argv in function(waiter.client, args, reply):
            self.propagate(waiter.db_id, argv)

    def expired(self, db: "Database", key: bytes) -> None:
        """A key expired (lazily or actively): Redis logs its deletion."""
        self.propagate(db.id, [b"DEL", key])

    # -- the file -------------------------------------------------------------------
    def defer(self, client: "Client") -> bool:
        """Hold ``client``'s replies until the buffered effects are written: all the
        clients served in one loop iteration share one write (and, with ``always``,
        one fsync), as Redis's beforeSleep does. False: written now, send at once."""
        loop = self.state.loop
        if loop is None or self.releasing:
            if loop is None:
                self.write()
            return False   # (releasing after a failed write: replies go regardless)
        self.waiting[client] = None
        if not self.group_scheduled:
            self.group_scheduled = True
            loop.run_callback(self._group_write)
        return True

    def _group_write(self) -> None:
        self.group_scheduled = False
        self.write()
        waiting, self.waiting = self.waiting, {}
        self.releasing = True
        try:
            for client in waiting:
                if client.closed:
                    continue
                client.flush()
                if client.closing and not client._unsent:
                    client.close()
        finally:
            self.releasing = False

    def write(self) -> None:
        """Write the buffered effects (and fsync them under ``always``)."""
        if self.pending and not self.depth:
            self.commit()
        if not self.buf or self.fd < 0:
            return
        data = b"".join(self.buf)
        try:
            _write_all(self.fd, data)
        except OSError as exc:
            self._write_failed(exc)
            return
        self.buf = []
        self.current_size += len(data)
        if not self.last_write_ok:
            self.state.log("warning", "AOF write error looks solved, Redis can write again.")
        self.last_write_ok = True
        if self.state.config.values["appendfsync"] == "always":
            try:
                os.fsync(self.fd)
            except OSError as exc:
                self._write_failed(exc)
                return
            self.last_fsync = time.monotonic()
        else:
            self.unsynced = True

    def _write_failed(self, exc: OSError) -> None:
        self.last_write_ok = False
        self.last_write_error = exc.strerror or str(exc)
        self.state.log("warning", "Error writing to the AOF file: %s" % self.last_write_error)
        if self.state.config.values["appendfsync"] == "always":
            # Redis's rule: an acknowledged write must be on disk, so nothing more may
            # be acknowledged. (The written part may repeat: loading tolerates it.)
            self.state.log("warning", "Can't recover from AOF write error when the AOF "
                                      "fsync policy is 'always'. Exiting...")
            os._exit(1)

    def cron(self) -> None:
        """Called by the server's cron: write, fsync once a second, auto-rewrite."""
        self.write()
        policy = self.state.config.values["appendfsync"]
        now = time.monotonic()
        if policy == "everysec" and self.unsynced and now - self.last_fsync >= 1.0:
            if self.fsync_running:
                self.delayed_fsync += 1
            else:
                self._fsync_in_background()
        if self.rewrite is None:
            if self.rewrite_scheduled and not self.depth:
                self.start_rewrite()
            elif self._rewrite_due():
                self.state.log("notice", "Starting automatic rewriting of AOF on %d%% growth"
                               % self._growth())
                self.start_rewrite()

    def _growth(self) -> int:
        base = self.base_size or 1
        return (self.current_size - self.base_size) * 100 // base

    def _rewrite_due(self) -> bool:
        config = self.state.config.values
        percentage = config["auto-aof-rewrite-percentage"]
        return bool(percentage) and self.current_size > config["auto-aof-rewrite-min-size"] \
            and self._growth() >= percentage

    def _fsync_in_background(self) -> None:
        import gevent
        fd = self.fd
        self.unsynced = False
        self.fsync_running = True
        self.last_fsync = time.monotonic()

        def done(_: Any) -> None:
            self.fsync_running = False

        try:
            result = gevent.get_hub().threadpool.spawn(_fsync_quietly, fd)
            result.rawlink(done)
        except Exception:  # no hub (embedded without a loop): do it here
            _fsync_quietly(fd)
            self.fsync_running = False

    # -- files and manifest ---------------------------------------------------------
    def _name(self, seq: int, kind: str) -> str:
        return "%s.%d.%s.aof" % (self.prefix, seq, kind)

    def _path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def read_manifest(self) -> Optional[Manifest]:
        """The manifest on disk, or None when there is none."""
        try:
            with open(self.manifest_path, "rb") as handle:
                text = handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise AOFLoadError("Can't open the AOF manifest %s for reading: %s"
                               % (self.manifest_path, exc.strerror)) from None
        return Manifest.parse(text, self.manifest_path)

    def save_manifest(self, manifest: Manifest) -> None:
        write_atomically(self.manifest_path, manifest.render())
        self.manifest = manifest

    def _open_incr(self, name: str) -> None:
        """Make ``name`` the file effects are appended to (the previous one is closed)."""
        fd = os.open(self._path(name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        old = self.fd
        self.write()
        if old >= 0:
            _fsync_quietly(old)
            os.close(old)
        self.fd = fd
        self.file_db = None   # a new file starts with no SELECTed database
        self.unsynced = False

    def open_after_load(self, manifest: Optional[Manifest]) -> None:
        """Start appending at server start (after loading ``manifest``, None: no AOF
        existed, so an empty base and a first incr file are created, as Redis 7 does)."""
        self.on = True
        os.makedirs(self.dir, exist_ok=True)
        if manifest is None or not manifest.incrs:
            base_seq = manifest.base[1] if manifest and manifest.base else 1
            if manifest is None or manifest.base is None:
                write_atomically(self._path(self._name(base_seq, "base")), b"")
                base = (self._name(base_seq, "base"), base_seq)
            else:
                base = manifest.base
            incr = (self._name(1, "incr"), 1)
            self._open_incr(incr[0])
            self.save_manifest(Manifest(base, [incr]))
        else:
            self.manifest = manifest
            self._open_incr(manifest.incrs[-1][0])
        self.current_size = self._files_size(self.manifest)
        if self.manifest.base is not None:
            self.base_size = _size(self._path(self.manifest.base[0]))

    def _files_size(self, manifest: Manifest) -> int:
        names = ([manifest.base[0]] if manifest.base else []) + [n for n, _ in manifest.incrs]
        return sum(_size(self._path(name)) for name in names)

    def close(self) -> None:
        """Stop appending: write and fsync what is buffered (shutdown, appendonly no)."""
        if self.rewrite is not None:
            self.rewrite.abort("the AOF was turned off or the server is shutting down")
        self.on = False
        self.depth = 0
        self.write()
        if self.fd >= 0:
            _fsync_quietly(self.fd)
            os.close(self.fd)
            self.fd = -1

    # -- rewrite ---------------------------------------------------------------------
    def enable(self) -> None:
        """CONFIG SET appendonly yes: log from now on; the first rewrite makes the base
        (until it is done the manifest on disk is not touched, as in Redis)."""
        self.on = True
        self.complete = False
        self.start_rewrite()

    def start_rewrite(self) -> None:
        """Begin a background rewrite (BGREWRITEAOF, growth, or turning AOF on).

        With AOF off (BGREWRITEAOF only) the result is a base file and a manifest
        naming it alone, as Redis 7 writes.
        """
        self.rewrite_scheduled = False
        os.makedirs(self.dir, exist_ok=True)
        snapshot = snapshot_dataset(self.state)
        # The files on disk describe the dataset only while AOF is on and complete;
        # otherwise only their numbers matter, and they are replaced at the end.
        trusted = self.on and self.complete
        old = self.manifest if trusted else (_quiet_manifest(self) or Manifest())
        base_seq = (old.base[1] if old.base else 0) + 1
        incr: Optional[Tuple[str, int]] = None
        if self.on:
            incr_seq = max([seq for _, seq in old.incrs] + [0]) + 1
            incr = (self._name(incr_seq, "incr"), incr_seq)
            self._open_incr(incr[0])
            if self.orphan and self.orphan != incr[0]:
                _remove(self._path(self.orphan))   # an earlier attempt's lost incr
                self.orphan = None
            if trusted:
                # A crash during the rewrite loads old base + old incrs + the new incr.
                self.save_manifest(Manifest(old.base, old.incrs + [incr]))
            else:
                self.orphan = incr[0]
        self.rewrite = _Rewrite(self, snapshot, base_seq, incr, old)
        self.rewrite.start()

    def rewrite_finished(self, rewrite: "_Rewrite", error: Optional[str]) -> None:
        self.rewrite = None
        self.last_rewrite_seconds = int(time.monotonic() - rewrite.started)
        if error is not None:
            self.rewrite_failures += 1
            self.last_rewrite_ok = False
            self.state.log("warning", "Background AOF rewrite failed: %s" % error)
            if self.on and not self.complete:
                self.rewrite_scheduled = True   # turning AOF on must finish: retry
            return
        if self.on:
            self.complete = True
            self.orphan = None
        self.rewrites += 1
        self.rewrite_failures = 0
        self.last_rewrite_ok = True
        self.base_size = rewrite.size
        self.current_size = rewrite.size + sum(len(chunk) for chunk in self.buf)
        if rewrite.incr is not None:
            self.current_size += _size(self._path(rewrite.incr[0]))
        self.state.log("notice", "Background AOF rewrite finished successfully")

    def info_fields(self) -> List[str]:
        """The AOF part of INFO persistence (while AOF is on)."""
        return [
            "aof_current_size:%d" % self.current_size,
            "aof_base_size:%d" % self.base_size,
            "aof_pending_rewrite:%d" % int(self.rewrite_scheduled),
            "aof_buffer_length:%d" % sum(len(chunk) for chunk in self.buf),
            "aof_pending_bio_fsync:%d" % int(self.fsync_running),
            "aof_delayed_fsync:%d" % self.delayed_fsync,
        ]


def _quiet_manifest(aof: AOF) -> Optional[Manifest]:
    try:
        return aof.read_manifest()
    except AOFLoadError:
        return None


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _fsync_quietly(fd: int) -> None:
    try:
        os.fsync(fd)
    except OSError:
        pass


# -- snapshot and rewrite -----------------------------------------------------------------
def _copy_value(value: Any) -> Any:
    """An independent copy of a stored value, cheap to take (C-level copies)."""
    cls = value.__class__
    if cls is bytes:
        return value
    if cls is bytearray:
        return bytes(value)
    if isinstance(value, deque):
        return ("list", list(value))
    if isinstance(value, dict):
        return ("hash", list(value.items()))
    if isinstance(value, (set, frozenset)):
        return ("set", list(value))
    if isinstance(value, Stream):
        return ("stream", value.copy())
    scores = getattr(value, "scores", None)
    if isinstance(scores, dict):
        return ("zset", list(scores.items()))
    raise TypeError("no AOF rewrite for values of type %r" % cls)


def snapshot_dataset(state: "ServerState") -> List[Tuple[int, List[Tuple[bytes, Any,
                                                                        Optional[int]]]]]:
    """Every live key of every database, copied: [(db id, [(key, copy, expiry)])]."""
    now = state.clock.ms()
    out = []
    for db in state.dbs:
        if not db.data:
            continue
        expires = db.expires
        items = []
        for key, value in db.data.items():
            when = expires.get(key) if expires else None
            if when is not None and when <= now:
                continue
            items.append((key, _copy_value(value), when))
        out.append((db.id, items))
    return out


def rewrite_commands(key: bytes, value: Any, when: Optional[int]) -> List[List[Any]]:
    """The minimal commands that rebuild one key (Redis's rewriteAppendOnlyFileRio)."""
    out: List[List[Any]] = []
    if value.__class__ is bytes:
        out.append([b"SET", key, value])
    else:
        kind, data = value
        if kind == "stream":
            out += _rewrite_stream(key, data)
        else:
            name, flatten = {
                "list": (b"RPUSH", lambda items: items),
                "set": (b"SADD", lambda items: items),
                "hash": (b"HMSET", lambda items: [x for pair in items for x in pair]),
                "zset": (b"ZADD", lambda items: [x for member, score in items
                                                for x in (format_double(score), member)]),
            }[kind]
            for start in range(0, len(data), _ITEMS_PER_COMMAND):
                out.append([name, key] + flatten(data[start:start + _ITEMS_PER_COMMAND]))
    if when is not None:
        out.append([b"PEXPIREAT", key, when])
    return out


def _rewrite_stream(key: bytes, stream: Stream) -> List[List[Any]]:
    out: List[List[Any]] = []
    if len(stream):
        for stream_id, pairs in stream.entries.items():
            out.append([b"XADD", key, format_id(stream_id)] + list(pairs))
    else:
        # An empty stream still exists: create it with its last ID, then empty it.
        out.append([b"XADD", key, b"MAXLEN", b"0", format_id(stream.last_id), b"x", b"y"])
    out.append([b"XSETID", key, format_id(stream.last_id), b"ENTRIESADDED",
                stream.entries_added, b"MAXDELETEDID", format_id(stream.max_deleted_id)])
    for name, group in stream.groups.items():
        out.append([b"XGROUP", b"CREATE", key, name, format_id(group.last_id),
                    b"ENTRIESREAD", group.entries_read])
        for stream_id, nack in group.pel.items():
            if nack.consumer is None:
                continue
            out.append([b"XCLAIM", key, name, nack.consumer.name, b"0",
                        format_id(stream_id), b"TIME", nack.delivery_time, b"RETRYCOUNT",
                        nack.delivery_count, b"JUSTID", b"FORCE"])
        for consumer in group.consumers.values():
            if not consumer.pel:
                out.append([b"XGROUP", b"CREATECONSUMER", key, name, consumer.name])
    return out


class _Rewrite:
    """One background rewrite: serialises a snapshot into a new base file."""

    def __init__(self, aof: AOF, snapshot: Any, base_seq: int,
                 incr: Optional[Tuple[str, int]], old: Manifest) -> None:
        self.aof = aof
        self.snapshot = snapshot
        self.base_seq = base_seq
        self.incr = incr
        self.old = old                       # the files the new base replaces
        self.started = time.monotonic()
        self.size = 0
        self.temp = os.path.join(aof.dir, "temp-rewriteaof-bg-%d.aof" % os.getpid())
        self.greenlet: Any = None
        self.aborted = False

    def start(self) -> None:
        import gevent
        if self.aof.state.loop is None:
            self.run()                       # no event loop (embedded, not serving)
        else:
            self.greenlet = gevent.spawn(self.run)

    def abort(self, why: str) -> None:
        self.aborted = True
        if self.greenlet is not None:
            self.greenlet.kill(block=False)
        _remove(self.temp)
        self.aof.rewrite_finished(self, why)

    def run(self) -> None:
        aof = self.aof
        try:
            self._write_base()
            if self.aborted:
                return
            base_name = aof._name(self.base_seq, "base")
            os.replace(self.temp, aof._path(base_name))
            old = self.old
            incrs = [self.incr] if self.incr is not None else []
            aof.save_manifest(Manifest((base_name, self.base_seq), incrs))
            keep = [base_name] + [name for name, _ in incrs]
            for name in ([old.base[0]] if old.base else []) + [n for n, _ in old.incrs]:
                if name not in keep:
                    _remove(aof._path(name))
        except Exception as exc:  # disk full, permissions...: the old files stay in use
            _remove(self.temp)
            if not self.aborted:
                aof.rewrite_finished(self, "%s: %s" % (type(exc).__name__, exc))
            return
        if not self.aborted:
            aof.rewrite_finished(self, None)

    def _write_base(self) -> None:
        import gevent
        fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            chunk: List[bytes] = []
            chunk_size = 0
            deadline = time.monotonic() + _REWRITE_SLICE_SECONDS
            for db_id, items in self.snapshot:
                chunk.append(encode([b"SELECT", db_id]))
                for count, (key, value, when) in enumerate(items):
                    for argv in rewrite_commands(key, value, when):
                        data = encode(argv)
                        chunk.append(data)
                        chunk_size += len(data)
                    if chunk_size >= 65536:
                        _write_all(fd, b"".join(chunk))
                        self.size += chunk_size
                        chunk, chunk_size = [], 0
                    if count % 64 == 0 and time.monotonic() >= deadline:
                        if self.greenlet is not None:
                            gevent.sleep(0)      # let clients run between slices
                        if self.aborted:
                            return
                        deadline = time.monotonic() + _REWRITE_SLICE_SECONDS
            data = b"".join(chunk)
            _write_all(fd, data)
            self.size = os.fstat(fd).st_size
            if self.greenlet is not None:
                gevent.get_hub().threadpool.apply(os.fsync, (fd,))
            else:
                os.fsync(fd)
        finally:
            os.close(fd)
        self.snapshot = None


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# -- loading --------------------------------------------------------------------------
class _NoSocket:
    """The socket of the loading client: it has none (replies are dropped)."""

    def fileno(self) -> int:
        raise OSError("no socket")

    def close(self) -> None:
        pass


class _Truncated(Exception):
    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


class _Corrupt(Exception):
    def __init__(self, offset: int, why: str) -> None:
        super().__init__(offset, why)
        self.offset = offset
        self.why = why


def _parse_command(data: bytes, pos: int) -> Tuple[List[bytes], int]:
    """The command starting at ``pos`` and the offset after it.

    Raises _Truncated when the data ends inside it, _Corrupt when it is malformed.
    """
    size = len(data)
    if data[pos] != 42:  # '*'
        raise _Corrupt(pos, "expected '*'")
    end = data.find(b"\r\n", pos)
    if end < 0:
        raise _Truncated(pos)
    try:
        count = int(data[pos + 1:end])
    except ValueError:
        raise _Corrupt(pos, "bad argument count") from None
    if count < 1:
        raise _Corrupt(pos, "bad argument count")
    args = []
    cursor = end + 2
    for _ in range(count):
        if cursor >= size:
            raise _Truncated(pos)
        if data[cursor] != 36:  # '$'
            raise _Corrupt(cursor, "expected '$'")
        end = data.find(b"\r\n", cursor)
        if end < 0:
            raise _Truncated(pos)
        try:
            length = int(data[cursor + 1:end])
        except ValueError:
            raise _Corrupt(cursor, "bad bulk length") from None
        if length < 0:
            raise _Corrupt(cursor, "bad bulk length")
        start = end + 2
        stop = start + length
        if stop + 2 > size:
            raise _Truncated(pos)
        if data[stop:stop + 2] != b"\r\n":
            raise _Corrupt(stop, "expected CRLF after the argument")
        args.append(data[start:stop])
        cursor = stop + 2
    return args, cursor


class Loader:
    """Replays AOF files into the keyspace through a socket-less client."""

    def __init__(self, state: "ServerState") -> None:
        from ..connection import Client
        self.state = state
        self.client = Client(state, _NoSocket(), "", "")
        self.client.set_authenticated(True)
        self.commands = 0

    def load_file(self, path: str, last: bool) -> int:
        """Replay ``path``; returns the byte length of its valid part. A torn tail
        (only allowed in the ``last`` file) is truncated per aof-load-truncated."""
        name = os.path.basename(path)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            raise AOFLoadError("The AOF file %s doesn't exist" % name) from None
        client = self.client
        pos = 0
        size = len(data)
        if data[:5] == b"REDIS":
            # An RDB preamble (Redis's default base, aof-use-rdb-preamble yes): the
            # snapshot, then possibly commands.
            from .rdb import RDBError, load_bytes
            try:
                pos = load_bytes(self.state, data, name)[2]
            except RDBError as exc:
                raise AOFLoadError(str(exc)) from None
        in_multi_since = -1
        batch: List[List[bytes]] = []
        try:
            while pos < size:
                if data[pos] == 35:  # '#': an annotation line (aof-timestamp-enabled)
                    end = data.find(b"\n", pos)
                    if end < 0:
                        raise _Truncated(pos)
                    pos = end + 1
                    continue
                args, after = _parse_command(data, pos)
                if lookup_command(args[0]) is None:
                    raise AOFLoadError(
                        "Unknown command '%s' reading the append only file %s at byte "
                        "offset %d" % (args[0].decode("utf-8", "replace"), name, pos))
                word = args[0].lower()
                if word == b"multi":
                    self._run(batch)
                    in_multi_since = pos
                elif word == b"exec":
                    in_multi_since = -1
                batch.append(args)
                if in_multi_since < 0 and len(batch) >= 1024:
                    self._run(batch)
                pos = after
        except _Corrupt as exc:
            raise AOFLoadError(
                "Bad file format reading the append only file %s at byte offset %d (%s): "
                "make a backup of your AOF file, then use ./redis-check-aof --fix "
                "<filename.manifest>" % (name, exc.offset, exc.why)) from None
        except _Truncated as exc:
            self._torn(path, name, exc.offset if in_multi_since < 0 else in_multi_since,
                       last, batch, in_multi_since)
            return exc.offset if in_multi_since < 0 else in_multi_since
        if in_multi_since >= 0:
            # A complete file ending inside MULTI: the transaction never finished.
            self._torn(path, name, in_multi_since, last, batch, in_multi_since,
                       multi=True)
            return in_multi_since
        self._run(batch)
        return size

    def _torn(self, path: str, name: str, valid: int, last: bool,
              batch: List[List[bytes]], in_multi_since: int, multi: bool = False) -> None:
        log = self.state.log
        if in_multi_since >= 0:
            # Drop the unfinished transaction (everything from its MULTI on).
            for i in range(len(batch) - 1, -1, -1):
                if batch[i][0].lower() == b"multi":
                    del batch[i:]
                    break
        if not last or not self.state.config["aof-load-truncated"]:
            raise AOFLoadError(
                "Unexpected end of file reading the append only file %s (valid up to byte "
                "offset %d). You can: 1) Make a backup of your AOF file, then use "
                "./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set "
                "the 'aof-load-truncated' configuration option to yes and restart the "
                "server." % (name, valid))
        self._run(batch)
        if multi:
            log("warning", "Revert incomplete MULTI/EXEC transaction in AOF file %s" % name)
        else:
            log("warning", "!!! Warning: short read while loading the AOF file %s!!!" % name)
        log("warning", "!!! Truncating the AOF %s at offset %d !!!" % (name, valid))
        with open(path, "r+b") as handle:
            handle.truncate(valid)
            handle.flush()
            os.fsync(handle.fileno())
        log("warning", "AOF %s loaded anyway because aof-load-truncated is enabled" % name)

    def _run(self, batch: List[List[bytes]]) -> None:
        if not batch:
            return
        client = self.client
        client.run_requests(list(batch))
        client.out = []
        self.commands += len(batch)
        batch.clear()

    def finish(self) -> None:
        """Leave the loading client's state (an unfinished MULTI, a SELECT) behind."""
        self.client.multi = None
        self.client._update_gate()


def load(state: "ServerState") -> Optional[Manifest]:
    """Load the AOF named by the manifest in ``dir``/``appenddirname`` at start-up.

    Returns the manifest (None when there is no AOF: the server starts empty). Raises
    AOFLoadError, leaving the files untouched, when they cannot be loaded.
    """
    aof = AOF(state)
    manifest = aof.read_manifest()
    if manifest is None:
        return None
    started = time.monotonic()
    loader = Loader(state)
    files = ([manifest.base[0]] if manifest.base else []) + [n for n, _ in manifest.incrs]
    for index, name in enumerate(files):
        path = aof._path(name)
        loader.load_file(path, last=index == len(files) - 1)
    loader.finish()
    state.log("notice", "DB loaded from append only file: %.3f seconds"
              % (time.monotonic() - started))
    return manifest
