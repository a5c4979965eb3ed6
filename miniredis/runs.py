"""Runs of one command in a pipeline: the dispatcher's short loop.

redis-benchmark's ``-P 16``, a client pipelining a hundred SETs, a queue pushing a
batch: reads often hold the same command many times in a row. When
:meth:`Client.run_requests` (the general loop) finds such a run starting, at a client
with no gate to pass, :func:`run_alike` serves all of it without the bookkeeping that
cannot apply to a command with ``Command.alike`` set (it never blocks, swaps the reply
buffer, changes settings or the connection's state). Each request that goes through the
handler is timed on its own, as in the general loop (one clock reading ends one and
starts the next), so a slow request lends its duration to none of its neighbours
(SLOWLOG, INFO commandstats, the latency histogram); the requests an own loop (below)
answers in one call are counted with that call's mean duration (they are its commonest,
constant-cost case). Writes are counted and propagated (when they changed something),
and blocked clients served, after each call, as in the general loop.

A command may also have a loop of its own (``Command.run``) for its commonest case,
whose requests cost about the same (those taking many keys, elements or pairs take at
most ``commands.OWN_LOOP_ARGS`` arguments; a longer one is timed on its own through
the handler); it stops at the first request it does not answer, which goes through
the handler here, and is called again after it (unless it answered none: then not
again in this run). One-element LPUSH/RPUSHes and INCR/DECRs of one key in a row,
with no keyspace events nor write hook, are applied together (one extend, one stored
count), their replies counted up C-side; the loops of GET, SET, SADD, HSET, ZADD,
LPOP/RPOP and LRANGE look a key repeating the previous request's up once (its slot
and value are still the ones at hand: a miss, a new key or an emptied list forgets
it), storing its access stamp again only under an LFU policy
(:func:`miniredis.evict.stamps_count`).
GET's, SET's, INCR/DECR's and MSET's are in ``commands/string_runs.py``; HSET, SADD,
ZADD, LPUSH/RPUSH, LPOP/RPOP, LRANGE (ranges of at most ``commands.OWN_LOOP_ITEMS``
elements), XADD and EXPIRE/PEXPIRE have theirs next to their handlers, and one-key
reads (HGET, SISMEMBER, TTL...) theirs made by ``commands/reads.py``. Those writes share one shape, written out in each on purpose (a call per
request would cost what the loop saves): :meth:`Keyspace.tables_for_writes` (None while
writes are propagated or clients wait on keys: they decline the run), then per request
the arity, a key that exists and is not due to expire, the value's exact class, the
change, the access stamp, ``touched`` and the write hook (WATCH, tracking), the
keyspace event, the reply, and their changes counted once per run (INFO's dirty
counter: miniredis/dirty.py).
"""
from __future__ import annotations

import math
import time
import traceback
from typing import Any

from .errors import CommandError
from .histogram import record, record_overflow
from .protocol import BULK_HEADS, CRLF, INT_REPLIES, OK, OK_BYTES, PONG

PONG_BYTES = b"+PONG\r\n"

_perf_counter = time.perf_counter
_floor = math.floor


def run_alike(client: Any, cmd: Any, requests: Any, done: int, slow: float,
              track: bool) -> int:
    """Run ``requests[done:]`` while they repeat ``cmd`` under the name
    ``requests[done]`` uses; returns the position of the first request not run. The
    caller checked that ``requests[done]`` may run (its arity, a client not gated nor
    closing), so at least that one runs.

    ``slow`` is the SLOWLOG threshold in seconds, ``track`` whether latency histograms
    are kept (both as :meth:`Client.run_requests` read them for the batch)."""
    state = client.state
    name = requests[done][0]
    count = len(requests)
    fast = cmd.run
    resume = False      # the own loop answered a part: the handler takes one request
    if fast is not None:
        # The command's own loop first: it answers the commonest run whole (a read
        # of redis-benchmark's -P 16), with this call's bookkeeping and nothing more.
        # When it stops before the end, the request it stopped at goes through the
        # handler below, and the caller's loop calls this again for the rest (so the
        # own loop is tried again after it); when it answers none, the handler takes
        # the whole run.
        started = _perf_counter()
        stop = fast(client, requests, done, count, name, client.out.append)
        if stop > done:
            finished = _perf_counter()
            calls = stop - done
            # Each request answered counts the call's mean duration (the latency
            # histogram, SLOWLOG).
            elapsed = (finished - started) / calls
            if track:
                try:
                    cmd.hist[_floor(elapsed * 1e6)] += calls
                except IndexError:      # its first call, or 256 us and more
                    record(cmd, _floor(elapsed * 1e6), calls)
            if elapsed >= slow:
                for args in requests[done:stop]:
                    client.after_slow(cmd, args, elapsed, None)
            cmd.calls += calls
            cmd.seconds += finished - started
            if cmd.adds_one and (not cmd.is_write or state.propagator is None):
                state.dirty += calls    # (a run's changes, counted once: as below)
            if stop == count:
                return stop
            done = stop
            resume = True
    blocking = state.blocking
    ready = blocking.ready
    handler = cmd.handler
    low, high = cmd.min_args, cmd.max_args
    # A write's effect goes to the AOF and replicas when a propagator exists; none
    # appears during a run (only configuration, replication and persistence
    # commands start one, and none of them is alike).
    propagator = state.propagator if cmd.is_write else None
    # The dirty counter (miniredis/dirty.py): an adds_one command's changes are counted
    # once per run, unless each is propagated; the others' handlers and own loops count
    # their own.
    adds_one = cmd.adds_one
    batched = adds_one and propagator is None
    first = done
    failed = 0
    out = client.out
    append = out.append
    perf = _perf_counter
    started = begun = perf()
    # (a for loop, as the commands' own loops: CPython 3.11 leaves a while's test of a
    # long loop unspecialised)
    for args in requests[done:count]:
        # The gate (tracking, ACL, MULTI, pause...: Client._gate) and a close are
        # looked at again after each call that went through the handler.
        if client.gated or client.closing:
            break
        if args[0] != name or not low <= len(args) <= high:
            break
        done += 1
        dirty = state.dirty
        try:
            reply = handler(client, args)
        except CommandError as exc:
            reply = exc
            failed += 1
        except Exception:  # a bug must never kill the connection or the server
            state.log("warning", "Error running %s: %s"
                      % (cmd.fullname, traceback.format_exc()))
            reply = CommandError("ERR internal error while running '%s'" % cmd.fullname)
            failed += 1
        # The reply, encoded as run_requests does, inside the request's time (inlined
        # in both: a call per reply would cost what this loop saves).
        cls = reply.__class__
        if reply is OK:
            append(OK_BYTES)
        elif reply is PONG:
            append(PONG_BYTES)
        elif cls is bytes:
            try:
                out.extend((BULK_HEADS[len(reply)], reply, CRLF))
            except IndexError:
                append(b"$%d\r\n%s\r\n" % (len(reply), reply))
        elif cls is int:
            # (protocol._int, written out: formatting costs twice the lookup)
            append(INT_REPLIES[reply + 2] if -2 <= reply <= 10000 else b":%d\r\n" % reply)
        elif reply is None:
            append(client.encoder.null)
        else:
            if cls is CommandError:
                client.count_error(reply.message)
            client.encoder.encode_into(reply, out)
        finished = perf()
        elapsed = finished - started
        started = finished
        if elapsed >= slow:
            client.after_slow(cmd, args, elapsed, reply)
        if track:
            try:
                cmd.hist[_floor(elapsed * 1e6)] += 1
            except IndexError:      # its first call, or 256 us and more
                record_overflow(cmd, elapsed)
        if propagator is not None:
            if adds_one and cls is not CommandError:
                state.dirty += 1
            # Propagated only if it changed something (none of these is forced).
            if state.dirty > dirty:
                lane = propagator.lane      # (Propagator.feed's shortest path)
                if lane is not None and not propagator.depth and \
                        (cmd.effect is None or len(args) == cmd.plain_arity):
                    lane.append((client, client.db.id, args))
                else:
                    propagator.feed(client, cmd, args, reply)
        if ready and not blocking.suspended:
            blocking.serve_ready()
        if resume:
            break
    if done > first:
        # Each request's duration runs from the end of the one before (the clock
        # readings are chained), so together they make the run's.
        cmd.calls += done - first
        cmd.seconds += started - begun
    if failed:
        cmd.failed_calls += failed
    if batched:
        state.dirty += done - first - failed   # (a run's changes, counted once)
    return done

