"""Long lists: the PackedList representation (elements packed in chunks past a few
hundred) must answer every list command exactly as Redis does, wherever in the list
(loose ends, packed chunks, chunk boundaries) the elements sit."""
from __future__ import annotations

import random
from typing import Any, List

from miniredis.datatypes.packedlist import (_CHUNK_BYTES, CHUNK, PackedList, _pack_all,
                                          _unpack)
from tests.harness import compare_scenario, connect, encode_command


def _pipeline(conn: Any, commands: List[List[Any]]) -> List[bytes]:
    conn.send_raw(b"".join(encode_command(c) for c in commands))
    return [conn.read_raw() for _ in commands]


def _assign(packed: PackedList, plain: List[bytes], rnd: random.Random, value: bytes) -> None:
    index = rnd.randrange(-len(plain), len(plain))
    packed[index] = plain[index] = value


def _insert(packed: PackedList, plain: List[bytes], rnd: random.Random, value: bytes) -> None:
    index = rnd.randrange(len(plain) + 1)
    packed.insert(index, value)
    plain.insert(index, value)


def _values(start: int, count: int):
    return ["v%d" % (i % 37) for i in range(start, start + count)]


def test_packed_list_matches_a_python_list():
    rnd = random.Random(7)
    for _ in range(40):
        packed, plain = PackedList(), []
        for _ in range(rnd.randrange(1, 2500)):
            op = rnd.random()
            value = b"%d" % rnd.randrange(500) * rnd.randrange(1, 4)
            if op < .25:
                items = [value + b"%d" % i for i in range(rnd.choice((1, 1, 1, 300)))]
                packed.extend(items)
                plain.extend(items)
            elif op < .5:
                items = [value + b"%d" % i for i in range(rnd.choice((1, 1, 1, 300)))]
                packed.extendleft(items)
                plain[:0] = items[::-1]
            elif op < .6 and plain:
                assert packed.pop() == plain.pop()
            elif op < .7 and plain:
                assert packed.popleft() == plain.pop(0)
            elif op < .75 and plain:
                count, left, keep = rnd.randrange(600), rnd.random() < .5, rnd.random() < .5
                got = packed.pop_many(count, left, keep)
                count = min(count, len(plain))
                want = plain[:count] if left else plain[::-1][:count]
                if left:
                    del plain[:count]
                else:
                    del plain[len(plain) - count:]
                assert got == (want if keep else [])
            elif op < .8 and plain:
                index = rnd.randrange(-len(plain), len(plain))
                assert packed[index] == plain[index]
            elif op < .85 and plain:
                _assign(packed, plain, rnd, value)
            elif op < .9:
                _insert(packed, plain, rnd, value)
            elif op < .95:
                start = rnd.randrange(len(plain) + 1)
                stop = rnd.randrange(start, len(plain) + 1)
                assert packed.slice(start, stop) == plain[start:stop]
            elif op < .955:     # a copy is checked whole: rarely, it is O(n)
                copy = packed.copy()
                copy.append(b"extra")
                assert list(copy) == plain + [b"extra"]
            assert len(packed) == len(plain)
        assert list(packed) == plain and list(reversed(packed)) == plain[::-1]
        assert packed.layout()[0] + packed.layout()[1] == len(plain)
    assert CHUNK < 1000   # the differential tests below do reach packed chunks


def test_long_list_positional_commands(differ):
    n = 3000
    differ.check(
        ["RPUSH", "l"] + _values(0, n // 2), ["LPUSH", "l"] + _values(n // 2, n // 2),
        "LLEN l", "LINDEX l 0", "LINDEX l 299", "LINDEX l 1500", "LINDEX l 1777",
        "LINDEX l -1", "LINDEX l -300", "LINDEX l -1501", "LINDEX l 3000",
        "LSET l 1000 X", "LSET l -1000 Y", "LSET l 2 Z", "LINDEX l 1000", "LINDEX l -1000",
        "LINSERT l BEFORE X before-x", "LINSERT l AFTER Y after-y", "LLEN l",
        "LRANGE l 995 1010", "LRANGE l -1010 -990", "LRANGE l 1490 1520",
        "LRANGE l 2990 5000", "LRANGE l -3 -1", "LPOS l v5", "LPOS l v5 RANK -3",
        "LPOS l v5 COUNT 0", "LPOS l v5 RANK 2 COUNT 5 MAXLEN 2000", "LPOS l X",
        "LPOS l Y RANK -1", "LPOS l after-y", "LREM l 3 v7", "LREM l -4 v8", "LLEN l",
        "LRANGE l 0 -1", "LREM l 0 v9", "LLEN l", "LRANGE l 0 -1")


def test_long_list_trims_pops_and_moves(differ):
    differ.check(
        ["RPUSH", "l"] + _values(0, 2000), "LPOP l 5", "RPOP l 700", "LLEN l",
        "LPOP l 600", "LRANGE l 0 9", "LTRIM l 100 -100", "LLEN l", "LRANGE l 0 -1",
        "LTRIM l 1 -2", "LINDEX l 0", "LINDEX l -1", "LMOVE l d LEFT RIGHT",
        "LMOVE l d RIGHT LEFT", "RPOPLPUSH l l", "LMPOP 2 x l RIGHT COUNT 250",
        "LLEN l", ["RPUSH", "l"] + _values(5, 900), "LTRIM l -5 -1", "LRANGE l 0 -1",
        ["LPUSH", "m"] + _values(1, 1200), "LTRIM m 600 599", "EXISTS m",
        "OBJECT ENCODING l", "TYPE l", "SORT l ALPHA LIMIT 0 10",
        ["RPUSH", "n"] + _values(3, 1500), "SORT n ALPHA STORE s", "LRANGE s 1000 1010",
        "LLEN s", "COPY n c", "RPOP n 1000", "LLEN c", "LRANGE c 600 610")


def test_long_list_dump_restore_and_reload(differ):
    # DUMP payloads are byte-identical, whatever the internal chunking.
    differ.check(
        ["RPUSH", "l"] + _values(0, 1000), ["LPUSH", "l"] + _values(7, 700),
        "LSET l 900 changed", "LINSERT l BEFORE changed inserted", "DUMP l")
    dumped = differ.check(["RPUSH", "l"] + _values(0, 1700), "DUMP l")[1]
    payload = dumped.split(b"\r\n", 1)[1][:-2]
    differ.check(["RESTORE", "r", "0", payload], "LLEN r", "LRANGE r 1000 1020",
                 "LINDEX r -1", "DUMP r", "DEBUG RELOAD", "LLEN r", "LRANGE r 0 -1")


def test_random_long_list_operations(differ):
    rnd = random.Random(11)
    commands = []
    for _ in range(400):
        op = rnd.random()
        if op < .2:
            commands.append(["RPUSH", "l"] + _values(rnd.randrange(99), rnd.randrange(1, 200)))
        elif op < .4:
            commands.append(["LPUSH", "l"] + _values(rnd.randrange(99), rnd.randrange(1, 200)))
        elif op < .5:
            commands.append(["LPOP" if rnd.random() < .5 else "RPOP", "l",
                             str(rnd.randrange(1, 150))])
        elif op < .6:
            commands.append(["LINDEX", "l", str(rnd.randrange(-2000, 2000))])
        elif op < .65:
            commands.append(["LSET", "l", str(rnd.randrange(-2000, 2000)), "set"])
        elif op < .7:
            commands.append(["LINSERT", "l", rnd.choice(("BEFORE", "AFTER")),
                             "v%d" % rnd.randrange(40), "ins"])
        elif op < .8:
            start = rnd.randrange(-2000, 2000)
            commands.append(["LRANGE", "l", str(start), str(start + rnd.randrange(50))])
        elif op < .85:
            commands.append(["LREM", "l", str(rnd.randrange(-5, 6)), "v%d" % rnd.randrange(40)])
        elif op < .9:
            commands.append(["LPOS", "l", "v%d" % rnd.randrange(40), "RANK",
                             str(rnd.choice((1, 2, -1, -3))), "COUNT", "3"])
        elif op < .93:
            commands.append(["LTRIM", "l", str(rnd.randrange(0, 50)),
                             str(-rnd.randrange(1, 50))])
        else:
            commands.append(["LLEN", "l"])
    commands.append("LRANGE l 0 -1")
    differ.check(*commands, protocols=(2,))


def test_chunks_hold_any_bytes_and_sizes():
    """Chunks are the elements joined by a separator, the reserved bytes escaped
    (datatypes/packed.py): elements of every byte value, of sizes around 255/256
    bytes, 64 KB and past, and empty ones, packed at both ends, come back unchanged
    by position, by slice, by iteration and by pops."""
    rng = random.Random(7)
    sizes = [0, 1, 255, 256, 257, 65535, 65536, 70000, 200000]
    items = [bytes(rng.getrandbits(8) for _ in range(rng.choice(sizes[:5])))
             for _ in range(900)]
    for at in range(0, 900, 97):
        items[at] = bytes(range(256)) * (rng.choice(sizes) // 256) + b"\x80."
    packed = PackedList()
    packed.extendleft(items[:450])
    packed.extend(items[450:])
    expected = items[:450][::-1] + items[450:]
    _, inside, chunks = packed.layout()
    assert inside and chunks > 1
    assert list(packed) == expected and list(reversed(packed)) == expected[::-1]
    for index in range(0, 900, 13):
        assert packed[index] == expected[index]
    for start, stop in ((0, 900), (130, 131), (200, 517), (899, 900)):
        assert packed.slice(start, stop) == expected[start:stop]
    while packed:
        assert packed.pop() == expected.pop()
        if expected:
            assert packed.popleft() == expected.pop(0)


def test_partial_chunk_reads_match_whole_ones():
    """A few elements near one end of a chunk not read last are split off that end
    alone (LINDEX 5, LRANGE 0 9 of lists read in turn); elements holding the
    reserved bytes (escaped in the blob) come back as they were, at every position
    of both halves, on a chunk's first read (split) and on the next (read whole)."""
    from miniredis.datatypes import packedlist
    rng = random.Random(5)
    pieces = [b"", b"a", b"\x00", b"\x01", b"\x02", b"\x02\x03", b"\x02\x05", b"x\x00y"]
    for hostile in (False, True):
        items = [(rng.choice(pieces) if hostile else b"") + b"%d" % i for i in range(CHUNK)]
        items[3] = b""
        chunk = packedlist._pack(items)
        assert (b"\x02" in chunk[0]) == hostile and chunk[1] == CHUNK
        for start in range(CHUNK):
            for width in (1, 2, 5, CHUNK // 4, CHUNK // 4 + 1, CHUNK - start):
                stop = min(start + width, CHUNK)
                packedlist._LAST.keep(None, [])
                packedlist._last_partial = (b"", 0)
                assert packedlist._read_slice(chunk, start, stop) == items[start:stop]
                assert packedlist._read_slice(chunk, start, stop) == items[start:stop]
                assert packedlist._item(chunk, start) == items[start]
        assert packedlist._unpack(chunk) == items


def _chunk_counts(sizes: List[int]) -> List[int]:
    # The rule chunks follow, element by element: a chunk closes at CHUNK elements or
    # once its elements reach _CHUNK_BYTES.
    counts, count, size = [], 0, 0
    for length in sizes:
        if count == CHUNK or size >= _CHUNK_BYTES:
            counts.append(count)
            count, size = 0, 0
        count += 1
        size += length
    return counts + [count] if count else counts


def test_packed_chunks_with_reserved_bytes_as_redis(differ):
    """Lists whose packed chunks hold the bytes their layout reserves (escaped in the
    blob) and escape-like pairs, read a few at a time near either end of a chunk
    (split off that end), read again (whole), changed and dumped, against Redis."""
    pieces = [b"", b"\x00", b"\x01", b"\x02", b"\x02\x03", b"\x02\x05", b"a\x00b", b"z"]
    elements = [pieces[i % len(pieces)] + b"%d" % i for i in range(700)]
    commands: list = [["RPUSH", "l"] + elements, ["RPUSH", "m"] + elements[::-1]]
    for key in ("l", "m"):
        for index in (0, 3, 5, 100, 127, 128, 130, 200, 250, 255, 256, 383, -300, -1):
            commands.append(["LINDEX", key, str(index)])
        for start, stop in ((0, 9), (0, 9), (120, 135), (250, 260), (0, 99), (300, 302)):
            commands.append(["LRANGE", key, str(start), str(stop)])
    commands += [["LSET", "l", "5", "\x00new\x02"], ["LINDEX", "l", "5"],
                 ["LINSERT", "l", "BEFORE", "\x02\x033", "\x01ins"], ["LRANGE", "l", "0", "12"],
                 ["LREM", "l", "0", "\x00\x01"], ["LPOS", "l", "\x02\x05\x05"], "DUMP l",
                 "DEBUG RELOAD", ["LRANGE", "l", "0", "-1"], ["LRANGE", "m", "600", "-1"]]
    differ.check(*commands)


def test_chunks_close_where_the_byte_limit_says():
    """A chunk packs its elements' blob first and trusts a short blob to fit: where
    the elements together sit just under, at and over the byte limit (elements of
    255 and 256 bytes among others), chunks still close element by element as the
    rule says."""
    rng = random.Random(11)
    cases = []
    for length in (100, 255, 256, 511, 512, 516, 600):
        fit = _CHUNK_BYTES // length
        for count in (fit - 1, fit, fit + 1, fit + 2, CHUNK):
            if 1 <= count <= 3 * CHUNK:
                cases.append([length] * count)
    # A short first element, then long ones (the blob made first is too long), and
    # the reverse.
    cases += [[10] + [1000] * 127, [10] * 127 + [70000], [10] * 64 + [2000] * 64,
              [1] * 100 + [600] * 28, [70000] + [10] * 127, [40000, 40000], [10]]
    for _ in range(200):
        base = rng.choice((250, 256, 500, 520, 1000, 5000, 40000))
        cases.append([max(0, base + rng.randrange(-8, 9))
                      for _ in range(rng.randrange(1, 2 * CHUNK))])
    for sizes in cases:
        items = [bytes([len(sizes) % 256]) * size for size in sizes]
        chunks = _pack_all(items)
        assert [count for _, count in chunks] == _chunk_counts(sizes), sizes
        assert [item for chunk in chunks for item in _unpack(chunk)] \
            == items


def test_several_pushed_at_once_leave_no_short_chunk():
    """An end that reaches 2 * CHUNK packs its inner elements in whole chunks, keeping
    CHUNK to 2 * CHUNK - 1 loose, however many came in the push that reached it."""
    for extra in (0, 1, 15, CHUNK - 1, CHUNK, 3 * CHUNK + 7):
        for left in (True, False):
            packed = PackedList()
            items = [b"e%d" % i for i in range(2 * CHUNK - 1)]
            packed.extend(items)
            more = [b"m%d" % i for i in range(1 + extra)]
            (packed.extendleft if left else packed.extend)(more)
            loose, inside, chunks = packed.layout()
            assert inside % CHUNK == 0 and chunks == inside // CHUNK
            assert inside and CHUNK <= loose < 2 * CHUNK
            expected = more[::-1] + items if left else items + more
            assert list(packed) == expected and len(packed) == len(expected)
            # the end that grew keeps CHUNK to 2 * CHUNK - 1 once packed
            for _ in range(2 * CHUNK):
                (packed.appendleft if left else packed.append)(b"x")
            loose, inside, chunks = packed.layout()
            assert inside % CHUNK == 0 and chunks == inside // CHUNK


def test_a_remembered_width_holds_until_its_deque_changes():
    # PackedList.read_range remembers a range of one length until its deque changes;
    # every change (pushes, pops at either end, also straight on
    # the deques as the own loops pop, packing, LSET, LINSERT...) must make it measure
    # again. Elements of one length are common here, so the memo gets exercised.
    rnd = random.Random(5)
    hits = 0
    for _ in range(25):
        packed, plain = PackedList(), []
        for _ in range(rnd.randrange(1, 1200)):
            size = 3 if rnd.random() < .9 else rnd.choice((0, 2, 4))
            value = bytes(rnd.randrange(97, 123) for _ in range(size))
            op = rnd.random()
            if op < .2:
                items = [value] * rnd.choice((1, 1, 16, 300))
                packed.extend(items)
                plain.extend(items)
            elif op < .4:
                items = [value] * rnd.choice((1, 1, 16, 300))
                packed.extendleft(items)
                plain[:0] = items[::-1]
            elif op < .45:
                packed.appendleft(value)
                plain.insert(0, value)
            elif op < .5 and plain:
                _assign(packed, plain, rnd, value)
            elif op < .55:
                _insert(packed, plain, rnd, value)
            elif op < .65 and len(plain) > 1:
                end = packed.head if rnd.random() < .5 and packed.head else packed.tail
                if len(end) > 1:        # (as lists._pop_run pops)
                    if end is packed.tail:
                        assert end.pop() == plain.pop()
                    else:
                        assert end.popleft() == plain.pop(0)
            elif op < .7 and plain:
                count = rnd.randrange(1, 300)
                left = rnd.random() < .5
                got = packed.pop_many(count, left)
                count = min(count, len(plain))
                if left:
                    assert got == plain[:count]
                    del plain[:count]
                else:
                    assert got == plain[::-1][:count]
                    del plain[len(plain) - count:]
            elif op < .72:
                packed = packed.copy()
            elif op < .73:
                packed.clear()
                plain.clear()
            for _ in range(3):     # ranges read, as LRANGE does
                if not plain:
                    break
                start = rnd.randrange(len(plain))
                stop = rnd.randrange(start + 1, min(len(plain), start + 120) + 1)
                items, width = packed.read_range(start, stop)
                assert items == plain[start:stop]
                lengths = set(map(len, items))
                assert width == (lengths.pop() if len(lengths) == 1 else -1), \
                    (start, stop, width)
                hits += packed._uniform is not None
        assert list(packed) == plain
    assert hits > 1000      # (the memo was there to be trusted or not)


def test_lists_of_one_width_reply_as_redis(differ):
    """LRANGE (alone, pipelined, in MULTI, from Lua) of lists whose elements share a
    length (protocol.bulk_run's shortcut), after each way an element of another length
    can come in (or leave)."""
    same = ["abcd"] * 400
    steps = [
        [["RPUSH", "l"] + same],
        [["LSET", "l", 3, "ab"], ["LSET", "l", -2, "ab"]],   # packed, loose elements
        [["LSET", "l", 3, "abcd"], ["LSET", "l", -2, "abcd"], ["LSET", "l", 399, "xyzw"]],
        [["LSET", "l", -3, "abcdefgh"]],
        [["LINSERT", "l", "BEFORE", "xyzw", "12345"]],
        [["LREM", "l", 0, "12345"]],                   # back to one length
        [["RPUSH", "l", "a", "bcde"]],
        [["LREM", "l", 0, "a"], ["LPUSH", "l", "efgh", "ijklmn"]],
        [["LPOP", "l"], ["LMOVE", "l", "m", "RIGHT", "LEFT"], ["RPUSH", "m", "x"],
         ["LMOVE", "m", "l", "LEFT", "LEFT"]],
        [["LTRIM", "l", 1, -1], ["COPY", "l", "c"], ["SORT", "l", "ALPHA", "STORE", "s"]],
        [["RPUSH", "n", "", ""], ["RPUSH", "w"] + ["é" * 600] * 3],
    ]
    reads = [["LRANGE", key, start, stop] for key in ("l", "m", "c", "s", "n", "w")
             for start, stop in ((0, 99), (-3, -1), (395, 405), (0, -1))]

    def scenario(port, protocol, admin):
        conn = connect(port, protocol)
        try:
            seen = []
            for step in steps:
                for command in step:
                    seen.append(conn.call(*command))
                seen += [conn.call(*read) for read in reads]     # alone
                seen += _pipeline(conn, reads)                   # LRANGE's own loop
                seen += _pipeline(conn, [["MULTI"]] + reads[:4] + [["EXEC"]])
                seen.append(conn.call("EVAL", "return redis.call('LRANGE', KEYS[1], 0, 5)",
                                      1, "l"))
            return seen
        finally:
            conn.close()

    compare_scenario(differ, scenario)
