"""Every key-less command with odd arguments, against redis-server.

test_error_paths audits the commands with keys; this one audits the rest -- server,
connection, ACL, scripting and function administration, pub/sub, cluster, COMMAND,
CONFIG, CLIENT, LATENCY, SLOWLOG, MEMORY, MODULE... Each case is one command (from
the real server's COMMAND, so new ones join by themselves) with arguments drawn from
numbers, words, ACL rules, configuration names and values, and the command's own
option words (its COMMAND DOCS tokens), run alone, queued in MULTI/EXEC or from a
script (redis.pcall), in RESP2 or RESP3, while ``k`` and ``k2`` hold values. Both
servers must give the same reply -- where a reply reads the environment (INFO, CLIENT
LIST, TIME, CONFIG GET's values, a random key...) its kind of reply, or its lines as
a multiset where they come in hash order -- and leave the same traces (observe():
keyspace counts, changes, commandstats and errorstats, events, DEBUG DIGEST).

The servers are this module's own pair: a case may change users, settings, scripts
or functions, and everything is put back after each case (``_restore``), by a user
of its own that the cases never name.

Cases are drawn from a seed (MINIREDIS_AUDIT_SEED, else random, printed on failure);
MINIREDIS_HYPOTHESIS_EXAMPLES scales their number (default 400).
"""
from __future__ import annotations

import os
import random
import re
from typing import Any, Callable, Dict, Iterator, List, Sequence, Tuple

import pytest

from tests.audit import Signals, WORDS, described_commands, observe, own_pair, prepare
from tests.harness import RawConnection

# Never run: they shut down, crash or sleep (DEBUG, SHUTDOWN), turn the connection
# into something else (MONITOR, SYNC, PSYNC, REPLCONF, subscriptions, CLIENT REPLY,
# SCRIPT DEBUG), follow another server (REPLICAOF), wait (WAIT), fork a child whose
# timing decides the next reply (BGSAVE, BGREWRITEAOF), or close the connection
# (QUIT). Commands with movable keys (EVAL, FCALL, MIGRATE...) are test_error_paths'.
SKIPPED = {"debug", "shutdown", "monitor", "sync", "psync", "replconf", "subscribe",
           "psubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "client|reply",
           "script|debug", "replicaof", "slaveof", "wait", "bgsave", "bgrewriteaof",
           "quit"}
# Replies that read the environment (addresses, ids, clocks, memory, the version,
# timings, random picks) or that list miniredis's Redis 7.2 additions (CLIENT SETINFO
# in CLIENT HELP and COMMAND LIST): compared by their kind.
ENVIRONMENT = {"info", "client|list", "client|info", "client|id", "client|help", "time",
               "lastsave", "lolwut", "memory|doctor", "memory|stats",
               "latency|doctor", "latency|latest", "latency|history", "latency|graph",
               "latency|histogram", "slowlog|get", "slowlog|len", "acl|log", "acl|genpass",
               "hello", "randomkey", "command", "command|docs", "command|list",
               "scan"}     # (SCAN: whole buckets of a table in hash-seed order)
# Replies of the allocator: Redis's jemalloc answers verbatim text, a server without
# it (as miniredis) a bulk string saying so. Only their errors are compared.
ALLOCATOR = {"memory|malloc-stats"}
# Replies in hash-table order: compared as multisets of lines.
UNORDERED = {"keys", "config|get", "acl|cat", "acl|users", "acl|list"}
# Replies holding RESP3 sets of statuses or maps (flags, key specs): read in RESP3 by
# a script, each member is a Lua table, a key of the set's table by its address, so
# the script's reply lists them in an order of the process's memory.
LUA_TABLE_SETS = {"command|info", "command|getkeysandflags", "function|list"}
# Settings a case may change (put back after each case), and some that CONFIG SET
# refuses (immutable, protected).
SETTINGS = ["hz", "timeout", "maxmemory-policy", "lfu-log-factor", "list-max-listpack-size",
            "slowlog-log-slower-than", "slowlog-max-len", "client-output-buffer-limit",
            "save", "appendfsync", "busy-reply-threshold", "latency-tracking-info-percentiles",
            "dir", "activerehashing", "lazyfree-lazy-user-del", "set-max-intset-entries",
            "zset-max-listpack-value", "proto-max-bulk-len", "requirepass",
            "tracking-table-max-keys", "lua-time-limit", "enable-debug-command", "daemonize",
            "databases", "replica-read-only", "lfu-decay-time", "active-expire-effort",
            "hash-max-ziplist-entries", "stream-node-max-bytes", "loglevel",
            "protected-mode", "maxmemory-eviction-tenacity", "close-on-oom"]
# Values, ACL rules and selectors, usernames, scripts and library code, channels.
MORE_WORDS = ["yes", "no", "1mb", "allkeys-lru", "volatile-ttl", "everysec", "100", "512",
              "Ex", "normal 0 0 0", "50 99 99.9", "warning", "-2", "", "default", "on",
              "off", "nopass", "~*", "+@all", "-@all", "+get", "&*", "%R~k", "allkeys",
              "resetchannels", "reset", ">pw", "<pw", "#x", "(~k +get)", "clearselectors",
              "lib", "#!lua name=lib", "return 1", "redis.call('x')", "ch", "__key*", "1000",
              "+@read", "-get", "allcommands", "nocommands", "resetkeys", "~k*", "%W~k",
              "&ch", "allchannels", "-@dangerous", "+config|get", "+client", "-client|kill",
              "+select|0", "resetpass", "nopass", ">", "<", "x" * 65,
              "#!lua name=lib\nredis.register_function('f', function() return 1 end)",
              "#!lua name=lib\nredis.register_function{function_name='g', "
              "callback=function() return 2 end, flags={'no-writes'}}",
              "#!lua name=lib engine=x", "#!lua\nreturn 1", "#!lua name=lib x=y",
              "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "return redis.call('get', KEYS[1])",
              "return {1, 'a', {err='x'}}", "redis.pcall(", "FLUSH", "ASYNC", "SYNC",
              # (NULs: Redis reads many arguments as C strings)
              "x\0y", "\0", "1\0", "yes\0x", "#!lua name=l\0\nreturn 1", "(~k\0 +get)",
              "+get\0x", "&c\0", "\udcff", "x\udcfe", "+@\udcff", "~\udcff"]
# CLIENT KILL's filters could close the audit's own connections.
KILL_FILTERS = {"ID", "TYPE", "USER", "ADDR", "LADDR", "SKIPME"}
WAYS = ["plain", "plain", "plain", "transaction", "script", "script3"]
ADMIN = "audit-admin"     # (a user no case names: it puts everything back)
# What the cases' own commands and _restore's leave in commandstats alike.
UNSTATED = ("cmdstat_acl", "cmdstat_script", "cmdstat_function", "cmdstat_slowlog",
            "cmdstat_latency", "cmdstat_client", "cmdstat_reset", "cmdstat_hello",
            "cmdstat_select", "cmdstat_ping", "cmdstat_auth")


def keyless_commands(port: int) -> List[Tuple[str, int, List[str]]]:
    """(full name, arity, option words) of every command and subcommand without a key."""
    return [(name, arity, options)
            for name, arity, first, flags, options in described_commands(port)
            if first <= 0 and b"movablekeys" not in flags and name not in SKIPPED
            and name.split("|")[0] not in SKIPPED]


def random_cases(commands: Sequence[Any], rng: random.Random, count: int) -> List[Any]:
    """``count`` cases (k's kind, k2's kind, arguments, way, full name)."""
    cases = []
    for _ in range(count):
        name, arity, options = rng.choice(commands)
        args = name.split("|")
        pool = WORDS + MORE_WORDS + options * 3
        if name.startswith("config"):
            pool += SETTINGS * 2
        if name == "client|kill":
            pool = [word for word in pool if word.upper() not in KILL_FILTERS]
        length = abs(arity) + (rng.randrange(6) if arity < 0 else 0)
        while len(args) < length:
            args.append(rng.choice(pool))
        way = rng.choice(WAYS)
        if way == "script":
            args = ["EVAL", "return redis.pcall(unpack(ARGV))", "0"] + args
        elif way == "script3":     # (the reply read in RESP3 inside the script)
            args = ["EVAL", "redis.setresp(3) return redis.pcall(unpack(ARGV))", "0"] + args
        way += " RESP%d" % rng.choice((2, 2, 3))
        cases.append((rng.choice(["string", "list", "hash", "none"]),
                      rng.choice(["string", "zset", "none"]), args, way, name))
    return cases


@pytest.fixture(scope="module")
def pair() -> Iterator[Dict[str, int]]:
    with own_pair("keyless-audit-") as ports:
        yield ports


# How the audit connects: RawConnection, or _Renaming under renamed commands.
Connect = Callable[[int], RawConnection]


class _Renaming(RawConnection):
    """A connection whose commands spelled in capitals (the audit's own set-up and
    readings: CONFIG, ACL, MULTI, INFO...) go by their new names; a case's arguments,
    spelled in small letters, go as they are."""

    renames: Dict[str, str] = {}

    def send(self, *args: Any) -> None:
        if args and isinstance(args[0], str) and args[0].isupper():
            args = (self.renames.get(args[0].lower(), args[0]),) + args[1:]
        super().send(*args)


def _admin(port: int, connect: Connect) -> Tuple[RawConnection, Dict[str, str]]:
    """A connection as ADMIN, and the settings of SETTINGS that CONFIG SET takes back."""
    setup = connect(port)
    assert setup.call("ACL", "SETUSER", ADMIN, "on", ">x", "~*", "&*", "+@all") == b"+OK\r\n"
    setup.close()
    admin = _as_admin(port, connect)
    saved = {}
    for name in SETTINGS:
        found = re.findall(rb"\$\d+\r\n([^\r]*)\r\n", admin.call("CONFIG", "GET", name))
        if len(found) == 2 and admin.call("CONFIG", "SET", *found) == b"+OK\r\n":
            saved[found[0].decode()] = found[1].decode()
    return admin, saved


def _as_admin(port: int, connect: Connect) -> RawConnection:
    conn = connect(port)
    assert conn.call("AUTH", ADMIN, "x") == b"+OK\r\n"
    return conn


def _restore(admin: RawConnection, saved: Dict[str, str]) -> None:
    """Every setting, user, script, function, log and pause as before the case."""
    assert admin.call("CLIENT", "UNPAUSE") == b"+OK\r\n"
    assert admin.call("CONFIG", "SET", *[w for pair in saved.items() for w in pair]) \
        == b"+OK\r\n"
    for user in re.findall(rb"\$\d+\r\n([^\r]*)\r\n", admin.call("ACL", "USERS")):
        if user not in (b"default", ADMIN.encode()):
            admin.call("ACL", "DELUSER", user)
    assert admin.call("ACL", "SETUSER", "default", "reset", "on", "nopass", "~*", "&*",
                      "+@all") == b"+OK\r\n"
    for command in (("SCRIPT", "FLUSH"), ("FUNCTION", "FLUSH"), ("SLOWLOG", "RESET"),
                    ("ACL", "LOG", "RESET")):
        assert admin.call(*command) == b"+OK\r\n"
    admin.call("LATENCY", "RESET")


def _runners(port: int, connect: Connect) -> Tuple[RawConnection, RawConnection]:
    """The default user's connections on database 9, in RESP2 and in RESP3."""
    conn, conn3 = connect(port), connect(port)
    conn.call("SELECT", "9")
    conn3.call("HELLO", "3")
    conn3.call("SELECT", "9")
    return conn, conn3


def _reset(conn: RawConnection, port: int, connect: Connect) -> RawConnection:
    """``conn`` after RESET (or a new connection, if the case closed it)."""
    try:
        conn.call("RESET")
        return conn
    except (ConnectionError, OSError):
        conn.close()
        return connect(port)


def _masked(name: str, args: Sequence[str], reply: bytes, way: str) -> Any:
    if re.search(rb"(?:^|\r\n)-[A-Z]", reply):
        return reply                    # (errors are compared as they are)
    if name in ALLOCATOR:
        return None
    words = args[3:] if args[0] == "EVAL" else args
    if name in ENVIRONMENT or (name == "command|info" and len(words) == 2):
        return reply[:1]                # (COMMAND INFO alone: every command, dict order)
    if name in UNORDERED or (name in LUA_TABLE_SETS and way.startswith("script3")):
        lines = reply.split(b"\r\n")
        if name == "config|get":    # (name and value pairs; each server's own port, dir)
            words = [line for before, line in zip(lines, lines[1:]) if before[:1] == b"$"]
            return sorted((key, value if key not in (b"port", b"dir") else None)
                          for key, value in zip(words[0::2], words[1::2]))
        return sorted(lines)
    return reply


def _traces(port: int, cases: Sequence[Any],
            connect: Connect = RawConnection) -> List[Dict[str, Any]]:
    admin, saved = _admin(port, connect)
    events = _as_admin(port, connect)
    events.call("PSUBSCRIBE", "__key*@9__:*")
    conn, conn3 = _runners(port, connect)
    signals = Signals(port, connect)
    ids: Dict[RawConnection, int] = {}
    out = []
    try:
        for kind, other, args, way, name in cases:
            for each in (conn, conn3):
                if each not in ids:     # (a new connection, if a case closed one)
                    ids[each] = int(each.call("CLIENT", "ID")[1:])
            dirty = prepare(conn, events, kind, other)
            signals.start()
            runner = conn3 if way.endswith("3") else conn
            try:
                if way.startswith("transaction"):
                    reply = runner.call("MULTI") + runner.call(*args) + runner.call("EXEC")
                else:
                    reply = runner.call(*args)
            except (ConnectionError, OSError):
                reply = b"(closed)"
            _restore(admin, saved)
            client = signals.client(ids[runner], admin)     # (the admin is never paused)
            conn, conn3 = _reset(conn, port, connect), _reset(conn3, port, connect)
            for runner, hello in ((conn, ()), (conn3, ("HELLO", "3"))):
                if hello:
                    runner.call(*hello)
                runner.call("SELECT", "9")
            # (after _restore: a case may have paused clients or taken PING away)
            out.append(dict(observe(conn, events, dirty, UNSTATED),
                            reply=_masked(name, args, reply, way), client=client,
                            **signals.read()))
        return out
    finally:
        for each in (admin, events, conn, conn3):
            each.close()
        signals.close()


def test_keyless_commands_with_odd_arguments(pair):
    seed = int(os.environ.get("MINIREDIS_AUDIT_SEED", random.randrange(1 << 30)))
    count = int(os.environ.get("MINIREDIS_HYPOTHESIS_EXAMPLES", "400"))
    commands = keyless_commands(pair["redis"])
    assert len(commands) > 120, len(commands)
    cases = random_cases(commands, random.Random(seed), count)
    want, got = _traces(pair["redis"], cases), _traces(pair["miniredis"], cases)
    _compare(seed, cases, want, got)


# Commands the audit's own set-up and readings send (prepare, observe, _restore, the
# ECHO that ends what Signals reads of MONITOR...): renamed but never removed.
_NEEDED = {"acl", "auth", "client", "config", "debug", "discard", "echo", "eval", "exec",
           "flushall", "function", "hello", "info", "latency", "multi", "object",
           "pexpiretime", "ping", "psubscribe", "pttl", "publish", "reset", "script",
           "select", "slowlog", "watch"}


def test_keyless_commands_under_renames(pair):
    """Both servers started with a random third of the key-less commands renamed (a few
    removed, "" as the new name): the cases call them by their new names, sometimes by
    the old one -- alone, in MULTI or from scripts (rename-command: Redis's
    server.commands; errors name a command by its own name or as called)."""
    seed = int(os.environ.get("MINIREDIS_AUDIT_SEED", random.randrange(1 << 30)))
    count = int(os.environ.get("MINIREDIS_HYPOTHESIS_EXAMPLES", "400")) // 2
    rng = random.Random(seed)
    commands = keyless_commands(pair["redis"])
    names = sorted({name.split("|")[0] for name, _, _ in commands})
    renames: Dict[str, str] = {}
    options: List[str] = []
    for name in rng.sample(names, len(names) // 3):
        new = rng.choice((name + "_r", "R_" + name.upper()))
        if name not in _NEEDED and rng.random() < 0.15:
            new = ""
        renames[name] = new
        options += ["--rename-command", name, new]
    cases = []
    for kind, other, args, way, name in random_cases(commands, rng, count):
        at = 3 if args[0] == "EVAL" else 0
        if renames.get(args[at]) and rng.random() < 0.8:
            args = args[:at] + [renames[args[at]]] + args[at + 1:]
        cases.append((kind, other, args, way, name))

    class Renaming(_Renaming):
        pass
    Renaming.renames = {name: new for name, new in renames.items() if new}
    with own_pair("keyless-renames-", options) as ports:
        want, got = (_traces(ports[kind], cases, Renaming) for kind in ("redis", "miniredis"))
    _compare(seed, cases, want, got, "renamed %r" % renames)


def _compare(seed: int, cases: Sequence[Any], want: Sequence[Dict[str, Any]],
             got: Sequence[Dict[str, Any]], setting: str = "") -> None:
    for (kind, other, args, way, _), expected, actual in zip(cases, want, got):
        for what in expected:
            assert actual[what] == expected[what], (
                "MINIREDIS_AUDIT_SEED=%d: %s differ after %r (%s; k a %s, k2 a %s%s)\n"
                "  redis:     %r\n  miniredis: %r"
                % (seed, what, args, way, kind, other, setting and "; " + setting,
                   _short(expected[what]), _short(actual[what])))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 2000 else text[:2000] + "..."
