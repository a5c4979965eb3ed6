"""The differential state machine with stream commands mixed into strings and lists.

Streams share a small key space with string and list commands, so WRONGTYPE errors,
RENAME/COPY of streams (groups and PELs included) and keys that change type are all
exercised against a real redis-server, under RESP2 and RESP3.

Every ID is explicit (``<ms>-<seq>``, ``<ms>-*``, incomplete ``<ms>``, exclusive
``(<id>``), so the entries are the same on both servers. Nothing compares a time:
XCLAIM/XAUTOCLAIM use a min-idle of 0 and XPENDING no IDLE filter, and the idle times,
seen times and delivery times in XPENDING, XINFO CONSUMERS and XINFO STREAM FULL are
masked (their type is still compared) before the replies are compared.

The listpack node limits are drawn per run (tiny nodes split after a few entries or
bytes), so approximate trimming, XINFO STREAM's radix-tree counts and the master-entry
bookkeeping meet more than one node; the session servers' settings are restored after.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import initialize, rule

from tests.harness import parse_raw
from tests.test_state_machine import COMMANDS, DifferentialMachine, run_machine
from tests.test_state_machine_lists import LIST_COMMANDS

# Streams live on three of the shared keys (more collisions between stream commands);
# strings and lists use all five, so they overwrite and type-clash with the streams.
SKEYS = st.sampled_from([b"k1", b"k1", b"k1", b"k2", b"k2", b"k3"])
GROUPS = st.sampled_from([b"g1", b"g1", b"g1", b"g2"])
CONSUMERS = st.sampled_from([b"alice", b"bob", b"carol"])
FIELDS = st.sampled_from([b"f", b"g", b"1"])
VALUES = st.sampled_from([b"v", b"", b"12", b"-3", b"x" * 20])
MS = st.integers(0, 12)
SEQ = st.integers(0, 3)
U64 = b"18446744073709551615"
COUNTS = st.integers(-1, 4)


def _b(value: object) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def _seq(*parts: Any) -> st.SearchStrategy:
    """A command from fixed words, strategies of one word and strategies of word lists
    (the latter are spliced in)."""
    def build(values: tuple) -> List[bytes]:
        out: List[bytes] = []
        for value in values:
            if isinstance(value, list):
                out.extend(_b(v) for v in value)
            else:
                out.append(_b(value))
        return out
    return st.tuples(*[p if isinstance(p, st.SearchStrategy) else st.just(p)
                       for p in parts]).map(build)


def _weighted(*choices: Tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """One of several strategies, each drawn about ``weight`` times in the sum.

    (``st.one_of`` cannot weight: it merges repeated branches.) Mostly valid input
    keeps the streams and groups alive; the rare invalid input covers error paths."""
    indexes = [i for i, (weight, _) in enumerate(choices) for _ in range(weight)]
    return st.sampled_from(indexes).flatmap(lambda i: choices[i][1])


def _often(common: st.SearchStrategy, rare: st.SearchStrategy, weight: int = 6
           ) -> st.SearchStrategy:
    """``common`` about ``weight`` times as often as ``rare``."""
    return _weighted((weight, common), (1, rare))


FULL_ID = st.builds(lambda ms, seq: b"%d-%d" % (ms, seq), MS, SEQ)
BAD_ID = st.sampled_from([b"x", b"1-x", b"-1", b"1-2-3", b"", U64 + b"0"])
# An ID argument as commands that take one see it (incomplete IDs included).
ID = _weighted((8, FULL_ID), (2, MS.map(_b)),
               (1, st.sampled_from([b"0-0", U64 + b"-" + U64, U64])), (1, BAD_ID))
XADD_ID = _weighted((4, FULL_ID), (1, MS.map(lambda ms: b"%d-*" % ms)), (1, MS.map(_b)),
                    (1, st.sampled_from([b"0-0", U64 + b"-" + U64, U64 + b"-*", b"5-x",
                                         b"*-1"])))
RANGE_START = _weighted((3, st.just(b"-")), (4, ID), (2, ID.map(lambda i: b"(" + i)),
                        (1, st.sampled_from([b"+", b"(" + U64 + b"-" + U64, b"(-"])))
RANGE_END = _weighted((3, st.just(b"+")), (4, ID), (2, ID.map(lambda i: b"(" + i)),
                      (1, st.sampled_from([b"-", b"(0-0", b"(+"])))
PAIRS = _often(st.lists(st.tuples(FIELDS, VALUES), min_size=1, max_size=2).map(
    lambda pairs: [x for pair in pairs for x in pair]), st.just([b"f"]), 25)
_STRATEGY = st.sampled_from([[], [], [b"="], [b"~"]])
_VALID_TRIM = st.one_of(
    _seq(st.sampled_from([b"MAXLEN", b"maxlen"]), _STRATEGY, st.integers(0, 6)),
    _seq(b"MAXLEN", b"~", st.integers(0, 6), b"LIMIT", st.sampled_from([0, 1, 2, 5])),
    _seq(b"MINID", _STRATEGY, FULL_ID),
    _seq(b"MINID", b"~", FULL_ID, b"LIMIT", st.sampled_from([0, 1, 3])))
_BAD_TRIM = st.sampled_from([
    [b"MAXLEN", b"1", b"MINID", b"0"], [b"MAXLEN", b"-1"], [b"MAXLEN", b"x"],
    [b"MAXLEN", b"2", b"LIMIT", b"2"], [b"MINID", b"~", b"1", b"LIMIT", b"-1"],
    [b"MINID", b"x"], [b"LIMIT", b"2"], [b"MAXLEN", b"=", b"1", b"LIMIT", b"1"]])
TRIM = _often(_VALID_TRIM, _BAD_TRIM, 5)
COUNT_OPT = st.one_of(st.just([]), COUNTS.map(lambda n: [b"COUNT", _b(n)]))


def _group_commands(keys: st.SearchStrategy, groups: st.SearchStrategy
                    ) -> Dict[str, st.SearchStrategy]:
    """The consumer-group commands on ``keys`` and ``groups`` (random ones, or one
    key and group already created: see StreamMachine.group_session)."""
    return {
        "xgroup_setid": _seq(b"XGROUP", b"SETID", keys, groups,
                             st.one_of(st.just(b"$"), ID),
                             st.sampled_from([[], [], [b"ENTRIESREAD", b"1"],
                                              [b"ENTRIESREAD", b"-1"]])),
        "xgroup_destroy": _seq(b"XGROUP", b"DESTROY", keys, groups),
        "xgroup_createconsumer": _seq(b"XGROUP", b"CREATECONSUMER", keys, groups,
                                      CONSUMERS),
        "xgroup_delconsumer": _seq(b"XGROUP", b"DELCONSUMER", keys, groups, CONSUMERS),
        "xreadgroup": _seq(b"XREADGROUP", b"GROUP", groups, CONSUMERS, COUNT_OPT,
                           st.sampled_from([[], [], [b"NOACK"]]), b"STREAMS",
                           _often(_seq(keys, _often(st.just(b">"), ID, 2)),
                                  st.tuples(st.lists(SKEYS, min_size=2, max_size=2,
                                                     unique=True),
                                            st.lists(st.sampled_from([b">", b"0", b"2-1"]),
                                                     min_size=2, max_size=2))
                                  .map(lambda t: t[0] + t[1]), 4)),
        "xack": _seq(b"XACK", keys, groups, st.lists(ID, min_size=1, max_size=3)),
        "xpending": _seq(b"XPENDING", keys, groups),
        "xpending_ext": _seq(b"XPENDING", keys, groups, RANGE_START, RANGE_END, COUNTS,
                             st.sampled_from([[], [], [b"alice"], [b"bob"], [b"nobody"]])),
        "xclaim": _seq(b"XCLAIM", keys, groups, CONSUMERS, b"0",
                       st.lists(ID, min_size=1, max_size=3),
                       st.lists(st.sampled_from([[b"JUSTID"], [b"FORCE"],
                                                 [b"RETRYCOUNT", b"7"], [b"LASTID", b"4-0"],
                                                 [b"IDLE", b"1000"], [b"TIME", b"1"]]),
                                max_size=2).map(lambda opts: [w for o in opts for w in o])),
        "xautoclaim": _seq(b"XAUTOCLAIM", keys, groups, CONSUMERS, b"0", RANGE_START,
                           _often(st.sampled_from([[], [b"COUNT", b"1"], [b"COUNT", b"2"]]),
                                  st.sampled_from([[b"COUNT", b"0"], [b"COUNT", b"x"]])),
                           st.sampled_from([[], [b"JUSTID"]])),
        "xinfo_consumers": _seq(b"XINFO", b"CONSUMERS", keys, groups),
    }


STREAM_COMMANDS: Dict[str, st.SearchStrategy] = {
    "xadd": _seq(b"XADD", SKEYS, st.sampled_from([[], [], [b"NOMKSTREAM"]]),
                 _often(st.just([]), TRIM, 2), XADD_ID, PAIRS),
    "xtrim": _seq(b"XTRIM", SKEYS, TRIM),
    "xdel": _seq(b"XDEL", SKEYS, st.lists(ID, min_size=1, max_size=3)),
    "xlen": _seq(b"XLEN", SKEYS),
    "xrange": _seq(b"XRANGE", SKEYS, RANGE_START, RANGE_END, COUNT_OPT),
    "xrevrange": _seq(b"XREVRANGE", SKEYS, RANGE_END, RANGE_START, COUNT_OPT),
    "xread": _seq(b"XREAD", COUNT_OPT, b"STREAMS", SKEYS, _often(ID, st.just(b"$"), 4)),
    "xsetid": _seq(b"XSETID", SKEYS, _often(ID, st.sampled_from([b"100-0", b"60", U64]), 2),
                   st.sampled_from(
        [[], [], [b"ENTRIESADDED", b"3"], [b"ENTRIESADDED", b"100"],
         [b"ENTRIESADDED", b"-1"], [b"MAXDELETEDID", b"2-0"],
         [b"ENTRIESADDED", b"50", b"MAXDELETEDID", b"3-3"], [b"FOO"]])),
    "xgroup_create": _seq(b"XGROUP", b"CREATE", SKEYS, GROUPS,
                          st.one_of(st.just(b"$"), ID),
                          _often(st.sampled_from([[], [b"MKSTREAM"], [b"MKSTREAM"],
                                                  [b"ENTRIESREAD", b"2"],
                                                  [b"MKSTREAM", b"ENTRIESREAD", b"0"]]),
                                 st.sampled_from([[b"ENTRIESREAD", b"-2"],
                                                  [b"MKSTREAM", b"FOO"]]))),
    **_group_commands(SKEYS, GROUPS),
    "xinfo_groups": _seq(b"XINFO", b"GROUPS", SKEYS),
    "xinfo_stream": _seq(b"XINFO", b"STREAM", SKEYS,
                         st.sampled_from([[], [], [b"FULL"], [b"FULL", b"COUNT", b"2"],
                                          [b"FULL", b"COUNT", b"0"]])),
}

# String, key and list commands on the same keys (TYPE/EXISTS see the streams too).
OTHER_COMMANDS = [COMMANDS[name] for name in (
    "set", "get", "incr", "append", "del", "exists", "type", "rename", "copy", "expire",
    "persist", "dbsize")] + [LIST_COMMANDS[name] for name in (
        "lpush", "rpush", "lpop", "llen", "lrange", "lmove")]


# -- masking of times ----------------------------------------------------------------
def _time(node: Any) -> Any:
    """A masked time: its reply type is kept, its value is not."""
    return (b"TIME", node[0])


def _map_values(node: Any, fn: Callable[[bytes, Any], Any]) -> Any:
    """A map reply (RESP3 map or RESP2 flat array) with ``fn(key, value)`` applied."""
    kind, body = node
    if not isinstance(body, tuple):
        return node
    if kind == b"%":
        return kind, tuple((k, fn(k[1], v)) for k, v in body)
    items = list(body)
    for i in range(0, len(items) - 1, 2):
        items[i + 1] = fn(items[i][1], items[i + 1])
    return kind, tuple(items)


def _rows(node: Any, index: int) -> Any:
    """An array of PEL rows with the time at ``index`` of each row masked."""
    kind, body = node
    if not isinstance(body, tuple):
        return node
    return kind, tuple((row[0], row[1][:index] + (_time(row[1][index]),) + row[1][index + 1:])
                       for row in body)


def _mask_consumer_info(key: bytes, value: Any) -> Any:
    return _time(value) if key == b"idle" else value


def _without_inactive(node: Any) -> Any:
    """An XINFO CONSUMERS row without Redis 7.2's ``inactive`` field, which we report
    and the 7.0 oracle lacks (tests/test_streams.py checks its values)."""
    kind, body = node
    if not isinstance(body, tuple):
        return node
    if kind == b"%":
        return kind, tuple((k, v) for k, v in body if k[1] != b"inactive")
    pairs = [body[i:i + 2] for i in range(0, len(body) - 1, 2)]
    return kind, tuple(x for pair in pairs if pair[0][1] != b"inactive" for x in pair)


def _mask_full_consumer(key: bytes, value: Any) -> Any:
    if key == b"seen-time":
        return _time(value)
    return _rows(value, 1) if key == b"pending" else value


def _mask_full_group(key: bytes, value: Any) -> Any:
    if key == b"pending":
        return _rows(value, 2)
    if key == b"consumers":
        return value[0], tuple(_map_values(c, _mask_full_consumer) for c in value[1])
    return value


def _mask_full_stream(key: bytes, value: Any) -> Any:
    if key == b"groups":
        return value[0], tuple(_map_values(g, _mask_full_group) for g in value[1])
    return value


def masked(args: List[bytes], raw: bytes) -> Any:
    """The reply to ``args`` parsed, with every time in it masked (None: nothing to
    mask, compare the raw bytes)."""
    name = args[0].upper()
    sub = args[1].upper() if len(args) > 1 else b""
    node = parse_raw(raw)
    if node[0] == b"-":
        return None
    if name == b"XPENDING" and len(args) > 3:
        return _rows(node, 2)
    if name == b"XINFO" and sub == b"CONSUMERS":
        return node[0], tuple(_map_values(_without_inactive(c), _mask_consumer_info)
                              for c in node[1])
    if name == b"XINFO" and sub == b"STREAM" and len(args) > 3:
        return _map_values(node, _mask_full_stream)
    return None


class StreamMachine(DifferentialMachine):
    """Stream commands (weighted up) mixed with string, key and list commands."""

    node_limits = (100, 4096)   # the servers' settings, restored at teardown

    def __init__(self) -> None:
        super().__init__()
        # The ms part of the next "fresh" ID: it only grows, so most XADDs succeed
        # (random explicit IDs alone would soon all be too small).
        self.next_ms = 1

    def both(self, args: List[bytes]) -> bytes:
        name = args[0].upper()
        if name not in (b"XPENDING", b"XINFO"):
            return super().both(args)
        self.history.append(args)
        want = self.real.call(*args)
        got = self.mini.call(*args)
        if want != got:
            want_m, got_m = masked(args, want), masked(args, got)
            assert want_m is not None and want_m == got_m, self._report(args, want, got)
        return want

    @initialize(entries=st.sampled_from([2, 3, 100]), size=st.sampled_from([60, 4096]))
    def node_size(self, entries: int, size: int) -> None:
        # Tiny listpack nodes: trimming, XDEL and XINFO STREAM meet several nodes.
        for conn in (self.real, self.mini):
            conn.call(b"CONFIG", b"SET", b"stream-node-max-entries", b"%d" % entries,
                      b"stream-node-max-bytes", b"%d" % size)

    @rule(args=st.one_of(*STREAM_COMMANDS.values()))
    def command(self, args: List[bytes]) -> None:
        self.both(args)

    @rule(key=SKEYS, step=st.sampled_from([0, 1, 1, 2]), seq=SEQ,
          form=st.sampled_from(["full", "full", "star", "ms"]),
          options=_weighted((3, st.just([])), (2, _VALID_TRIM), (1, st.just([b"NOMKSTREAM"]))),
          pairs=PAIRS)
    def xadd_fresh(self, key: bytes, step: int, seq: int, form: str,
                   options: List[bytes], pairs: List[bytes]) -> None:
        # XADD with an ID at or past the newest one made so far.
        self.next_ms += step
        stream_id = {"full": b"%d-%d" % (self.next_ms, seq), "star": b"%d-*" % self.next_ms,
                     "ms": b"%d" % self.next_ms}[form]
        self.both([b"XADD", key, *options, stream_id, *pairs])

    @rule(args=st.one_of(STREAM_COMMANDS["xreadgroup"], STREAM_COMMANDS["xgroup_create"]))
    def common_write(self, args: List[bytes]) -> None:
        # Groups and deliveries are made often so the rest meets them.
        self.both(args)

    @rule(args=st.one_of(*[STREAM_COMMANDS[name] for name in (
        "xack", "xclaim", "xautoclaim", "xpending", "xpending_ext", "xdel", "xtrim")]))
    def aggregate_write(self, args: List[bytes]) -> None:
        # (Replaces the base machine's hash/set rule.) The PEL operations, weighted up.
        self.both(args)

    @rule(key=SKEYS, group=GROUPS, start=st.sampled_from([b"0", b"$", b"2-0"]),
          data=st.data())
    def group_session(self, key: bytes, group: bytes, start: bytes, data: Any) -> None:
        # A group on a stream that exists, a delivery, then PEL operations: random keys
        # and groups alone rarely line up (the other rules delete and retype keys).
        self.both([b"XGROUP", b"CREATE", key, group, start, b"MKSTREAM"])
        ops = _group_commands(st.just(key), st.just(group))
        self.both(data.draw(ops["xreadgroup"]))
        for _ in range(data.draw(st.integers(1, 3))):
            self.both(data.draw(st.one_of(*ops.values())))

    @rule(args=st.one_of(*OTHER_COMMANDS))
    def other_type(self, args: List[bytes]) -> None:
        self.both(args)

    @rule(key=SKEYS)
    def inspect(self, key: bytes) -> None:
        # The whole visible state of one key after the mix so far.
        if self.both([b"TYPE", key]) == b"+stream\r\n":
            self.both([b"XINFO", b"STREAM", key, b"FULL"])
            self.both([b"OBJECT", b"ENCODING", key])

    def teardown(self) -> None:
        entries, size = self.node_limits
        for conn in (self.real, self.mini):
            conn.call(b"CONFIG", b"SET", b"stream-node-max-entries", b"%d" % entries,
                      b"stream-node-max-bytes", b"%d" % size)
        super().teardown()


@pytest.mark.parametrize("protocol", [2, 3])
def test_streams_with_strings_and_lists(differ, protocol):
    class Machine(StreamMachine):
        pass

    run_machine(Machine, differ, protocol, 60, steps=50)


def test_masking_keeps_everything_but_times():
    """The mask hides delivery/idle/seen times and nothing else."""
    row = b"*4\r\n$3\r\n1-1\r\n$1\r\nc\r\n:%d\r\n:%d\r\n"
    one = b"*1\r\n" + row % (5, 1)
    assert masked([b"XPENDING", b"s", b"g", b"-", b"+", b"9"], one) == \
        masked([b"XPENDING", b"s", b"g", b"-", b"+", b"9"], b"*1\r\n" + row % (900, 1))
    assert masked([b"XPENDING", b"s", b"g", b"-", b"+", b"9"], one) != \
        masked([b"XPENDING", b"s", b"g", b"-", b"+", b"9"], b"*1\r\n" + row % (5, 2))
    info = b"*1\r\n%%3\r\n$4\r\nname\r\n$1\r\n%s\r\n$7\r\npending\r\n:0\r\n$4\r\nidle\r\n:%d\r\n"
    args = [b"XINFO", b"CONSUMERS", b"s", b"g"]
    assert masked(args, info % (b"c", 1)) == masked(args, info % (b"c", 77))
    assert masked(args, info % (b"c", 1)) != masked(args, info % (b"d", 1))
    assert masked([b"GET", b"k"], b"$1\r\na\r\n") is None

