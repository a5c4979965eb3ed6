"""A replica applying its master's stream: the commands run as the master client,
their bytes counted (the applied and read offsets), proxied verbatim to this server's
own replicas, REPLCONF GETACK answered in its place, and commands CLIENT PAUSE holds
kept, with what follows them, until the pause ends.

:class:`StreamApplier` is that half of :class:`miniredis.replication.replica.MasterLink`
(a mixin over the link's own fields), kept apart so each file holds one concern.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional, Tuple

import hiredis

from .feed import feed_raw

if TYPE_CHECKING:  # pragma: no cover
    from ..state import ServerState


class LinkError(Exception):
    """The link failed in a way worth a log line; the link retries."""


def _encoded_len(args: List[bytes]) -> int:
    """Bytes of ``args`` as a RESP multibulk: what the master sent for it (hiredis
    rejects non-canonical lengths, so the encoding is unique)."""
    size = len(b"*%d\r\n" % len(args))
    for arg in args:
        length = len(arg)
        size += len(b"$%d\r\n" % length) + length + 2
    return size


def _proxy(state: "ServerState", data: Any) -> None:
    """Every byte range the replica applied from its master goes through here, once:
    it advances ``state.repl.offset`` (master_repl_offset) and, through the master
    side's backlog (:func:`miniredis.replication.feed.feed_raw`, which advances the
    offset itself), reaches this server's own replicas VERBATIM, as Redis's
    replicationFeedStreamFromMasterStream does: their offsets stay equal to ours and
    the master's."""
    if state.repl_feed is None:
        state.replicas.ensure_backlog()     # Redis creates it when the link is made
    feed_raw(state, data)


class StreamApplier:
    """The stream half of a master link (see the module)."""

    state: "ServerState"
    client: Any
    reploff: int
    read_reploff: int
    acks: bool
    cached: Any
    _reader: Any
    _raw: bytearray
    _in_multi: int
    _waiting: Optional[List[Tuple[List[bytes], int]]]

    def _apply(self, data: bytes) -> None:
        """Run every complete command in ``data`` as the master client, counting its
        bytes; REPLCONF GETACK is answered here with the offset before it."""
        reader = self._reader
        reader.feed(data)
        self._raw += data
        self.read_reploff += len(data)
        self.state.stats.total_net_repl_input_bytes += len(data)
        items: List[Tuple[List[bytes], int]] = []
        while True:
            try:
                request = reader.gets()
            except hiredis.ProtocolError as exc:
                self._protocol_error("%s" % exc)
            if request is False:
                break
            if request.__class__ is not list or not request \
                    or any(arg.__class__ is not bytes for arg in request):
                self._protocol_error("unexpected reply %r" % (request,))
            items.append((request, _encoded_len(request)))
        if self._waiting is not None:
            self._waiting += items      # the stream waits behind a paused command
        else:
            self._run_items(items)
        if self.reploff > self.read_reploff:
            # More applied than read: a command was not in the canonical encoding
            # whose size we count (hiredis keeps a partial command's parsed part, so
            # only this direction can be checked).
            self._protocol_error("stream out of step with its offset: applied %d, read %d"
                                 % (self.reploff, self.read_reploff))

    def _run_items(self, items: List[Tuple[List[bytes], int]]) -> None:
        """Run (request, size) pairs of the stream in batches split at REPLCONF
        GETACK, which is answered here; a command CLIENT PAUSE holds keeps it and
        the rest waiting (``_waiting``) until the pause ends (resume_paused)."""
        batch: List[List[bytes]] = []
        sizes: List[int] = []
        for position, (request, size) in enumerate(items):
            if len(request) >= 2 and request[0].lower() == b"replconf" \
                    and request[1].lower() == b"getack":
                if not self._run_batch(batch, sizes):
                    self._waiting += items[position:]
                    return
                batch, sizes = [], []
                if self.acks:
                    self._send_ack()
                if self.client.multi is None:
                    self._applied(size)
                else:
                    self._in_multi += size
                continue
            batch.append(request)
            sizes.append(size)
        self._run_batch(batch, sizes)

    def resume_paused(self) -> None:
        """CLIENT PAUSE ended: apply what waited (Redis unblocks the master client and
        processes its query buffer)."""
        items, self._waiting = self._waiting, None
        if items and self.client is not None:
            try:
                self._run_items(items)
            except LinkError as exc:
                self._log("warning", str(exc))
                self.client.close()

    def _protocol_error(self, why: str) -> None:
        """Garbage from the master: drop the link and forget its position (Redis
        frees a master with a protocol error instead of caching it)."""
        client = self.client
        self.client = None
        if client is not None:
            client.link = None
            client.close()
        self.cached = None
        raise LinkError("Protocol error from MASTER %s:%d (%s): dropping the link"
                        % (self.host, self.port, why))

    def _run_batch(self, batch: List[List[bytes]], sizes: List[int]) -> bool:
        """Apply ``batch``; False if CLIENT PAUSE held one of its commands (the rest
        is then in ``_waiting``)."""
        if not batch:
            return True
        client = self.client
        repl = self.state.repl
        repl.applying = True
        try:
            done = client.run_requests(batch)
        finally:
            repl.applying = False
        client.out = []
        client._held = []
        held = done < len(batch) and self.state.pause.postponed.get(client.id) is client
        # As Redis's commandProcessed: the applied offset does not move while the
        # master client is inside MULTI, so a link lost mid-transaction resumes at its
        # MULTI (and sub-replicas get whole transactions).
        if client.multi is None:
            self._applied(self._in_multi + sum(sizes[:done]))
            self._in_multi = 0
        else:
            start = done
            while start > 0 and batch[start - 1][0].lower() != b"multi":
                start -= 1
            if start > 0:       # the transaction began in this batch
                self._applied(self._in_multi + sum(sizes[:start - 1]))
                self._in_multi = sum(sizes[start - 1:done])
            else:
                self._in_multi += sum(sizes[:done])
        if held:
            self._waiting = [(batch[i], sizes[i]) for i in range(done, len(batch))]
            return False
        if done < len(batch):
            raise LinkError("Connection with master lost.")
        return True

    def _applied(self, size: int) -> None:
        """``size`` more bytes of the stream were applied: proxy them, count them."""
        raw = self._raw
        chunk = bytes(raw[:size])
        del raw[:size]
        self.reploff += size
        _proxy(self.state, chunk)
