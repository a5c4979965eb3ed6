"""The differential state machine with list commands mixed into keys, strings, expiry.

Lists share the key space with strings, so WRONGTYPE clashes, emptied lists vanishing
(EXISTS/TYPE), LMOVE onto a key of another type and non-blocking forms of the
blocking pops are all exercised against a real redis-server.
"""
from __future__ import annotations

from typing import List

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import rule

from tests.test_state_machine import (COMMANDS, KEYS, VALUES, DifferentialMachine, cmd,
                                      run_machine)

INDEXES = st.integers(-6, 6)
WHERE = st.sampled_from([b"LEFT", b"RIGHT"])
ELEMENTS = st.sampled_from([b"a", b"b", b"c", b"1", b""])

LIST_COMMANDS = {
    "lpush": st.tuples(KEYS, st.lists(ELEMENTS, min_size=1, max_size=4))
             .map(lambda t: [b"LPUSH", t[0], *t[1]]),
    "rpush": st.tuples(KEYS, st.lists(ELEMENTS, min_size=1, max_size=4))
             .map(lambda t: [b"RPUSH", t[0], *t[1]]),
    "lpushx": cmd(b"LPUSHX", KEYS, ELEMENTS),
    "rpushx": cmd(b"RPUSHX", KEYS, ELEMENTS),
    "lpop": st.tuples(KEYS, st.sampled_from([[], [b"0"], [b"2"], [b"-1"]]))
            .map(lambda t: [b"LPOP", t[0], *t[1]]),
    "rpop": st.tuples(KEYS, st.sampled_from([[], [b"1"], [b"3"]]))
            .map(lambda t: [b"RPOP", t[0], *t[1]]),
    "llen": cmd(b"LLEN", KEYS),
    "lrange": cmd(b"LRANGE", KEYS, INDEXES, INDEXES),
    "lindex": cmd(b"LINDEX", KEYS, INDEXES),
    "lset": cmd(b"LSET", KEYS, INDEXES, VALUES),
    "linsert": cmd(b"LINSERT", KEYS, st.sampled_from([b"BEFORE", b"AFTER"]), ELEMENTS,
                   ELEMENTS),
    "lrem": cmd(b"LREM", KEYS, st.integers(-3, 3), ELEMENTS),
    "ltrim": cmd(b"LTRIM", KEYS, INDEXES, INDEXES),
    "lpos": st.tuples(KEYS, ELEMENTS, st.sampled_from(
        [[], [b"RANK", b"-1"], [b"COUNT", b"0"], [b"RANK", b"2", b"COUNT", b"2"],
         [b"MAXLEN", b"2"]])).map(lambda t: [b"LPOS", t[0], t[1], *t[2]]),
    "lmove": cmd(b"LMOVE", KEYS, KEYS, WHERE, WHERE),
    "rpoplpush": cmd(b"RPOPLPUSH", KEYS, KEYS),
    "lmpop": st.tuples(st.lists(KEYS, min_size=1, max_size=3), WHERE,
                       st.sampled_from([[], [b"COUNT", b"2"]]))
             .map(lambda t: [b"LMPOP", str(len(t[0])).encode(), *t[0], t[1], *t[2]]),
    # Blocking forms find data or time out at once (a tiny timeout keeps them short).
    "blpop": st.lists(KEYS, min_size=1, max_size=2).map(lambda ks: [b"BLPOP", *ks, b"0.01"]),
    "brpoplpush": cmd(b"BRPOPLPUSH", KEYS, KEYS, b"0.01"),
}


@pytest.mark.parametrize("protocol", [2, 3])
def test_lists_with_keys_and_strings(differ, protocol):
    class Machine(DifferentialMachine):
        @rule(args=st.one_of(*LIST_COMMANDS.values(), *COMMANDS.values()))
        def command(self, args: List[bytes]) -> None:
            self.both(args)

        @rule(args=st.one_of(LIST_COMMANDS["lpush"], LIST_COMMANDS["rpush"]))
        def common_write(self, args: List[bytes]) -> None:
            self.both(args)

    run_machine(Machine, differ, protocol, 100)
