"""The stream's internal ID index (chunked sorted list) against a plain sorted list.

Chunks hold hundreds of IDs in the server, more than the differential tests put in a
stream; here they hold 1 to 4, so every operation crosses chunk boundaries.
"""
from __future__ import annotations

from typing import List, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from miniredis.datatypes import stream as stream_module
from miniredis.datatypes.stream import MAX_ID, MIN_ID, Stream, _Index

IDS = st.tuples(st.integers(0, 6), st.integers(0, 3))
# An entry's shape: one pair of field f (a chunk keeps their values only), of field g
# (turns such a chunk into pairs), or two pairs.
SHAPES = st.sampled_from(["f", "f", "f", "g", "fg"])
OPS = st.lists(st.one_of(
    st.tuples(st.just("append"), st.lists(SHAPES, min_size=1, max_size=3)),
    st.tuples(st.just("extend"), st.tuples(st.sampled_from([b"f", b"g"]),
                                           st.integers(1, 6))),
    st.tuples(st.just("remove"), st.integers(0, 1000)),
    st.tuples(st.just("head"), st.integers(0, 1000)),
    st.tuples(st.just("range"), st.tuples(IDS, IDS)),
    st.tuples(st.just("get"), IDS),
), max_size=60)


def _index_entries(index: _Index) -> list:
    """(ID, pairs) of every entry, from the chunks themselves."""
    out = []
    for keys, pairs, field in zip(index.chunks, index.pairs, index.fields):
        ids = [divmod(key, 2 ** 64) for key in keys]
        out += zip(ids, pairs if field is None else [(field, v) for v in pairs])
    return out


@pytest.mark.parametrize("chunk", [1, 2, 4])
@settings(max_examples=200, deadline=None)
@given(ops=OPS)
def test_index_matches_sorted_list(chunk: int, ops: List[Tuple[str, object]]) -> None:
    saved = stream_module._CHUNK
    stream_module._CHUNK = chunk
    try:
        index, model = _Index(), []           # type: ignore[var-annotated]
        next_id = (0, 0)

        def new_id() -> Tuple[int, int]:
            nonlocal next_id
            next_id = (next_id[0] + next_id[1] // 3, (next_id[1] + 1) % 4)
            return next_id

        for op, arg in ops:
            if op == "append":
                for shape in arg:                           # type: ignore[attr-defined]
                    stream_id = new_id()
                    value = b"%d-%d" % stream_id
                    pairs = (b"f", value) if shape == "f" else (b"g", value) \
                        if shape == "g" else (b"f", value, b"g", b"")
                    index.append(stream_id, pairs)
                    model.append((stream_id, pairs))
            elif op == "extend":
                field, count = arg                          # type: ignore[misc]
                ms = next_id[0] + 1                         # (IDs of one millisecond)
                ids = [(ms, seq) for seq in range(count)]
                next_id = ids[-1]
                values = [b"%d-%d" % i for i in ids]
                index.extend(ms, 0, field, values)
                model += [(i, (field, v)) for i, v in zip(ids, values)]
            elif op == "remove" and model:
                stream_id, pairs = model.pop(arg % len(model))   # type: ignore[operator]
                assert index.pop(stream_id) == pairs
                assert index.pop(stream_id) is None
            elif op == "head":
                count = arg % (len(model) + 1)            # type: ignore[operator]
                index.remove_head(count)
                del model[:count]
            elif op == "range":
                start, end = arg                          # type: ignore[misc]
                expected = [e for e in model if start <= e[0] <= end]
                assert list(index.items(start, end)) == expected
                assert list(index.items(start, end, reverse=True)) == expected[::-1]
            elif op == "get":
                assert index.get(arg) == dict(model).get(arg)   # type: ignore[arg-type]
            assert _index_entries(index) == model
            assert all(index.chunks) and index.firsts == [c[0] for c in index.chunks]
            assert list(map(len, index.pairs)) == list(map(len, index.chunks))
            assert len(index.fields) == len(index.chunks)
            assert list(index.items(MIN_ID, MAX_ID)) == model
            if model:
                assert (index.first(), index.last()) == (model[0][0], model[-1][0])
    finally:
        stream_module._CHUNK = saved


def test_a_chunk_of_one_field_keeps_values_only() -> None:
    """A producer's entries (one pair, one field) cost no tuple each; another shape
    turns the chunk into pairs."""
    index = _Index()
    index.append((1, 0), (b"f", b"a"))
    index.extend(1, 1, b"f", [b"b", b"c"])
    assert index.fields == [b"f"] and index.pairs == [[b"a", b"b", b"c"]]
    index.append((1, 3), [b"f", b"d", b"g", b"e"])
    assert index.fields == [None]
    assert index.pairs == [[(b"f", b"a"), (b"f", b"b"), (b"f", b"c"),
                            [b"f", b"d", b"g", b"e"]]]


def test_stream_operations_across_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream_module, "_CHUNK", 3)
    stream = Stream()
    for ms in range(1, 21):
        stream.append((ms, 0), [b"f", b"%d" % ms], 4096, 5)
    assert [i for i, _ in stream.range((4, 0), (9, 0), count=3)] == [(4, 0), (5, 0), (6, 0)]
    assert [i for i, _ in stream.range(MIN_ID, (3, 0), reverse=True)] == [(3, 0), (2, 0),
                                                                           (1, 0)]
    assert stream.delete((20, 0)) and stream.delete((16, 0)) and not stream.delete((16, 0))
    assert stream.last_valid_id() == (19, 0)
    assert stream.trim(maxlen=None, minid=(8, 0), approx=False, limit=0) == 7
    assert stream.first_id == (8, 0) and len(stream) == 11
    copy = stream.copy()
    assert list(copy.items()) == list(stream.items()) == list(stream.range(MIN_ID, MAX_ID))
    assert len(list(stream.items())) == 11 and list(stream.get((8, 0))) == [b"f", b"8"]
    assert copy.tail is copy.nodes.peekitem(-1)[1] and copy.tail is not stream.tail
    assert stream.trim(maxlen=0, minid=None, approx=False, limit=0) == 11
    assert len(stream) == 0 and stream.tail is None and not stream.nodes
    assert len(copy) == 11


# -- lazy listpack sizing -----------------------------------------------------------------
ELEMENTS = st.one_of(
    st.sampled_from([b"", b"f", b"0", b"-1", b"127", b"128", b"-4096", b"4095", b"32767",
                     b"-32769", b"8388608", b"2147483647", b"-2147483649",
                     b"9223372036854775807", b"-9223372036854775808",
                     b"18446744073709551615", b"007", b"-", b"1e3"]),
    st.binary(max_size=70),
    st.integers(60, 5000).map(lambda n: b"x" * n))
PAIRS = st.lists(st.tuples(ELEMENTS, ELEMENTS), min_size=1, max_size=8).map(
    lambda ps: [x for p in ps for x in p])
U64 = 2 ** 64 - 1


@settings(max_examples=400, deadline=None)
@given(pairs=PAIRS, master_pairs=PAIRS, master=st.tuples(st.integers(0, U64),
                                                          st.integers(0, U64)),
       delta=st.tuples(st.integers(0, U64), st.integers(-U64, U64)),
       many=st.booleans())
def test_entry_bound_is_an_upper_bound(pairs, master_pairs, master, delta, many) -> None:
    if many:                                    # past the 2-byte counts
        pairs = pairs * 20
    stream_id = (master[0] + delta[0], master[1] + delta[1])
    # The entry appended to a node whose master entry has other fields, or its own
    # (the bound Stream.append counts is tighter then: values only).
    for fields in (master_pairs[0::2], pairs[0::2]):
        candidate = stream_module._Node(master, fields)
        stream = Stream()
        stream.tail = stream.nodes[master] = candidate
        stream.append(stream_id, tuple(pairs), 0, 0)
        assert stream.tail is candidate
        assert stream_module._entry_size(candidate, stream_id, pairs) <= candidate.bound


def test_a_node_loaded_without_fields_takes_entries() -> None:
    """A node read from a crafted RDB file may have a master entry with no fields:
    XADD's bound of an entry still works (the general one) and nothing raises."""
    stream = Stream()
    stream.load_node((1, 0), [], [((1, 0), [b"a", b"b"])], 0, (1, 0), b"x" * 40)
    stream.append((2, 0), (b"a", b"b"), 4096, 100)
    stream.append((3, 0), (b"a", b"b", b"c", b"d"), 4096, 100)
    assert len(stream) == 3 and stream.tail.bound == (2 + 4 + 26) + (4 + 8 + 26)


STREAM_OPS = st.lists(st.one_of(
    st.tuples(st.just("add"), PAIRS, st.integers(0, 3)),
    st.tuples(st.just("del"), st.integers(0, 1000)),
    st.tuples(st.just("maxlen"), st.integers(0, 30)),
    st.tuples(st.just("minid"), st.integers(0, 1000)),
), max_size=80)


@settings(max_examples=300, deadline=None)
@given(ops=STREAM_OPS, max_bytes=st.sampled_from([0, 40, 100, 300, 1000, 4096]),
       max_entries=st.sampled_from([0, 1, 3, 10, 100]))
def test_lazy_sizing_splits_nodes_as_exact_sizing(ops, max_bytes, max_entries) -> None:
    """Nodes sized lazily end up exactly as with every entry sized at once."""
    lazy, eager = Stream(), Stream()
    ms = 1
    for op in ops:
        if op[0] == "add":
            ms += op[2]
            stream_id = (ms, 0) if (ms, 0) > lazy.last_id else (ms, lazy.last_id[1] + 1)
            for stream in (lazy, eager):
                stream.append(stream_id, list(op[1]), max_bytes, max_entries)
            eager.tail.settle(eager)
        elif op[0] == "del" and len(lazy):
            stream_id = list(lazy.items())[op[1] % len(lazy)][0]
            assert lazy.delete(stream_id) and eager.delete(stream_id)
        elif op[0] == "maxlen":
            assert lazy.trim(op[1], None, False, 0) == eager.trim(op[1], None, False, 0)
        elif op[0] == "minid" and len(lazy):
            minid = list(lazy.items())[op[1] % len(lazy)][0]
            assert lazy.trim(None, minid, True, 0) == eager.trim(None, minid, True, 0)
        shape = []
        for stream in (lazy, eager):
            nodes = []
            for node in stream.nodes.values():
                settled = node.copy()           # sizing it leaves the stream as it is
                settled.settle(stream)
                nodes.append((node.master, node.live, node.deleted, node.last,
                              settled.size()))
            shape.append(nodes)
        assert shape[0] == shape[1]
        assert all(node.bound == 0 for node in eager.nodes.values())


RUN_OPS = st.lists(st.tuples(
    st.sampled_from([b"f", b"f", b"f", b"g", b"field"]),
    st.lists(st.integers(0, 70), min_size=1, max_size=40),    # value lengths
    st.sampled_from([0, 0, 1, 130]),                          # milliseconds on
    st.booleans()), max_size=30)                              # delete one first


@settings(max_examples=300, deadline=None)
@given(ops=RUN_OPS, max_bytes=st.sampled_from([0, 60, 100, 300, 1000, 4096]),
       max_entries=st.sampled_from([0, 1, 2, 3, 10, 100, 200]))
def test_append_run_places_entries_as_append_does(ops, max_bytes, max_entries) -> None:
    """XADD's run (Stream.append_run, the rest by append as the caller does) leaves
    the nodes, their counts and exact sizes, and the entries, as one append each."""
    run, single = Stream(), Stream()
    ms, seq = 1, 0
    for field, lengths, step, delete in ops:
        if delete and len(single):
            stream_id = list(single.items())[len(single) // 2][0]
            assert run.delete(stream_id) and single.delete(stream_id)
        ms += step
        seq = 0 if step else seq
        ids = [(ms, seq + i) for i in range(len(lengths))]
        seq += len(lengths)
        values = [b"v" * n for n in lengths]
        for stream_id, value in zip(ids, values):
            single.append(stream_id, (field, value), max_bytes, max_entries)
        done = 0
        while done < len(ids):
            added = run.append_run(ms, ids[done][1], field, values[done:], max_bytes,
                                   max_entries) if len(ids) - done > 1 else 0
            if not added:
                run.append(ids[done], (field, values[done]), max_bytes, max_entries)
                added = 1
            done += added
        shape = []
        for stream in (run, single):
            nodes = []
            for node in stream.nodes.values():
                settled = node.copy()
                settled.settle(stream)
                nodes.append((node.master, node.fields, node.live, node.deleted,
                              node.last, settled.size()))
            shape.append((nodes, list(stream.items()), stream.last_id,
                          stream.first_id, stream.entries_added, list(stream.index.chunks)))
        assert shape[0] == shape[1]
