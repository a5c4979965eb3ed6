"""Loading the AOF at start-up: the manifest's files replayed through a socket-less
client, a torn tail truncated per ``aof-load-truncated``, corruption refused with the
offset (Redis's loadAppendOnlyFiles)."""
from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, List, Optional, Tuple

from ..commands import lookup as lookup_command
from .aof import AOF, AOFLoadError, Manifest

if TYPE_CHECKING:  # pragma: no cover
    from ..state import ServerState


class _NoSocket:
    """The socket of the loading client: it has none (replies are dropped)."""

    def fileno(self) -> int:
        raise OSError("no socket")

    def close(self) -> None:
        pass


class _Truncated(Exception):
    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


class _Corrupt(Exception):
    def __init__(self, offset: int, why: str) -> None:
        super().__init__(offset, why)
        self.offset = offset
        self.why = why


def _parse_command(data: bytes, pos: int) -> Tuple[List[bytes], int]:
    """The command starting at ``pos`` and the offset after it.

    Raises _Truncated when the data ends inside it, _Corrupt when it is malformed.
    """
    size = len(data)
    if data[pos] != 42:  # '*'
        raise _Corrupt(pos, "expected '*'")
    end = data.find(b"\r\n", pos)
    if end < 0:
        raise _Truncated(pos)
    try:
        count = int(data[pos + 1:end])
    except ValueError:
        raise _Corrupt(pos, "bad argument count") from None
    if count < 1:
        raise _Corrupt(pos, "bad argument count")
    args = []
    cursor = end + 2
    for _ in range(count):
        if cursor >= size:
            raise _Truncated(pos)
        if data[cursor] != 36:  # '$'
            raise _Corrupt(cursor, "expected '$'")
        end = data.find(b"\r\n", cursor)
        if end < 0:
            raise _Truncated(pos)
        try:
            length = int(data[cursor + 1:end])
        except ValueError:
            raise _Corrupt(cursor, "bad bulk length") from None
        if length < 0:
            raise _Corrupt(cursor, "bad bulk length")
        start = end + 2
        stop = start + length
        if stop + 2 > size:
            raise _Truncated(pos)
        if data[stop:stop + 2] != b"\r\n":
            raise _Corrupt(stop, "expected CRLF after the argument")
        args.append(data[start:stop])
        cursor = stop + 2
    return args, cursor


class Loader:
    """Replays AOF files into the keyspace through a socket-less client."""

    def __init__(self, state: "ServerState") -> None:
        from ..connection import Client
        self.state = state
        self.client = Client(state, _NoSocket(), "", "")
        self.client.set_authenticated(True, state.acl.superuser)   # no ACL checks
        self.client.obeyed = True        # mustObeyClient: FUNCTION LOAD without timeout
        self.commands = 0

    def load_file(self, path: str, last: bool) -> int:
        """Replay ``path``; returns the byte length of its valid part. A torn tail
        (only allowed in the ``last`` file) is truncated per aof-load-truncated."""
        name = os.path.basename(path)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            raise AOFLoadError("The AOF file %s doesn't exist" % name) from None
        pos = 0
        size = len(data)
        if data[:5] == b"REDIS":
            # An RDB preamble (Redis's default base, aof-use-rdb-preamble yes): the
            # snapshot, then possibly commands.
            from .rdb import RDBError, load_bytes
            try:
                pos = load_bytes(self.state, data, name)[2]
            except RDBError as exc:
                raise AOFLoadError(str(exc)) from None
        in_multi_since = -1
        batch: List[List[bytes]] = []
        try:
            while pos < size:
                if data[pos] == 35:  # '#': an annotation line (aof-timestamp-enabled)
                    end = data.find(b"\n", pos)
                    if end < 0:
                        raise _Truncated(pos)
                    pos = end + 1
                    continue
                args, after = _parse_command(data, pos)
                if lookup_command(args[0]) is None:
                    raise AOFLoadError(
                        "Unknown command '%s' reading the append only file %s at byte "
                        "offset %d" % (args[0].decode("utf-8", "replace"), name, pos))
                word = args[0].lower()
                if word == b"multi":
                    self._run(batch)
                    in_multi_since = pos
                elif word == b"exec":
                    in_multi_since = -1
                batch.append(args)
                if in_multi_since < 0 and len(batch) >= 1024:
                    self._run(batch)
                pos = after
        except _Corrupt as exc:
            raise AOFLoadError(
                "Bad file format reading the append only file %s at byte offset %d (%s): "
                "make a backup of your AOF file, then use ./redis-check-aof --fix "
                "<filename.manifest>" % (name, exc.offset, exc.why)) from None
        except _Truncated as exc:
            self._torn(path, name, exc.offset if in_multi_since < 0 else in_multi_since,
                       last, batch, in_multi_since)
            return exc.offset if in_multi_since < 0 else in_multi_since
        if in_multi_since >= 0:
            # A complete file ending inside MULTI: the transaction never finished.
            self._torn(path, name, in_multi_since, last, batch, in_multi_since,
                       multi=True)
            return in_multi_since
        self._run(batch)
        return size

    def _torn(self, path: str, name: str, valid: int, last: bool,
              batch: List[List[bytes]], in_multi_since: int, multi: bool = False) -> None:
        log = self.state.log
        if in_multi_since >= 0:
            # Drop the unfinished transaction (everything from its MULTI on).
            for i in range(len(batch) - 1, -1, -1):
                if batch[i][0].lower() == b"multi":
                    del batch[i:]
                    break
        if not last or not self.state.config["aof-load-truncated"]:
            raise AOFLoadError(
                "Unexpected end of file reading the append only file %s (valid up to byte "
                "offset %d). You can: 1) Make a backup of your AOF file, then use "
                "./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set "
                "the 'aof-load-truncated' configuration option to yes and restart the "
                "server." % (name, valid))
        self._run(batch)
        if multi:
            log("warning", "Revert incomplete MULTI/EXEC transaction in AOF file %s" % name)
        else:
            log("warning", "!!! Warning: short read while loading the AOF file %s!!!" % name)
        log("warning", "!!! Truncating the AOF %s at offset %d !!!" % (name, valid))
        with open(path, "r+b") as handle:
            handle.truncate(valid)
            handle.flush()
            os.fsync(handle.fileno())
        log("warning", "AOF %s loaded anyway because aof-load-truncated is enabled" % name)

    def _run(self, batch: List[List[bytes]]) -> None:
        if not batch:
            return
        client = self.client
        state = self.state
        judged_at = state.clock.suspend_expiry()    # nothing expires while loading
        state.loading = True                        # nor do EXPIREs in the past delete
        try:
            client.run_requests(list(batch))
        finally:
            state.loading = False
            state.clock.restore_expiry(judged_at)
        client.out = []
        self.commands += len(batch)
        batch.clear()

    def finish(self) -> None:
        """Leave the loading client's state (an unfinished MULTI, a SELECT) behind."""
        self.client.multi = None
        self.client._update_gate()


def load(state: "ServerState") -> Optional[Manifest]:
    """Load the AOF named by the manifest in ``dir``/``appenddirname`` at start-up.

    Returns the manifest (None when there is no AOF: the server starts empty). Raises
    AOFLoadError, leaving the files untouched, when they cannot be loaded.
    """
    aof = AOF(state)
    manifest = aof.read_manifest()
    if manifest is None:
        return None
    started = time.monotonic()
    loader = Loader(state)
    files = ([manifest.base[0]] if manifest.base else []) + [n for n, _ in manifest.incrs]
    for index, name in enumerate(files):
        path = aof._path(name)
        loader.load_file(path, last=index == len(files) - 1)
    loader.finish()
    state.log("notice", "DB loaded from append only file: %.3f seconds"
              % (time.monotonic() - started))
    return manifest
