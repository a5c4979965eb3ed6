"""DEBUG: Redis's grab bag of introspection and test helpers (one command, no
subcommand table: a wrong name or argument count gets one combined error).

Implemented: OBJECT, SLEEP, SET-ACTIVE-EXPIRE, ERROR, LOG, RELOAD, DIGEST,
DIGEST-VALUE (Redis's SHA1 mix, so digests equal redis-server's for the same data),
PROTOCOL, POPULATE, CHANGE-REPL-ID, QUICKLIST-PACKED-THRESHOLD, LISTPACK, QUICKLIST,
STRINGMATCH-TEST, SET-DISABLE-DENY-SCRIPTS, SET-SKIP-CHECKSUM-VALIDATION, LEAK,
AOF-FLUSH-SLEEP, PAUSE-CRON, REPLYBUFFER, REPLICATE, HELP, and (only on a server that owns
its process: the command line) the crash helpers SEGFAULT, PANIC and ASSERT. OOM, RESTART,
CRASH-AND-RECOVER and the jemalloc/cluster ones are not offered: they get Redis's
unknown subcommand error.
"""
from __future__ import annotations

import errno
import hashlib
import os
import re
import struct
import time as _time
from typing import Any, Callable, Dict, List, Tuple

from .. import configrewrite, errors
from ..args import parse_int
from ..querybuf import PEAK_RESET_MS
from ..errors import CommandError, Refused
from ..datatypes.names import encoding_of
from ..datatypes.packedhash import PackedHash
from ..datatypes.stream import Stream
from ..persistence import dump as payloads
from ..replication.state import new_replid
from ..protocol import (OK, BigNumber, Bool, Double, Map, Raw, Set, Simple, Verbatim)
from . import command
from .keys import refcount_of
from .connection import help_reply
from ..security.protected import command_refusal


# DEBUG is a single command in Redis (not a container): its subcommands have no table
# entries, and a wrong name or argument count gets one combined error.
_FLOAT_PREFIX = re.compile(rb"\s*[+-]?(?:inf(?:inity)?|nan|(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)",
                           re.IGNORECASE)
_INT_PREFIX = re.compile(rb"\s*[+-]?\d+")


def _strtod(text: bytes) -> float:
    """C's strtod on the longest numeric prefix ("junk" is 0, "1.5s" is 1.5)."""
    match = _FLOAT_PREFIX.match(text)
    return float(match.group(0)) if match else 0.0


def _atoi(text: bytes) -> int:
    match = _INT_PREFIX.match(text)
    return int(match.group(0)) if match else 0


def _debug_sleep(client, args: List[bytes]):
    seconds = _strtod(args[2])
    if seconds != seconds:
        seconds = 0.0
    # Like Redis: the entire server stops (handlers run in the hub, so no greenlet runs).
    _time.sleep(max(seconds, 0.0))
    return OK


def _debug_object(client, args: List[bytes]):
    key = args[2]
    state = client.state
    value = client.db.data.get(key)     # (dictFind: a key past its TTL is still there)
    if value is None:
        raise CommandError(errors.NO_SUCH_KEY)
    encoding = encoding_of(value, state.config)
    stamp = client.db.access_of(key)
    idle = 0 if stamp is None else max(state.lru_clock - stamp, 0)
    size = len(payloads.serialize(value, state.config)) - 1   # rdbSavedObjectLen
    refcount = refcount_of(value, state.config)
    return Simple("Value at:0x%x refcount:%d encoding:%s serializedlength:%d lru:%d "
                  "lru_seconds_idle:%d" % (_address(client.db, key, value, encoding,
                                                    refcount), refcount, encoding, size,
                                           state.lru_clock & 0xFFFFFF, idle))


# Where DEBUG OBJECT says a value lives. Redis's integers 0..9999 are shared objects
# (one address per number), and INCR/DECR change a private integer's object in place
# (its address stays) while Python makes a new int string each time: those are named
# by the number, and by the key's slot (the same while the key is there). Any other
# value is named by its Python object.
_SHARED_INTEGERS_AT = 0x7F0000000000
_PRIVATE_INTEGERS_AT = 0x7F4000000000


def _address(db: Any, key: bytes, value: Any, encoding: str, refcount: int) -> int:
    if encoding != "int":
        return id(value)
    if refcount > 1:
        return _SHARED_INTEGERS_AT + int(value) * 16
    return _PRIVATE_INTEGERS_AT + (db.id << 36) + db.index[key] * 16


def _debug_set_active_expire(client, args: List[bytes]):
    client.state.active_expire_enabled = args[2] != b"0"
    return OK


_HELP = [  # Redis 7.0's text (its HELP line is added by help_reply)
    'AOF-FLUSH-SLEEP <microsec>',
    '    Server will sleep before flushing the AOF, this is used for testing.',
    'ASSERT',
    '    Crash by assertion failed.',
    'CHANGE-REPL-ID',
    '    Change the replication IDs of the instance.',
    '    Dangerous: should be used only for testing the replication subsystem.',
    'CONFIG-REWRITE-FORCE-ALL',
    '    Like CONFIG REWRITE but writes all configuration options, including',
    '    keywords not listed in original configuration file or default values.',
    'CRASH-AND-RECOVER [<milliseconds>]',
    '    Hard crash and restart after a <milliseconds> delay (default 0).',
    'DIGEST',
    '    Output a hex signature representing the current DB content.',
    'DIGEST-VALUE <key> [<key> ...]',
    '    Output a hex signature of the values of all the specified keys.',
    'ERROR <string>',
    '    Return a Redis protocol error with <string> as message. Useful for clients',
    '    unit tests to simulate Redis errors.',
    'LEAK <string>',
    '    Create a memory leak of the input string.',
    'LOG <message>',
    '    Write <message> to the server log.',
    'HTSTATS <dbid>',
    '    Return hash table statistics of the specified Redis database.',
    'HTSTATS-KEY <key>',
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    'LOADAOF',
    '    Flush the AOF buffers on disk and reload the AOF in memory.',
    'REPLICATE <string>',
    '    Replicates the provided string to replicas, allowing data divergence.',
    'MALLCTL <key> [<val>]',
    '    Get or set a malloc tuning integer.',
    'MALLCTL-STR <key> [<val>]',
    '    Get or set a malloc tuning string.',
    'OBJECT <key>',
    '    Show low level info about `key` and associated value.',
    'DROP-CLUSTER-PACKET-FILTER <packet-type>',
    '    Drop all packets that match the filtered type. Set to -1 allow all packets.',
    'OOM',
    '    Crash the server simulating an out-of-memory error.',
    'PANIC',
    '    Crash the server simulating a panic.',
    'POPULATE <count> [<prefix>] [<size>]',
    '    Create <count> string keys named key:<num>. If <prefix> is specified then',
    "    it is used instead of the 'key' prefix. These are not propagated to",
    '    replicas. Cluster slots are not respected so keys not belonging to the',
    '    current node can be created in cluster mode.',
    'PROTOCOL <type>',
    '    Reply with a test value of the specified type. <type> can be: string,',
    '    integer, double, bignum, null, array, set, map, attrib, push, verbatim,',
    '    true, false.',
    'RELOAD [option ...]',
    '    Save the RDB on disk and reload it back to memory. Valid <option> values:',
    '    * MERGE: conflicting keys will be loaded from RDB.',
    '    * NOFLUSH: the existing database will not be removed before load, but',
    '      conflicting keys will generate an exception and kill the server.',
    '    * NOSAVE: the database will be loaded from an existing RDB file.',
    '    Examples:',
    '    * DEBUG RELOAD: verify that the server is able to persist, flush and reload',
    '      the database.',
    '    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an',
    '      existing RDB file.',
    '    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB',
    '      file to the database.',
    'RESTART [<milliseconds>]',
    '    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).',
    'SDSLEN <key>',
    '    Show low level SDS string info representing `key` and value.',
    'SEGFAULT',
    '    Crash the server with sigsegv.',
    'SET-ACTIVE-EXPIRE <0|1>',
    '    Setting it to 0 disables expiring keys in background when they are not',
    '    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the',
    '    default.',
    'QUICKLIST-PACKED-THRESHOLD <size>',
    '    Sets the threshold for elements to be inserted as plain vs packed nodes',
    '    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.',
    'SET-SKIP-CHECKSUM-VALIDATION <0|1>',
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    'SLEEP <seconds>',
    '    Stop the server for <seconds>. Decimals allowed.',
    'STRINGMATCH-TEST',
    '    Run a fuzz tester against the stringmatchlen() function.',
    'STRUCTSIZE',
    '    Return the size of different Redis core C structures.',
    'LISTPACK <key>',
    '    Show low level info about the listpack encoding of <key>.',
    'QUICKLIST <key> [<0|1>]',
    '    Show low level info about the quicklist encoding of <key>.',
    '    The optional argument (0 by default) sets the level of detail',
    'CLIENT-EVICTION',
    '    Show low level client eviction pools info (maxmemory-clients).',
    'PAUSE-CRON <0|1>',
    '    Stop periodic cron job processing.',
    'REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>',
    '    Sets the time (in milliseconds) to wait between client reply buffer peak resets.',
    '    In case NEVER is provided the last observed peak will never be reset',
    '    In case RESET is provided the peak reset time will be restored to the default value',
    'REPLYBUFFER RESIZING <0|1>',
    '    Enable or disable the reply buffer resize cron job',
    'CLUSTERLINK KILL <to|from|all> <node-id>',
    '    Kills the link based on the direction to/from (both) with the provided node.',
]


def _debug_help(client, args: List[bytes]):
    return help_reply(args, _HELP)


def _debug_error(client, args: List[bytes]):
    # Sent as is: an error reply that Redis does not count as a failed command.
    text = bytes(args[2]).replace(b"\n", b" ").replace(b"\r", b" ")
    return Raw(b"-" + text + b"\r\n")


def _debug_log(client, args: List[bytes]):
    client.state.log("warning", "DEBUG LOG: %s" % args[2].decode("utf-8", "replace"))
    return OK


def _debug_reload(client, args: List[bytes]):
    from .. import persistence
    from ..persistence import rdb
    merge, flush, save = False, True, True
    for option in args[2:]:
        word = option.lower()
        if word == b"merge":
            merge = True
        elif word == b"noflush":
            flush = False
        elif word == b"nosave":
            save = False
        else:
            raise CommandError(errors.DEBUG_RELOAD_OPTIONS)
    state = client.state
    if save:
        try:
            persistence.snapshots(state).save(state)
        except OSError:
            raise CommandError(errors.SAVE_FAILED) from None
    if flush:
        _empty_data(state)
    path = persistence._rdb_path(state)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        rdb.load_bytes(state, data, os.path.basename(path), merge=merge,
                       replace_functions=merge)
    except (OSError, rdb.RDBError):
        raise CommandError(errors.DEBUG_RELOAD_FAILED) from None
    state.log("warning", "DB reloaded by DEBUG RELOAD")
    return OK


def _empty_data(state: Any) -> None:
    """emptyData before DEBUG RELOAD and LOADAOF: every database and the functions
    (the file loaded next brings back those it holds)."""
    from .functions import functions
    functions(state).registry.flush()
    for db in state.dbs:
        db.flush()


def _debug_loadaof(client, args: List[bytes]):
    """Write what the AOF buffers hold, empty every database and load the AOF files
    back (debug.c): a check that they hold the dataset. The replay is not logged
    again, and the dirty counter restarts at 0, as in Redis. Where Redis exits (no
    AOF on disk, files it cannot load), miniredis answers an error: with no AOF the
    data is left as it was."""
    from .. import persistence, propagate
    from ..persistence import aofload
    from ..persistence.aof import AOFLoadError
    state = client.state
    aof = persistence.files(state)
    aof.write()                # flushAppendOnlyFile(1) (nothing when AOF is off)
    try:
        aof.load_manifest()    # (the files on disk are the truth, as in Redis)
    except AOFLoadError as exc:
        raise CommandError(errors.DEBUG_LOADAOF_FAILED.format(exc)) from None
    if aof.manifest.empty and not os.path.isfile(os.path.join(aof.home, aof.prefix)):
        raise CommandError(errors.DEBUG_LOADAOF_MISSING)
    _empty_data(state)
    aof.delete_history()
    state.propagator = None    # (the replay must not reach the AOF or replicas)
    # A slow script in the AOF serves the other clients (-LOADING) from its hook; this
    # one's further requests wait, as Redis's protectClient.
    reading = client.pause_reading()
    try:
        aofload.load(state, aof)
    except (AOFLoadError, OSError) as exc:
        raise CommandError(errors.DEBUG_LOADAOF_FAILED.format(exc)) from None
    finally:
        if reading:
            client.resume_reading()
        propagate.refresh(state)
    state.dirty = 0
    state.log("warning", "Append Only File loaded by DEBUG LOADAOF")
    return OK


# -- DIGEST (debug.c's xorDigest / mixDigest over SHA1) ----------------------------------
def _xor(digest: bytearray, data: bytes) -> None:
    for i, byte in enumerate(hashlib.sha1(data).digest()):
        digest[i] ^= byte


def _mix(digest: bytearray, data: bytes) -> None:
    _xor(digest, data)
    digest[:] = hashlib.sha1(bytes(digest)).digest()


def _score_text(score: float) -> bytes:
    if score != score:
        return b"nan"
    if score in (float("inf"), float("-inf")):
        return b"inf" if score > 0 else b"-inf"
    return b"%.17g" % score


def _object_digest(db: Any, key: bytes, digest: bytearray, value: Any) -> None:
    """xorObjectDigest: the type, then the value (ordered parts mixed, unordered
    ones xored), then a mark when the key has a TTL."""
    if value.__class__ is bytes or value.__class__ is bytearray:   # (not a PackedHash)
        kind = 0
    elif isinstance(value, Stream):
        kind = 6
    elif isinstance(value, (dict, PackedHash)):
        kind = 4
    elif isinstance(value, (set, frozenset)):
        kind = 2
    elif hasattr(value, "scores"):
        kind = 3
    else:
        kind = 1
    _mix(digest, struct.pack(">I", kind))
    if kind == 0:
        _mix(digest, bytes(value))
    elif kind == 1:
        for item in value:
            _mix(digest, bytes(item))
    elif kind == 2:
        for member in value:
            _xor(digest, member)
    elif kind == 3:
        for member, score in value.scores.items():
            element = bytearray(20)
            _mix(element, member)
            _mix(element, _score_text(score))
            _xor(digest, bytes(element))
    elif kind == 4:
        for field, item in value.items():
            element = bytearray(20)
            _mix(element, field)
            _mix(element, item)
            _xor(digest, bytes(element))
    else:
        for stream_id, pairs in value.items():
            _mix(digest, b"%d.%d" % stream_id)
            for part in pairs:
                _mix(digest, bytes(part))
    if db.expires and key in db.expires:
        _xor(digest, b"!!expire!!")


def dataset_digest(state: Any) -> bytes:
    """computeDatasetDigest: 20 bytes, all zero for an empty dataset."""
    final = bytearray(20)
    for index, db in enumerate(state.dbs):
        if not db.data:
            continue
        _mix(final, struct.pack(">I", index))
        for key, value in db.data.items():
            digest = bytearray(20)
            _mix(digest, key)
            _object_digest(db, key, digest, value)
            _xor(final, bytes(digest))
    return bytes(final)


def _debug_digest(client, args: List[bytes]):
    return Simple(dataset_digest(client.state).hex())


def _debug_digest_value(client, args: List[bytes]):
    db = client.db
    out = []
    for key in args[2:]:
        digest = bytearray(20)
        value = db.data.get(key)          # logically expired keys too, as Redis
        if value is not None:
            _object_digest(db, key, digest, value)
        out.append(Simple(bytes(digest).hex()))
    return out


# -- PROTOCOL -----------------------------------------------------------------------------
def _debug_protocol(client, args: List[bytes]):
    name = args[2].lower()
    resp3 = client.resp >= 3
    if name == b"string":
        return b"Hello World"
    if name == b"integer":
        return 12345
    if name == b"double":
        return Double(3.141)
    if name == b"bignum":
        return BigNumber("1234567999999999999999999999999999999")
    if name == b"null":
        return None
    if name == b"array":
        return [0, 1, 2]
    if name == b"set":
        return Set([0, 1, 2])
    if name == b"map":
        return Map((j, Bool(j == 1)) for j in range(3))
    if name == b"attrib":
        tail = b"$39\r\nSome real reply following the attribute\r\n"
        if resp3:
            return Raw(b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n"
                       + tail)
        return Raw(tail)
    if name == b"push":
        if not resp3:
            raise CommandError(errors.RESP2_NOT_SUPPORTED)
        return Raw(b">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n"
                   b"$40\r\nSome real reply following the push reply\r\n")
    if name == b"true":
        return Bool(1)
    if name == b"false":
        return Bool(0)
    if name == b"verbatim":
        return Verbatim("This is a verbatim\nstring")
    raise CommandError(errors.DEBUG_PROTOCOL_TYPE)


# -- small switches -----------------------------------------------------------------------
def _debug_populate(client, args: List[bytes]):
    count = _positive(args[2])
    size = _positive(args[4]) if len(args) == 5 else 0
    prefix = args[3] if len(args) >= 4 else b"key"
    db = client.db
    for j in range(count):
        key = b"%s:%d" % (prefix, j)
        if db.get(key) is not None:
            continue
        value = b"value:%d" % j
        if size:
            value = value[:size] + bytes(max(size - len(value), 0))
        db.set(key, value)
    return OK


def _positive(value: bytes) -> int:
    from ..args import to_int
    number = to_int(value)      # getPositiveLongFromObjectOrReply: one error for both
    if number is None or number < 0:
        raise CommandError(errors.OUT_OF_RANGE_POSITIVE)
    return number


def _debug_change_repl_id(client, args: List[bytes]):
    client.state.log("warning", "Changing replication IDs after receiving DEBUG "
                     "change-repl-id")
    repl = client.state.repl
    repl.replid = new_replid()
    repl.clear_replid2()
    return OK


_MEMORY_UNITS = {b"": 1, b"b": 1, b"k": 1000, b"kb": 1024, b"m": 1000 ** 2, b"mb": 1024 ** 2,
                 b"g": 1000 ** 3, b"gb": 1024 ** 3}


def _debug_packed_threshold(client, args: List[bytes]):
    match = re.fullmatch(rb"(\d+)([a-z]*)", args[2].lower())
    unit = _MEMORY_UNITS.get(match.group(2)) if match else None
    size = int(match.group(1)) * unit if unit is not None else None
    if size is None or size > (1 << 32) - (1 << 20):
        raise CommandError(errors.DEBUG_PACKED_THRESHOLD)
    client.state.packed_threshold = size or (1 << 30)
    return OK


def _encoded_object(client, key: bytes) -> Any:
    # objectCommandLookupOrReply, as OBJECT: a hit or a miss, no keymiss event
    value = client.db.peek_read(key, notify_miss=False)
    if value is None:
        raise CommandError(errors.NO_SUCH_KEY)
    return encoding_of(value, client.state.config)


def _debug_listpack(client, args: List[bytes]):
    if _encoded_object(client, args[2]) != "listpack":
        raise CommandError(errors.DEBUG_NOT_LISTPACK)
    return Simple("Listpack structure printed on stdout")


def _debug_quicklist(client, args: List[bytes]):
    if _encoded_object(client, args[2]) != "quicklist":
        raise CommandError(errors.DEBUG_NOT_QUICKLIST)
    return Simple("Quicklist structure printed on stdout")


def _debug_stringmatch_test(client, args: List[bytes]):
    return Simple("Apparently Redis did not crash: test passed")


def _setter(attribute: str) -> Callable[..., Any]:
    def handler(client, args: List[bytes]):
        setattr(client.state, attribute, _atoi(args[2]))
        return OK
    return handler


def _debug_replybuffer(client, args: List[bytes]):
    # The reply buffers' cron resizing: the peak's reset period, or resizing at all.
    state = client.state
    option, value = args[2].lower(), args[3].lower()
    if option == b"peak-reset-time":
        if value == b"never":
            state.reply_peak_reset_ms = -1
        elif value == b"reset":
            state.reply_peak_reset_ms = PEAK_RESET_MS
        else:
            state.reply_peak_reset_ms = parse_int(args[3])
    elif option == b"resizing":
        state.reply_resizing = _atoi(args[3])
    else:
        raise CommandError(errors.subcommand_syntax_error(args))
    return OK


def _debug_client_eviction(client, args: List[bytes]):
    # maxmemory-clients' buckets (security/clientevict.py)
    from ..security.clientevict import debug_info
    text = debug_info(client.state)
    if not text:
        raise CommandError(errors.CLIENT_EVICTION_DISABLED)
    return Verbatim(text)


def _debug_ok(client, args: List[bytes]):
    return OK


def _debug_config_rewrite_force_all(client, args: List[bytes]):
    # CONFIG REWRITE writing every parameter, defaults included.
    state = client.state
    try:
        if not state.config_file:    # Redis's fopen(NULL): EFAULT
            raise OSError(errno.EFAULT, os.strerror(errno.EFAULT))
        configrewrite.rewrite_config(state, force_all=True)
    except OSError as exc:
        raise CommandError(errors.CONFIG_REWRITE_FORCE_ALL_FAILED.format(
            os.strerror(exc.errno) if exc.errno else exc)) from None
    return OK


def _debug_replicate(client, args: List[bytes]):
    """DEBUG REPLICATE <command> [args...]: put the command in the replication stream
    as it is (no SELECT), to test how replicas cope with what they cannot run."""
    state = client.state
    feed = state.repl_feed
    if feed is not None and not state.repl.is_replica:     # (replicationFeedSlaves)
        feed.command(list(args[2:]))
    return OK


def _debug_crash(client, args: List[bytes]):
    """SEGFAULT, PANIC, ASSERT: the crash report, then the process dies as Redis's
    does. Only a server that owns its process (the command line): an embedded one
    answers the unknown subcommand error rather than kill its host."""
    if not client.state.owns_process:
        raise CommandError(errors.subcommand_syntax_error(args))
    from .. import crash
    crash.on_debug(client.state, args[1].lower())


# subcommand -> (handler, fewest and most arguments, DEBUG and the subcommand included)
_MANY = 1 << 30
_DEBUG: Dict[bytes, Tuple[Callable[..., Any], int, int]] = {
    b"sleep": (_debug_sleep, 3, 3), b"object": (_debug_object, 3, 3),
    b"set-active-expire": (_debug_set_active_expire, 3, 3), b"help": (_debug_help, 2, 2),
    b"error": (_debug_error, 3, 3), b"log": (_debug_log, 3, 3),
    b"leak": (_debug_ok, 3, 3), b"reload": (_debug_reload, 2, _MANY),
    b"loadaof": (_debug_loadaof, 2, _MANY),     # (Redis ignores further arguments)
    b"digest": (_debug_digest, 2, 2), b"digest-value": (_debug_digest_value, 2, _MANY),
    b"protocol": (_debug_protocol, 3, 3), b"populate": (_debug_populate, 3, 5),
    b"change-repl-id": (_debug_change_repl_id, 2, 2),
    b"quicklist-packed-threshold": (_debug_packed_threshold, 3, 3),
    b"listpack": (_debug_listpack, 3, 3), b"quicklist": (_debug_quicklist, 3, 4),
    b"stringmatch-test": (_debug_stringmatch_test, 2, 2),
    b"set-disable-deny-scripts": (_setter("script_disable_deny_script"), 3, 3),
    b"set-skip-checksum-validation": (_setter("skip_checksum_validation"), 3, 3),
    b"aof-flush-sleep": (_setter("aof_flush_sleep"), 3, 3),
    b"pause-cron": (_setter("pause_cron"), 3, 3),
    b"config-rewrite-force-all": (_debug_config_rewrite_force_all, 2, 2),
    b"replybuffer": (_debug_replybuffer, 4, 4),
    b"client-eviction": (_debug_client_eviction, 2, 2),
    b"replicate": (_debug_replicate, 3, _MANY),
    b"segfault": (_debug_crash, 2, _MANY), b"panic": (_debug_crash, 2, _MANY),
    b"assert": (_debug_crash, 2, _MANY),
}


@command("debug", -2, "admin noscript loading stale", group="server", since="1.0.0",
         summary="A container for debugging commands")
def debug(client, args: List[bytes]):
    # Also checked before authentication and MULTI queueing (Client._gate), as Redis
    # does; here for clients on the ungated fast path.
    refusal = command_refusal(client, "debug")
    if refusal is not None:
        raise Refused(refusal)
    entry = _DEBUG.get(args[1].lower())
    if entry is None or not entry[1] <= len(args) <= entry[2]:
        raise CommandError(errors.subcommand_syntax_error(args))
    return entry[0](client, args)
