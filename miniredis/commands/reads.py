"""Own loops (``Command.run``, miniredis/runs.py) for one-key reads: HGET, SISMEMBER,
TTL, LLEN... in a row.

Most reads are a lookup and one small step on the value found (a length, a member
test, a field). Through the handler, each request pays the dispatcher's per-request
bookkeeping and two or three calls of lookup helpers, several times the step itself;
a pipeline of HGETs over many hashes (a cache's reads) or of TTLs is mostly that.
:func:`read_run` makes a command's loop from its step: the lookup, the hit and miss
counts, the access stamp and the reply's encoding are done here, in one loop per
run, as GET's own loop does them (``string_runs._get_run``).

The step, ``reply_of(value, args, client)``, takes a value of one of the command's
exact classes and returns its reply (``int``, ``bytes``, None, or any reply object
the encoder takes). Anything else stops the loop before that request, which the
handler then serves with its own errors and effects: another arity or spelling, a
key due to expire (the handler deletes it), a value of another class (WRONGTYPE,
or a plain ``set`` a loader stored), a step that raises (LINDEX's index not an
integer).
"""
from __future__ import annotations

from typing import Any, Callable, FrozenSet, List, Optional

from ..notify import notify
from ..protocol import BULK_HEADS, CRLF, INT_REPLIES, Double, format_double

ReplyOf = Callable[[Any, List[bytes], Any], Any]


def read_run(reply_of: ReplyOf, size: int, classes: Optional[FrozenSet[type]],
             missing: Any, touch: bool = True) -> Callable[..., int]:
    """The own loop of a read command of ``size`` arguments, its key at ``args[1]``:
    ``reply_of`` answers a value whose class is in ``classes`` (any class when None),
    ``missing`` a missing key. ``touch``: the lookup stamps the key's access (Redis's
    lookupKeyRead), else it does not (LOOKUP_NOTOUCH: EXISTS, TYPE, TTL)."""

    def run(client: Any, requests: List[List[bytes]], done: int, count: int,
            name: bytes, append: Any) -> int:
        db = client.db
        index, values, access, expires, now, lru = db.tables_for_reads()
        events = client.state.config.values["notify-keyspace-events"]
        out = append.__self__
        extend = out.extend
        encoder = client.encoder
        null = encoder.null
        resp3 = encoder.resp3
        first = done
        misses = 0
        for args in requests[done:count]:
            if len(args) != size or args[0] != name:
                break
            key = args[1]
            if expires and key in expires and expires[key] <= now:
                break
            slot = index.get(key)
            if slot is None:
                misses += 1
                if events:
                    notify(db, "m", b"keymiss", key)
                reply = missing
            else:
                value = values[slot]
                if classes is not None and value.__class__ not in classes:
                    break
                try:
                    reply = reply_of(value, args, client)
                except Exception:       # (the handler answers it: its error)
                    break
                if touch:
                    access[slot] = lru
            cls = reply.__class__
            if cls is int:
                append(INT_REPLIES[reply + 2] if -2 <= reply <= 10000
                       else b":%d\r\n" % reply)
            elif cls is bytes:
                try:
                    extend((BULK_HEADS[len(reply)], reply, CRLF))
                except IndexError:
                    append(b"$%d\r\n%s\r\n" % (len(reply), reply))
            elif reply is None:
                append(null)
            elif cls is Double:     # (ZSCORE: the encoder's own two forms, inlined)
                text = format_double(reply)
                append(b",%s\r\n" % text if resp3
                       else b"$%d\r\n%s\r\n" % (len(text), text))
            else:
                encoder.encode_into(reply, out)
            done += 1
        stats = client.state.stats
        stats.keyspace_misses += misses
        stats.keyspace_hits += done - first - misses
        return done

    return run
