"""Redis's names for stored values: their type (TYPE, SCAN's TYPE filter) and their
encoding (OBJECT ENCODING, and the RDB/DUMP writers that follow it).

Python types map to names here; modules defining a value class (sorted sets, streams,
packed lists) declare theirs with :func:`register_type` and :func:`register_encoding`.
"""
from __future__ import annotations

from sys import getrefcount as _getrefcount
from typing import Any, Dict, Optional, Tuple

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
# Strings whose encoding is not what their contents say, told by identity (bytes carry
# no flag): id -> (the very object, its kind), held here while a key holds it.
#  "plain":   stored without trying the integer encoding although it reads as an
#             integer -- INCRBYFLOAT's result (createStringObjectFromLongDouble): an
#             embstr until the key's next write (RENAME, MOVE and COPY keep it);
#  "private": an integer of the shared range 0..9999 held as an object of its own --
#             COPY's (dupStringObject): OBJECT REFCOUNT 1 where a SET's is shared.
_MARKED: Dict[int, Tuple[bytes, str]] = {}
_prune_at = 1024


def _mark(value: bytes, kind: str) -> bytes:
    global _prune_at
    _MARKED[id(value)] = (value, kind)
    if len(_MARKED) >= _prune_at:
        # Forget the strings no key holds any more (only this table refers to them).
        # (embedded servers in other threads may prune too: nothing here may fail)
        for ident in list(_MARKED):
            entry = _MARKED.get(ident)
            if entry is not None and _getrefcount(entry[0]) <= 2:  # (the entry, the argument)
                _MARKED.pop(ident, None)
        _prune_at = max(1024, 2 * len(_MARKED))
    return value


def _own_copy(value: bytes) -> bytes:
    """An equal bytes object that is no other's: CPython shares one object per byte
    value, so a one-byte string is rebuilt after allocation."""
    return value[0].to_bytes(1, "big") if len(value) == 1 else bytes(bytearray(value))


def plain_text(value: bytes) -> bytes:
    """``value`` to store as Redis stores a string it does not encode as an integer
    (OBJECT ENCODING embstr or raw whatever it reads as). Store the object returned:
    a one-byte string comes back as a copy of its own (a later SET of the same digit
    must read as int again)."""
    return _mark(_own_copy(value) if len(value) == 1 else value, "plain")


def private_integer(value: bytes) -> bytes:
    """A copy of ``value`` (an integer string) that reads as an integer of its own, not
    a shared one (OBJECT REFCOUNT 1), for another key to hold: COPY's."""
    return _mark(_own_copy(value), "private")


def marked(value: Any) -> Optional[str]:
    """"plain", "private" or None: see _MARKED."""
    entry = _MARKED.get(id(value))
    return entry[1] if entry is not None and entry[0] is value else None


def reads_as_integer(value: bytes) -> bool:
    """Whether Redis's tryObjectEncoding would store ``value`` as an integer."""
    if len(value) > 20:
        return False
    from ..args import to_int
    return to_int(value) is not None


def _string_encoding(value: Any, config: Any) -> str:
    if value.__class__ is bytearray:
        return "raw"       # grown in place by APPEND/SETRANGE/SETBIT: Redis says raw
    if reads_as_integer(value) and marked(value) != "plain":
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
