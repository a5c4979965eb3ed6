"""ScoreList (datatypes.scorelist) against a plain sorted list of (score, member), with
chunks made tiny so that splits, merges and the Fenwick tree are exercised."""
from __future__ import annotations

import random
from bisect import bisect_left, bisect_right

import pytest

from miniredis.datatypes import scorelist
from miniredis.datatypes.scorelist import ScoreList
from miniredis.datatypes.zset import TOP


@pytest.fixture(params=[(8, 2), (1024, 64)], ids=["tiny-chunks", "default-chunks"])
def chunks(request, monkeypatch):
    monkeypatch.setattr(scorelist, "_MAX", request.param[0])
    monkeypatch.setattr(scorelist, "_MIN", request.param[1])


def _check(order: ScoreList, model: list, rand: random.Random) -> None:
    assert len(order) == len(model)
    assert list(order) == model
    assert list(reversed(order)) == model[::-1]
    assert [order[i] for i in range(len(model))] == model     # every position located
    for _ in range(20):
        score = float(rand.randrange(-2, 40))
        member = b"m%d" % rand.randrange(60)
        assert order.rank(score, member) == bisect_left(model, (score, member))
        assert order.score_left(score) == bisect_left(model, (score,))
        assert order.score_right(score) == bisect_right(model, (score, TOP))
        if model:
            i = rand.randrange(len(model))
            assert order[i] == model[i]
            assert order[-1 - i] == model[-1 - i]
            assert order.member_at(i) == model[i][1]
            count = rand.randrange(0, 30)
            assert order.take(i, count) == model[i:i + count]
            assert order.columns(i, count) == ([e[0] for e in model[i:i + count]],
                                               [e[1] for e in model[i:i + count]])
            assert list(order.walk(i))[:count] == model[i:i + count]
            assert list(order.walk(i, reverse=True)) == model[:i + 1][::-1]
            j = rand.randrange(len(model) + 1)
            assert order[i:j] == model[i:j]
            assert list(order.islice(i, j, reverse=True)) == model[i:j][::-1]
            low, high = sorted((score, float(rand.randrange(-2, 40))))
            assert list(order.irange((low,), (high,), inclusive=(True, False))) == \
                [e for e in model if low <= e[0] < high]
            assert list(order.irange((low, TOP), (high, TOP))) == \
                [e for e in model if low < e[0] <= high]
            low_ex, high_ex = rand.random() < 0.3, rand.random() < 0.3
            if low < high or not (low_ex or high_ex):   # (callers rule out empty ranges)
                limit = rand.choice((-1, 0, 1, 3, 30))
                for reverse in (False, True):
                    inside = [e for e in model
                              if (low < e[0] if low_ex else low <= e[0])
                              and (e[0] < high if high_ex else e[0] <= high)]
                    if reverse:
                        inside.reverse()
                    if limit >= 0:
                        inside = inside[:limit]
                    assert order.score_columns(low, low_ex, high, high_ex, limit,
                                               reverse) == \
                        ([e[0] for e in inside], [e[1] for e in inside])
                    if not reverse:
                        assert order.score_members(low, low_ex, high, high_ex,
                                                   limit) == [e[1] for e in inside]


def test_random_operations_match_a_sorted_list(chunks) -> None:
    rand = random.Random(7)
    order = ScoreList()
    model: list = []
    scores: dict = {}
    for step in range(3000):
        action = rand.random()
        if action < 0.55 or not scores:
            member = b"m%d" % rand.randrange(60)
            score = float(rand.randrange(-2, 40)) * rand.choice((1, 1, 0.5, -0.0))
            if member in scores and scores[member] != score and rand.random() < 0.7:
                stored = order.move(scores[member], member, score)
                assert stored == member
                model.remove((scores[member], member))
            else:
                if member in scores:
                    order.remove((scores[member], member))
                    model.remove((scores[member], member))
                order.add((score, member))
            scores[member] = score
            model.append((score, member))
            model.sort()
        elif action < 0.85:
            member = rand.choice(sorted(scores))
            order.remove((scores.pop(member), member))
            model.remove(next(e for e in model if e[1] == member))
        else:
            start = rand.randrange(len(model))
            stop = min(len(model), start + rand.randrange(1, 12))
            del order[start:stop]
            for _, member in model[start:stop]:
                del scores[member]
            del model[start:stop]
        if step % 50 == 0:
            _check(order, model, rand)
    _check(order, model, rand)
    with pytest.raises(ValueError):
        order.remove((1000.0, b"absent"))
    with pytest.raises(ValueError):
        order.move(1000.0, b"absent", 1.0)


def test_moves_keep_order_sizes_and_ranks(chunks) -> None:
    """ScoreList.move (ZADD's score update) within a chunk, between chunks with room
    and into full ones or out of small ones (a split or a merge), with the Fenwick
    tree built (ranks asked for) or not, against a sorted list."""
    rand = random.Random(11)
    count = 3 * scorelist._MAX
    scores = {b"m%05d" % i: float(i % 97) for i in range(count)}
    order = ScoreList((s, m) for m, s in scores.items())
    model = sorted((s, m) for m, s in scores.items())
    members = sorted(scores)
    for step in range(2000):
        member = rand.choice(members)
        old = scores[member]
        if rand.random() < 0.5:     # nearby: often the same chunk
            new = old + rand.choice((-1.5, -0.5, 0.25, 1.0))
        else:
            new = float(rand.randrange(-5, 110)) * rand.choice((1, 0.5, -0.0))
        if new == old:
            continue
        assert order.move(old, member, new) is not None
        model.remove((old, member))
        model.append((new, member))
        model.sort()
        scores[member] = new
        if step % 3 == 0:
            probe = rand.choice(members)
            assert order.rank(scores[probe], probe) == model.index((scores[probe], probe))
            assert order.position(scores[probe], probe) == \
                model.index((scores[probe], probe))
        if step % 400 == 0:
            _check(order, model, rand)
    _check(order, model, rand)


def test_waiting_size_changes_reach_the_tree(monkeypatch) -> None:
    """Moves, adds and removes with the Fenwick tree built leave their size changes
    waiting (ScoreList._pending); the next rank walks a few of them into the tree and
    rebuilds it for many. Either way every rank and position matches a sorted list."""
    monkeypatch.setattr(scorelist, "_MAX", 64)
    monkeypatch.setattr(scorelist, "_MIN", 2)
    rand = random.Random(5)
    scores = {b"m%05d" % i: float(i) for i in range(2400)}   # some 75 chunks
    order = ScoreList((s, m) for m, s in scores.items())
    model = sorted((s, m) for m, s in scores.items())
    members = sorted(scores)
    walked = rebuilt = 0
    for step in range(600):
        for _ in range(rand.choice((1, 1, 2, 3, 40, 400))):    # few, or many, changes
            member = rand.choice(members)
            old = scores[member]
            new = old + rand.choice((-7.5, -0.5, 0.25, 3.0, 60.0))
            if rand.random() < 0.8:
                order.move(old, member, new)
            else:           # remove and add again: two changes of one chunk each
                assert order.remove((old, member)) == member
                order.add((new, member))
            model.remove((old, member))
            model.append((new, member))
            scores[member] = new
        model.sort()
        waiting = len(order._pending)
        tree = order._tree
        probe = rand.choice(members)
        assert order.position(scores[probe], probe) == model.index((scores[probe], probe))
        if tree is not None and waiting and not order._pending:  # (a rank in the
            if order._tree is tree:                             # first chunk needs no
                walked += 1                                     # tree)
            else:
                rebuilt += 1
        i = rand.randrange(len(model))
        assert order[i] == model[i]
        assert order.rank(scores[probe] + 0.1, b"") == \
            bisect_left(model, (scores[probe] + 0.1, b""))
    assert walked > 50 and rebuilt > 20
    _check(order, model, rand)


def test_bulk_building_and_ties(chunks) -> None:
    entries = [(float(i // 7), b"m%05d" % (i * 37 % 1000)) for i in range(1000)]
    model = sorted(entries)
    for order in (ScoreList(entries), ScoreList.from_sorted(model)):
        rand = random.Random(3)
        _check(order, model, rand)
        for score, member in model[::13]:
            assert order.rank(score, member) == model.index((score, member))
            assert order.position(score, member) == model.index((score, member))


def test_packed_zset_keeps_writes_across_evictions() -> None:
    """A listpack set packed again while a caller holds it (more than _KEEP_HYDRATED
    other sets hydrated meanwhile) loses nothing: writes go through its methods,
    which rehydrate it, and a reader's stale structures still hold the old contents."""
    from miniredis.datatypes import zset as zset_module
    from miniredis.datatypes.zset import ZSet

    limits = (128, 64)
    target = ZSet()
    target.insert(b"a", 1.0, limits)
    stale_scores = target.scores
    stale_order = target.order
    others = []
    for i in range(zset_module._KEEP_HYDRATED + 4):
        other = ZSet()
        other.insert(b"m%d" % i, float(i), limits)
        others.append(other)
    assert target.packed_size() is not None          # packed while we held it
    target.insert(b"b", 2.0, limits)
    target.update(b"a", 3.0, target.score_of(b"a"))
    for other in others:                             # pack it again, then read
        other.insert(b"x", 0.5, limits)
    assert target.member_scores() == [(b"b", 2.0), (b"a", 3.0)]
    assert target.rank(b"a") == 1 and len(target) == 2
    assert stale_scores == {b"a": 1.0} and list(stale_order) == [(1.0, b"a")]
    assert [o.member_scores() for o in others[:2]] == \
        [[(b"m0", 0.0), (b"x", 0.5)], [(b"x", 0.5), (b"m1", 1.0)]]
