"""PackedHash: a listpack-encoded hash as one bytes object, searched in place.

Redis keeps a hash of up to ``hash-max-listpack-entries`` (512) fields as a listpack
and finds a field by scanning it in C. A pickled list of the fields and values (the
form sorted sets at rest had before :mod:`miniredis.datatypes.packedzset`) would
have to be unpacked whole -- a bytes object per field and value -- for every HGET or
HSET: 15 microseconds at 300 fields. Here the blob is laid out so that ``bytes.find`` locates
a field directly, with no Python step per field:

    b"\\x00" field b"\\x01" value b"\\x00" field b"\\x01" value b"\\x00" ... count

Every field is preceded by ``\\x00`` and followed by ``\\x01``; every value is followed
by ``\\x00``; the number of fields closes the blob in decimal digits (what a listpack
keeps in its header; the digits hold no separator, so no search matches in them).
The three bytes ``\\x00``, ``\\x01`` and ``\\x02`` are escaped inside fields and values
(``\\x02`` followed by ``\\x03``, ``\\x04`` or ``\\x05``), so a separator in the blob is
always a separator: ``\\x00 field \\x01`` can only match where that field starts and
ends, never inside a value or at a value equal to the field's name. Text holds none
of the three, so the common write is two concatenations and a read is a find and a
slice. Each field costs its bytes plus two, as a listpack's short entries do.
"""
from __future__ import annotations

from typing import Iterable, List, Optional, Sequence, Tuple

from .packed import escape as _escape, unescape as _unescape

_EMPTY_BLOB = b"\x000"
# The blob's own length. A field takes at least two of its bytes (the separators), so
# a hash whose blob is at most ``2 * n + 2`` bytes long has at most n fields: HSET's
# test against hash-max-listpack-entries reads the count only past that length.
blob_length = bytes.__len__


def _needle(field: bytes) -> bytes:
    """What ``field`` looks like in a blob, with the separators around it. (Tested
    for the reserved bytes one by one: an int's ``in`` is a memchr, half a
    regular expression's search.)"""
    if 0 in field or 1 in field or 2 in field:
        field = _escape(field)
    return b"\x00" + field + b"\x01"


class PackedHash(bytes):
    """A listpack-encoded hash: fields and values in one blob (see the module), in
    insertion order (a field set again keeps its place; one deleted and re-added goes
    last, as in a listpack).

    It IS the blob (a bytes subclass without slots: no object besides the bytes,
    which saves a wrapper's 48 bytes per hash), so it is immutable: a write makes a
    new one (:meth:`put`, :meth:`updated`, :meth:`without`) that the commands store in
    place of the old. It offers the read methods of a dict that the hash commands,
    persistence and DEBUG use; the length, iteration and membership are the hash's,
    not the blob's. Stored values are told from strings by exact class (``cls is
    bytes``), as the keyspace already does. Redis's conversion to a hash table is done
    by the commands (commands.hashes), which replace this value with a dict.
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
        return cls._of(flat)

    @classmethod
    def _of(cls, flat: List[bytes]) -> "PackedHash":
        """The hash of ``flat`` ([field, value, ...], fields distinct), in that order."""
        count = len(flat) >> 1
        if not count:
            return bytes.__new__(cls, _EMPTY_BLOB)
        joined = b"".join(flat)
        if 0 in joined or 1 in joined or 2 in joined:
            flat = [_escape(x) if 0 in x or 1 in x or 2 in x else x for x in flat]
        parts: List[bytes] = [b"\x00"] * (4 * count + 1)
        parts[1::4] = flat[0::2]
        parts[2::4] = [b"\x01"] * count
        parts[3::4] = flat[1::2]
        parts.append(b"%d" % count)
        return bytes.__new__(cls, b"".join(parts))

    # -- reading -----------------------------------------------------------------------
    def flat(self) -> List[bytes]:
        """[field, value, field, value...] in order (a new list)."""
        end = self.rindex(0)
        if not end:
            return []
        body = self[1:end]
        flat = body.replace(b"\x01", b"\x00").split(b"\x00")
        if 2 in body:
            flat = [_unescape(x) if 2 in x else x for x in flat]
        return flat

    def __len__(self) -> int:
        return int(self[self.rindex(0) + 1:])

    def __bool__(self) -> bool:
        return bytes.__len__(self) > 2

    def get(self, field: bytes, default=None):
        if 0 in field or 1 in field or 2 in field:     # (_needle, written out)
            field = _escape(field)
        needle = b"\x00" + field + b"\x01"
        at = self.find(needle)
        if at < 0:
            return default
        at += len(needle)
        value = self[at:self.index(0, at)]
        return _unescape(value) if 2 in value else value

    def get_many(self, fields: Sequence[bytes]) -> List[Optional[bytes]]:
        """``[self.get(field) for field in fields]`` (HMGET)."""
        get = self.get
        return [get(field) for field in fields]

    def __contains__(self, field: object) -> bool:
        return bytes.find(self, _needle(field)) >= 0      # type: ignore[arg-type]

    def keys(self) -> List[bytes]:
        return self.flat()[::2]

    def __iter__(self):                               # type: ignore[override]
        return iter(self.flat()[::2])

    def values(self) -> List[bytes]:
        return self.flat()[1::2]

    def items(self) -> List[tuple]:
        flat = self.flat()
        return list(zip(flat[::2], flat[1::2]))

    def copy(self) -> "PackedHash":
        return self                                   # immutable

    def __repr__(self) -> str:
        return "PackedHash(%r)" % (self.items(),)

    def blob_size(self) -> int:
        """Bytes held by the object (for memory estimates)."""
        return 33 + bytes.__len__(self)

    # -- writing: new values -----------------------------------------------------------
    def put(self, field: bytes, value: bytes) -> Tuple["PackedHash", int]:
        """This hash with ``field`` set to ``value`` (HSET's commonest form), and 1 if
        the field is new else 0. Setting a field to the value it has returns this very
        hash: nothing to repack."""
        if 0 in field or 1 in field or 2 in field:     # (_needle, written out: HSET's
            field = _escape(field)                      # path, a call per request)
        needle = b"\x00" + field + b"\x01"
        at = self.find(needle)
        if at >= 0:
            at += len(needle)
            end = self.index(0, at)
            # (a stored value never holds \x00 or \x01, and one holding \x02 is an
            # escaped one: equal bytes without \x02 are an equal value)
            if self[at:end] == value and 2 not in value:
                return self, 0
        if 0 in value or 1 in value or 2 in value:
            value = _escape(value)
            if at >= 0 and self[at:end] == value:
                return self, 0
        if at < 0:
            end = self.rindex(0)
            return bytes.__new__(PackedHash, b"".join((
                self[:end], needle, value, b"\x00%d" % (int(self[end + 1:]) + 1)))), 1
        return bytes.__new__(PackedHash, b"".join((self[:at], value, self[end:]))), 0

    def updated(self, flat_pairs: Sequence[bytes]) -> Tuple["PackedHash", int]:
        """This hash with field/value pairs (flat: [f, v, f, v...]) set, and the number
        of new fields."""
        if len(flat_pairs) <= 8:
            new, added = self, 0
            for i in range(0, len(flat_pairs), 2):
                new, one = new.put(flat_pairs[i], flat_pairs[i + 1])
                added += one
            return new, added
        flat = self.flat()
        index = {f: n for n, f in enumerate(flat[::2])}
        added = 0
        for i in range(0, len(flat_pairs), 2):
            at = index.get(flat_pairs[i])
            if at is None:
                index[flat_pairs[i]] = len(flat) >> 1
                flat += (flat_pairs[i], flat_pairs[i + 1])
                added += 1
            else:
                flat[2 * at + 1] = flat_pairs[i + 1]
        return PackedHash._of(flat), added

    def without(self, fields: Iterable[bytes]) -> Tuple["PackedHash", int]:
        """This hash without ``fields``, and how many were present. Stops once the
        hash is empty (Redis's HDEL deletes the key at once and looks no further)."""
        blob = self
        count = len(self)
        deleted = 0
        for field in fields:
            needle = _needle(field)
            at = blob.find(needle)
            if at < 0:
                continue
            # (from the field's leading separator to the value's closing one, which
            # stays: it leads the next field or closes the hash)
            blob = blob[:at] + blob[blob.index(0, at + len(needle)):]
            deleted += 1
            if deleted == count:
                break
        if not deleted:
            return self, 0
        end = blob.rindex(0)
        return bytes.__new__(PackedHash, b"%s%d" % (blob[:end + 1], count - deleted)), \
            deleted


EMPTY_HASH = PackedHash()
