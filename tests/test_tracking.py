"""Client-side caching (CLIENT TRACKING), differential against redis-server.

Each scenario runs on both servers with its own raw connections and returns what the
connections saw, byte for byte (client ids, which differ, are replaced by names). A
connection's pending out-of-band messages are collected by sending PING and reading
until its PONG: both servers queue a message before the reply to a later request.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, List

import pytest

from tests.harness import RawConnection

PONGS = (b"+PONG\r\n", b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")


def drain(conn: RawConnection) -> List[bytes]:
    """Every message that reached ``conn`` before a PING sent now."""
    conn.send("PING")
    seen = []
    while True:
        raw = conn.read_raw()
        if raw in PONGS:
            return seen
        seen.append(raw)


def client_fields(conn: RawConnection) -> List[bytes]:
    """CLIENT LIST's flags= and redir= fields of the scenario's own clients (others,
    left by earlier tests, may be connected)."""
    pairs = []
    raw = conn.call("CLIENT", "LIST")
    text = raw[raw.index(b"\r\n") + 2:]
    if raw[:1] == b"=":
        text = text[4:]                  # RESP3 verbatim string: "txt:" comes first
    for line in text.split(b"\n"):
        fields = dict(f.split(b"=", 1) for f in line.split(b" ") if b"=" in f)
        if b"flags" in fields and fields[b"id"] in conn.world_ids:
            pairs.append(b"flags=%s redir=%s " % (fields[b"flags"], fields[b"redir"]))
    return pairs


class World:
    """A scenario's connections to one server, and the ids to hide in its results."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conns: List[RawConnection] = []
        self.ids: Dict[bytes, bytes] = {}
        self.all_ids: set = set()

    def connect(self, protocol: int = 2, name: str = "") -> RawConnection:
        conn = RawConnection(self.port)
        self.conns.append(conn)
        self.all_ids.add(conn.call("CLIENT", "ID")[1:-2])
        conn.world_ids = self.all_ids    # type: ignore[attr-defined]
        if protocol == 3:
            conn.call("HELLO", "3")
        if name:
            self.ids[conn.call("CLIENT", "ID")[1:-2]] = name.encode()
        return conn

    def id_of(self, name: str) -> bytes:
        for number, shown in self.ids.items():
            if shown == name.encode():
                return number
        raise KeyError(name)

    def hide_ids(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.hide_ids(v) for v in value]
        if isinstance(value, bytes):
            for number, name in self.ids.items():
                value = value.replace(b":%s\r\n" % number, b":<%s>\r\n" % name)
                value = value.replace(b"redir=%s " % number, b"redir=<%s> " % name)
            return value
        return value

    def close(self) -> None:
        for conn in self.conns:
            conn.close()


def compare(differ: Any, scenario: Callable[[World], List[Any]]) -> List[Any]:
    """Run ``scenario`` against redis-server and miniredis; the observations must match."""
    results = {}
    for name, port in differ.ports.items():
        admin = RawConnection(port)
        admin.call("FLUSHALL")
        admin.call("CONFIG", "SET", "tracking-table-max-keys", "1000000")
        world = World(port)
        try:
            results[name] = world.hide_ids(scenario(world))
        finally:
            world.close()
            admin.close()
    for i, (want, got) in enumerate(zip(results["redis"], results["miniredis"])):
        assert got == want, "observation #%d differs:\n  redis:     %r\n  miniredis: %r" % (
            i, want, got)
    assert len(results["redis"]) == len(results["miniredis"])
    return results["redis"]


# -- command syntax and replies --------------------------------------------------------
ERROR_CASES = [
    ["CLIENT", "TRACKING"],
    ["CLIENT", "TRACKING", "maybe"],
    ["CLIENT", "TRACKING", "on", "bogus"],
    ["CLIENT", "TRACKING", "on", "REDIRECT"],
    ["CLIENT", "TRACKING", "on", "REDIRECT", "x"],
    ["CLIENT", "TRACKING", "on", "REDIRECT", "0"],
    ["CLIENT", "TRACKING", "on", "REDIRECT", "999999"],
    ["CLIENT", "TRACKING", "on", "REDIRECT", "999999", "REDIRECT", "1"],
    ["CLIENT", "TRACKING", "on", "PREFIX", "a"],
    ["CLIENT", "TRACKING", "on", "PREFIX"],
    ["CLIENT", "TRACKING", "on", "BCAST", "OPTIN"],
    ["CLIENT", "TRACKING", "on", "BCAST", "OPTOUT"],
    ["CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"],
    ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "ab", "PREFIX", "a"],
    ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a", "PREFIX", "a"],
    ["CLIENT", "TRACKING", "off", "bogus"],
    ["CLIENT", "CACHING", "yes"],
    ["CLIENT", "CACHING", "no"],
    ["CLIENT", "CACHING", "maybe"],
    ["CLIENT", "CACHING"],
    ["CLIENT", "CACHING", "yes", "extra"],
    ["CLIENT", "GETREDIR", "extra"],
    ["CLIENT", "TRACKINGINFO", "extra"],
]


@pytest.mark.parametrize("args", ERROR_CASES, ids=lambda a: " ".join(a[1:]))
def test_error_texts(differ, args):
    differ.check(args, ["CLIENT", "TRACKINGINFO"], ["CLIENT", "GETREDIR"])


def test_mode_errors_and_info(differ):
    differ.check(
        "CLIENT TRACKING on OPTIN", "CLIENT CACHING no", "CLIENT CACHING maybe",
        "CLIENT TRACKING on OPTOUT", "CLIENT CACHING yes", "CLIENT TRACKINGINFO",
        "CLIENT CACHING YES", "CLIENT TRACKINGINFO", "CLIENT TRACKING on NOLOOP",
        "CLIENT TRACKINGINFO", "CLIENT TRACKING on BCAST", "CLIENT GETREDIR",
        "CLIENT TRACKING off", "CLIENT TRACKINGINFO", "CLIENT TRACKING on OPTOUT",
        "CLIENT CACHING no", "CLIENT TRACKINGINFO", "CLIENT TRACKING on BCAST",
        "CLIENT TRACKING off", "CLIENT TRACKING on BCAST PREFIX b PREFIX a NOLOOP",
        "CLIENT TRACKINGINFO", "CLIENT TRACKING on BCAST PREFIX c", "CLIENT TRACKINGINFO",
        "CLIENT TRACKING on BCAST PREFIX a1", "CLIENT TRACKING on BCAST PREFIX ''",
        "CLIENT TRACKING on", "CLIENT GETREDIR", "CLIENT TRACKING off",
        "CLIENT TRACKING on BCAST", "CLIENT TRACKING on BCAST PREFIX x",
        "CLIENT TRACKINGINFO", "CLIENT TRACKING off", "CLIENT TRACKINGINFO",
        "CLIENT TRACKING on BCAST PREFIX a PREFIX b PREFIX bc", "CLIENT TRACKINGINFO",
        "CLIENT TRACKING off", "CLIENT TRACKING on OPTIN", "RESET", "CLIENT TRACKINGINFO")


def test_overlap_quirk_answers_twice(differ):
    # Redis 7.0 sends the overlap error and then +OK (tracking is enabled): the raw
    # connection reads the two as the replies of two requests.
    differ.check("CLIENT TRACKING on BCAST PREFIX a PREFIX b PREFIX bc", "PING",
                 "CLIENT TRACKINGINFO", "PING")


def test_client_help_lists_tracking(differ):
    # miniredis's CLIENT HELP also lists SETINFO (Redis 7.2's): the rest is Redis's.
    def lines(port: int) -> List[bytes]:
        conn = RawConnection(port)
        try:
            raw = conn.call("CLIENT", "HELP")
        finally:
            conn.close()
        return [line for line in raw.split(b"\r\n")[1:] if line]
    want = lines(differ.ports["redis"])
    got = lines(differ.ports["miniredis"])
    at = got.index(b"+SETINFO <option> <value>")
    assert got[:at] + got[at + 4:] == want
    assert b"+TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]" in got


# -- default mode ------------------------------------------------------------------------
def test_resp3_invalidation_and_own_writes(differ):
    def scenario(w: World) -> List[Any]:
        reader = w.connect(3)
        writer = w.connect(2)
        seen = [reader.call("CLIENT", "TRACKING", "on"),
                reader.call("GET", "k"), reader.call("MGET", "k", "j", "h"),
                reader.call("HGET", "h", "f"), reader.call("EXISTS", "e"),
                reader.call("INFO", "stats")]
        seen[-1] = [line for line in seen[-1].split(b"\r\n") if line.startswith(b"tracking")]
        seen += [writer.call("SET", "k", "1"), drain(reader),
                 writer.call("SET", "k", "2"), drain(reader),         # forgotten once sent
                 writer.call("HSET", "h", "f", "v"), writer.call("DEL", "e", "j"),
                 drain(reader)]
        # The reader's own write: the notice follows its reply, in a pipeline too.
        seen.append(reader.call("GET", "k"))
        reader.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n3\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
                        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n4\r\n")
        seen += [reader.read_raw() for _ in range(4)]
        seen += [drain(reader), writer.call("INCR", "n"), reader.call("GET", "n"),
                 writer.call("APPEND", "n", "0"), drain(reader)]
        seen.append(client_fields(reader))
        return seen
    compare(differ, scenario)


def test_resp2_without_redirect_gets_nothing(differ):
    def scenario(w: World) -> List[Any]:
        reader = w.connect(2)
        writer = w.connect(2)
        return [reader.call("CLIENT", "TRACKING", "on"), reader.call("GET", "k"),
                writer.call("SET", "k", "1"), drain(reader), reader.call("SET", "k", "v"),
                drain(reader), reader.call("CLIENT", "TRACKINGINFO")]
    compare(differ, scenario)


@pytest.mark.parametrize("target_protocol", [2, 3])
@pytest.mark.parametrize("tracker_protocol", [2, 3])
def test_redirect(differ, tracker_protocol, target_protocol):
    def scenario(w: World) -> List[Any]:
        target = w.connect(target_protocol, "target")
        tracker = w.connect(tracker_protocol, "tracker")
        writer = w.connect(2)
        seen = [target.call("SUBSCRIBE", "__redis__:invalidate"),
                tracker.call("CLIENT", "TRACKING", "on", "REDIRECT", w.id_of("target")),
                tracker.call("CLIENT", "GETREDIR"), tracker.call("CLIENT", "TRACKINGINFO"),
                tracker.call("GET", "a"), tracker.call("GET", "b"),
                writer.call("SET", "a", "1"), drain(target), drain(tracker),
                tracker.call("SET", "b", "2"), drain(target), drain(tracker),
                tracker.call("GET", "c"), writer.call("FLUSHALL"), drain(target),
                tracker.call("FLUSHDB"), drain(target), drain(tracker)]
        seen.append(client_fields(writer))
        # The redirection client goes away: the next notice reports it (RESP3 only).
        target.close()
        w.conns.remove(target)
        time.sleep(0.2)
        seen += [tracker.call("GET", "a"), writer.call("SET", "a", "2"), drain(tracker),
                 tracker.call("CLIENT", "TRACKINGINFO"), writer.call("SET", "a", "3"),
                 drain(tracker)]
        seen.append(client_fields(writer))
        return seen
    compare(differ, scenario)


def test_redirect_to_unsubscribed_resp2_client(differ):
    def scenario(w: World) -> List[Any]:
        target = w.connect(2, "target")
        tracker = w.connect(3)
        writer = w.connect(2)
        return [tracker.call("CLIENT", "TRACKING", "on", "REDIRECT", w.id_of("target")),
                tracker.call("GET", "a"), writer.call("SET", "a", "1"), drain(target),
                drain(tracker), target.call("SUBSCRIBE", "other"), tracker.call("GET", "a"),
                writer.call("SET", "a", "1"), drain(target)]
    compare(differ, scenario)


def test_noloop(differ):
    def scenario(w: World) -> List[Any]:
        reader = w.connect(3)
        writer = w.connect(3)
        return [reader.call("CLIENT", "TRACKING", "on", "NOLOOP"), reader.call("GET", "k"),
                reader.call("SET", "k", "1"), drain(reader), reader.call("GET", "k"),
                writer.call("SET", "k", "2"), drain(reader)]
    compare(differ, scenario)


def test_optin_optout(differ):
    def scenario(w: World) -> List[Any]:
        optin = w.connect(3)
        optout = w.connect(3)
        writer = w.connect(2)
        seen = [optin.call("CLIENT", "TRACKING", "on", "OPTIN"),
                optout.call("CLIENT", "TRACKING", "on", "OPTOUT"),
                optin.call("GET", "a"), optin.call("CLIENT", "CACHING", "yes"),
                optin.call("CLIENT", "TRACKINGINFO"), optin.call("GET", "b"),
                optin.call("CLIENT", "TRACKINGINFO"), optin.call("GET", "c"),
                optout.call("GET", "a"), optout.call("CLIENT", "CACHING", "no"),
                optout.call("GET", "b"), optout.call("GET", "c"),
                # CACHING survives other CLIENT subcommands, and covers a transaction.
                optin.call("CLIENT", "CACHING", "yes"), optin.call("CLIENT", "ID")[:1],
                optin.call("GET", "d"), optin.call("CLIENT", "CACHING", "yes"),
                optin.call("MULTI"), optin.call("GET", "e"), optin.call("GET", "f"),
                optin.call("EXEC"), optin.call("GET", "g"),
                writer.call("MSET", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5",
                            "f", "6", "g", "7"),
                sorted(drain(optin)), sorted(drain(optout))]
        return seen
    compare(differ, scenario)


def test_transaction_and_script_notices_follow_the_reply(differ):
    def scenario(w: World) -> List[Any]:
        reader = w.connect(3)
        seen = [reader.call("CLIENT", "TRACKING", "on"), reader.call("MGET", "a", "b"),
                reader.call("MULTI"), reader.call("SET", "a", "1"), reader.call("GET", "c"),
                reader.call("SET", "b", "2"), reader.call("EXEC"), drain(reader),
                reader.call("EVAL", "return redis.call('get', KEYS[1])", "1", "x"),
                reader.call("EVAL", "redis.call('set', KEYS[1], 'v') return 1", "1", "x"),
                drain(reader), reader.call("GET", "c"),
                reader.call("EVAL_RO", "return 1", "1", "y"),
                reader.call("SET", "y", "1"), drain(reader),
                reader.call("EVAL", "redis.call('set', KEYS[1], 'v') return 1", "1", "c"),
                drain(reader)]
        return seen
    compare(differ, scenario)


def test_expiry_and_flushes(differ):
    def scenario(w: World) -> List[Any]:
        reader = w.connect(3)
        other = w.connect(2)
        seen = [other.call("DEBUG", "SET-ACTIVE-EXPIRE", "0"),
                other.call("SET", "e", "1", "PX", "50"), other.call("SET", "f", "1", "PX", "50"),
                reader.call("CLIENT", "TRACKING", "on"), reader.call("GET", "e"),
                reader.call("GET", "f")]
        time.sleep(0.1)
        seen += [other.call("GET", "e"), drain(reader), reader.call("GET", "f"),
                 drain(reader), reader.call("GET", "g"), other.call("SELECT", "1"),
                 other.call("SET", "g", "1"), drain(reader), reader.call("GET", "g"),
                 other.call("FLUSHDB"), drain(reader), reader.call("FLUSHALL"),
                 drain(reader), other.call("SWAPDB", "0", "1"), drain(reader),
                 reader.call("INFO", "stats"), other.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")]
        seen[-2] = [line for line in seen[-2].split(b"\r\n") if line.startswith(b"tracking")]
        return seen
    compare(differ, scenario)


def test_active_expiry_notifies(differ):
    def scenario(w: World) -> List[Any]:
        reader = w.connect(3)
        other = w.connect(2)
        seen = [other.call("SET", "e", "1", "PX", "30"), reader.call("CLIENT", "TRACKING", "on"),
                reader.call("GET", "e")]
        deadline = time.time() + 5
        while time.time() < deadline and other.call("DBSIZE") != b":0\r\n":
            time.sleep(0.05)           # DBSIZE does not expire keys: the cycle does
        seen.append(drain(reader))
        return seen
    compare(differ, scenario)


def test_bcast(differ):
    def scenario(w: World) -> List[Any]:
        all_keys = w.connect(3)
        prefixed = w.connect(3)
        noloop = w.connect(3)
        writer = w.connect(2)
        seen = [all_keys.call("CLIENT", "TRACKING", "on", "BCAST"),
                prefixed.call("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:",
                              "PREFIX", "obj:"),
                noloop.call("CLIENT", "TRACKING", "on", "BCAST", "NOLOOP", "PREFIX", "user:"),
                prefixed.call("GET", "user:1"), all_keys.call("GET", "x"),
                writer.call("MSET", "user:2", "a", "obj:1", "b", "other", "c", "user:1", "d"),
                drain(all_keys), drain(prefixed), drain(noloop),
                noloop.call("SET", "user:9", "x"), drain(noloop), drain(prefixed),
                noloop.call("MSET", "user:8", "x", "user:7", "y"), writer.call("SET", "user:7", "z"),
                drain(noloop), drain(prefixed), writer.call("FLUSHALL"), drain(prefixed)]
        info = writer.call("INFO", "stats") + writer.call("INFO", "clients")
        seen.append([line for line in info.split(b"\r\n") if line.startswith(b"tracking")])
        seen.append(client_fields(writer))
        return seen
    compare(differ, scenario)


def test_bcast_resp2_redirect(differ):
    def scenario(w: World) -> List[Any]:
        target = w.connect(2, "target")
        tracker = w.connect(2)
        writer = w.connect(2)
        return [target.call("SUBSCRIBE", "__redis__:invalidate"),
                tracker.call("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "k",
                             "REDIRECT", w.id_of("target")),
                writer.call("MSET", "k2", "1", "k1", "2", "z", "3"), drain(target),
                writer.call("FLUSHALL"), drain(target)]
    compare(differ, scenario)


def test_table_max_keys(differ):
    def scenario(w: World) -> List[Any]:
        admin = w.connect(2)
        reader = w.connect(3)
        seen = [admin.call("CONFIG", "SET", "tracking-table-max-keys", "2"),
                reader.call("CLIENT", "TRACKING", "on"), reader.call("GET", "a"),
                reader.call("GET", "b"), reader.call("GET", "c")]
        # Which keys are forgotten is random in both servers: count the notices. The
        # limit is enforced before the next command runs.
        seen.append(len(drain(reader)))
        info = admin.call("INFO", "stats")
        seen.append([line for line in info.split(b"\r\n") if line.startswith(b"tracking")])
        reader.call("MGET", "d", "e", "f", "g")
        seen.append(len(drain(reader)))
        info = admin.call("INFO", "stats")
        seen.append([line for line in info.split(b"\r\n") if line.startswith(b"tracking")])
        # Lowered while the tracking client is idle: the server's cron enforces it.
        seen.append(admin.call("CONFIG", "SET", "tracking-table-max-keys", "1"))
        time.sleep(0.5)
        info = admin.call("INFO", "stats")
        seen.append([line for line in info.split(b"\r\n") if line.startswith(b"tracking")])
        seen.append(len(drain(reader)))
        seen.append(admin.call("CONFIG", "SET", "tracking-table-max-keys", "1000000"))
        return seen
    compare(differ, scenario)


def test_tracking_off_and_disconnect_counts(differ):
    def scenario(w: World) -> List[Any]:
        first = w.connect(3)
        second = w.connect(3)
        admin = w.connect(2)
        seen = [first.call("CLIENT", "TRACKING", "on"), second.call("CLIENT", "TRACKING", "on"),
                first.call("MGET", "a", "b"), second.call("GET", "a")]
        def info() -> List[bytes]:
            text = admin.call("INFO", "clients") + admin.call("INFO", "stats")
            return [line for line in text.split(b"\r\n") if line.startswith(b"tracking")]
        seen.append(info())
        seen.append(first.call("CLIENT", "TRACKING", "off"))
        seen += [info(), admin.call("SET", "a", "1"), drain(first), drain(second), info()]
        second.close()
        w.conns.remove(second)
        time.sleep(0.2)
        seen.append(info())
        seen.append(first.call("CLIENT", "TRACKING", "on", "BCAST"))
        seen.append(info())
        first.close()
        w.conns.remove(first)
        time.sleep(0.2)
        seen.append(info())
        return seen
    compare(differ, scenario)


def test_bcast_noloop_expiry_is_nobodys_write(differ):
    def scenario(w: World) -> List[Any]:
        tracker = w.connect(3)
        other = w.connect(2)
        seen = [other.call("DEBUG", "SET-ACTIVE-EXPIRE", "0"),
                other.call("SET", "k:1", "v", "PX", "30"),
                tracker.call("CLIENT", "TRACKING", "on", "BCAST", "NOLOOP", "PREFIX", "k:")]
        time.sleep(0.1)
        seen += [tracker.call("GET", "k:1"), drain(tracker), tracker.call("SET", "k:2", "v"),
                 drain(tracker), other.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")]
        return seen
    compare(differ, scenario)


def test_bcast_noloop_script_writes(differ):
    def scenario(w: World) -> List[Any]:
        tracker = w.connect(3)
        return [tracker.call("CLIENT", "TRACKING", "on", "BCAST", "NOLOOP", "PREFIX", "k:"),
                tracker.call("EVAL", "redis.call('set', KEYS[1], 'v') return 1", "1", "k:1"),
                drain(tracker), tracker.call("MULTI"), tracker.call("SET", "k:2", "v"),
                tracker.call("EXEC"), drain(tracker)]
    compare(differ, scenario)


# Commands that modify two keys, each after a set-up; Redis signals them in its own
# order (RENAME: source then target; LMOVE and RPOPLPUSH: destination then source;
# SMOVE: source then destination...), and a client tracking both hears them so.
TWO_KEY_WRITES = [
    ([["SET", "a", "1"], ["SET", "b", "2"]], ["RENAME", "a", "b"]),
    ([["SET", "a", "1"]], ["RENAME", "a", "b"]),
    ([["SET", "a", "1"], ["SET", "b", "2"]], ["RENAMENX", "a", "b"]),
    ([["SET", "a", "1"]], ["RENAMENX", "a", "b"]),
    ([["RPUSH", "a", "x", "y"], ["RPUSH", "b", "z"]], ["LMOVE", "a", "b", "LEFT", "RIGHT"]),
    ([["RPUSH", "a", "x"]], ["LMOVE", "a", "b", "LEFT", "RIGHT"]),
    ([["RPUSH", "a", "x", "y"], ["RPUSH", "b", "z"]], ["RPOPLPUSH", "a", "b"]),
    ([["RPUSH", "a", "x"], ["RPUSH", "b", "z"]], ["BLMOVE", "a", "b", "LEFT", "LEFT", "0"]),
    ([["SADD", "a", "x", "y"], ["SADD", "b", "z"]], ["SMOVE", "a", "b", "x"]),
    ([["SADD", "a", "x"]], ["SMOVE", "a", "b", "x"]),
    ([["SET", "a", "1"], ["SET", "b", "2"]], ["COPY", "a", "b", "REPLACE"]),
    ([["SADD", "a", "x"], ["SADD", "b", "y"]], ["SUNIONSTORE", "b", "a", "b"]),
    ([["ZADD", "a", "1", "x"], ["ZADD", "b", "2", "y"]], ["ZUNIONSTORE", "b", "2", "a", "b"]),
    ([["SET", "a", "1"], ["SET", "b", "2"]], ["MSET", "b", "3", "a", "4"]),
    ([["SET", "a", "1"], ["SET", "b", "2"]], ["DEL", "b", "a"]),
    ([["RPUSH", "a", "x"], ["RPUSH", "b", "y"]], ["LMPOP", "2", "b", "a", "LEFT"]),
]


@pytest.mark.parametrize("setup,command", TWO_KEY_WRITES,
                         ids=[" ".join(c) for _, c in TWO_KEY_WRITES])
def test_two_keys_are_invalidated_in_redis_order(differ, setup, command):
    def scenario(w: World) -> List[Any]:
        reader = w.connect(3)
        writer = w.connect(2)
        for args in setup:
            writer.call(*args)
        seen = [reader.call("CLIENT", "TRACKING", "on"), reader.call("MGET", "a", "b"),
                writer.call(*command), drain(reader)]
        return seen
    compare(differ, scenario)
