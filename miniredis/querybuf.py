"""A model of Redis 7.0's per-client query buffer, for CLIENT LIST's qbuf-free, tot-mem
and the clients' memory figures.

We read up to 64 KB at a time into Python bytes, so our own buffer says nothing about
Redis's. Redis reads into an sds string whose allocation follows fixed rules, and
those sizes are observable (CLIENT LIST qbuf-free, tot-mem, MEMORY STATS
clients.normal), so each client carries the size Redis's buffer would have:

* a read (networking.c, readQueryFromClient) first makes room for 16 KB
  (PROTO_IOBUF_LEN): exactly that (sdsMakeRoomForNonGreedy) while the buffer is
  smaller than 16 KB, greedily (doubling, sdsMakeRoomFor) once it is not; it then
  reads at most the room it has. The largest length the buffer reached is its peak.
* an argument of 32 KB or more (PROTO_MBULK_BIG_ARG) whose bytes have not all
  arrived gets a buffer of exactly its size; once complete, that buffer becomes the
  argument and a new one of the same size replaces it;
* the clients cron (server.c, clientsCronResizeQueryBuffer) frees the spare room of
  a buffer idle for more than 2 s, and shrinks a buffer over 32 KB
  (PROTO_RESIZE_THRESHOLD) to the recent peak when it is more than twice that peak;
  either only when over 4 KB is spare. The peak then restarts from the length.

Sizes are what jemalloc (Redis's allocator) hands out: sds header plus string plus
terminator rounded up to jemalloc's size class. The reply buffer (rbs, rbp) is
modelled the same way: its peak is the largest batch of replies written at once.
Reading stays cheap: a read no longer
than the recent peak, with nothing held back, changes nothing (``qb_fast``); every
other read is replayed here as the reads Redis would have made.
"""
from __future__ import annotations

import time
from bisect import bisect_left
from typing import Any, Iterable, List, Tuple

IOBUF_LEN = 16 * 1024           # PROTO_IOBUF_LEN
BIG_ARG = 32 * 1024             # PROTO_MBULK_BIG_ARG
RESIZE_THRESHOLD = 32 * 1024    # PROTO_RESIZE_THRESHOLD
_MAX_PREALLOC = 1024 * 1024     # SDS_MAX_PREALLOC
_ARGV_WALK = 10000              # arguments argv_memory reads at most
CLIENT_FIXED = 768              # zmalloc_size(client) as Redis 7.0.15 reports it


def jemalloc_size(size: int) -> int:
    """The size class jemalloc serves a request of ``size`` bytes from: 8, then
    multiples of 16 up to 128, then four classes per doubling."""
    if size <= 8:
        return 8
    if size <= 128:
        return (size + 15) & ~15
    spacing = 1 << (size - 1).bit_length() - 3
    return (size + spacing - 1) & ~(spacing - 1)


def _header(size: int) -> int:
    """sds header bytes for a string of ``size`` (types 8/16/32/64: never type 5 for a
    buffer that grows)."""
    if size < 1 << 8:
        return 3
    if size < 1 << 16:
        return 5
    if size < 1 << 32:
        return 9
    return 17


def sds_alloc(size: int) -> int:
    """sdsalloc of an sds allocated for ``size`` bytes: what jemalloc gives, less the
    header and terminator."""
    header = _header(size)
    return jemalloc_size(header + size + 1) - header - 1


def malloc_size(alloc: int) -> int:
    """sdsZmallocSize of a buffer whose sdsalloc is ``alloc``."""
    return jemalloc_size(_header(alloc) + alloc + 1)


def _room(length: int, alloc: int, add: int, greedy: bool) -> int:
    """sdsMakeRoomFor(NonGreedy): the allocation after making room for ``add`` more."""
    if alloc - length >= add:
        return alloc
    wanted = length + add
    if greedy:
        wanted = wanted * 2 if wanted < _MAX_PREALLOC else wanted + _MAX_PREALLOC
    return sds_alloc(wanted)


def _big_args(buf: Any, start: int) -> List[Tuple[int, int]]:
    """(offset after its header, length) of every argument of BIG_ARG bytes or more
    announced in the multibulk requests of ``buf`` from ``start`` (stops at anything
    else: inline commands, headers not complete yet)."""
    out: List[Tuple[int, int]] = []
    pos = start
    size = len(buf)
    find = buf.find
    while pos < size and buf[pos] == 42:      # '*'
        end = find(b"\r\n", pos)
        if end < 0:
            break
        try:
            count = int(buf[pos + 1:end])
        except ValueError:
            break
        pos = end + 2
        for _ in range(count):
            if pos >= size or buf[pos] != 36:  # '$'
                return out
            end = find(b"\r\n", pos)
            if end < 0:
                return out
            try:
                length = int(buf[pos + 1:end])
            except ValueError:
                return out
            pos = end + 2
            if length >= BIG_ARG:
                out.append((pos, length))
            pos += length + 2
    return out


def on_read(client: Any, data: bytes) -> None:
    """Replay Redis's reads of ``data`` (called before it is parsed, only when the
    read is longer than the recent peak or part of a request is held back)."""
    held = len(client._pending)
    length = client.input_pending if held else 0    # Redis's sdslen: unconsumed bytes
    big = client.qb_big
    # Big arguments announced in this read (when it starts at a request boundary; a
    # held request's big argument is found by on_held, after parsing).
    bigs = _big_args(data, 0) if not held and big < 0 and len(data) >= BIG_ARG else []
    alloc, peak = client.qb_alloc, client.qb_peak
    pos, end = 0, len(data)
    while pos < end:
        if big >= 0:                # the rest of a big argument, exactly
            need = big + 2 - length
            if need <= 0:
                need = IOBUF_LEN
            alloc = _room(length, alloc, need, False)
            take = min(end - pos, need)
            pos += take
            length += take
            if length > peak:
                peak = length
            if length >= big + 2:   # the buffer became the argument: a new one
                alloc = sds_alloc(big + 2)
                length = 0
                big = -1
            continue
        if alloc < IOBUF_LEN:
            alloc = _room(length, alloc, IOBUF_LEN, False)
            take = IOBUF_LEN
        else:
            alloc = _room(length, alloc, IOBUF_LEN, True)
            take = alloc - length
        take = min(end - pos, take)
        pos += take
        length += take
        if length > peak:
            peak = length
        # A big argument whose header this read brought but not all its bytes: the
        # buffer is trimmed to the argument's bytes and sized to hold exactly it.
        while bigs and bigs[0][0] <= pos:
            header_end, size = bigs.pop(0)
            if header_end + size + 2 > pos:     # (else: all there, copied out)
                big = size
                length = pos - header_end
                alloc = _room(length, alloc, size + 2 - length, False)
                break
        else:
            if pos < end:
                length = 0          # complete requests ran before the next read
    client.qb_alloc, client.qb_peak, client.qb_big = alloc, peak, big
    client.qb_fast = peak if big < 0 and alloc >= IOBUF_LEN else 0


def on_held(client: Any) -> None:
    """After a read left a request incomplete: if the argument still arriving is a
    big one, Redis trims the buffer to its bytes and sizes it to hold exactly it.
    The parser's header scan tells where that argument's header is."""
    if client._scan_left <= 0 or client._pending_inline:
        return
    pending = client._pending
    pos = client._scan_pos
    if pos >= len(pending) or pending[pos] != 36:     # '$'
        return
    end = pending.find(b"\r\n", pos)
    if end < 0:
        return
    try:
        size = int(pending[pos + 1:end])
    except ValueError:
        return
    header_end = end + 2
    if size < BIG_ARG or header_end + size + 2 <= len(pending):
        return
    length = len(pending) - header_end
    client.qb_big = size
    client.qb_alloc = _room(length, client.qb_alloc, size + 2 - length, False)
    if length > client.qb_peak:
        client.qb_peak = length
    client.qb_fast = 0


def resize(client: Any, now: float) -> None:
    """clientsCronResizeQueryBuffer for one client."""
    length = client.input_pending
    alloc = client.qb_alloc
    if alloc - length > 4096:
        if int(now) - int(client.last_interaction) > 2:
            alloc = length
        elif alloc > RESIZE_THRESHOLD and alloc // 2 > client.qb_peak:
            target = max(length, client.qb_peak)
            if client.qb_big >= 0 and target < client.qb_big:
                target = client.qb_big
            alloc = target
        client.qb_alloc = alloc
    peak = length
    if client.qb_big > peak:
        peak = client.qb_big
    client.qb_peak = peak
    client.qb_fast = peak if client.qb_big < 0 and alloc >= IOBUF_LEN else 0


REPLY_MIN = 1024                # PROTO_REPLY_MIN_BYTES
REPLY_CHUNK = 16 * 1024         # PROTO_REPLY_CHUNK_BYTES
PEAK_RESET_MS = 5000            # reply_buffer_peak_reset_time's default


def resize_reply_buffer(client: Any, now: float, reset_ms: int = PEAK_RESET_MS) -> int:
    """clientsCronResizeOutputBuffer: the reply buffer (rbs) halves towards its
    recent peak (rbp) or doubles when that peak filled it; the peak restarts every
    ``reset_ms`` (5 s; never when negative: DEBUG REPLYBUFFER) and, as in Redis, which
    starts the clock in seconds, at the first call. Returns -1 for a shrink, 1 for an
    expansion, 0 otherwise (INFO's reply_buffer_shrinks/expands)."""
    size, peak = client.rb_size, client.rb_peak
    new = 0
    change = 0
    if size // 2 >= REPLY_MIN and peak < size // 2:
        new = max(REPLY_MIN, peak + 1)
        change = -1
    elif size * 2 < REPLY_CHUNK * 2 and peak == size:
        new = min(REPLY_CHUNK, size * 2)
        change = 1
    now_ms = int(now * 1000)
    if reset_ms >= 0 and now_ms - client.rb_reset >= reset_ms:
        client.rb_peak = 0
        client.rb_reset = now_ms
    if new:
        client.rb_size = jemalloc_size(new)
    return change


class ClientsCron:
    """Redis's clientsCron rotation: each call serves numclients/hz clients, at least
    5 (all of them when fewer), so with many clients each is seen about once a second.
    Also the 8 one-second slots of the largest input and output buffers seen
    (clientsCronTrackExpansiveClients: INFO's client_recent_max_input_buffer and
    client_recent_max_output_buffer, the latter the replies a client has not taken
    yet, as CLIENT LIST's omem), and the reply buffers' resizes (``stats``)."""

    SLOTS = 8

    def __init__(self) -> None:
        self._next = 0
        self._input_peaks = [0] * self.SLOTS
        self._output_peaks = [0] * self.SLOTS

    def run(self, clients: Iterable[Any], hz: int, reply_peak_reset_ms: int = PEAK_RESET_MS,
            reply_resizing: bool = True, eviction: Any = None,
            stats: Any = None) -> None:
        """One call of clientsCron (``eviction``: maxmemory-clients' ClientEviction,
        which counts each client seen and then evicts as beforeSleep would; ``stats``:
        where the reply buffers' resizes are counted)."""
        everyone = list(clients)
        count = len(everyone)
        now = time.time()
        slot = int(now) % self.SLOTS
        peaks = self._input_peaks
        peaks[(slot + 1) % self.SLOTS] = 0
        out_peaks = self._output_peaks
        out_peaks[(slot + 1) % self.SLOTS] = 0
        if not count:
            return
        iterations = count // max(hz, 1)
        if iterations < 5:
            iterations = min(count, 5)
        start = self._next % count
        for k in range(iterations):
            client = everyone[(start + k) % count]
            if client.closed:
                continue
            resize(client, now)
            if reply_resizing:
                change = resize_reply_buffer(client, now, reply_peak_reset_ms)
                if change and stats is not None:
                    if change < 0:
                        stats.reply_buffer_shrinks += 1
                    else:
                        stats.reply_buffer_expands += 1
            usage = malloc_size(client.qb_alloc)
            if usage > peaks[slot]:
                peaks[slot] = usage
            usage = client.output_pending
            if usage > out_peaks[slot]:
                out_peaks[slot] = usage
            if eviction is not None:
                eviction.cron(client)
            if client._unsent or client._over_soft_limit_since:
                # clientsCron's closeClientOnOutputBufferLimitReached: a soft limit
                # runs out without new output too.
                client.check_output_limits()
        self._next = start + iterations
        if eviction is not None:
            eviction.evict()

    def recent_max_input(self) -> int:
        """client_recent_max_input_buffer."""
        return max(self._input_peaks)

    def recent_max_output(self) -> int:
        """client_recent_max_output_buffer."""
        return max(self._output_peaks)


def argv_memory(client: Any, args: Any = None) -> Tuple[int, int]:
    """(argv_len_sum, argc) of CLIENT LIST's argv-mem: the running command's
    arguments (``args``, for the client asking), a blocked or paused command's
    (Redis keeps them until it runs), or those of an incomplete request already read
    in full."""
    if args is None and client.blocked is not None:
        args = client.blocked.args
    elif args is None and client._held and client.id in client.state.pause.postponed:
        args = client._held[0]      # (the request CLIENT PAUSE holds)
    if args is not None:
        return sum(len(arg) for arg in args), len(args)
    pending = client._pending
    if not pending or client._pending_inline or pending[0] != 42:
        return 0, 0
    total = count = 0
    find = pending.find
    # (at most _ARGV_WALK arguments are counted: CLIENT LIST stays cheap for a
    # request announcing a million)
    end = find(b"\r\n")
    try:
        wanted = int(pending[1:end]) if end > 0 else 0
    except ValueError:
        return 0, 0
    pos = end + 2
    while count < wanted and count < _ARGV_WALK and pos < len(pending) \
            and pending[pos] == 36:
        end = find(b"\r\n", pos)
        if end < 0:
            break
        try:
            length = int(pending[pos + 1:end])
        except ValueError:
            break
        pos = end + 2 + length + 2
        if pos > len(pending):
            break
        total += length
        count += 1
    return total, count


def client_memory(client: Any, argv: Tuple[int, int] = (0, 0), output: int = -1) -> int:
    """tot-mem of CLIENT LIST (getClientMemoryUsage): replies (``output``, when the
    caller knows it), the query buffer's allocation, the client structure, its reply
    buffer, its arguments (``argv`` from :func:`argv_memory`: their bytes plus a pointer
    each) and what its transaction, watched keys, subscriptions and tracking prefixes
    cost (:func:`structures_memory`)."""
    if output < 0:
        output = client.output_pending
    return (output + malloc_size(client.qb_alloc) + CLIENT_FIXED
            + client.rb_size + argv[0] + 8 * argv[1] + structures_memory(client))


_WATCHED_KEY = 24 + 32          # a list node and a watchedKey per watched key
_MULTI_CMD = 24                 # sizeof(multiCmd), per slot of the queue's array
_DICT_ENTRY = 24                # sizeof(dictEntry); a bucket pointer is 8
_RAX_NODE = 4 * 8               # sizeof(raxNode) * sizeof(raxNode*), as Redis counts it


def dict_slots(high_water: int) -> int:
    """The buckets of a dict that held at most ``high_water`` entries (it grows to the
    next power of two when full, from 4, and never shrinks; a rehash in progress, whose
    two tables both count in Redis, is not modelled: its pace depends on the keys'
    random hashes)."""
    if not high_water:
        return 0
    return max(4, 1 << (high_water - 1).bit_length())


def structures_memory(client: Any) -> int:
    """multiStateMemOverhead + pubsubMemOverhead + the tracking prefixes' rax: what
    Redis adds to tot-mem for a client's queued commands (their arguments' bytes and a
    pointer each, plus the queue's array, doubling from 2), its watched keys, its
    patterns (a list node each), its channels and shard channels (an entry each plus
    the dicts' buckets) and its BCAST prefixes (per rax node)."""
    mem = len(client.watched) * _WATCHED_KEY
    queued = client.multi
    if queued:
        mem += client.multi_mem + _MULTI_CMD * max(2, 1 << (len(queued) - 1).bit_length())
    if client.sub_high:
        mem += (_DICT_ENTRY * (len(client.subscriptions) + len(client.ssubscriptions))
                + 8 * (dict_slots(client.sub_high[0]) + dict_slots(client.sub_high[1]))
                + 24 * len(client.psubscriptions))
    elif client.psubscriptions:
        mem += 24 * len(client.psubscriptions)
    tracking = client.tracking
    if tracking is not None and tracking.rax is not None:
        mem += _RAX_NODE * tracking.rax.nodes
    return mem


class RaxShape:
    """How many nodes Redis's radix tree (rax) of a BCAST client's prefixes has, kept
    as prefixes are added (they are never removed one by one). A rax node stands at
    the root, at every key, at every position where keys branch and at each child of
    such a branch; runs of single-child positions between them are compressed into
    one node."""

    __slots__ = ("keys", "_points")

    def __init__(self) -> None:
        self.keys: List[bytes] = []         # sorted
        self._points = {b""}                # the positions that are nodes

    @property
    def nodes(self) -> int:
        return len(self._points)

    def add(self, key: bytes) -> None:
        keys = self.keys
        at = bisect_left(keys, key)
        if at < len(keys) and keys[at] == key:
            return
        points = self._points
        points.add(key)
        # The neighbours in order share the longest prefixes with the new key.
        for other in keys[max(0, at - 1):at + 1]:
            common = _common_length(key, other)
            if common < len(key) and common < len(other):
                # They branch at ``common``: the branch and both children are nodes.
                points.add(key[:common])
                points.add(key[:common + 1])
                points.add(other[:common + 1])
        keys.insert(at, key)


def _common_length(a: bytes, b: bytes) -> int:
    """Length of the common prefix of ``a`` and ``b``."""
    size = min(len(a), len(b))
    i = 0
    while i < size and a[i] == b[i]:
        i += 1
    return i
