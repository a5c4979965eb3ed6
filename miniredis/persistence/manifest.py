"""The AOF manifest: ``<appendfilename>.manifest`` in the AOF directory names the
files of Redis 7.0's multi-part AOF (one base, the incr files written since) in load
order. Its parsing and rendering, and the atomic replacement of small files."""
from __future__ import annotations

import os
from typing import List, Optional, Tuple

from . import diskio


class AOFLoadError(Exception):
    """The AOF cannot be loaded (corruption, refused truncation): start-up must stop."""


class Manifest:
    """The list of AOF files to load, Redis 7.0's ``appendonly.aof.manifest``."""

    def __init__(self, base: Optional[Tuple[str, int]] = None,
                 incrs: Optional[List[Tuple[str, int]]] = None) -> None:
        self.base = base                  # (file name, seq) or None
        self.incrs = incrs or []          # [(file name, seq)], load order

    def render(self) -> bytes:
        lines = []
        if self.base is not None:
            lines.append("file %s seq %d type b\n" % self.base)
        for name, seq in self.incrs:
            lines.append("file %s seq %d type i\n" % (name, seq))
        return "".join(lines).encode()

    @classmethod
    def parse(cls, text: bytes, path: str) -> "Manifest":
        manifest = cls()
        for number, raw in enumerate(text.decode("utf-8", "replace").splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            words = line.split()
            fields = dict(zip(words[0::2], words[1::2]))
            if len(words) % 2 or "file" not in fields or "seq" not in fields \
                    or fields.get("type") not in ("b", "h", "i"):
                raise AOFLoadError("Invalid AOF manifest file format: %s (line %d)"
                                   % (path, number))
            if "/" in fields["file"]:       # (pathIsBaseName: never outside the dir)
                raise AOFLoadError("File can't be a path, just a filename: %s (line %d)"
                                   % (path, number))
            try:
                entry = (fields["file"], int(fields["seq"]))
            except ValueError:
                raise AOFLoadError("Invalid AOF manifest file format: %s (line %d)"
                                   % (path, number)) from None
            if fields["type"] == "b":
                if manifest.base is not None:
                    raise AOFLoadError("Found duplicate base file information in %s"
                                       % path)
                manifest.base = entry
            elif fields["type"] == "i":
                manifest.incrs.append(entry)
        return manifest


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data``: temp file, fsync, rename, fsync of the dir."""
    temp = "%s.tmp-%d" % (path, os.getpid())
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        diskio.write_or_raise(fd, data)
        diskio.fsync(fd)
    except BaseException:
        os.close(fd)
        _remove(temp)
        raise
    os.close(fd)
    os.replace(temp, path)
    _fsync_dir(os.path.dirname(path) or ".")


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
