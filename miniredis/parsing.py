"""How a client's bytes become requests: Redis's parsing rules around hiredis.

Requests are arrays of bulk strings, read with ``hiredis.Reader``; anything else at a
request boundary is an *inline* command (a line of space-separated words, as telnet and
``redis-cli`` in some modes send), which hiredis would reject, so those lines are split
here. hiredis is only ever given requests it cannot overspend on: a request still
incomplete at the end of a read is kept, and its headers are validated as they arrive
(multibulk count, bulk lengths), so an absurd length is refused at once, as Redis does,
and an announced count costs memory only as its arguments arrive. hiredis allocates the
list for an aggregate header as soon as it reads it, so a buffer that announces a count
its bytes cannot fill is parsed here, request by request, instead
(``aggregate_too_big``); and requests from a buffer holding '+', '=' or '(' (a line
starting so is a RESP3 string, which hiredis reads like a bulk string) are kept only
if they are exactly their canonical encoding (``_canonical``), else parsed here. A
client that must still authenticate is held to Redis's small limits, parsed here up to
each AUTH or HELLO (``_parse_unauthenticated``). The syntax itself (header checks,
inline splitting) lives in :mod:`miniredis.wire`.

:class:`RequestParser` is the parsing half of :class:`miniredis.connection.Client`
(a mixin over the client's own buffers), kept apart so each file holds one concern.
"""
from __future__ import annotations

import re
from collections import deque
from typing import List, Optional, Tuple

import hiredis

from .errors import ProtocolError
from .security.protected import auth_required
from .wire import (INLINE_MAX, aggregate_too_big, decode_request,
                   inline_args, inline_end, requests_length, scan_headers)

BIG_REQUEST = 1024 * 1024       # complete requests this long are split without hiredis
_SMALL_ARGUMENT = 1024          # ... unless their arguments are this small on average
_HIREDIS_COPY = 64 * 1024 * 1024   # ... and the request no longer than this
# A '*' with 4 digits or more: maybe an aggregate header hiredis would size a list by.
_BIG_COUNT = re.compile(rb"\*[0-9]{4}").search
# Fed to hiredis after a read it consumed whole: '*0' parses as an empty request only
# at a request boundary (inside a request it is an element).
_PROBE = b"*0\r\n"
_join = b"".join
_list, _iter, _map, _all = list, iter, map, all
_exhaust = deque(maxlen=0).extend     # consumes an iterator in C, keeping nothing
_pack = hiredis.pack_command
# Commands that may authenticate a client (and so lift the limits before AUTH).
_AUTHENTICATING = ("auth", "hello")


def _canonical(buf: bytes, pos: int, requests: List[List[bytes]], first: int) -> bool:
    """Whether ``requests[first:]``, parsed by hiredis from ``buf[pos:]``, are exactly
    their canonical encoding there, in order (with '*0' requests between them): then
    every argument came as a '$' bulk string, as Redis requires, and none from a line
    like a RESP3 string. One C encoding and one comparison per request."""
    pack = hiredis.pack_command
    for request in requests[first:]:
        while buf.startswith(_PROBE, pos):
            pos += 4
        data = pack(tuple(request))
        if not buf.startswith(data, pos):
            return False
        pos += len(data)
    return True


def _only_bulks(buf: bytes, request: List[bytes]) -> bool:
    """Whether ``buf``, exactly one request that hiredis parsed as ``request`` (all
    bytes), sent every argument as a '$' bulk string, as Redis requires: none as a
    line hiredis also reads as a string ('+', '(' or '=': ``ZRANGEBYSCORE k 1 +inf``
    holds a '+' that is data). Without an '=', counting CRLFs tells: a canonical
    encoding holds one per header and terminator, plus those inside the arguments
    (joined around a NUL, so no two make one), and a '+' or '(' line holds one where
    a bulk string holds two, where nothing holds more. Else, as a last resort, the
    canonical encoding made and compared (0.7 us for seven arguments: three times
    the count)."""
    if 61 not in buf and buf.count(b"\r\n") == \
            2 * len(request) + 1 + b"\x00".join(request).count(b"\r\n"):
        return True
    return buf == _pack(tuple(request))


def _repeats(buf: bytes, period: int) -> bool:
    """Whether ``buf`` is two or more copies of its first ``period`` bytes (a candidate
    request: its first 16 bytes come again there). Told by C scans: k non-overlapping
    copies of a unit as long as a k-th of ``buf`` cover it."""
    if len(buf) % period:
        return False
    unit = buf[:period]
    return buf.endswith(unit) and buf.count(unit) == len(buf) // period


class RequestParser:
    """Request parsing for a Client: ``_parse`` turns each read into requests."""

    @property
    def input_pending(self) -> int:
        """CLIENT LIST qbuf: query-buffer bytes Redis would still hold for this client.

        While its requests run, the whole read; otherwise what an incomplete request
        has left unconsumed (Redis has moved complete headers and arguments out).
        """
        if self.in_callback:
            return self._read_len
        pending = self._pending
        if self._held_bytes or self.blocked is not None or self._held:
            # Blocked or paused: Redis has parsed nothing since, it is all still raw.
            return self._held_bytes + len(pending)
        if not pending or self._pending_inline or self._scan_left < 0:
            return len(pending)
        pos = self._scan_pos
        newline = pending.find(b"\r\n", pos)
        if newline >= 0:
            pos = newline + 2
        return len(pending) - pos

    # -- parsing ----------------------------------------------------------------------
    def _parse(self, data: bytes, start: int = 0) -> Tuple[List[List[bytes]], Optional[str]]:
        """Split ``data`` (plus held-back bytes) into requests.

        Returns the complete requests and, if the input turned malformed after them,
        the protocol error to send before closing the connection. ``start`` > 0 only
        for the rest of a read an unauthenticated client's request was taken from.
        """
        if not self.authenticated and auth_required(self):
            return self._parse_unauthenticated(data, start)
        if start:
            data = data[start:]
        requests: List[List[bytes]] = []
        if self._pending:
            self._read_start = len(self._pending)
            self._pending += data
            if self._pending_inline:
                buf = bytes(self._pending)
                self._pending = bytearray()
                self._pending_inline = False
            else:
                try:
                    end = self._scan_pending()
                except ProtocolError as exc:
                    return requests, str(exc)
                if end < 0:
                    if len(self._pending) > self.state.config.values["client-query-buffer-limit"]:
                        raise ProtocolError("query buffer limit reached")
                    return requests, None
                if end >= BIG_REQUEST:
                    requests.append(self._take_big_request(end))
                    if len(self._pending) == 0:
                        return requests, None
                buf = bytes(self._pending)
                self._pending = bytearray()
                self._scan_pos = 0
                self._scan_left = -1
        else:
            self._read_start = 0
            buf = data
        try:
            self._split(buf, requests)
        except ProtocolError as exc:
            return requests, str(exc)
        return requests, None

    def _take_big_request(self, end: int) -> List[bytes]:
        """The complete request that starts ``_pending`` (its headers validated by
        :meth:`_scan_pending`); the buffer keeps only the bytes after ``end``.

        Arguments of 1 KB or less on average are read by hiredis (0.1 us each, against
        0.7 in :func:`_copied_arguments`): its copy of the buffer then costs no more
        than the arguments themselves, and at most 64 MB. Larger ones are copied
        straight out of the buffer: through hiredis a large value would exist four
        times at once (buffer, bytes copy, hiredis's buffer, the argument). hiredis
        reads only headers written "$<length>\\r\\n" (Redis reads up to the CR,
        whatever follows it), so a request it refuses is copied out too."""
        buf = self._pending
        newline = buf.find(b"\r")      # a header ends at its CR, as wire.py reads it
        count = int(buf[1:newline])
        args = None
        if end <= count * _SMALL_ARGUMENT and end <= _HIREDIS_COPY:
            args = _hiredis_request(buf, end, count)
        if args is None:
            args = _copied_arguments(buf, newline + 2, count)
        self._pending = buf[end:]
        self._scan_pos = 0
        self._scan_left = -1
        return args

    def _parse_unauthenticated(self, data: bytes,
                               start: int) -> Tuple[List[List[bytes]], Optional[str]]:
        """Parse the requests of a client that must still authenticate.

        Redis holds such a client to at most 10 arguments of at most 16 KB each, and
        parses a request only after the previous one ran. Only AUTH or HELLO can lift
        the limits, so parsing stops after one of those, and the rest of the bytes wait
        in ``_deferred`` for :meth:`process` to parse next (as an offset: no copies).
        """
        requests: List[List[bytes]] = []
        if start:
            buf = data          # the same read, after the request that just ran
        elif self._pending:
            self._read_start = len(self._pending)
            buf = bytes(self._pending) + data
        else:
            self._read_start = 0
            buf = data
        self._pending = bytearray()
        self._pending_inline = False
        self._scan_pos = 0
        self._scan_left = -1
        size = len(buf)
        pos = start
        try:
            while pos < size:
                if buf[pos] == 42:  # '*'
                    end, left = scan_headers(buf, pos, -1, self._read_start,
                                              self.state.config.values["proto-max-bulk-len"],
                                              True)
                    if left:
                        self._pending = bytearray(buf[pos:])
                        pos = size
                        break
                    request = decode_request(buf, pos, end)
                    pos = end
                else:
                    newline = inline_end(buf, pos, self._read_start)
                    if newline < 0:
                        self._pending = bytearray(buf[pos:])
                        self._pending_inline = True
                        pos = size
                        break
                    request = inline_args(buf, pos, newline)
                    pos = newline + 1
                if request:
                    requests.append(request)
                    cmd = self.state.names.lookup(request[0])  # (renamed or not)
                    if cmd is not None and cmd.parent is None and \
                            cmd.name in _AUTHENTICATING:
                        break   # its success would lift the limits for what follows
        except ProtocolError as exc:
            return requests, str(exc)
        if pos < size:
            self._deferred = (buf, pos)
        return requests, None

    def _split(self, buf: bytes, requests: List[List[bytes]]) -> None:
        """Append the complete requests of ``buf`` (which starts at a request
        boundary) to ``requests``; keep an incomplete one back. Raises ProtocolError."""
        if buf[0] == 42:    # '*': the common case
            pos = self._split_multibulk(buf, 0, requests)
            if pos < 0:
                return
        else:
            pos = 0
            if self._split_inline_only(buf, requests):
                return
        self._split_from(buf, pos, requests)

    def _split_from(self, buf: bytes, pos: int, requests: List[List[bytes]]) -> None:
        """:meth:`_split` from ``pos``, where an inline command or a request starts."""
        size = len(buf)
        while pos < size:
            if buf[pos] == 42:  # '*': a multibulk request, hiredis's job
                pos = self._split_multibulk(buf, pos, requests)
                if pos < 0:
                    return
            else:
                newline = inline_end(buf, pos, self._read_start)
                if newline < 0:
                    self._pending = bytearray(buf[pos:])
                    self._pending_inline = True
                    return
                args = inline_args(buf, pos, newline)
                if args:
                    requests.append(args)
                pos = newline + 1

    def _split_inline_only(self, buf: bytes, requests: List[List[bytes]]) -> bool:
        """A buffer of unquoted inline commands only, split at once; False if not."""
        # (byte values, not one-byte strings: ``in`` tries an int first, and a
        # failed try costs more than the search)
        if len(buf) <= INLINE_MAX and 34 not in buf and 39 not in buf \
                and 0 not in buf and 11 not in buf and 12 not in buf \
                and b"\n*" not in buf:   # no '"', "'", NUL, '\v', '\f'; no multibulk
            # Only unquoted inline commands (redis-cli, telnet, PING_INLINE): every
            # line splits on whitespace, as sdssplitargs does without quotes.
            lines = buf.split(b"\n")
            tail = lines.pop()
            append = requests.append
            for line in lines:
                args = line.split()
                if args:
                    append(args)
            if tail:
                self._pending = bytearray(tail)
                self._pending_inline = True
            return True
        return False

    def _split_multibulk(self, buf: bytes, pos: int, requests: List[List[bytes]]) -> int:
        """Let hiredis parse from ``pos``; return where it stopped (-1: all consumed)."""
        # Bytes hiredis could misread or overspend on can only be there if one of
        # '+=(>~|' or a '*' with 4 digits is: a few memchr scans rule that out, and a
        # look at the first header when it holds the only '*' (``lone``; else a regex
        # with a literal first byte). Otherwise, the exact (costlier) checks.
        # (an if, not an expression: CPython 3.11 specialises a comparison only when a
        # conditional jump follows it)
        single = False
        if pos == 0 and len(buf) > 4 and (buf[2] == 13 or buf[3] == 13):
            single = True
        lone = single and 42 not in buf[3:]
        # '+=(': hiredis reads a line starting so as bytes, like a bulk string, where
        # Redis accepts only '$'. Such a line may start anywhere an element may: after
        # a bulk string's data hiredis (like Redis) skips two bytes without looking at
        # them, so ``GETXX+foo`` hides one. What hiredis parsed from a buffer holding
        # one of these bytes is kept only if it is its canonical encoding.
        strings = 43 in buf or 61 in buf or 40 in buf
        reader = None
        if single and 62 not in buf and 126 not in buf and 124 not in buf \
                and 37 not in buf and (lone or _BIG_COUNT(buf, 3) is None):
            # The commonest read: it starts with a request of fewer than 100
            # arguments (MSET of ten keys has 21: a count of two digits spares it the
            # general path's probe, 11% of a lone MSET), and holds no byte hiredis
            # could read as an aggregate
            # ('>~|%'; no '*' with 4 digits or more: XADD's '*' and the headers of a
            # pipeline are arrays hiredis sizes cheaply), so hiredis may take all of
            # it. If it returns the first request whole and every argument is bytes:
            # when that consumed every byte and (with '+=(' about) it is canonical,
            # it is exactly what the general path below would find; when more
            # follows (a pipeline), the loop below goes on with this reader.
            reader = self.reader
            try:
                # (where the first request's first 16 bytes come again, if they do:
                # a scan spares a read of different requests a call)
                period = -1 if lone else buf.find(buf[:16], 1)
                if period > 0 and _repeats(buf, period):
                    # A pipeline repeating one request (redis-benchmark's -P 16):
                    # parsed once. Every request is then the same list: nothing
                    # changes a request's list in place, and only commands that are
                    # not alike (INFO, EXEC, scripts: Client.requests_before) ask
                    # where theirs stands in the batch, by identity.
                    unit = buf[:period]
                    reader.feed(unit)
                    req = reader.gets()
                    if req.__class__ is list and req and not reader.has_data():
                        _join(req)      # TypeError unless every element is bytes
                        cmd = self.state.names.fast.get(req[0])
                        if cmd is not None and cmd.alike and \
                                (not strings or _only_bulks(unit, req)):
                            requests += [req] * (len(buf) // period)
                            return -1
                    reader.feed(buf[period:])   # not one whole request: as usual
                    if req is False:
                        req = reader.gets()
                else:
                    reader.feed(buf)
                    req = reader.gets()
                if req.__class__ is list and req:
                    _join(req)      # TypeError unless every element is bytes
                    if not reader.has_data():
                        if not strings or _only_bulks(buf, req):
                            requests.append(req)
                            return -1
                        reader = None
                    else:
                        requests.append(req)
                else:
                    reader = None
            except Exception:  # hiredis's ProtocolError, TypeError: as below
                reader = None
            if reader is None:
                self.reader = hiredis.Reader()  # start over, the general way
        if reader is not None:
            first = len(requests) - 1      # (the first request is in)
            verify = strings    # ('>~|' and big counts were ruled out above)
        else:
            first = len(requests)
            verify = False
            counts = 62 in buf or 126 in buf or 124 in buf \
                or not lone and _BIG_COUNT(buf, pos) is not None
            if counts or strings:
                # An aggregate header may hide where a string may
                # (``ECHOXX*99999999``): every count of 4 digits or more is weighed,
                # not only those starting a line.
                if counts and aggregate_too_big(buf, pos):
                    return self._split_careful(buf, pos, requests)
                verify = strings
            reader = self.reader
            reader.feed(buf if pos == 0 else buf[pos:])
        append = requests.append
        gets = reader.gets
        join = _join
        empty = 0           # '*0' requests: skipped, as Redis does
        stop_reason = None
        # Every request of the read at C speed (a Python loop costs ~7 lines per
        # request). hiredis may go on past a request that is not one (an inline
        # command, a bad element): it is handed no count it would overspend on (ruled
        # out above), and the walk below stops there all the same.
        try:
            more = _list(_iter(gets, False))
        except Exception:  # ProtocolError; TypeError for a RESP3 set of lists...: stop
            more = ()      # before the first request it read (the slow path parses
            stop_reason = "hiredis-error"   # them again)
        whole = False
        if first < len(requests):
            # The fast branch above parsed the first request, and '%~|>' are absent:
            # every reply hiredis gives is then a list of bytes exactly when joining
            # it works, and the empty ones are '*0' requests.
            try:
                _exhaust(_map(join, more))
                whole = _all(more)
            except TypeError:
                pass
        if whole:
            requests += more
        else:
            for req in more:
                if req.__class__ is not list:
                    stop_reason = "not-multibulk"
                    break
                if not req:
                    empty += 1      # ('*0': skipped, as Redis does)
                    continue
                try:
                    join(req)       # C-speed check that every element is a bulk string
                except TypeError:
                    stop_reason = "bad-element"
                    break
                append(req)
        if verify and not _canonical(buf, pos, requests, first):
            # hiredis took a RESP3 string for an argument: parse it all here instead.
            self.reader = hiredis.Reader()
            del requests[first:]
            return self._split_careful(buf, pos, requests)
        if stop_reason is None and not reader.has_data():
            # Every byte was consumed: at a request boundary, or inside a request
            # (whose header and first arguments came whole, or just a type byte).
            if lone and len(requests) + empty > first and buf[-1] == 10 \
                    and 37 not in buf:
                # The only aggregate header ('*'; no '%', and '>~|' were ruled out
                # above) began a request that came whole, and the data ends a line
                # (not after a lone type byte): nothing can be left inside hiredis.
                return -1
            # Else hiredis tells: an empty request now is one of its own only if it
            # stood at a boundary; anything else, error included, means inside.
            reader.feed(_PROBE)
            try:
                if gets() == []:
                    return -1
            except Exception:
                pass
        # Slow path: find where hiredis stopped, in our own terms, and take over there.
        self.reader = hiredis.Reader()
        offset = pos + 4 * empty + requests_length(requests[first:])
        if stop_reason is None:
            # An incomplete request: keep it and validate its headers as it grows.
            return self._split_careful(buf, offset, requests)
        if buf[offset] != 42:
            return offset  # an inline command follows: the caller's loop handles it
        return self._split_careful(buf, offset, requests)

    def _split_careful(self, buf: bytes, pos: int, requests: List[List[bytes]]) -> int:
        """Parse multibulk requests one at a time, checking each header ourselves first.

        hiredis only ever sees a request whose headers passed Redis's checks and whose
        bytes have all arrived, so nothing is allocated ahead of the data. An
        incomplete request is kept in ``_pending``; returns where an inline command
        starts, or -1 when the buffer is used up. Raises ProtocolError with Redis's
        text at the first bad header.
        """
        size = len(buf)
        max_bulk = self.state.config.values["proto-max-bulk-len"]
        read_start = self._read_start
        while pos < size:
            if buf[pos] != 42:
                return pos
            end, left = scan_headers(buf, pos, -1, read_start, max_bulk, False)
            if left:
                self._pending = bytearray(buf[pos:])
                self._scan_pos = end - pos
                self._scan_left = left
                return -1
            request = decode_request(buf, pos, end)
            if request:
                requests.append(request)
            pos = end
        return -1

    def _scan_pending(self) -> int:
        """Validate the held-back request's headers as far as they have arrived.

        Returns the request's end offset once it is complete, -1 while incomplete;
        raises ProtocolError with Redis's text for a bad count or length.
        """
        pos, left = scan_headers(self._pending, self._scan_pos, self._scan_left,
                                  self._read_start,
                                  self.state.config.values["proto-max-bulk-len"], False)
        self._scan_pos = pos
        self._scan_left = left
        return -1 if left else pos


def _copied_arguments(buf: bytearray, pos: int, count: int) -> List[bytes]:
    """The ``count`` arguments whose headers start at ``pos``, copied out of ``buf``
    (each header read up to its CR, as Redis reads it)."""
    args = []
    with memoryview(buf) as view:
        for _ in range(count):
            newline = buf.find(b"\r", pos)
            start = newline + 2
            stop = start + int(buf[pos + 1:newline])
            args.append(bytes(view[start:stop]))
            pos = stop + 2
    return args


def _hiredis_request(buf: bytearray, end: int, count: int) -> Optional[List[bytes]]:
    """The ``count`` arguments of the request ``buf[:end]`` as hiredis reads them, or
    None if it reads them otherwise (a header not ended by CR LF: see
    RequestParser._take_big_request)."""
    reader = hiredis.Reader()
    reader.feed(buf, 0, end)
    try:
        args = reader.gets()
        if reader.has_data() or args.__class__ is not list or len(args) != count:
            return None
    except hiredis.ProtocolError:
        return None
    return args
