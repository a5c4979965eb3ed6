"""Lists whose lazy free Redis would count, decided between requests.

Redis knows a list's quicklist node count at once; here it takes a walk over up to
~250,000 elements (:func:`miniredis.datatypes.lazyfree.walk_list_nodes`), which would
hold an UNLINK's reply for tens of milliseconds. So a list the length cannot decide
for is handed to :class:`PendingFrees`: it is walked in slices in a greenlet that
yields to the hub between them (clients are served meanwhile), then counted in INFO's
``lazyfreed_objects`` if Redis would have freed it in its background thread, and
dropped. Until then it is one of ``lazyfree_pending_objects``, as a value queued for
Redis's lazyfree thread is (Redis's own tests wait for that count to reach 0 before they
read the other). The value is freed once decided, as Redis frees it once its thread
gets to it.
"""
from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Deque

from .datatypes.lazyfree import LAZYFREE_THRESHOLD, walk_list_nodes

if TYPE_CHECKING:  # pragma: no cover
    from .state import ServerState


_PAUSE = 0.0001     # seconds between two slices of a walk


class PendingFrees:
    """The lists waiting for their node count (see the module)."""

    __slots__ = ("state", "queue", "_worker")

    def __init__(self, state: "ServerState") -> None:
        self.state = state
        self.queue: Deque[Any] = deque()
        self._worker: Any = None

    def __len__(self) -> int:
        return len(self.queue)

    def defer(self, value: Any) -> None:
        """Decide about ``value`` (a list that left the keyspace) later, by the node
        layout the settings give it now; at once when no event loop runs (embedded,
        not serving)."""
        state = self.state
        pending = (value, state.config.values["list-max-listpack-size"],
                   state.packed_threshold)
        if state.loop is None:
            self._decide(pending)
            return
        self.queue.append(pending)
        if self._worker is None:
            import gevent
            self._worker = gevent.spawn(self._work)

    def _work(self) -> None:
        import gevent
        try:
            while self.queue:
                self._decide(self.queue[0], gevent.sleep)
                self.queue.popleft()
        finally:
            self._worker = None

    def _decide(self, pending: Any, pause: Any = None) -> None:
        """Walk one list (``pause`` between slices, if given) and count it if Redis
        would have freed it in its background thread."""
        nodes = 0
        for nodes in walk_list_nodes(*pending):
            if nodes is None and pause is not None:
                # A timer, not sleep(0): the loop then polls before the next slice
                # (callbacks queued by sleep(0) may run back to back for a while).
                pause(_PAUSE)
        if nodes > LAZYFREE_THRESHOLD:
            self.state.stats.lazyfreed_objects += 1
