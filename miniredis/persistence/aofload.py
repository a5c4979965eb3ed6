"""Loading the AOF at start-up: the manifest's files replayed through a socket-less
client, a torn tail truncated per ``aof-load-truncated``, corruption refused with the
offset (Redis's loadAppendOnlyFiles)."""
from __future__ import annotations

import errno
import os
import time
from typing import TYPE_CHECKING, List, Optional, Tuple

from . import diskio
from ..errors import c_text
from .aof import AOF, AOFLoadError
from .snapshot import debug_delay

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

    def __init__(self, state: "ServerState", prefix: str = "") -> None:
        from ..obeyedclient import ObeyedClient
        self.state = state
        self.prefix = prefix             # appendfilename: an upgraded Redis 6 file
        # (no ACL, OOM, NOREPLICAS, read-only replica... refusal: only MULTI queues)
        self.client = ObeyedClient(state, _NoSocket(), "", "")
        self.commands = 0

    def load_file(self, path: str, last: bool) -> Optional[int]:
        """Replay ``path``; returns the byte length of its valid part (None: the file
        is empty). A torn tail (only allowed in the ``last`` file) is truncated per
        aof-load-truncated."""
        name = os.path.basename(path)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            raise AOFLoadError("The append log file %s doesn't exist: %s"
                               % (name, os.strerror(errno.ENOENT))) from None
        except OSError as exc:
            raise AOFLoadError("Fatal error: can't open the append log file %s for "
                               "reading: %s" % (name, diskio.strerror(exc))) from None
        if not data:
            return None
        pos = 0
        size = len(data)
        if data[:5] == b"REDIS":
            # An RDB base (aof-use-rdb-preamble yes), or a Redis 6 AOF with an RDB
            # preamble: the snapshot, then possibly commands.
            from .rdb import RDBError, load_bytes
            old_style = name == self.prefix
            self.state.log("notice", "Reading RDB preamble from AOF file..." if old_style
                           else "Reading RDB base file on AOF loading...")
            try:
                pos = load_bytes(self.state, data, name)[2]
            except RDBError as exc:
                self.state.log("warning", str(exc))
                raise AOFLoadError(
                    ("Error reading the RDB preamble of the AOF file %s, AOF loading "
                     "aborted" if old_style else "Error reading the RDB base file %s, "
                     "AOF loading aborted") % name) from None
            if old_style:
                self.state.log("notice", "Reading the remaining AOF tail...")
        in_multi_since = -1
        batch: List[List[bytes]] = []
        command_of = self.state.names.command_of     # (lookupCommand; rename-command)
        try:
            while pos < size:
                if data[pos] == 35:  # '#': an annotation line (aof-timestamp-enabled)
                    end = data.find(b"\n", pos)
                    if end < 0:
                        raise _Truncated(pos)
                    pos = end + 1
                    continue
                args, after = _parse_command(data, pos)
                cmd = command_of(args)
                if cmd is None:
                    raise AOFLoadError("Unknown command '%s' reading the append only file %s"
                                       % (c_text(args[0]), name))
                word = cmd.fullname
                if word == "multi":
                    self._run(batch)
                    in_multi_since = pos
                elif word == "exec":
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
                if self.state.names.lookup(batch[i][0]).fullname == "multi":
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
        delay = state.config.values["key-load-delay"]
        if delay:                       # (Redis pauses after each command)
            debug_delay(delay * len(batch) if delay > 0 else delay)
        batch.clear()
        if state.load_progress is not None:
            state.load_progress()       # the start-up load serves clients (-LOADING)

    def finish(self) -> None:
        """Leave the loading client's state (an unfinished MULTI, a SELECT) behind."""
        self.client.multi = None
        self.client._update_gate()


def load(state: "ServerState", aof: AOF) -> bool:
    """Load the files ``aof.manifest`` names (Redis's loadAppendOnlyFiles), after
    moving a Redis 6 single-file AOF into the AOF directory when that is what ``dir``
    holds (aofUpgradePrepare). Returns False when there is no AOF (the server starts
    empty). Raises AOFLoadError when the files cannot be loaded."""
    manifest = aof.manifest
    if os.path.isfile(os.path.join(aof.home, aof.prefix)):
        # Upgrade when no directory, no manifest, or an upgrade interrupted before
        # the file was moved (a manifest naming it alone, not yet in the directory).
        base = manifest.base
        if not os.path.isdir(aof.dir) or manifest.empty or (
                base is not None and not manifest.incrs and base.name == aof.prefix
                and not os.path.isfile(aof.path(aof.prefix))):
            aof.upgrade_from_single_file()
    if manifest.empty:
        return False
    started = time.monotonic()
    names = manifest.load_order()
    total = 0
    for name in names:
        try:
            total += os.stat(aof.path(name)).st_size
        except OSError as exc:
            raise AOFLoadError("Unable to obtain the AOF file %s length. stat: %s"
                               % (name, diskio.strerror(exc))) from None
    aof.current_size = total
    aof.base_size = 0
    if not total:
        return True                    # (AOF_EMPTY: nothing to load)
    loader = Loader(state, aof.prefix)
    for index, name in enumerate(names):
        began = time.monotonic()
        if loader.load_file(aof.path(name), last=index == len(names) - 1) is not None:
            state.log("notice", "DB loaded from %s file %s: %.3f seconds"
                      % ("base" if manifest.base is not None and index == 0 else "incr",
                         name, time.monotonic() - began))
    if manifest.base is not None:
        aof.base_size = diskio.file_size(aof.path(manifest.base.name))
    loader.finish()
    state.log("notice", "DB loaded from append only file: %.3f seconds"
              % (time.monotonic() - started))
    return True
