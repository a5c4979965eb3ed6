"""Redis's request syntax, as networking.c reads it: header checks, inline lines.

Pure functions over bytes, used by :class:`miniredis.connection.Client` wherever it
cannot hand a buffer to hiredis as it is (a request still arriving, a client that must
authenticate, a buffer hiredis could overspend on or misread). Each check and error
text is Redis 7.0's: a header line ends at its first '\\r' (a NUL byte hides it), a
count may reach INT_MAX, lengths are read like string2ll, and an inline line is split
like sdssplitargs. Nothing here allocates for what a header announces.
"""
from __future__ import annotations

import re
from itertools import chain
from typing import List, Optional, Tuple

from . import errors
from .errors import ProtocolError
from .security.protected import UNAUTH_MAX_ARGS, UNAUTH_MAX_BULK

INLINE_MAX = 64 * 1024          # PROTO_INLINE_MAX_SIZE
INT_MAX = 2 ** 31 - 1           # largest argument count Redis accepts
REDIS_READ = 16 * 1024          # PROTO_IOBUF_LEN: what Redis reads at a time

# An aggregate header hiredis would size a list by: '*' (or RESP3's '>', '~', '|', which
# hiredis also reads) with 4 digits or more, wherever it is (an element may start two
# bytes after a bulk string's data, whatever those bytes are).
_BIG_AGGREGATE = re.compile(rb"[*>~|]([0-9]{4,})")
# A bulk string's header as clients send it (scan_headers' short way).
_USUAL_BULK = re.compile(rb"\$(0|[1-9][0-9]{0,9})\r")


def _header_end(buf: bytes, pos: int) -> int:
    """Where the header line at ``pos`` ends (its '\\r'), or -1 while it is incomplete.

    As Redis reads it (strchr): the first '\\r', which needs one more byte after it
    (not checked to be '\\n'); a NUL byte before it hides it.
    """
    end = buf.find(b"\r", pos)
    if end < 0 or end + 1 >= len(buf) or buf.find(b"\0", pos, end) >= 0:
        return -1
    return end


def _line_limit(start: int, read_start: int) -> int:
    """How far past ``start`` the end of a line may be before Redis refuses it.

    Redis reads 16 KB at a time and, after each read, refuses a line still without
    its terminator past 64 KB; a line may so run to the end of the read that crossed
    64 KB. ``read_start`` is where the newest read began in the buffer.
    """
    first = read_start - start      # the newest read's start, relative to the line
    chunks = max(1, (INLINE_MAX - first) // REDIS_READ + 1)
    return first + REDIS_READ * chunks


def _check_line(buf: bytes, start: int, end: int, read_start: int, message: str) -> None:
    """Raise Redis's "too big" error for a line (header or inline) that ran too long."""
    if end < 0:
        if len(buf) - start > INLINE_MAX:
            raise ProtocolError(message)
    elif end - start >= _line_limit(start, read_start):
        raise ProtocolError(message)


def scan_headers(buf: bytes, pos: int, left: int, read_start: int, max_bulk: int,
                  unauthenticated: bool) -> Tuple[int, int]:
    """Redis's checks on a multibulk request's headers (processMultibulkBuffer).

    Starts at ``pos`` with ``left`` arguments still to check (-1: the count line is
    next). Returns ``(pos, left)``: with ``left == 0`` the request is complete and ends
    at ``pos`` (a count of 0 or less ends after its line); otherwise the scan stopped
    at ``pos`` for lack of data. Raises ProtocolError with Redis's text. Nothing is
    allocated for what a header announces.
    """
    size = len(buf)
    if left < 0:
        newline = _header_end(buf, pos)
        _check_line(buf, pos, newline, read_start, errors.PROTO_BIG_MBULK)
        if newline < 0:
            return pos, -1
        count = _parse_length(buf[pos + 1:newline])
        if count is None or count > INT_MAX:
            raise ProtocolError(errors.PROTO_INVALID_MULTIBULK)
        if count > UNAUTH_MAX_ARGS and unauthenticated:
            raise ProtocolError(errors.PROTO_UNAUTH_MULTIBULK)
        pos = newline + 2
        if count <= 0:
            return pos, 0
        left = count
    usual = _USUAL_BULK.match
    last = None         # the previous argument's usual header
    while left > 0 and pos < size:
        # The usual header, "$" and up to ten digits without a leading zero, read
        # here (its '\r' is the first one, no NUL hides it, and so short a line is
        # never too long); anything else, and a header not all there yet (its '\r'
        # needs a byte after it), by the general steps below.
        found = usual(buf, pos)
        if found is not None and found.end() < size:
            length = int(found.group(1))
            if length <= max_bulk and (length <= UNAUTH_MAX_BULK or not unauthenticated):
                end = found.end() + 3 + length
                if end > size:
                    break
                left -= 1
                header = found.group()
                if header == last and left:     # a run of one length: the rest of it
                    skipped = _same_headers(buf, end, left, header, end - pos, size)
                    end += skipped * (end - pos)
                    left -= skipped
                last = header
                pos = end
                continue
        newline = _header_end(buf, pos)
        _check_line(buf, pos, newline, read_start, errors.PROTO_BIG_BULK)
        if newline < 0:
            break
        if buf[pos] != 36:  # '$'
            raise ProtocolError(errors.PROTO_EXPECTED_DOLLAR.format(chr(buf[pos])))
        length = _parse_length(buf[pos + 1:newline])
        if length is None or length < 0 or length > max_bulk:
            raise ProtocolError(errors.PROTO_INVALID_BULK)
        if length > UNAUTH_MAX_BULK and unauthenticated:
            raise ProtocolError(errors.PROTO_UNAUTH_BULK)
        end = newline + 2 + length + 2
        if end > size:
            break
        pos = end
        left -= 1
    return pos, left


def _same_headers(buf: bytes, pos: int, left: int, header: bytes, stride: int,
                  size: int) -> int:
    """How many of the next ``left`` arguments, from ``pos``, are all there and start
    with ``header`` (an accepted usual header, each argument ``stride`` bytes long):
    the arguments of one length that requests of thousands of keys are made of,
    checked by strided slices (one per byte of the header) 4, 8, 16... at a time
    instead of one by one. Stops short at the first group that differs anywhere."""
    done = 0
    group = 4
    width = len(header)
    while True:
        group = min(group, left - done, (size - pos) // stride)
        if group < 2:
            return done
        stop = pos + group * stride
        for j in range(width):
            if buf[pos + j:stop:stride] != header[j:j + 1] * group:
                return done
        done += group
        pos = stop
        group *= 2


def decode_request(buf: bytes, pos: int, end: int) -> List[bytes]:
    """The arguments of the complete request at ``pos`` that scan_headers accepted.

    Read as Redis reads it (a header ends at its '\\r', whatever byte follows), which
    hiredis would not always accept; '*0' and negative counts give no request.
    """
    find = buf.find
    newline = find(b"\r", pos)
    count = int(buf[pos + 1:newline])
    args: List[bytes] = []
    pos = newline + 2
    for _ in range(count):
        newline = find(b"\r", pos)
        start = newline + 2
        stop = start + int(buf[pos + 1:newline])
        args.append(buf[start:stop])
        pos = stop + 2
    return args


def inline_end(buf: bytes, pos: int, read_start: int) -> int:
    """Where the inline line at ``pos`` ends (its '\\n'), or -1 while incomplete.

    As Redis's strchr: a NUL byte hides what follows it. Raises ProtocolError when
    the line has run past what Redis accepts.
    """
    newline = buf.find(b"\n", pos)
    if newline >= 0 and buf.find(b"\0", pos, newline) >= 0:
        newline = -1
    _check_line(buf, pos, newline, read_start, errors.PROTO_BIG_INLINE)
    return newline


def inline_args(buf: bytes, pos: int, newline: int) -> List[bytes]:
    """The words of the inline line ``buf[pos:newline]`` (Redis's sdssplitargs)."""
    line = buf[pos:newline]
    if line.endswith(b"\r"):
        line = line[:-1]
    args = split_inline(line)
    if args is None:
        raise ProtocolError(errors.PROTO_UNBALANCED_QUOTES)
    return args


def _plain_number(digits: bytes) -> bool:
    """A count or length as Redis writes it: 1-10 ASCII digits, no leading zero."""
    return digits.isdigit() and len(digits) <= 10 and (digits[0] != 48 or len(digits) == 1)


def aggregate_too_big(buf: bytes, pos: int) -> bool:
    """Whether ``buf[pos:]`` announces an aggregate hiredis must not be given.

    hiredis.Reader creates the list for an aggregate ('*', and RESP3's '>', '~', '|'
    that it also understands) as soon as it reads the header, sized by the announced
    count. A count of 1000 or more passes only when the rest of the buffer could hold
    that many arguments (6 bytes each at least): the list then costs memory in
    proportion to bytes that arrived. The caller has seen a hint; this decides.
    """
    room = len(buf)
    for match in _BIG_AGGREGATE.finditer(buf, pos):
        digits = match.group(1)
        if len(digits) > 12 or int(digits) * 6 > room - match.end():
            return True
    return False


def _parse_length(text: bytes) -> Optional[int]:
    """A length as Redis's string2ll reads it (no sign but '-', no leading zeros)."""
    if not text or len(text) > 20:
        return None
    if text[0] == 48 and len(text) > 1:  # leading zero
        return None
    if text[0] == 45 and text[1:2] in (b"", b"0"):  # '-', '-0', '-01'
        return None
    try:
        if not (text.isdigit() or (text[0] == 45 and text[1:].isdigit())):
            return None
        return int(text)
    except ValueError:
        return None


def encoded_length(args: List[bytes]) -> int:
    """Bytes a request occupies on the wire (requests reach us canonically encoded)."""
    total = len(b"*%d\r\n" % len(args))
    for arg in args:
        n = len(arg)
        total += len(b"$%d\r\n" % n) + n + 2
    return total


# _FRAMING[n]: the bytes around an element of n bytes ("$<n>\r\n" and "\r\n"), or
# around n elements ("*<n>\r\n"), for the usual sizes.
_FRAMING = [len(b"$%d\r\n\r\n" % n) for n in range(10000)]
_framing = _FRAMING.__getitem__


def requests_length(requests: List[List[bytes]]) -> int:
    """Bytes ``requests`` occupy on the wire, as the sum of :func:`encoded_length`
    would say, counted in C loops (a large pipeline's read stops inside a request
    and the parser must find where: thousands of requests per read)."""
    sizes = list(map(len, chain.from_iterable(requests)))
    try:
        return sum(sizes) + sum(map(_framing, sizes)) \
            + sum(map(_framing, map(len, requests))) - 2 * len(requests)
    except IndexError:          # an element of 10,000 bytes or more
        return sum(map(encoded_length, requests))


_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b",
            ord("a"): b"\a"}
_SPACE = b" \t\n\r\v\f"        # isspace(): skipped between words, needed after a quote
_WORD_END = b" \t\n\r"          # what ends an unquoted word ('\v' and '\f' do not)
_HEX = b"0123456789abcdefABCDEF"


def c_strchr(data: bytes, char: bytes) -> int:
    """strchr() over ``data`` read as a C string: where ``char`` first occurs before
    any NUL, else -1 (a script's or library's shebang line ends where strchr says)."""
    end = data.find(char)
    if end > 0 and data.find(b"\0", 0, end) >= 0:
        return -1
    return end


def split_inline(line: bytes) -> Optional[List[bytes]]:
    """Split an inline command line like Redis's sdssplitargs (None: bad quotes).
    sdssplitargs reads a C string: a NUL ends the line (inside quotes too)."""
    nul = line.find(b"\0")
    if nul >= 0:
        line = line[:nul]
    if b'"' not in line and b"'" not in line:
        if b"\v" not in line and b"\f" not in line:
            return line.split()  # words split on the same whitespace as sdssplitargs
    args: List[bytes] = []
    i = 0
    n = len(line)
    while True:
        while i < n and line[i] in _SPACE:
            i += 1
        if i >= n:
            return args
        current = bytearray()
        in_double = in_single = False
        while True:
            if in_double:
                if i >= n:
                    return None
                c = line[i]
                if c == 92 and i + 3 < n and line[i + 1] == 120 \
                        and line[i + 2] in _HEX and line[i + 3] in _HEX:  # \xHH
                    current.append(int(line[i + 2:i + 4], 16))
                    i += 3
                elif c == 92 and i + 1 < n:
                    i += 1
                    current += _ESCAPES.get(line[i], bytes([line[i]]))
                elif c == 34:  # closing quote must be followed by a space or the end
                    if i + 1 < n and line[i + 1] not in _SPACE:
                        return None
                    in_double = False
                    i += 1
                    break
                else:
                    current.append(c)
            elif in_single:
                if i >= n:
                    return None
                c = line[i]
                if c == 92 and i + 1 < n and line[i + 1] == 39:
                    i += 1
                    current.append(39)
                elif c == 39:
                    if i + 1 < n and line[i + 1] not in _SPACE:
                        return None
                    in_single = False
                    i += 1
                    break
                else:
                    current.append(c)
            else:
                if i >= n:
                    break
                c = line[i]
                if c in _WORD_END:
                    break
                if c == 34:
                    in_double = True
                elif c == 39:
                    in_single = True
                else:
                    current.append(c)
            i += 1
        args.append(bytes(current))
