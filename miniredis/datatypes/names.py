"""Redis's names for stored values: their type (TYPE, SCAN's TYPE filter) and their
encoding (OBJECT ENCODING, and the RDB/DUMP writers that follow it).

Python types map to names here; modules defining a value class (sorted sets, streams,
packed lists) declare theirs with :func:`register_type` and :func:`register_encoding`.
"""
from __future__ import annotations

from sys import getrefcount as _getrefcount
from typing import Any, Dict

# Python type of a stored value -> Redis type name (TYPE, SCAN TYPE, OBJECT ENCODING).
TYPE_NAMES: Dict[type, str] = {
    bytes: "string",
    bytearray: "string",
    dict: "hash",
    set: "set",
}


def register_type(cls: type, name: str) -> None:
    """Declare a value class (ZSet, Stream...) and its Redis type name."""
    TYPE_NAMES[cls] = name


def type_name(value: Any) -> str:
    """Redis's name for the type of a stored value (``"none"`` for None)."""
    if value is None:
        return "none"
    return TYPE_NAMES[type(value)]


# -- OBJECT ENCODING ------------------------------------------------------------------
# Strings Redis stores without trying the integer encoding although they read as
# integers: INCRBYFLOAT's result (createStringObjectFromLongDouble), an embstr until
# the next write of the key replaces it (RENAME, MOVE and COPY keep it). bytes carry no
# flag, so they are told by identity: id -> the very object, held here while a key
# holds it (see plain_text).
_PLAIN_TEXTS: Dict[int, bytes] = {}
_prune_at = 1024


def plain_text(value: bytes) -> bytes:
    """``value`` to store as Redis stores a string it does not encode as an integer
    (OBJECT ENCODING embstr or raw whatever it reads as). Store the object returned:
    a one-byte string comes back as a copy of its own, as CPython shares one object
    per byte value (a later SET of the same digit must read as int again)."""
    global _prune_at
    if len(value) == 1:
        value = value[0].to_bytes(1, "big")     # (a new object, filled after allocation)
    _PLAIN_TEXTS[id(value)] = value
    if len(_PLAIN_TEXTS) >= _prune_at:
        # Forget the strings no key holds any more (only this table refers to them).
        # (embedded servers in other threads may prune too: nothing here may fail)
        for ident in list(_PLAIN_TEXTS):
            held = _PLAIN_TEXTS.get(ident)
            if held is not None and _getrefcount(held) <= 3:   # (table, held, argument)
                _PLAIN_TEXTS.pop(ident, None)
        _prune_at = max(1024, 2 * len(_PLAIN_TEXTS))
    return value


def _string_encoding(value: Any, config: Any) -> str:
    if value.__class__ is bytearray:
        return "raw"       # grown in place by APPEND/SETRANGE/SETBIT: Redis says raw
    if len(value) <= 20 and _PLAIN_TEXTS.get(id(value)) is not value:
        from ..args import to_int
        if to_int(value) is not None:
            return "int"
    return "embstr" if len(value) <= 44 else "raw"


def _hash_encoding(value: Dict[bytes, bytes], config: Any) -> str:
    limit = config["hash-max-listpack-value"]
    if len(value) <= config["hash-max-listpack-entries"] and all(
            len(k) <= limit and len(v) <= limit for k, v in value.items()):
        return "listpack"
    return "hashtable"


def _set_encoding(value: set, config: Any) -> str:
    from ..args import to_int
    if len(value) <= config["set-max-intset-entries"] and all(
            to_int(member) is not None for member in value):
        return "intset"
    return "hashtable"


# Python type -> function(value, config) -> Redis's encoding name. Modules defining a
# value class (sorted sets, streams) add theirs with register_encoding.
_ENCODINGS: Dict[type, Any] = {
    bytes: _string_encoding,
    bytearray: _string_encoding,
    dict: _hash_encoding,
    set: _set_encoding,
}


def register_encoding(cls: type, function: Any) -> None:
    """Declare how OBJECT ENCODING names values of class ``cls``."""
    _ENCODINGS[cls] = function


def encoding_of(value: Any, config: Any) -> str:
    """The encoding Redis would report for ``value`` (OBJECT ENCODING)."""
    return _ENCODINGS[type(value)](value, config)
