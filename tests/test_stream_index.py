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
OPS = st.lists(st.one_of(
    st.tuples(st.just("append"), st.integers(1, 3)),
    st.tuples(st.just("remove"), st.integers(0, 1000)),
    st.tuples(st.just("head"), st.integers(0, 1000)),
    st.tuples(st.just("range"), st.tuples(IDS, IDS)),
), max_size=60)


@pytest.mark.parametrize("chunk", [1, 2, 4])
@settings(max_examples=150, deadline=None)
@given(ops=OPS)
def test_index_matches_sorted_list(chunk: int, ops: List[Tuple[str, object]]) -> None:
    saved = stream_module._CHUNK
    stream_module._CHUNK = chunk
    try:
        index, model = _Index(), []           # type: ignore[var-annotated]
        next_id = (0, 0)
        for op, arg in ops:
            if op == "append":
                for _ in range(arg):          # type: ignore[call-overload]
                    next_id = (next_id[0] + next_id[1] // 3, (next_id[1] + 1) % 4)
                    index.append(next_id)
                    model.append(next_id)
            elif op == "remove" and model:
                stream_id = model.pop(arg % len(model))   # type: ignore[operator]
                index.remove(stream_id)
            elif op == "head":
                count = arg % (len(model) + 1)            # type: ignore[operator]
                assert index.remove_head(count) == model[:count]
                del model[:count]
            elif op == "range":
                start, end = arg                          # type: ignore[misc]
                expected = [i for i in model if start <= i <= end]
                assert list(index.irange(start, end)) == expected
                assert list(index.irange(start, end, reverse=True)) == expected[::-1]
            assert [i for c in index.chunks for i in c] == model
            assert all(index.chunks) and index.firsts == [c[0] for c in index.chunks]
            assert list(index.irange(MIN_ID, MAX_ID)) == model
            if model:
                assert (index.first(), index.last()) == (model[0], model[-1])
    finally:
        stream_module._CHUNK = saved


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
    assert list(copy.entries) == list(stream.entries) == list(stream.index.irange(MIN_ID,
                                                                                  MAX_ID))
    assert copy.tail is copy.nodes.peekitem(-1)[1] and copy.tail is not stream.tail
    assert stream.trim(maxlen=0, minid=None, approx=False, limit=0) == 11
    assert len(stream) == 0 and stream.tail is None and not stream.nodes
    assert len(copy) == 11
