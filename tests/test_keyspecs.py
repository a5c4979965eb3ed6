"""Key specs (miniredis/keyspecs.py) against redis-server: COMMAND INFO's key_specs and
tips (miniredis/commandtips.py) of every command, COMMAND GETKEYS/GETKEYSANDFLAGS
across the key-finding cases, COMMAND LIST's pattern filter, and the CLUSTER command of
a server not in cluster mode."""
from __future__ import annotations

import pytest

from .harness import RawConnection, command_metadata, parse_raw


def _info_field(port: int, protocol: int, field: int = 8):
    """{command full name: its raw COMMAND INFO ``field``} over COMMAND's whole reply
    (8: key specs, 7: tips)."""
    conn = RawConnection(port)
    try:
        if protocol == 3:
            conn.call("HELLO", "3")
        kind, entries = parse_raw(conn.call("COMMAND"))
    finally:
        conn.close()
    found = {}

    def walk(entry):
        fields = entry[1]
        found[fields[0][1]] = fields[field]
        for sub in fields[9][1]:
            walk(sub)

    for entry in entries:
        walk(entry)
    return found


@pytest.mark.parametrize("protocol", [2, 3])
def test_command_info_key_specs_of_every_command(differ, protocol):
    real = _info_field(differ.ports["redis"], protocol)
    mini = _info_field(differ.ports["miniredis"], protocol)
    # Commands of Redis that miniredis lacks (replication) have no keys.
    assert all(real[name] == ((b"~" if protocol == 3 else b"*"), ())
               for name in set(real) - set(mini))
    wrong = {name.decode(): (real[name], mini[name])
             for name in set(real) & set(mini) if real[name] != mini[name]}
    assert not wrong, wrong


@pytest.mark.parametrize("protocol", [2, 3])
def test_command_info_tips_of_every_command(differ, protocol):
    real = _info_field(differ.ports["redis"], protocol, 7)
    mini = _info_field(differ.ports["miniredis"], protocol, 7)
    wrong = {name.decode(): (real[name], mini[name])
             for name in set(real) & set(mini) if real[name] != mini[name]}
    assert not wrong, wrong


_CASES = [
    # One spec, and specs with several keys of different uses.
    "GET k", "MGET a b c", "MSET k1 v1 k2 v2", "MSET k1 v1 k2", "MSETNX a 1 b 2",
    "LMOVE k1 k2 left right", "BLMOVE a b left left 0", "RENAME a b", "RENAMENX a b",
    "COPY a b", "DEL a b c", "UNLINK a", "EXISTS a b", "TOUCH a", "WATCH a b",
    "BITOP and d a b", "PFMERGE d a b", "PFCOUNT a b", "PFDEBUG getreg k", "LCS a b",
    "BLPOP a b 0", "GETEX k persist", "XADD k * f v", "RESTORE k 0 x",
    "OBJECT ENCODING k", "MEMORY USAGE k", "XGROUP CREATE k g $", "XINFO STREAM k",
    # Flags that depend on the arguments (the variable_flags key finders).
    "SET k1 v1", "SET k1 v1 get", "SET k1 v1 GET ex 10", "SET k v EX 10 getx",
    "BITFIELD k get u8 0", "BITFIELD k get u8 0 set u8 0 1",
    "BITFIELD k overflow wrap get u8 0", "BITFIELD k foo", "BITFIELD k get u8",
    "BITFIELD_RO k get u8 0",
    # Incomplete and unknown specs: the key finders answer.
    "SORT k1 store k2", "SORT k1 by x get y store k2 limit 0 1 store k3",
    "SORT k1 limit 0 store", "SORT_RO k1 by x",
    "MIGRATE h 6379 k 0 10", 'MIGRATE h 6379 "" 0 10 keys a b c',
    "MIGRATE h 6379 k 0 10 keys a b c", 'MIGRATE h 6379 "" 0 10 auth x keys a b',
    'MIGRATE h 6379 "" 0 10 copy replace auth2 u p keys a',
    'MIGRATE h 6379 "" 0 10 keys',
    # Key counts, valid and not.
    "EVAL s 2 a b", "EVAL s 0", "EVAL s 3 a b", "EVAL s -1 a", "EVAL s x a",
    "EVAL s 01 a", "EVAL s +1 a", "EVAL s 1", "EVALSHA_RO s 1 a", "FCALL f 1 a c",
    "FCALL_RO f 2 a", "ZUNIONSTORE d 2 a b", "ZUNIONSTORE d 3 a b",
    "ZUNIONSTORE d x a b", "ZINTERSTORE d 0", "ZDIFFSTORE d 1 a", "ZUNION 2 a b",
    "ZINTER 2 a b withscores", "SINTERCARD 2 a b", "SINTERCARD 3 a b",
    "LMPOP 2 a b left", "BLMPOP 0 2 a b left", "BZMPOP 0 1 a min", "ZMPOP 1 a min",
    # Keyword searches.
    "XREAD count 1 streams a b 0 0", "XREAD streams a 0", "XREAD streams a b 0",
    "XREAD block 0 streams a b c", "XREAD count 1 streams streams 0",
    "XREADGROUP group g c streams a 0", "XREADGROUP group g c streams a b 0",
    "XREADGROUP group streams c streams streams 0",
    "GEORADIUS k 0 0 1 m store d", "GEORADIUS k 0 0 1 m storedist d store e",
    "GEORADIUS k 0 0 1 m", "GEORADIUS k 0 0 1 m store",
    "GEORADIUS k 0 0 1 m STORE d STORE e", "GEORADIUS_RO k 0 0 1 m store d",
    "GEORADIUSBYMEMBER k m 1 km store d", "GEOSEARCHSTORE d s frommember m bybox 1 1 km",
    # Channels are not keys; commands without keys; errors.
    "SPUBLISH ch m", "SSUBSCRIBE a b", "SUNSUBSCRIBE a", "PUBLISH ch m", "GET", "PING",
    "TIME x", "FOO a", "CLUSTER INFO", "CLUSTER KEYSLOT a", "CONFIG GET x",
    "OBJECT HELP", "UNWATCH", "OBJECT", "OBJECT FOO k", "OBJECT ENCODING",
    "MEMORY USAGE", "MEMORY USAGE k SAMPLES 5", "XINFO STREAM", "COMMAND",
    "COMMAND FOO x", "COMMAND GETKEYS get k",
]


@pytest.mark.parametrize("case", _CASES)
def test_getkeys_and_flags(differ, case):
    differ.check("COMMAND GETKEYS " + case, "COMMAND GETKEYSANDFLAGS " + case)


def test_command_list_filterby_pattern(differ):
    differ.check(*(("COMMAND", "LIST", "FILTERBY", "PATTERN", pattern)
                   for pattern in ("set", "get", "non_exists", "non_exists*", "CONFIG",
                                   "config|rewrite")))
    # CLIENT SETINFO is Redis 7.2's.
    for pattern in ("config*", "config|*re*", "cl*help", "cluster|*", "*|help",
                    "CLUSTER|S*", "x[ab]*", "*"):
        real, mini = (sorted(item[1] for item in parse_raw(RawConnection(port).call(
            "COMMAND", "LIST", "FILTERBY", "PATTERN", pattern))[1])
            for port in (differ.ports["redis"], differ.ports["miniredis"]))
        assert [name for name in mini if name != b"client|setinfo"] == \
            real, pattern


def test_cluster_when_not_in_cluster_mode(differ):
    differ.check("CLUSTER", "CLUSTER HELP", "CLUSTER INFO", "CLUSTER INFO x",
                 "CLUSTER KEYSLOT a", "CLUSTER SLOTS", "CLUSTER NODES", "CLUSTER foo",
                 "CLUSTER SETSLOT 1 node x", "CLUSTER SETSLOT 1", "ASKING", "READONLY",
                 "READWRITE", "READONLY x", "CONFIG REWRITE", "CONFIG REWRITE x",
                 "CONFIG HELP")


@pytest.mark.parametrize("name", ["cluster", "cluster|info", "cluster|addslots",
                                  "cluster|reset", "cluster|help", "cluster|slaves",
                                  "asking", "readonly", "readwrite", "config|rewrite"])
def test_cluster_metadata(differ, name):
    assert command_metadata(differ.ports["miniredis"], name) == \
        command_metadata(differ.ports["redis"], name)
