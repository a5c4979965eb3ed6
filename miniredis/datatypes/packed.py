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
from typing import Iterable, List, Sequence

# One pickler per thread, reused for every pack (several embedded servers may run in
# one process, each in its own thread); "fast" mode writes no memo opcodes, which
# only matter for shared or recursive objects.
_LOCAL = threading.local()
_FRAME = 0x95
EMPTY = b"]."            # pack([])
unpack = pickle.loads      # the list of elements of a blob, as new bytes objects


def pack(items: List[bytes]) -> bytes:
    """The blob holding ``items`` (a list of bytes) in order."""
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


class PackedHash:
    """A listpack-encoded hash: fields and values alternate in one packed blob, in
    insertion order (a field set again keeps its place; one deleted and re-added goes
    last, as in a listpack). Offers the read and write methods of a dict that the
    hash commands, persistence and DEBUG use; Redis's conversion to a hash table is
    done by the commands (commands.hashes), which replace this value with a dict.
    """

    __slots__ = ("_blob",)
    hashtable = False          # the listpack encoding, for code shared with Hash

    def __init__(self, pairs: Iterable[Sequence[bytes]] = ()) -> None:
        flat: List[bytes] = []
        index = {}
        for field, value in pairs:
            at = index.get(field)
            if at is None:
                index[field] = len(flat)
                flat += (field, value)
            else:
                flat[at + 1] = value
        self._blob = pack(flat)

    # -- reading -----------------------------------------------------------------------
    def flat(self) -> List[bytes]:
        """[field, value, field, value...] in order (a new list)."""
        return unpack(self._blob)

    def __len__(self) -> int:
        return len(unpack(self._blob)) >> 1

    def __bool__(self) -> bool:
        return self._blob != EMPTY

    def get(self, field: bytes, default=None):
        flat = unpack(self._blob)
        try:
            return flat[2 * flat[::2].index(field) + 1]
        except ValueError:
            return default

    def __getitem__(self, field: bytes) -> bytes:
        flat = unpack(self._blob)
        try:
            return flat[2 * flat[::2].index(field) + 1]
        except ValueError:
            raise KeyError(field) from None

    def __contains__(self, field: object) -> bool:
        return field in unpack(self._blob)[::2]

    def keys(self) -> List[bytes]:
        return unpack(self._blob)[::2]

    def __iter__(self):
        return iter(unpack(self._blob)[::2])

    def values(self) -> List[bytes]:
        return unpack(self._blob)[1::2]

    def items(self) -> List[tuple]:
        flat = unpack(self._blob)
        return list(zip(flat[::2], flat[1::2]))

    def copy(self) -> "PackedHash":
        duplicate = PackedHash.__new__(PackedHash)
        duplicate._blob = self._blob
        return duplicate

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PackedHash):
            return dict(self.items()) == dict(other.items())
        if isinstance(other, dict):
            return dict(self.items()) == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "PackedHash(%r)" % (self.items(),)

    # -- writing -----------------------------------------------------------------------
    def update(self, flat_pairs: Sequence[bytes]) -> int:
        """Set field/value pairs given flat ([f, v, f, v...]); the number of new fields."""
        flat = unpack(self._blob)
        fields = flat[::2]
        added = 0
        index = None
        for i in range(0, len(flat_pairs), 2):
            field = flat_pairs[i]
            if index is None and len(flat_pairs) > 8:
                index = {f: 2 * n for n, f in enumerate(fields)}
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
        self._blob = pack(flat)
        return added

    def __setitem__(self, field: bytes, value: bytes) -> None:
        self.update((field, value))

    def delete(self, fields: Iterable[bytes]) -> int:
        """Remove ``fields``; how many were present. Stops once the hash is empty
        (Redis's HDEL deletes the key at once and looks no further)."""
        flat = unpack(self._blob)
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
        if deleted:
            self._blob = pack(flat)
        return deleted

    def __delitem__(self, field: bytes) -> None:
        if not self.delete((field,)):
            raise KeyError(field)

    def blob_size(self) -> int:
        """Bytes held by the blob object itself (for memory estimates)."""
        return 33 + len(self._blob)
