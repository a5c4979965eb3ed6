"""What the AOF logs for a command: its deterministic effect (Redis's propagation).

A write command is logged as itself unless it is listed in :data:`EFFECTS`: relative
expiries become absolute, ``XADD *`` gets its concrete ID, served blocking pops become
plain pops, SPOP becomes SREM... Each function runs right after its command, so the
keyspace shows the command's result. A command that changed nothing (Redis's dirty
counter did not grow: miniredis/dirty.py) is not logged at all.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Tuple

from ..datatypes.stream import Stream, format_id
from ..protocol import NULL_ARRAY
from ..commands import own_name

if TYPE_CHECKING:  # pragma: no cover
    from ..connection import Client
    from ..keyspace import Database


# name -> function(client, args, reply) -> the effects (argv lists) to log instead of
# ``args``. Called right after the command ran, so the keyspace shows its result.
EffectFunction = Callable[["Client", List[bytes], Any], List[List[Any]]]
EFFECTS: Dict[str, EffectFunction] = {}
# name -> an argument count with which the command is its own effect (SET key value):
# the propagator skips the effect function then.
AS_SENT_WITH: Dict[str, int] = {"set": 3}


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
    if len(args) == 3:
        return [args]
    # Relative (EX/PX) and second-resolution (EXAT) expiries become SET ... PXAT.
    options = [arg.lower() for arg in args[3:]]
    if reply is None and b"get" not in options:
        return []                       # NX/XX refused it: nothing changed
    for option in options:
        if option in (b"ex", b"px", b"exat", b"pxat"):
            return _restate_string(client.db, args[1])
    if b"get" in options:       # propagated without its GETs, as setCommand does
        return [args[:3] + [arg for arg in args[3:] if arg.lower() != b"get"]]
    return [args]


@effect("getset")
def _getset_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    return [[b"SET", args[1], args[2]]]     # (getsetCommand rewrites itself as SET)


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
        return _deleted_by_expiry(client, key)     # an expiry in the past deleted it
    return [[b"PEXPIREAT", key, db.expires[key]]]


def _deleted_by_expiry(client: "Client", key: bytes) -> List[List[Any]]:
    """A deadline already past deleted ``key``: Redis logs DEL, UNLINK with
    lazyfree-lazy-expire (a replica keeps a key it is told expired, until the DEL)."""
    lazy = client.state.config.values["lazyfree-lazy-expire"]
    return [[b"UNLINK" if lazy else b"DEL", key]]


@effect("expire", "pexpire", "expireat", "pexpireat")
def _expire_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    if reply != 1:
        return []
    key = args[1]
    db = client.db
    if key not in db.data:
        return _deleted_by_expiry(client, key)
    if own_name(client, args) == "pexpireat":
        return [args]
    # As Redis: PEXPIREAT and the absolute deadline, the options (NX, GT...) kept.
    return [[b"PEXPIREAT", key, db.expires[key]] + list(args[3:])]


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


@effect("getdel")
def _getdel_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    return [[b"DEL", args[1]]]


@effect("blpop", "brpop")
def _bpop_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    if not isinstance(reply, list):
        return []
    name = b"LPOP" if own_name(client, args) == "blpop" else b"RPOP"
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
    """LEFT/RIGHT or MIN/MAX of an [B]LMPOP or [B]ZMPOP (the blocking ones start with
    a timeout)."""
    at = 2 if args[0][:1] in (b"b", b"B") else 1
    return args[at + 1 + int(args[at])].upper()


# LMPOP/BLMPOP and ZMPOP/BZMPOP: the pop with a count of what was popped, on the key
# it came from; BZPOPMIN/MAX: the pop without a count (t_list.c, t_zset.c, blocked.c).
@effect("lmpop", "blmpop")
def _lmpop_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    if not isinstance(reply, list):
        return []
    key, elements = reply
    name = b"LPOP" if _mpop_direction(args) == b"LEFT" else b"RPOP"
    return [[name, key, len(elements)]]


@effect("bzpopmin", "bzpopmax")
def _bzpop_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    if not isinstance(reply, list):
        return []
    name = b"ZPOPMIN" if own_name(client, args) == "bzpopmin" else b"ZPOPMAX"
    return [[name, reply[0]]]


@effect("zmpop", "bzmpop")
def _zmpop_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    if not isinstance(reply, list):
        return []
    key, pairs = reply
    name = b"ZPOPMIN" if _mpop_direction(args) == b"MIN" else b"ZPOPMAX"
    return [[name, key, len(pairs)]]


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


@effect("xreadgroup", "xclaim", "xautoclaim")
def _stream_group_effect(client: "Client", args: List[bytes], reply: Any) -> List[List[Any]]:
    # Worked out by the handlers as Redis's do (commands/stream_reads.py,
    # stream_groups.py): an XCLAIM per entry delivered, claimed or dropped from a PEL;
    # XGROUP SETID for a new last ID no XCLAIM carries; XGROUP CREATECONSUMER for a
    # consumer a NOACK read created; nothing for a read of a consumer's history.
    return client.state.propagation.take_also()


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
    cmd = client.state.names.lookup(args[0])
    return [args] if cmd is not None and len(cmd.key_indexes(args)) > 1 else []
