"""SORT and SORT_RO (group generic): sorting lists, sets and sorted sets.

Follows Redis 7.0's sort.c step by step, because its quirks are visible to clients:

* options are parsed before the key is looked up (a bad LIMIT beats WRONGTYPE);
* ``BY`` with a pattern lacking ``*`` means "don't sort": a list or sorted set keeps
  its own order (reversed by DESC), a set its iteration order, except under STORE or
  inside a script, where a set is sorted ALPHA so the result is deterministic;
* numeric sorting parses with C's strtod (leading blanks and hex accepted, overflow,
  underflow and NaN refused with one error after the whole sort); equal scores are
  ordered by the elements' bytes; a missing BY key scores 0 (ALPHA: sorts first);
* strtod, and ALPHA without STORE (strcoll), read a C string: up to its first NUL;
  ALPHA with STORE compares every byte;
* BY with a LIMIT that leaves elements out sorts with Redis's partial quicksort, which
  decides the order of equal ALPHA weights; otherwise glibc's merge sort keeps them in
  the value's order;
* ``GET #`` is the element itself; ``GET``/``BY`` patterns substitute the element for
  the first ``*`` and may name a hash field after a following ``->``; every such key
  is read like GET reads it (keyspace hit/miss statistics);
* a sorted set is converted to a skiplist, as Redis does before sorting it (SORT_RO
  too);
* STORE writes a list (missing GET values become empty strings) or, when the result is
  empty, deletes the destination.
"""
from __future__ import annotations

import math
import re
from typing import Any, Iterable, List, Optional, Tuple

from ..datatypes.packedlist import PackedList
from .. import errors
from ..args import to_int
from ..errors import CommandError
from ..security.acl import full_key_read_access
from ..datatypes.names import type_name
from ..notify import notify
from ..pqsort import pqsort
from . import command

# What SORT's key finder skips over (sortGetKeys): option -> arguments it takes.
_SKIP = {b"limit": 2, b"get": 1, b"by": 1}

# C strtod's accepted syntax, after leading white space (see _strtod).
_DECIMAL = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")
_HEX = re.compile(rb"([+-]?)0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)"
                  rb"(?:[pP]([+-]?\d+))?\Z")
_SPECIAL = re.compile(rb"[+-]?(?:inf|infinity)\Z", re.IGNORECASE)
_NONZERO_DIGIT = re.compile(rb"[1-9a-fA-F]")


def _strtod(text: bytes) -> Optional[float]:
    """The double Redis's SORT gets from ``text``, or None where it reports a
    conversion error (trailing garbage, ERANGE overflow/underflow, NaN).

    An empty string is 0, as strtod consumes nothing and leaves no trailing text.
    """
    body = text.lstrip(b" \t\n\v\f\r")
    if body == b"" and text == b"":
        return 0.0
    if _SPECIAL.match(body):
        return float(body)
    if _DECIMAL.match(body):
        number = float(body)
        mantissa = body.split(b"e")[0].split(b"E")[0]
    else:
        match = _HEX.match(body)
        if match is None:
            return None
        sign, digits, exponent = match.groups()
        try:
            number = float.fromhex((sign + b"0x" + digits + b"p" + (exponent or b"0"))
                                   .decode())
        except OverflowError:
            return None
        mantissa = digits
    if math.isinf(number):
        return None     # ERANGE: overflow
    # ERANGE: underflow (glibc reports zero and subnormal results of non-zero input)
    if abs(number) < 2.2250738585072014e-308 and _NONZERO_DIGIT.search(mantissa):
        return None
    return number


def _lookup_by_pattern(db, pattern: bytes, element: bytes) -> Optional[bytes]:
    """The string (or hash field) ``pattern`` names for ``element`` (lookupKeyByPattern),
    None when there is none."""
    if pattern == b"#":
        return element
    star = pattern.find(b"*")
    if star < 0:
        return None
    arrow = pattern.find(b"->", star + 1)
    field = None
    if arrow >= 0 and arrow + 2 < len(pattern):
        field = pattern[arrow + 2:]
        key = pattern[:star] + element + pattern[star + 1:arrow]
    else:
        key = pattern[:star] + element + pattern[star + 1:]
    value = db.get_read(key)
    if value is None:
        return None
    kind = type_name(value)
    if field is not None:
        if kind != "hash":
            return None
        found = value.get(field)
        return None if found is None else bytes(found)
    if kind != "string":
        return None
    return bytes(value)


def _parse(args: List[bytes], readonly: bool, full_access: bool = True) -> Tuple[Any, ...]:
    """SORT's options, parsed (and refused) exactly in Redis's order. Without read
    access to every key (``full_access``, ACL), BY and GET patterns are refused."""
    desc = alpha = dontsort = False
    limit_start, limit_count = 0, -1
    store = by = None
    gets: List[bytes] = []
    j = 2
    argc = len(args)
    while j < argc:
        word = args[j].lower()
        left = argc - j - 1
        if word == b"asc":
            desc = False
        elif word == b"desc":
            desc = True
        elif word == b"alpha":
            alpha = True
        elif word == b"limit" and left >= 2:
            limit_start = to_int(args[j + 1])
            limit_count = to_int(args[j + 2])
            if limit_start is None or limit_count is None:
                raise CommandError(errors.NOT_INTEGER)
            j += 2
        elif not readonly and word == b"store" and left >= 1:
            store = args[j + 1]
            j += 1
        elif word == b"by" and left >= 1:
            by = args[j + 1]
            if b"*" not in by:
                dontsort = True
            elif not full_access:
                raise CommandError(errors.SORT_BY_ACL)
            j += 1
        elif word == b"get" and left >= 1:
            if not full_access:
                raise CommandError(errors.SORT_GET_ACL)
            gets.append(args[j + 1])
            j += 1
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    return desc, alpha, dontsort, limit_start, limit_count, store, by, gets


def _in_script(client) -> bool:
    scripting = getattr(client.state, "scripting", None)
    return scripting is not None and getattr(scripting, "running", None) is not None


def _elements(value: Any) -> Tuple[str, List[bytes]]:
    """The value's type and its elements in the order Redis loads them."""
    kind = type_name(value)
    if kind == "list":
        return kind, list(value)
    if kind == "set":
        from .sets import _ordered
        return kind, _ordered(value)
    if kind == "zset":
        return kind, [member for _, member in value.entries()]
    raise CommandError(errors.WRONGTYPE)


def _sort(client, args: List[bytes], readonly: bool):
    desc, alpha, dontsort, limit_start, limit_count, store, by, gets = \
        _parse(args, readonly, full_key_read_access(client, args))
    db = client.db
    value = db.get_read(args[1])
    if value is None:
        kind, elements = "list", []
    else:
        kind, elements = _elements(value)
    if dontsort and kind == "set" and (store is not None or _in_script(client)):
        dontsort, alpha, by = False, True, None
    if kind == "zset" and value.listpack:
        # Redis converts a sorted set to a skiplist for SORT, whatever the options.
        value.to_skiplist()
        db.resized(args[1])

    size = len(elements)
    start = max(limit_start, 0)
    end = size - 1 if limit_count < 0 else start + limit_count - 1
    if start >= size:
        start, end = size - 1, size - 2
    end = min(end, size - 1)

    conversion_error = False
    if dontsort:
        if kind in ("list", "zset") and desc:
            elements.reverse()
    else:
        # strtod, and ALPHA without STORE (strcoll), read C strings: up to a NUL.
        c_strings = not alpha or store is None
        keyed: List[Tuple[Any, bytes]] = []
        for element in elements:
            source = element if by is None else _lookup_by_pattern(db, by, element)
            if c_strings and source is not None and 0 in source:
                source = source.split(b"\x00", 1)[0]
            if alpha:
                # No BY: the element itself; BY: its value, a missing one first.
                sort_key: Any = source if by is None else (
                    (0, b"") if source is None else (1, source))
            else:
                score = 0.0 if source is None else _strtod(source)
                if score is None:
                    conversion_error = True
                    score = 0.0
                sort_key = (score, element)
            keyed.append((sort_key, element))
        if alpha and by is not None and (start != 0 or end != size - 1) and \
                len(set(key for key, _ in keyed)) < size:
            # BY with a LIMIT that leaves some out: Redis's partial quicksort, whose
            # order of equal ALPHA weights (or missing ones) clients see. (Numeric
            # scores are ordered by the element when equal, and distinct weights
            # leave nothing to choose: any sort gives the same range.)
            sign = -1 if desc else 1
            pqsort(keyed, lambda a, b: sign * ((a[0] > b[0]) - (a[0] < b[0])),
                   start, end)
        else:   # glibc's qsort, a merge sort (equal elements keep their order)
            keyed.sort(key=lambda pair: pair[0], reverse=desc)
        elements = [element for _, element in keyed]

    selected = elements[start:end + 1] if end >= start else []
    if conversion_error:
        raise CommandError(errors.SORT_NOT_DOUBLE)
    if store is None:
        if not gets:
            return selected
        return [_lookup_by_pattern(db, pattern, element)
                for element in selected for pattern in gets]
    return _store(db, store, selected, gets)


def _store(db, key: bytes, selected: Iterable[bytes], gets: List[bytes]) -> int:
    """STORE: the result as a list at ``key`` (or ``key`` deleted if it is empty)."""
    if gets:
        items = [_lookup_by_pattern(db, pattern, element) or b""
                 for element in selected for pattern in gets]
    else:
        items = list(selected)
    if items:
        db.state.dirty += len(items)
        db.set(key, PackedList(items))
        notify(db, "l", b"sortstore", key)
    elif db.delete_stored(key):
        db.state.dirty += 1
        notify(db, "g", b"del", key)
    return len(items)


def _sort_keys(args: List[bytes]) -> List[int]:
    """SORT's keys (sortGetKeys): the sorted key and the last STORE destination."""
    keys = [1]
    store = None
    i = 2
    while i < len(args):
        word = args[i].lower()
        if word in _SKIP:
            i += _SKIP[word]
        elif word == b"store" and i + 1 < len(args):
            store = i + 1
        i += 1
    if store is not None:
        keys.append(store)
    return keys


@command("sort", -2, "write denyoom", keys=(1, 1, 1), group="generic", since="1.0.0",
         summary="Sort the elements in a list, set or sorted set",
         key_finder=_sort_keys)
def sort(client, args: List[bytes]):
    return _sort(client, args, readonly=False)


@command("sort_ro", -2, "readonly", keys=(1, 1, 1), group="generic", since="7.0.0",
         summary="Sort the elements in a list, set or sorted set. Read-only variant of "
                 "SORT.", key_finder=lambda args: [1])
def sort_ro(client, args: List[bytes]):
    return _sort(client, args, readonly=True)
