"""Replies on their way out of a ``Client``: the buffer, writes and back-pressure.

A client's replies collect in ``out`` (a list of bytes) while its read is served and
leave in one ``os.write`` (:meth:`ReplyWriter.flush`), or together with the other
clients of the same poll (:meth:`ReplyWriter.send_batched`, called by
:class:`miniredis.readiness.ReadyQueue`). What the socket does not take waits in
``_unsent`` until the socket is writable again. Like Redis, which reads a client
whatever replies it has not taken yet (a pipeline written whole before its replies
are read must not dead-lock; client-output-buffer-limit and maxmemory-clients are
what bound them), the client goes on being read meanwhile, but only until
``UNSENT_READ_LIMIT`` bytes wait: then it is not read again until it takes them
(back-pressure), so a client that never reads costs bounded memory even with no limit
configured. Pub/sub messages to other clients are queued by
:meth:`ReplyWriter.push` and flushed once per publishing batch; a subscriber past
``client-output-buffer-limit pubsub`` is disconnected.

:class:`miniredis.connection.Client` inherits this; the attributes it uses (``out``,
``_unsent``, ``fd``, the watchers, ``closing``/``closed``...) are the client's.
"""
from __future__ import annotations

import os
from typing import Any

from .security.outputlimits import close_if_over, past_limits

_write = os.write

UNSENT_READ_LIMIT = 64 * 1024 * 1024    # unsent replies past which reading stops


class ReplyWriter:
    """The output half of a client connection (see the module)."""

    out: Any
    _unsent: Any

    def flush(self) -> None:
        """Send buffered replies now; what the socket won't take waits for writability."""
        out = self.out
        if not out or self.closed:
            return
        state = self.state
        if state.normal_output_limited and close_if_over(self):
            return
        aof = state.aof
        if aof is not None and aof.buf and aof.defer(self):
            return          # sent once the effects are in the file (one write per loop)
        self._write_out(out, state)

    def _write_out(self, out: Any, state: Any) -> None:
        """:meth:`flush` once nothing holds the replies back (no output limit passed,
        no AOF to wait for): join ``out`` and write it, or queue it behind what the
        socket has not taken yet. Also the batch's write (:meth:`send_batched`, which
        checks that itself); ``Client._serve_read`` writes these lines out for a lone
        read (a call is 2% of its instructions)."""
        data = out[0] if len(out) == 1 else b"".join(out)
        self.out = []
        size = len(data)
        if size > self.rb_peak:         # the reply buffer's peak (querybuf.py)
            self.rb_peak = min(size, self.rb_size)
        state.stats.total_net_output_bytes += size
        if self._unsent:
            self._unsent += data
            if len(self._unsent) > UNSENT_READ_LIMIT and self._read_watcher is not None:
                self._read_watcher.stop()       # back-pressure (see the module)
            return
        try:
            sent = _write(self.fd, data)    # (not closed: checked above)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self.closing = True
            if not self.in_callback:
                self.close()
            return
        if sent < size:
            self._wait_writable(data, sent)

    # Bytes at the head of a replica's output that Redis writes to the socket itself
    # (connWrite: +FULLRESYNC, +CONTINUE) and so counts in no total.
    uncounted = 0

    def flush_replica(self) -> None:
        """:meth:`flush` for a replica (set on it by the master): its bytes count as
        total_net_repl_output_bytes too, but for ``uncounted`` ones."""
        stats = self.state.stats
        before = stats.total_net_output_bytes
        type(self).flush(self)
        sent = stats.total_net_output_bytes - before
        uncounted = self.uncounted
        if uncounted and sent:
            left_out = min(uncounted, sent)
            self.uncounted = uncounted - left_out
            stats.total_net_output_bytes -= left_out
            sent -= left_out
        stats.total_net_repl_output_bytes += sent

    def send_batched(self) -> None:
        """Send the replies left for the batch's write (:meth:`ReadyQueue.write_later`);
        closes the client if it was told to close meanwhile."""
        if self.closed:
            return
        out = self.out
        if out:
            state = self.state
            if state.aof is None and not state.normal_output_limited and self._plain_io:
                self._write_out(out, state)     # (flush's checks that can apply)
            else:
                self.flush()
        # (_written, inlined: a call per client of every batch)
        eviction = self.state.client_eviction
        if eviction is not None:
            eviction.after_io(self)
        if self.closing and not self._unsent and not self.out:
            self.close()

    def _wait_writable(self, data: bytes, sent: int) -> None:
        """Keep what the socket did not take, to write when it is writable; past
        ``UNSENT_READ_LIMIT`` stop reading the client until it takes its replies."""
        self._unsent = bytearray(data[sent:])
        if len(self._unsent) > UNSENT_READ_LIMIT and self._read_watcher is not None:
            self._read_watcher.stop()
        self._write_watcher = self._loop.io(self.fd, 2)
        self._write_watcher.start(self._on_writable)

    def _on_writable(self) -> None:
        try:
            sent = _write(self.fd, self._unsent)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        del self._unsent[:sent]
        eviction = self.state.client_eviction
        if eviction is not None:        # (writeToClient updates the client's memory)
            eviction.update(self)
        watcher = self._read_watcher
        if self._unsent:
            if watcher is not None and not watcher.active and not self.closing \
                    and len(self._unsent) <= UNSENT_READ_LIMIT:
                watcher.start(self.on_readable)     # under the limit again: read on
            return
        self._write_watcher.stop()
        self._write_watcher.close()
        self._write_watcher = None
        if self.closing:
            self.close()
        elif watcher is not None and not watcher.active:
            watcher.start(self.on_readable)

    def push(self, data: bytes) -> None:
        """Queue an out-of-band message (pub/sub) for this client.

        The publisher's own message goes out with its reply; other receivers are
        flushed once from a loop callback however many messages the publishing batch
        produced. A receiver past ``client-output-buffer-limit pubsub`` is dropped.
        """
        if self.closed:
            return
        self.out.append(data)
        eviction = self.state.client_eviction
        if eviction is not None:    # (as Redis: counted as the message is queued)
            eviction.update(self)
        if self.in_callback or self._flush_scheduled:
            return
        if self._loop is None:
            self.flush()
            self._check_output_limit()
            return
        self._flush_scheduled = True
        self._loop.run_callback(self._flush_pushed)

    def _flush_pushed(self) -> None:
        self._flush_scheduled = False
        if self.closed:
            return
        self.flush()
        self._check_output_limit()
        self._written()

    def _written(self) -> None:
        """After a loop callback's write: maxmemory-clients counts the client (as
        beforeSleep), and a client told to close goes once nothing waits."""
        eviction = self.state.client_eviction
        if eviction is not None:
            eviction.after_io(self)
        if self.closing and not self._unsent and not self.out:
            self.close()

    def check_output_limits(self) -> None:
        """The cron's look at a client with output waiting: its class's limits."""
        if self.subscribed:
            self._check_output_limit()
        elif self.state.normal_output_limited:
            close_if_over(self)

    def _check_output_limit(self) -> None:
        """Disconnect a subscriber whose unsent output passed its class's limits."""
        if not self.subscribed or self.closed:
            return
        over, self._over_soft_limit_since = past_limits(
            len(self._unsent), self.state.config["client-output-buffer-limit"]["pubsub"],
            self._over_soft_limit_since)
        if over:
            self.state.log("warning", "Client id=%d addr=%s closed for overcoming of output "
                           "buffer limits." % (self.id, self.addr))
            self.close()

    @property
    def output_pending(self) -> int:
        """Bytes of replies not yet taken by the socket (CLIENT LIST omem/obl)."""
        return len(self._unsent) + sum(len(chunk) for chunk in self.out)
