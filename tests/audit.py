"""What the randomized differential audits (test_error_paths, test_blocking_audit)
share: the values their keys start from, the servers' settings, the key commands as the
real server describes them, and the traces a case leaves that both servers must agree
on (replies aside)."""
from __future__ import annotations

import random
import re
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import redis

from tests.harness import (ROOT, RawConnection, RedisProcess, redis_server_or_skip,
                           replies_until, start_process, stop_process)

# One member per collection where Redis would pick at random (SPOP, SRANDMEMBER,
# ZRANDMEMBER, HRANDFIELD), and integers for the set: an intset's order is fixed, a
# hash table's follows Redis's random hash seed.
# Bigger ones take Redis's other encodings (quicklist, skiplist, hash tables, raw
# strings); a stream has a consumer group, and in "pending stream" two consumers owe
# entries whose delivery time is fixed (XCLAIM ... TIME) so that idle times and
# MIN-IDLE-TIME decide alike (the clock's own readings are masked: untimed).
SETUPS: Dict[str, List[List[str]]] = {
    "string": [["SET", "k", "10"]], "text": [["SET", "k", "x" * 60]],
    "list": [["RPUSH", "k", "a", "b", "c"]],
    "long list": [["RPUSH", "k"] + ["i%d" % i for i in range(150)]],
    "hash": [["HSET", "k", "f", "1"]], "set": [["SADD", "k", "1"]],
    "zset": [["ZADD", "k", "1", "a"]],
    "big zset": [["ZADD", "k"] + [w for i in range(150) for w in (str(i), "m%d" % i)]],
    "big hash": [["HSET", "k"] + [w for i in range(150) for w in ("f%d" % i, str(i))]],
    "big set": [["SADD", "k"] + ["m%d" % i for i in range(150)]],
    "stream": [["XADD", "k", "1-1", "f", "v"], ["XADD", "k", "2-1", "f", "w"],
               ["XGROUP", "CREATE", "k", "g", "0"]],
    "pending stream": [
        ["XADD", "k", "1-1", "f", "v"], ["XADD", "k", "2-1", "f", "w"],
        ["XADD", "k", "3-1", "f", "x"], ["XGROUP", "CREATE", "k", "g", "0"],
        ["XREADGROUP", "GROUP", "g", "c", "COUNT", "2", "STREAMS", "k", ">"],
        ["XCLAIM", "k", "g", "c2", "0", "2-1", "TIME", "1000000000000"],
        ["XCLAIM", "k", "g", "c", "0", "1-1", "TIME", "1000000000000"]],
    "waiting stream": [["XADD", "k", "1-1", "f", "v"], ["XGROUP", "CREATE", "k", "g", "$"]],
    "none": [],
    # With a deadline far ahead (EXPIRE's NX/XX/GT/LT, PERSIST, KEEPTTL, what a rename
    # or copy keeps).
    # (In 2100: a reading of it is long enough for untimed to mask.)
    "string with ttl": [["SET", "k", "10", "EXAT", "4102444800"]],
    "hash with ttl": [["HSET", "k", "f", "1"], ["PEXPIREAT", "k", "4102444800000"]],
    # Logically expired, not yet reclaimed (active expiry is off: expiry_paused):
    # the command's own lookup finds them gone, as Redis's expireIfNeeded. (Two
    # milliseconds: with one, Redis itself may find the deadline passed while it sets
    # it, between its two readings of the clock, and delete the key at once.)
    "expired string": [["SET", "k", "10", "PX", "2"]],
    "expired list": [["RPUSH", "k", "a", "b"], ["PEXPIRE", "k", "2"]],
    "expired zset": [["ZADD", "k", "1", "a"], ["PEXPIRE", "k", "2"]],
    "expired stream": [["XADD", "k", "1-1", "f", "v"], ["XGROUP", "CREATE", "k", "g", "0"],
                       ["PEXPIRE", "k", "2"]],
}
# The kinds a replica holds as its master does at any time (a key its master has not
# yet found expired is still there on the replica).
LIVE = [kind for kind in SETUPS if not kind.startswith("expired")]
WORDS = ["x", "-1", "0", "1", "2", "nan", "*", "a", "k", "k2", "k2", "f", "1-1", "g", "c",
         "+", "-", "(1", "[a", "3",
         "a\0b", "1\0",   # (NULs: Redis reads many arguments as C strings)
         "\udcff", "\udcc3("]     # (bytes that are not UTF-8: 0xff, 0xc3 0x28)
# Never run: they wait (WAIT), subscribe (shard channels are keys),
# reach out (MIGRATE), run code, or answer from memory layouts miniredis does not
# share (MEMORY USAGE, README).
SKIPPED = {"migrate", "restore-asking", "wait", "eval", "evalsha", "eval_ro",
           "evalsha_ro", "fcall", "fcall_ro", "debug", "memory|usage"}
SETTINGS = ("maxmemory", "1gb", "maxmemory-policy", "allkeys-lfu", "lfu-log-factor", "0",
            "lfu-decay-time", "0", "notify-keyspace-events", "KEAmn")
RESTORED = ("maxmemory", "0", "maxmemory-policy", "noeviction", "lfu-log-factor", "10",
            "lfu-decay-time", "1", "notify-keyspace-events", "")
# Encoding thresholds so small that the cases' own writes convert listpacks, intsets
# and quicklist nodes (and back, for lists), and Redis's defaults to restore.
SMALL_ENCODINGS = ("zset-max-listpack-entries", "3", "zset-max-listpack-value", "4",
                   "hash-max-listpack-entries", "3", "hash-max-listpack-value", "4",
                   "set-max-intset-entries", "3", "list-max-listpack-size", "3")
DEFAULT_ENCODINGS = ("zset-max-listpack-entries", "128", "zset-max-listpack-value", "64",
                     "hash-max-listpack-entries", "128", "hash-max-listpack-value", "64",
                     "set-max-intset-entries", "512", "list-max-listpack-size", "-2")



def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def _as_dict(reply: Any) -> Any:
    """COMMAND DOCS's flat RESP2 maps as dicts."""
    if isinstance(reply, list) and len(reply) % 2 == 0 and \
            all(isinstance(k, (bytes, str)) for k in reply[0::2]):
        return {_text(k): _as_dict(v) for k, v in zip(reply[0::2], reply[1::2])}
    if isinstance(reply, list):
        return [_as_dict(v) for v in reply]
    return reply


def _tokens(arguments: Any, out: set) -> set:
    for argument in arguments or []:
        if isinstance(argument, dict):
            if argument.get("token"):
                out.add(_text(argument["token"]))
            _tokens(argument.get("arguments"), out)
    return out


def described_commands(port: int) -> List[Tuple[str, int, int, List[bytes], List[str]]]:
    """(full name, arity, first key's position, flags, option words from COMMAND
    DOCS) of every command and subcommand, as the real server describes them."""
    conn = redis.Connection(port=port)
    try:
        conn.send_command("COMMAND")
        table = conn.read_response()
        conn.send_command("COMMAND", "DOCS")
        docs = _as_dict(conn.read_response())
    finally:
        conn.disconnect()
    options = {}
    for name, doc in docs.items():
        options[name] = sorted(_tokens(doc.get("arguments"), set()))
        for sub, subdoc in (doc.get("subcommands") or {}).items():
            options[sub.lower()] = sorted(_tokens(subdoc.get("arguments"), set()))
    found = []
    for entry in table:
        entries = entry[9] if len(entry) > 9 and entry[9] else [entry]
        for name, arity, flags, first in (e[:4] for e in entries):
            name = _text(name)
            found.append((name, arity, first, flags, options.get(name, [])))
    return sorted(found)


def key_commands(port: int) -> List[Tuple[List[str], int, int, List[str], bool]]:
    """(words naming it, arity, first key's position (0: after a count), its option
    words, whether it blocks) for every command and subcommand with a key, as the
    real server describes them."""
    return [(name.split("|"), arity, first, options, b"blocking" in flags)
            for name, arity, first, flags, options in described_commands(port)
            if not (first <= 0 and b"movablekeys" not in flags or name in SKIPPED or
                    name.split("|")[0] in SKIPPED or b"pubsub" in flags)]


# Blocking commands run with a timeout of 10 ms or a bad one: where it is.
TIMEOUT_FIRST = {"blmpop", "bzmpop"}
TIMEOUTS = ["0.01", "0.01", "0.01", "x", "-1", "nan"]
# How a case runs: alone, queued in MULTI/EXEC, or from a script (redis.pcall).
# ("script3": the script reads the reply in RESP3 first, redis.setresp(3).)
WAYS = ["plain", "plain", "plain", "transaction", "script", "script3"]


def random_cases(commands: Sequence[Any], rng: random.Random, count: int,
                 kinds: Sequence[str] = tuple(SETUPS)) -> List[Any]:
    """``count`` cases (k's kind, k2's kind, arguments, way) of key commands from
    :func:`key_commands` with arguments drawn from WORDS and their option words."""
    cases = []
    for _ in range(count):
        words, arity, first, options, blocking = rng.choice(commands)
        args = list(words)
        if first <= 0:      # (keys after a count: SINTERCARD, ZUNION, LMPOP, XREAD...)
            if args[0] in TIMEOUT_FIRST:
                args.append("0.01")
            args.append(rng.choice(["1", "1", "2", "0", "x"]))
        while len(args) < first:
            args.append(rng.choice(WORDS))
        args.append("k")
        length = abs(arity) + (rng.randrange(6) if arity < 0 else 0)
        pool = WORDS + options * 2
        while len(args) < length:
            word = rng.choice(pool)
            if word == "*" and args[0] == "xadd":
                word = "2-2"        # (an ID made of the clock differs)
            # (a TTL of a millisecond or two would race the clock)
            if word.isdigit() and word != "0" and (args[0] in ("pexpire", "psetex") or
                                                   args[-1].upper() == "PX"):
                word += "00000"
            args.append(word)
        if args[0] in ("xread", "xreadgroup") and rng.random() < 0.6:
            args = _stream_read(args[0], rng)
        if blocking:
            if args[0] in TIMEOUT_FIRST:
                args[1] = rng.choice(TIMEOUTS)
            elif args[0] in ("xread", "xreadgroup"):
                for i in range(1, len(args) - 1):
                    if args[i].upper() == "BLOCK":
                        args[i + 1] = rng.choice(["10", "x", "-1"])
            else:
                args[-1] = rng.choice(TIMEOUTS)
        way = rng.choice(WAYS)
        if way == "script":
            args = ["EVAL", "return redis.pcall(unpack(ARGV))", "0"] + args
        elif way == "script3":
            args = ["EVAL", "redis.setresp(3) return redis.pcall(unpack(ARGV))", "0"] + args
        way += " RESP%d" % rng.choice((2, 2, 3))
        cases.append((rng.choice(kinds), rng.choice(kinds), args, way))
    return cases


def _stream_read(name: str, rng: random.Random) -> List[str]:
    """An XREAD or XREADGROUP in its documented shape, with odd values here and there."""
    args = [name] + (["GROUP", rng.choice(["g", "g", "x"]), "c"] if name == "xreadgroup" else [])
    if rng.random() < 0.5:
        args += ["COUNT", rng.choice(["1", "2", "0", "-1", "x"])]
    if rng.random() < 0.5:
        args += ["BLOCK", "10"]
    if name == "xreadgroup" and rng.random() < 0.3:
        args.append("NOACK")
    keys = ["k"] if rng.random() < 0.7 else ["k", "k2"]
    ids = [rng.choice(["0", ">", ">", "$", "1-1", "+", "x"]) for _ in keys]
    if rng.random() < 0.1:
        ids.pop()       # (an ID short)
    return args + ["STREAMS"] + keys + ids


# Redis keeps the argument objects of a script's last redis.call() for the next one
# (script_lua.c's lua_args_cached_objects, one per argument place, reused for any
# argument no longer than the kept one), access counter included: a value that an
# MSET with a repeated key stored and replaced (taking the old value's counter) stays
# in its place, a rewritten command moves it (GEOADD's member becomes ZADD's third
# argument), and a later script's SETEX stores it as a new key with that counter.
# Before every scripted case, an EXISTS with 64-byte arguments puts fresh objects in
# every place that kept a shorter one, and an MSET stores (so empties) the even ones.
EMPTY_LUA_ARGUMENT_CACHE = [
    "EVAL", "redis.pcall('exists', unpack(ARGV))"
    " return redis.pcall('mset', unpack(ARGV, 1, 30))", "0"] + \
    ["lua-cache-%02d-" % i + "x" * 51 for i in range(31)]


# An XINFO CONSUMERS row: miniredis adds Redis 7.2's "inactive" (as an issue asked;
# test_streams checks its values), which 7.0 lacks.
_CONSUMER_ROW = re.compile(rb"([*%])(?:8|4)(\r\n\$4\r\nname\r\n\$\d+\r\n[^\r]*\r\n"
                           rb"\$7\r\npending\r\n:\d+\r\n\$4\r\nidle\r\n:T\r\n)"
                           rb"\$8\r\ninactive\r\n:-?\d+\r\n")


def untimed(reply: bytes) -> bytes:
    """A reply without the clock's readings: integers of ten digits or more (TTLs
    until 2100, delivery and seen times, idle times since a fixed delivery time), a
    consumer's idle time (since its last command, a few milliseconds) and the
    ``inactive`` field of XINFO CONSUMERS (Redis 7.2's, which miniredis reports)."""
    reply = re.sub(rb"(\$4\r\nidle\r\n):\d+\r\n", rb"\1:T\r\n", reply)
    reply = _CONSUMER_ROW.sub(lambda m: m.group(1) + (b"6" if m.group(1) == b"*" else b"3")
                              + m.group(2), reply)
    return re.sub(rb":\d{10,}\r\n", b":T\r\n", reply)


def streams(conn: RawConnection) -> List[bytes]:
    """XINFO STREAM ... FULL of each key holding a stream: its groups, consumers and
    pending entries, which DEBUG DIGEST leaves out."""
    return [untimed(conn.call("XINFO", "STREAM", key, "FULL")) for key in ("k", "k2")
            if conn.call("TYPE", key) == b"+stream\r\n"]


def changes(conn: RawConnection) -> int:
    """INFO's rdb_changes_since_last_save: the dirty counter behind save points."""
    return int(re.search(rb"rdb_changes_since_last_save:(\d+)",
                         conn.call("INFO", "persistence")).group(1))


def configure(ports: Sequence[int], pairs: Sequence[str]) -> None:
    for port in ports:
        conn = RawConnection(port)
        try:
            assert conn.call("CONFIG", "SET", *pairs) == b"+OK\r\n"
        finally:
            conn.close()


@contextmanager
def expiry_paused(ports: Sequence[int]) -> Iterator[None]:
    """Active expiry off on the servers for the block (DEBUG SET-ACTIVE-EXPIRE 0): the
    expired setups stay unreclaimed until a command looks them up."""
    for port in ports:
        conn = RawConnection(port)
        try:
            assert conn.call("DEBUG", "SET-ACTIVE-EXPIRE", "0") == b"+OK\r\n"
        finally:
            conn.close()
    try:
        yield
    finally:
        for port in ports:
            conn = RawConnection(port)
            try:
                conn.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
            finally:
                conn.close()


def prepare(conn: RawConnection, events: RawConnection, kind: str, other: str,
            script: bool = False) -> int:
    """Database 9 holds only ``k`` as ``kind`` and ``k2`` as ``other`` (SETUPS), the
    statistics are reset and ``events`` has read every event so far. Returns the
    changes counted towards a save so far (see :func:`observe`)."""
    if script:
        conn.call(*EMPTY_LUA_ARGUMENT_CACHE)
    conn.call("FLUSHALL")
    for key, setup in (("k", SETUPS[kind]), ("k2", SETUPS[other])):
        for command in setup:
            conn.call(*[key if word == "k" else word for word in command])
    if kind.startswith("expired") or other.startswith("expired"):
        time.sleep(0.005)       # (past their deadline)
    conn.call("CONFIG", "RESETSTAT")
    dirty = changes(conn)
    conn.call("PUBLISH", "__keyspace@9__:start", "")
    replies_until(events, b"__keyspace@9__:start")
    return dirty


def observe(conn: RawConnection, events: RawConnection, dirty: int,
            unstated: Sequence[str] = ()) -> Dict[str, Any]:
    """What a case left on the server (``conn`` on database 9, ``events`` subscribed to
    its keyspace events since :func:`prepare`): keyspace hits, misses and expired keys,
    the changes counted since ``dirty``, INFO keyspace, commandstats (without INFO,
    CONFIG and the ``unstated`` commands, as cmdstat names) and errorstats, the kind of
    TTL and the access counts of both keys, DEBUG DIGEST, their streams' groups and the
    events published."""
    stats = conn.call("INFO", "stats").decode() + conn.call("INFO", "keyspace").decode() \
        + conn.call("INFO", "clients").decode()
    counts = re.findall(r"keyspace_(?:hits|misses):\d+|total_error_replies:\d+|"
                        r"expired_keys:\d+|db\d+:keys=\d+,expires=\d+|"
                        r"(?:total_commands_processed|evicted_keys|tracking_total_\w+|"
                        r"pubsub_\w+|pubsubshard_channels|unexpected_error_replies|"
                        r"(?:blocked|tracking)_clients|"
                        r"clients_in_timeout_table):\d+", stats)
    # (the server's count so far depends on the tests before: its growth)
    counts.append("changes counted: %d" % (changes(conn) - dirty))
    unstated = ("cmdstat_info", "cmdstat_config") + tuple(unstated)
    calls = sorted(re.sub(r"usec=\d+,usec_per_call=[\d.]+,", "", line)
                   for line in conn.call("INFO", "commandstats").decode().split()
                   if line.startswith("cmdstat_") and not line.startswith(unstated))
    errors = re.findall(r"errorstat_\S+", conn.call("INFO", "errorstats").decode())
    ttls = [conn.call("PTTL", key) for key in ("k", "k2")]
    ttls = [t if t in (b":-1\r\n", b":-2\r\n") else b"set" for t in ttls]
    freqs = [conn.call("OBJECT", "FREQ", key) for key in ("k", "k2")]
    digest = conn.call("DEBUG", "DIGEST")
    groups = streams(conn)      # (after OBJECT FREQ: it counts an access)
    conn.call("PUBLISH", "__keyspace@9__:end", "")
    published = replies_until(events, b"__keyspace@9__:end")
    return {"counts": counts, "commandstats": calls, "errorstats": errors,
            "ttl kinds": ttls, "OBJECT FREQ": freqs, "DEBUG DIGEST": digest,
            "events": published, "streams": groups}


# The fields of CLIENT LIST Signals.client compares.
_CLIENT_FIELDS = {b"name", b"db", b"sub", b"psub", b"ssub", b"multi", b"watch", b"flags",
                  b"cmd", b"user", b"resp"}
# A MONITOR line's time, and its client's address (not a script's "lua").
_UNTIMED_MONITOR = re.compile(rb"^\+\d+\.\d+ \[(\d+) (lua|unix)?[^\]]*\]")

# The keys whose WATCHes Signals reads, and the words it writes as keys after a case.
WATCHED = ("k", "k2")
TOUCHED = sorted(set(WORDS) - {""})


class Signals:
    """Who hears that a case modified a key (Redis's signalModifiedKey): a client
    tracking every key in broadcast mode (its invalidations, gathered per event-loop
    turn) and one client WATCHing each of ``k`` and ``k2`` (whether EXEC aborts). And
    which keys a case *read* for client-side caching: a runner made to :meth:`follow`
    tracks the keys it reads (default mode, its invalidations redirected to a listener
    here); after the case every key a case may name is written, and the listener hears
    the ones the runner had read."""

    def __init__(self, port: int,
                 connect: Callable[[int], RawConnection] = RawConnection) -> None:
        self.tracker = connect(port)
        self.tracker.call("HELLO", "3")
        self.tracker.call("CLIENT", "TRACKING", "ON", "BCAST")
        self.watchers = [connect(port) for _ in WATCHED]
        for watcher in self.watchers:
            watcher.call("SELECT", "9")
        self.listener = connect(port)
        self.listener.call("HELLO", "3")
        self.toucher = connect(port)
        self.toucher.call("SELECT", "9")
        self.following = False
        self.monitor = connect(port)
        assert self.monitor.call("MONITOR") == b"+OK\r\n"
        # (reads k and k2 before each case: their invalidations, in the order the case
        # modified them)
        self.reader = connect(port)
        self.reader.call("HELLO", "3")
        self.reader.call("SELECT", "9")
        self.reader.call("CLIENT", "TRACKING", "ON")

    def follow(self, runner: RawConnection) -> None:
        """``runner`` tracks the keys it reads from now on (see the class)."""
        listener = self.listener.call("CLIENT", "ID")[1:-2].decode()
        assert runner.call("CLIENT", "TRACKING", "ON", "REDIRECT", listener) == b"+OK\r\n"
        self.following = True

    def start(self) -> None:
        """Forget the set-up's invalidations and commands; watch the keys as they are
        now."""
        self._heard(self.tracker)
        self._heard(self.listener)
        self._heard(self.reader)
        self.reader.call("MGET", *WATCHED)
        self._monitored()
        for watcher, key in zip(self.watchers, WATCHED):
            watcher.call("WATCH", key)

    @staticmethod
    def _heard(conn: RawConnection) -> List[bytes]:
        conn.send("PING", "signals-heard")
        return replies_until(conn, b"signals-heard")

    def _monitored(self) -> List[bytes]:
        """What MONITOR showed since the last call (times and addresses masked)."""
        self.toucher.call("ECHO", "signals-monitored")
        return [_UNTIMED_MONITOR.sub(rb"+(time) [\1 \2]", line)
                for line in replies_until(self.monitor, b"signals-monitored")]

    def read(self) -> Dict[str, Any]:
        """What MONITOR showed, the invalidations since :meth:`start`, the watches a
        case broke and, for a runner that follows, the keys it read (the invalidations
        its own case sent it first)."""
        monitored = self._monitored()
        touched = [watcher.call("MULTI") and watcher.call("EXEC") == b"*-1\r\n"
                   for watcher in self.watchers]
        heard = {"monitored": monitored, "invalidations": self._heard(self.tracker),
                 "watches broken": touched, "invalidation order": self._heard(self.reader)}
        if self.following:
            heard["own invalidations"] = self._heard(self.listener)
            self.toucher.call("MSET", *[word for key in TOUCHED for word in (key, "t")])
            heard["keys read"] = self._heard(self.listener)
        return heard

    def client(self, client_id: int, conn: Optional[RawConnection] = None) -> bytes:
        """What CLIENT LIST says of the client ``client_id`` (asked on ``conn``, else
        on a connection of ours) -- its name, database, subscriptions, transaction,
        watches, flags, last command, user and protocol -- none of the fields of the
        moment (addresses, ages, buffers, memory)."""
        line = (conn or self.toucher).call("CLIENT", "LIST", "ID", client_id)
        fields = []
        for field in line[line.find(b"\n") + 1:].split():
            name, _, value = field.partition(b"=")
            if name in _CLIENT_FIELDS:
                fields.append(field)
            elif name == b"redir":
                fields.append(b"redir=" + (value if value == b"-1" else b"(id)"))
        return b" ".join(fields)

    def close(self) -> None:
        for each in [self.tracker, self.listener, self.toucher, self.monitor,
                     self.reader] + self.watchers:
            each.close()


def replicated(conn: RawConnection) -> List[bytes]:
    """What a replica must hold alike: every database's digest, the keys' absolute
    deadlines, and a stream's groups, consumers and pending entries (which the digest
    leaves out)."""
    seen = [conn.call("DEBUG", "DIGEST")]
    seen += [conn.call("PEXPIRETIME", key) for key in ("k", "k2")]
    return seen + streams(conn)


@contextmanager
def own_pair(prefix: str, extra: Sequence[str] = ()) -> Iterator[Dict[str, int]]:
    """A redis-server and a miniredis process for one audit alone (its cases change
    users, settings or a Lua state that the session's servers must not keep), both
    started with the options ``extra`` too: their ports by name."""
    real = RedisProcess(redis_server_or_skip(), extra)
    directory = tempfile.mkdtemp(prefix=prefix)
    try:
        proc, port = start_process(
            lambda port: [sys.executable, "-m", "miniredis", "--port", str(port), "--dir",
                          directory, "--save", "", "--appendonly", "no",
                          "--enable-debug-command", "yes", *extra],
            what="miniredis", cwd=ROOT, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
    except BaseException:
        real.stop()
        raise
    try:
        yield {"redis": real.port, "miniredis": port}
    finally:
        real.stop()
        stop_process(proc, directory)
