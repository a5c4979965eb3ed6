"""HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.

A HyperLogLog is a Redis string in Redis's own format (see
:mod:`miniredis.datatypes.hll`), stored as a ``bytearray`` that these commands edit
in place. A plain ``bytes`` value (SET, RESTORE, a loaded file) is swapped for a
``bytearray`` copy first, without counting as a modification (dbUnshareStringValue).

PFCOUNT of one key caches the estimate inside the value: the string changes, so, as
in Redis, the key is signalled as modified and the PFCOUNT is propagated to the AOF
even though the command is read-only.
"""
from __future__ import annotations

import math
import random
from typing import List

from .. import errors
from ..datatypes import hll, hll_bulk
from ..errors import CommandError
from ..notify import notify
from ..protocol import OK, Simple
from . import command


def _hll_value(client, key: bytes, value) -> bytearray:
    """``value`` (a stored value, not None) checked as a HyperLogLog and made
    editable in place: WRONGTYPE for other types and for strings that are not HLLs."""
    cls = value.__class__
    if cls is not bytearray:
        if cls is not bytes:
            raise CommandError(errors.WRONGTYPE)
        if not hll.is_valid(value):
            raise CommandError(errors.HLL_WRONGTYPE)
        value = bytearray(value)
        db = client.db
        db.replace_value(key, value)    # unshared: not a modification (no WATCH)
        db.resized(key)                  # but its memory estimate is redone
        return value
    if not hll.is_valid(value):
        raise CommandError(errors.HLL_WRONGTYPE)
    return value


def _max_bytes(client) -> int:
    return client.state.config.values["hll-sparse-max-bytes"]


@command("pfadd", -2, "write denyoom fast", keys=(1, 1, 1), group="hyperloglog",
         since="2.8.9", summary="Adds the specified elements to the specified HyperLogLog.")
def pfadd(client, args: List[bytes]):
    db = client.db
    key = args[1]
    value = db.get(key)
    updated = 0
    if value is None:
        value = hll.new_sparse()
        db.set(key, value)
        updated = 1
    else:
        value = _hll_value(client, key, value)
    if len(args) > 2:
        result = hll_bulk.add_many(value, args[2:], _max_bytes(client))
        if result < 0:
            raise CommandError(errors.HLL_INVALID)
        updated += result
    if updated:
        client.state.dirty += updated   # (the creation, each element that changed it)
        db.signal_modified(key)
        notify(db, "$", b"pfadd", key)
        hll.invalidate_cache(value)
        return 1
    return 0


@command("pfcount", -2, "readonly may_replicate", keys=(1, -1, 1), group="hyperloglog",
         since="2.8.9", summary="Return the approximated cardinality of the set(s) "
         "observed by the HyperLogLog at key(s).")
def pfcount(client, args: List[bytes]):
    db = client.db
    if len(args) > 2:
        merged = None
        for key in args[1:]:
            value = db.get_read(key)
            if value is None:
                continue
            value = _hll_value(client, key, value)
            try:
                merged = hll.merge_into(merged, value)
            except hll.Corrupted:
                raise CommandError(errors.HLL_INVALID) from None
        registers = hll.int_to_registers(merged)
        return _signed(hll.estimate(hll.histogram_of_registers(registers)))
    key = args[1]
    value = db.get_read(key)
    if value is None:
        return 0
    value = _hll_value(client, key, value)
    cached = hll.cached_count(value)
    if cached is not None:
        return _signed(cached)
    try:
        card = hll.count(value)
    except hll.Corrupted:
        raise CommandError(errors.HLL_INVALID) from None
    hll.store_count(value, card)
    db.signal_modified(key)
    state = client.state
    state.dirty += 1
    if state.propagator is not None:
        # A read-only command that changed the string: propagated as Redis does.
        state.propagator.propagate(db.id, list(args))
    return _signed(card)


def _signed(card: int) -> int:
    """addReplyLongLong of the uint64 estimate."""
    return card - (1 << 64) if card >= 1 << 63 else card


@command("pfmerge", -2, "write denyoom", keys=(1, -1, 1), group="hyperloglog",
         since="2.8.9", summary="Merge N different HyperLogLogs into a single one.")
def pfmerge(client, args: List[bytes]):
    db = client.db
    merged = None
    use_dense = False
    for key in args[1:]:
        value = db.get_read(key)
        if value is None:
            continue
        value = _hll_value(client, key, value)
        if value[4] == hll.DENSE:
            use_dense = True
        try:
            merged = hll.merge_into(merged, value)
        except hll.Corrupted:
            raise CommandError(errors.HLL_INVALID) from None
    dest = args[1]
    value = db.get(dest)
    if value is None:
        value = hll.new_sparse()
        db.set(dest, value)
    else:
        value = _hll_value(client, dest, value)
    if use_dense and not hll.to_dense(value):
        raise CommandError(errors.HLL_INVALID)
    hll.write_registers(value, hll.int_to_registers(merged), _max_bytes(client))
    hll.invalidate_cache(value)
    db.signal_modified(dest)
    notify(db, "$", b"pfadd", dest)
    return OK


@command("pfdebug", 3, "write denyoom admin", keys=(2, 2, 1), group="hyperloglog",
         since="2.8.9", summary="Internal commands for debugging HyperLogLog values")
def pfdebug(client, args: List[bytes]):
    # Redis compares the subcommand as a C string: a NUL ends it.
    sub = args[1].split(b"\x00", 1)[0]
    key = args[2]
    db = client.db
    value = db.get(key)
    if value is None:
        raise CommandError(errors.HLL_NO_KEY)
    value = _hll_value(client, key, value)
    name = sub.lower()
    if name == b"getreg":
        if value[4] == hll.SPARSE:
            if not hll.to_dense(value):
                raise CommandError(errors.HLL_INVALID)
            db.resized(key)              # grown: not signalled (as Redis), counted
            client.state.dirty += 1
        return list(hll.dense_registers(value))
    if name == b"decode":
        if value[4] != hll.SPARSE:
            raise CommandError(errors.HLL_NOT_SPARSE)
        return hll.decode_sparse(value)
    if name == b"encoding":
        return Simple("dense" if value[4] == hll.DENSE else "sparse")
    if name == b"todense":
        if value[4] == hll.SPARSE:
            if not hll.to_dense(value):
                raise CommandError(errors.HLL_INVALID)
            db.resized(key)
            client.state.dirty += 1
            return 1
        return 0
    raise CommandError(errors.HLL_UNKNOWN_SUBCOMMAND.format(errors.c_text(sub)))


# PFSELFTEST's sizes. Redis runs 1000 register passes and adds ten million elements;
# interpreted Python would take minutes, so the same checks run on fewer of each.
_SELFTEST_CYCLES = 20
_SELFTEST_ELEMENTS = 100000


@command("pfselftest", 1, "admin", group="hyperloglog", since="2.8.9",
         summary="An internal command for testing HyperLogLog values")
def pfselftest(client, args: List[bytes]):
    """Redis's self test: register access of the dense layout, then the estimate of
    a dense and a sparse HLL fed the same elements (they must agree, the sparse one
    must stay sparse while small, the error must stay within six standard errors)."""
    dense = bytearray(b"HYLL" + bytes(hll.DENSE_SIZE - 4))
    rng = random.Random()
    for _ in range(_SELFTEST_CYCLES):
        wanted = bytes(rng.getrandbits(6) for _ in range(hll.REGISTERS))
        dense[hll.HEADER:] = hll.pack_dense(wanted)
        got = hll.dense_registers(dense)
        if got != wanted:
            i = next(i for i in range(hll.REGISTERS) if got[i] != wanted[i])
            raise CommandError(errors.HLL_TEST_REGISTER.format(i, wanted[i], got[i]))
    dense[hll.HEADER:] = bytes(hll.DENSE_SIZE - hll.HEADER)
    sparse = hll.new_sparse()
    max_bytes = _max_bytes(client)
    relerr = 1.04 / math.sqrt(hll.REGISTERS)
    checkpoint = 1
    seed = rng.getrandbits(64)
    for j in range(1, _SELFTEST_ELEMENTS + 1):
        element = ((j ^ seed) & ((1 << 64) - 1)).to_bytes(8, "little")
        index, count = hll.pattern_of_hash(hll.murmur64a(element))
        hll.dense_set(dense, index, count)
        hll.add_pattern(sparse, index, count, max_bytes)
        if j != checkpoint:
            continue
        if j < max_bytes // 2 and sparse[4] != hll.SPARSE:
            raise CommandError(errors.HLL_TEST_SPARSE)
        estimate = hll.count(dense)
        if estimate != hll.count(sparse):
            raise CommandError(errors.HLL_TEST_DISAGREE)
        abserr = abs(checkpoint - estimate)
        maxerr = 1 if j == 10 else math.ceil(relerr * 6 * checkpoint)
        if abserr > maxerr:
            raise CommandError(errors.HLL_TEST_ERROR.format(checkpoint, abserr))
        checkpoint *= 10
    return OK

