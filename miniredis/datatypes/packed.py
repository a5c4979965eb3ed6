"""Packed sequences of byte strings: the memory-compact form of small collections.

Redis keeps small hashes and sorted sets in a listpack: one allocation holding every
element, length-prefixed. A Python collection of n small byte strings costs an object
per string (about 40 bytes each) plus the container, ten times what Redis spends; so
small values are kept here as ONE immutable ``bytes`` blob instead.

The blob is a pickle (protocol 4, without its PROTO header, frame or memo opcodes) of
a list of bytes: per element one opcode, a length byte and the data (``C n data``;
``B`` and a 4-byte length past 255 bytes), which is as compact as a listpack, and
``pickle.loads`` unpacks it at C speed. Only blobs made here by :func:`pack`, from
lists of bytes, are ever unpickled: never data that came from outside.

A write repacks the whole blob (O(n), as a listpack insert is O(n)); the sizes where
this form is used are bounded by the *-max-listpack-* limits, so that stays small.
"""
from __future__ import annotations

import io
import pickle
import threading
from typing import Iterable, List, Optional, Sequence, Tuple

# One pickler per thread, reused for every pack (several embedded servers may run in
# one process, each in its own thread); "fast" mode writes no memo opcodes, which
# only matter for shared or recursive objects.
_LOCAL = threading.local()
_FRAME = 0x95
EMPTY = b"]."            # pack([])
unpack = pickle.loads      # the list of elements of a blob, as new bytes objects
# SHORT_BINBYTES and its length byte, by length: how the pickler writes an element
# under 256 bytes.
_SHORT = [b"C" + bytes((n,)) for n in range(256)]


def pack(items: List[bytes]) -> bytes:
    """The blob holding ``items`` (a list of bytes) in order."""
    if len(items) == 2:
        # A hash of one field (or a zset of one member): the pickler's very bytes
        # (EMPTY_LIST, MARK, the two elements, APPENDS, STOP), joined in a quarter of
        # the time its set-up takes.
        first, second = items
        if first.__class__ is bytes and second.__class__ is bytes:  # (zsets: scores)
            try:
                return b"".join((b"](", _SHORT[len(first)], first, _SHORT[len(second)],
                                 second, b"e."))
            except IndexError:
                pass
    try:
        out, pickler = _LOCAL.pickler
    except AttributeError:
        out = io.BytesIO()
        pickler = pickle.Pickler(out, 4)
        pickler.fast = True
        _LOCAL.pickler = (out, pickler)
    out.seek(0)
    out.truncate()
    pickler.dump(items)
    blob = out.getvalue()
    # Drop PROTO (2 bytes) and the first FRAME header (9), both optional to loads.
    return blob[11:] if blob[2] == _FRAME else blob[2:]


# HSETs at one hash in a row: PackedHash.put keeps the last hash it returned with its
# unpacked elements (a list never changed once there), so the next one need not unpack
# it; a tuple read and replaced whole, as embedded servers in other threads may too.
_last_put: Tuple[bytes, List[bytes]] = (b"", [])
_ABSENT = object()


def _field_at(flat: List[bytes], field: bytes) -> int:
    """Where the name ``field`` is in a hash's [field, value, ...] list; -1 if absent."""
    try:
        at = flat.index(field)
        if at & 1:                      # (a value equal to the field's name)
            at = 2 * flat[::2].index(field)
    except ValueError:
        return -1
    return at


class PackedHash(bytes):
    """A listpack-encoded hash: fields and values alternate in one packed blob, in
    insertion order (a field set again keeps its place; one deleted and re-added goes
    last, as in a listpack).

    It IS the blob (a bytes subclass without slots: no object besides the bytes,
    which saves a wrapper's 48 bytes per hash), so it is immutable: a write makes a
    new one (:meth:`updated`, :meth:`without`) that the commands store in place of
    the old. It offers the read methods of a dict that the hash commands, persistence
    and DEBUG use; the length, iteration and membership are the hash's, not the
    blob's. Stored values are told from strings by exact class (``cls is bytes``), as
    the keyspace already does. Redis's conversion to a hash table is done by the
    commands (commands.hashes), which replace this value with a dict.
    """

    __slots__ = ()
    hashtable = False          # the listpack encoding, for code shared with Hash

    def __new__(cls, pairs: Iterable[Sequence[bytes]] = ()) -> "PackedHash":
        flat: List[bytes] = []
        index = {}
        for field, value in pairs:
            at = index.get(field)
            if at is None:
                index[field] = len(flat)
                flat += (field, value)
            else:
                flat[at + 1] = value
        return bytes.__new__(cls, pack(flat))

    @classmethod
    def _of(cls, flat: List[bytes]) -> "PackedHash":
        return bytes.__new__(cls, pack(flat))

    # -- reading -----------------------------------------------------------------------
    def flat(self) -> List[bytes]:
        """[field, value, field, value...] in order (a new list)."""
        return unpack(self)

    def __len__(self) -> int:
        return len(unpack(self)) >> 1

    def __bool__(self) -> bool:
        return bytes.__ne__(self, EMPTY)

    def get(self, field: bytes, default=None):
        last = _last_put        # (HGETs of a hash HSET wrote last: not unpacked again)
        flat = last[1] if last[0] is self else unpack(self)
        at = _field_at(flat, field)
        return default if at < 0 else flat[at + 1]

    def get_many(self, fields: Sequence[bytes]) -> List[Optional[bytes]]:
        """``[self.get(field) for field in fields]``, unpacked once (HMGET)."""
        last = _last_put
        flat = last[1] if last[0] is self else unpack(self)
        found: List[Optional[bytes]] = []
        for field in fields:
            at = _field_at(flat, field)
            found.append(None if at < 0 else flat[at + 1])
        return found

    def lookup(self, field: bytes) -> Tuple[Optional[bytes], List[bytes], int]:
        """(``field``'s value or None, the hash unpacked, the field's place in it or
        -1): the one unpack of a command that reads a field and writes it back
        (HINCRBY), with :meth:`with_value`."""
        flat = unpack(self)
        at = _field_at(flat, field)
        return (None if at < 0 else flat[at + 1]), flat, at

    @classmethod
    def with_value(cls, flat: List[bytes], at: int, field: bytes,
                   value: bytes) -> "PackedHash":
        """The hash ``flat`` (from :meth:`lookup`, changed here) with ``field``, at
        ``at`` (-1: a new field, added last), set to ``value``."""
        if at < 0:
            flat += (field, value)
        else:
            flat[at + 1] = value
        return bytes.__new__(cls, pack(flat))

    def __getitem__(self, field: bytes) -> bytes:   # type: ignore[override]
        value = self.get(field, _ABSENT)
        if value is _ABSENT:
            raise KeyError(field)
        return value

    def __contains__(self, field: object) -> bool:
        return field in unpack(self)[::2]

    def keys(self) -> List[bytes]:
        return unpack(self)[::2]

    def __iter__(self):                               # type: ignore[override]
        return iter(unpack(self)[::2])

    def values(self) -> List[bytes]:
        return unpack(self)[1::2]

    def items(self) -> List[tuple]:
        flat = unpack(self)
        return list(zip(flat[::2], flat[1::2]))

    def copy(self) -> "PackedHash":
        return self                                   # immutable

    def __repr__(self) -> str:
        return "PackedHash(%r)" % (self.items(),)

    def blob_size(self) -> int:
        """Bytes held by the object (for memory estimates)."""
        return 33 + bytes.__len__(self)

    # -- writing: new values -----------------------------------------------------------
    def updated(self, flat_pairs: Sequence[bytes]) -> Tuple["PackedHash", int]:
        """This hash with field/value pairs (flat: [f, v, f, v...]) set, and the number
        of new fields."""
        flat = unpack(self)
        fields = flat[::2]
        added = 0
        index = None
        if len(flat_pairs) > 8:
            index = {f: 2 * n for n, f in enumerate(fields)}
        for i in range(0, len(flat_pairs), 2):
            field = flat_pairs[i]
            if index is not None:
                at = index.get(field)
            else:
                try:
                    at = 2 * fields.index(field)
                except ValueError:
                    at = None
            if at is None:
                if index is not None:
                    index[field] = len(flat)
                else:
                    fields.append(field)
                flat += (field, flat_pairs[i + 1])
                added += 1
            else:
                flat[at + 1] = flat_pairs[i + 1]
        return PackedHash._of(flat), added

    def put(self, field: bytes, value: bytes) -> Tuple["PackedHash", int, int]:
        """This hash with ``field`` set to ``value`` (HSET's commonest form): (the new
        hash, 1 if the field is new else 0, its number of fields). Setting a field to
        the value it has returns this very hash: nothing to repack."""
        global _last_put
        last = _last_put
        if last[0] is self:
            flat = last[1]
        else:
            flat = unpack(self)
            _last_put = (self, flat)
        size = len(flat) >> 1
        try:
            at = flat.index(field) + 1
            if not at & 1:                  # (a value equal to the field's name)
                at = 2 * flat[::2].index(field) + 1
        except ValueError:
            flat = flat + [field, value]
            new = PackedHash._of(flat)
            _last_put = (new, flat)
            return new, 1, size + 1
        if flat[at] == value:
            return self, 0, size
        flat = flat[:]
        flat[at] = value
        new = PackedHash._of(flat)
        _last_put = (new, flat)
        return new, 0, size

    def without(self, fields: Iterable[bytes]) -> Tuple["PackedHash", int]:
        """This hash without ``fields``, and how many were present. Stops once the
        hash is empty (Redis's HDEL deletes the key at once and looks no further)."""
        flat = unpack(self)
        deleted = 0
        for field in fields:
            if not flat:
                break
            try:
                at = 2 * flat[::2].index(field)
            except ValueError:
                continue
            del flat[at:at + 2]
            deleted += 1
        return (PackedHash._of(flat) if deleted else self), deleted


EMPTY_HASH = PackedHash()
