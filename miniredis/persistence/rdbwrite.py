"""Writing Redis's RDB snapshot format (``dump.rdb``, an AOF's RDB base, the RDB a
full synchronisation sends).

Written files are RDB version 10 (Redis 7.0's), each value in the encoding Redis 7.0
writes for it (rdbSaveObject), which is DUMP's (:func:`.dump.serialize`): lists as
quicklists, intsets, listpack hashes and sorted sets, hash tables and skip lists in
the plain types 4, 2 and 5, streams as type 19; keys and strings as rdbSaveRawString
writes them (integer-encoded, LZF-compressed). Strings of 64 KB and more are written
raw from where they are, or, mostly zero runs, LZF-encoded at C speed
(:func:`lzf_zero_runs`): not Redis's bytes, but any LZF decoder reads them. Expiry
times in milliseconds, a CRC64 trailer.
"""
from __future__ import annotations

import os
import struct
import time
from typing import Any, List, Optional, Tuple

from . import diskio
from .dump import raw_string, serialize
from .rdb import (OP_AUX, OP_EOF, OP_EXPIRETIME_MS, OP_FREQ, OP_IDLE, OP_RESIZEDB,
                  OP_SELECTDB, RDB_VERSION, T_STRING, _len, _string, crc64)


# -- writing ------------------------------------------------------------------------------
_LARGE = 65536   # values at least this long are written from where they are, uncopied
_STRING = bytes((T_STRING,))


def _aux(name: bytes, value: bytes) -> bytes:
    return bytes((OP_AUX,)) + _string(name) + _string(value)


# -- LZF for strings made mostly of zero runs (sparse bitmaps) ------------------------------
# There is no maintained C LZF compressor on PyPI, and one in Python costs seconds per
# 100 MB, so strings are stored raw, except large ones that are mostly runs of zero
# bytes (SETBIT bitmaps): those are LZF-encoded here at C speed (bytes.find, lstrip),
# as back-references at distance 1, which any LZF decoder (Redis's too) accepts.
_RUN = 256                      # zero runs at least this long become back-references
_ZEROS = bytes(_RUN)


def _zero_runs(value: Any) -> List[Tuple[int, int]]:
    """(start, end) of every run of at least _RUN zero bytes, in order."""
    runs = []
    size = len(value)
    pos = value.find(_ZEROS)
    while pos >= 0:
        end = pos + _RUN
        step = 4096
        while end < size:
            stop = min(size, end + step)
            rest = value[end:stop].lstrip(b"\0")
            if rest:
                end = stop - len(rest)
                break
            end = stop
            step = min(step * 2, 1 << 24)
        runs.append((pos, end))
        pos = value.find(_ZEROS, end)
    return runs


def _literals(out: List[bytes], value: Any, start: int, stop: int) -> None:
    for at in range(start, stop, 32):
        piece = bytes(value[at:min(stop, at + 32)])
        out.append(bytes((len(piece) - 1,)) + piece)


def lzf_zero_runs(value: Any) -> Optional[bytes]:
    """``value`` LZF-compressed when at least 3/4 of it is long zero runs (else None:
    store it raw)."""
    runs = _zero_runs(value)
    size = len(value)
    if sum(end - start for start, end in runs) * 4 < size * 3:
        return None
    out: List[bytes] = []
    pos = 0
    for start, end in runs:
        _literals(out, value, pos, start + 1)       # the run's first zero, literally
        full, rest = divmod(end - start - 1, 264)  # then copies of the previous byte
        out.append(b"\xe0\xff\x00" * full)
        if rest >= 9:
            out.append(bytes((0xE0, rest - 9, 0)))
        elif rest >= 3:
            out.append(bytes(((rest - 2) << 5, 0)))
        elif rest:
            out.append(bytes((rest - 1,)) + bytes(rest))
        pos = end
    _literals(out, value, pos, size)
    return b"".join(out)


class _Output:
    """The RDB byte stream: buffered small pieces, large ones written in place, a
    running CRC64, every write through :mod:`diskio` (faults surface as OSError)."""

    def __init__(self, fd: int, checksum: bool) -> None:
        self.fd = fd
        self.checksum = checksum
        self.crc = 0
        self.size = 0
        self.chunk: List[Any] = []
        self.pending = 0

    def add(self, data: Any) -> None:
        if len(data) >= _LARGE:
            self.flush()
            self._emit(data)
            return
        self.chunk.append(data)
        self.pending += len(data)
        if self.pending >= _LARGE:
            self.flush()

    def flush(self) -> None:
        if self.chunk:
            data = b"".join(self.chunk)
            self.chunk.clear()           # (in place: write_fd appends to it directly)
            self.pending = 0
            self._emit(data)

    def _emit(self, data: Any) -> None:
        diskio.exit_if_orphaned()
        if self.checksum:
            self.crc = crc64(self.crc, data)
        diskio.write_or_raise(self.fd, data)
        self.size += len(data)


def write(path: str, dataset: Any, config: Any, functions: bytes = b"",
          aux: Tuple[Tuple[bytes, bytes], ...] = (), packed_threshold: int = 1 << 30) -> int:
    """Write ``dataset`` (snapshot.iter_dataset's, ``stored``: values as they are) to
    ``path`` atomically: a temp file, fsync, rename, fsync of the directory.
    Returns the file's size."""
    directory = os.path.dirname(path) or "."
    temp = os.path.join(directory, "temp-%d.rdb" % os.getpid())
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        size = write_fd(fd, dataset, config, functions, aux,
                        packed_threshold=packed_threshold)
        diskio.fsync(fd)
    except BaseException:
        os.close(fd)
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    os.close(fd)
    os.replace(temp, path)
    diskio.fsync_directory(directory)
    return size


def write_fd(fd: int, dataset: Any, config: Any, functions: bytes = b"",
             aux: Tuple[Tuple[bytes, bytes], ...] = (), aof_base: bool = False,
             packed_threshold: int = 1 << 30) -> int:
    """Write the RDB of ``dataset`` (snapshot.iter_dataset's, ``stored``) to the open
    ``fd`` (a file, or the pipe a full synchronisation streams to replicas); ``aux``:
    extra AUX fields (repl-id...); ``aof_base``: an AOF base file (its ``aof-base``
    field says 1); ``packed_threshold``: the size from which a list element gets a
    plain quicklist node (the server's, DEBUG QUICKLIST-PACKED-THRESHOLD's).
    Returns the number of bytes written."""
    compress = bool(config["rdbcompression"])
    lfu = "lfu" in config["maxmemory-policy"]
    out = _Output(fd, bool(config["rdbchecksum"]))
    add = out.add
    chunk = out.chunk
    for piece in (b"REDIS%04d" % RDB_VERSION,
                  _aux(b"redis-ver", b"7.0.15"), _aux(b"redis-bits", b"64"),
                  _aux(b"ctime", b"%d" % int(time.time())),
                  _aux(b"used-mem", b"0")):
        add(piece)
    for name, value in aux:
        add(_aux(name, value))
    add(_aux(b"aof-base", b"1" if aof_base else b"0"))
    if functions:                     # the libraries' records, before the keys
        add(functions)
    for db_id, count, expiring, items in dataset:
        add(bytes((OP_SELECTDB,)) + _len(db_id))
        add(bytes((OP_RESIZEDB,)) + _len(count) + _len(expiring))
        for key, value, when, usage in items:
            if when is not None:
                add(bytes((OP_EXPIRETIME_MS,)) + struct.pack("<q", when))
            if usage is not None:       # (an LRU policy's idle seconds, an LFU counter)
                add(bytes((OP_FREQ, usage)) if lfu else bytes((OP_IDLE,)) + _len(usage))
            cls = value.__class__
            if cls is bytes or cls is bytearray:
                if len(value) < _LARGE:
                    add(_STRING + raw_string(key, compress) + raw_string(value, compress))
                    continue
                packed = lzf_zero_runs(value) if compress else None
                if packed is not None:
                    add(_STRING + raw_string(key, compress) + b"\xc3"
                        + _len(len(packed)) + _len(len(value)))
                    add(packed)
                    continue
                add(_STRING + raw_string(key, compress) + _len(len(value)))
                add(value if cls is bytes else memoryview(value))
                continue
            data = serialize(value, config, packed_threshold)
            if len(data) >= _LARGE:
                add(data[:1] + raw_string(key, compress))
                add(memoryview(data)[1:])
                continue
            # (out.add inlined: most values are small collections)
            chunk += (data[:1], raw_string(key, compress), memoryview(data)[1:])
            out.pending += len(data) + len(key)
            if out.pending >= _LARGE:
                out.flush()
    add(bytes((OP_EOF,)))
    out.flush()
    trailer = struct.pack("<Q", out.crc if out.checksum else 0)
    diskio.write_or_raise(fd, trailer)
    return out.size + len(trailer)
