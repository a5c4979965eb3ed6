"""The AOF manifest: ``<appendfilename>.manifest`` in the AOF directory names the
files of Redis 7.0's multi-part AOF in load order, one line each::

    file appendonly.aof.2.base.rdb seq 2 type b
    file appendonly.aof.1.incr.aof seq 1 type h
    file appendonly.aof.2.incr.aof seq 2 type i

one *base* (``b``: a rewrite of the dataset, RDB or RESP), *history* files (``h``:
replaced by a rewrite, deleted unless ``aof-disable-auto-gc``) and the *incr* files
(``i``) written since the base, in increasing sequence order. As aof.c's
aofManifest, a :class:`Manifest` also remembers the last base and incr sequence
numbers handed out, so new names keep increasing even when no file of a kind is left.

The manifest is hostile input: :meth:`Manifest.parse` checks it as Redis's
aofLoadManifestFromFile does (line length, blank lines, word count, unknown types,
duplicate bases, sequences that do not increase) and fails with Redis's lines.
"""
from __future__ import annotations

import os
from typing import Callable, List, NamedTuple, Optional

from ..configfile import quote, split_args, to_bytes, to_text
from . import diskio


class AOFLoadError(Exception):
    """The AOF cannot be loaded (corruption, refused truncation): start-up must stop."""


class ManifestError(AOFLoadError):
    """A manifest Redis refuses: ``lines`` are what Redis logs before exiting (the
    error itself is the last; str() is the error)."""

    def __init__(self, lines: List[str]) -> None:
        super().__init__(lines[-1])
        self.lines = lines


class AofInfo(NamedTuple):
    """One line of the manifest (aof.c's aofInfo)."""
    name: str
    seq: int
    kind: str           # "b", "h" or "i"


_MAX_LINE = 1024                # MANIFEST_MAX_LINE: fgets reads this much at most
BASE, HISTORY, INCR = "b", "h", "i"


def _needs_quotes(name: bytes) -> bool:
    """sdsneedsrepr: a blank, a quote, a backslash or an unprintable byte."""
    return any(byte < 0x21 or byte > 0x7e or byte in (0x22, 0x5c) for byte in name)


def _atoll(text: bytes) -> int:
    """C's atoll: leading blanks, a sign, then digits as far as they go (else 0)."""
    text = text.lstrip(b" \t\n\v\f\r")
    sign = -1 if text[:1] == b"-" else 1
    if text[:1] in (b"-", b"+"):
        text = text[1:]
    digits = 0
    while digits < len(text) and 0x30 <= text[digits] <= 0x39:
        digits += 1
    return sign * int(text[:digits]) if digits else 0


def _fgets_lines(data: bytes) -> List[bytes]:
    """The successive results of fgets(buf, MANIFEST_MAX_LINE+1): pieces ending with
    a newline, or of 1024 bytes, or the end of the file."""
    out = []
    pos = 0
    while pos < len(data):
        end = data.find(b"\n", pos, pos + _MAX_LINE)
        end = end + 1 if end >= 0 else min(len(data), pos + _MAX_LINE)
        out.append(data[pos:end])
        pos = end
    return out


class Manifest:
    """The AOF files of one server (aof.c's aofManifest): a base, history files and
    incr files, plus the last sequence numbers used for each kind."""

    def __init__(self) -> None:
        self.base: Optional[AofInfo] = None
        self.history: List[AofInfo] = []
        self.incrs: List[AofInfo] = []
        self.base_seq = 0                 # curr_base_file_seq
        self.incr_seq = 0                 # curr_incr_file_seq
        self.dirty = False                # changed since last written

    def copy(self) -> "Manifest":
        """A copy to change (aofManifestDup): the server's stays valid on failure."""
        other = Manifest()
        other.base = self.base
        other.history = list(self.history)
        other.incrs = list(self.incrs)
        other.base_seq, other.incr_seq, other.dirty = self.base_seq, self.incr_seq, self.dirty
        return other

    @property
    def empty(self) -> bool:
        """No base and no incr file: nothing to load."""
        return self.base is None and not self.incrs

    def load_order(self) -> List[str]:
        """The names of the files that hold the dataset: the base, then the incrs."""
        return ([self.base.name] if self.base is not None else []) + \
            [info.name for info in self.incrs]

    def render(self) -> bytes:
        """The manifest file's text (getAofManifestAsString): base, history, incrs;
        a name with blanks or special bytes in double quotes, escaped."""
        lines = []
        for info in ([self.base] if self.base else []) + self.history + self.incrs:
            name = to_bytes(info.name)
            if _needs_quotes(name):
                name = quote(name)
            lines.append(b"file %s seq %d type %s\n" % (name, info.seq, info.kind.encode()))
        return b"".join(lines)

    # -- the changes a rewrite makes -----------------------------------------------
    def new_base(self, prefix: str, rdb: bool) -> str:
        """Name the next base (the current one becomes history, first in its list):
        getNewBaseFileNameAndMarkPreAsHistory."""
        if self.base is not None:
            self.history.insert(0, self.base._replace(kind=HISTORY))
        self.base_seq += 1
        name = "%s.%d.base.%s" % (prefix, self.base_seq, "rdb" if rdb else "aof")
        self.base = AofInfo(name, self.base_seq, BASE)
        self.dirty = True
        return name

    def new_incr(self, prefix: str) -> str:
        """Add the next incr file (getNewIncrAofName)."""
        self.incr_seq += 1
        name = "%s.%d.incr.aof" % (prefix, self.incr_seq)
        self.incrs.append(AofInfo(name, self.incr_seq, INCR))
        self.dirty = True
        return name

    def last_incr(self, prefix: str) -> str:
        """The incr file to append to, added when there is none (getLastIncrAofName)."""
        return self.incrs[-1].name if self.incrs else self.new_incr(prefix)

    def incrs_to_history(self, keep_last: bool) -> None:
        """A rewrite is done: the incr files it covers become history, all of them
        or (AOF on: ``keep_last``) all but the one being appended to
        (markRewrittenIncrAofAsHistory)."""
        if not self.incrs:
            return
        covered = self.incrs[:-1] if keep_last else self.incrs
        self.incrs = self.incrs[-1:] if keep_last else []
        self.history[:0] = [info._replace(kind=HISTORY) for info in covered]
        self.dirty = True

    # -- the file ------------------------------------------------------------------
    @classmethod
    def parse(cls, data: bytes) -> "Manifest":
        """The manifest in ``data``, checked as aofLoadManifestFromFile checks it.
        Raises ManifestError (with Redis's log lines) for anything it refuses."""
        manifest = cls()
        max_seq = 0
        number = 0
        for piece in _fgets_lines(data):
            number += 1
            if piece[:1] == b"#":
                continue
            if b"\n" not in piece:
                _refuse("The AOF manifest file contains too long line")
            if b"\0" in piece:              # (a C string ends there)
                piece = piece[:piece.index(b"\0")]
            line = piece.strip(b" \t\r\n")
            if not line:
                _refuse("Invalid AOF manifest file format", number, line)
            words = split_args(line)
            if words is None or len(words) < 6 or len(words) % 2:
                _refuse("Invalid AOF manifest file format", number, line)
            name: Optional[bytes] = None
            seq = 0
            kind = ""
            for key, value in zip(words[0::2], words[1::2]):
                key = key.lower()
                if key == b"file":
                    name = value
                    if b"/" in value:       # pathIsBaseName
                        _refuse("File can't be a path, just a filename", number, line)
                elif key == b"seq":
                    seq = _atoll(value)
                elif key == b"type":
                    kind = value[:1].decode("latin-1")
            if name is None or not seq or not kind or kind == "\0":
                _refuse("Invalid AOF manifest file format", number, line)
            info = AofInfo(to_text(name), seq, kind)
            if kind == BASE:
                if manifest.base is not None:
                    _refuse("Found duplicate base file information", number, line)
                manifest.base = info
                manifest.base_seq = seq
            elif kind == HISTORY:
                manifest.history.append(info)
            elif kind == INCR:
                if seq <= max_seq:
                    _refuse("Found a non-monotonic sequence number", number, line)
                manifest.incrs.append(info)
                manifest.incr_seq = max_seq = seq
            else:
                _refuse("Unknown AOF file type", number, line)
        if not number:
            _refuse("Found an empty AOF manifest")
        return manifest


def _refuse(error: str, number: int = 0, line: bytes = b"") -> None:
    lines = ["*** FATAL AOF MANIFEST FILE ERROR ***"]
    if number:
        lines += ["Reading the manifest file, at line %d" % number,
                  ">>> '%s'" % line.decode("utf-8", "replace")]
    raise ManifestError(lines + [error])


def manifest_name(prefix: str) -> str:
    return prefix + ".manifest"


def load(directory: str, prefix: str) -> Manifest:
    """The manifest in the AOF ``directory`` (aofLoadManifestFromDisk): an empty one
    when the directory or the file does not exist (a first start, or an upgrade from
    Redis 6's single file). Raises ManifestError or AOFLoadError."""
    path = os.path.join(directory, manifest_name(prefix))
    if not os.path.isdir(directory) or not os.path.isfile(path):
        return Manifest()
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise AOFLoadError("Fatal error: can't open the AOF manifest file %s for "
                           "reading: %s" % (path, diskio.strerror(exc))) from None
    return Manifest.parse(data)


def persist(manifest: Manifest, directory: str, prefix: str,
            log: Callable[[str, str], None]) -> None:
    """Write ``manifest`` if it changed (persistAofManifest): a temp file, fsync,
    rename, fsync of the directory. Logs Redis's line and raises OSError on failure."""
    if not manifest.dirty:
        return
    temp_name = "temp-" + manifest_name(prefix)
    temp = os.path.join(directory, temp_name)
    step = "Can't open the AOF manifest file %s: %s"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            step = "Error trying to write the temporary AOF manifest file %s: %s"
            diskio.write_or_raise(fd, manifest.render())
            step = "Fail to fsync the temp AOF file %s: %s."
            diskio.fsync(fd)
        finally:
            os.close(fd)
        step = ("Error trying to rename the temporary AOF manifest file %s into "
                + manifest_name(prefix) + ": %s")
        os.replace(temp, os.path.join(directory, manifest_name(prefix)))
        step = "Fail to fsync AOF directory %s: %s."
        temp_name = os.path.join(directory, manifest_name(prefix))
        diskio.fsync_directory(directory)
    except OSError as exc:
        log("warning", step % (temp_name, diskio.strerror(exc)))
        raise
    manifest.dirty = False


def remove(path: str) -> None:
    """Unlink ``path`` if it is there (errors ignored, as Redis's bg_unlink)."""
    try:
        os.unlink(path)
    except OSError:
        pass
