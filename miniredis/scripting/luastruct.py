"""``struct``, Roberto Ierusalimschy's lstruct as Redis's Lua links it, for lupa.

Rebuilt in Python from lstruct's documented options and checked byte for byte against
redis-server 7.0 (see :mod:`.luapack` for how library functions raise Lua errors and
count the Lua stack). :func:`library` gives ``pack``, ``unpack`` and ``size``.
"""
from __future__ import annotations

import math
import struct as _struct
from typing import Any, Callable, Dict, List, Tuple

from .luanumbers import str2number, to_int64
from .luapack import (_INT_MAX, _MAXALIGN, _MAXINTSIZE, _U64, _Calls, _lua_number,
                      _signed64, _to_uint64)


class _Header:
    """lstruct's running options: byte order and maximum alignment."""

    __slots__ = ("little", "align")

    def __init__(self) -> None:
        self.little = True           # native order on x86-64
        self.align = 1


class _Format:
    """A format string read option by option, as lstruct reads it."""

    def __init__(self, calls: _Calls, fmt: bytes) -> None:
        self.calls = calls
        self.fmt = fmt.split(b"\0", 1)[0]   # a C string: it ends at the first NUL
        self.i = 0
        self.header = _Header()

    def options(self) -> Any:
        while self.i < len(self.fmt):
            opt = self.fmt[self.i]
            self.i += 1
            yield opt, self._size(opt)

    def _number(self, default: int) -> int:
        """getnum: digits after an option, with Redis's overflow check."""
        fmt = self.fmt
        if self.i >= len(fmt) or not 0x30 <= fmt[self.i] <= 0x39:
            return default
        value = 0
        while self.i < len(fmt) and 0x30 <= fmt[self.i] <= 0x39:
            digit = fmt[self.i] - 0x30
            if value > _INT_MAX // 10 or value * 10 > _INT_MAX - digit:
                raise self.calls.error(b"integral size overflow")
            value = value * 10 + digit
            self.i += 1
        return value

    def _size(self, opt: int) -> int:
        """optsize: the bytes an option takes (0 for controls and 's')."""
        char = chr(opt)
        if char in "bB":
            return 1
        if char in "hH":
            return 2
        if char in "lLTd":
            return 8
        if char == "f":
            return 4
        if char == "x":
            return 1
        if char == "c":
            return self._number(1)
        if char in "iI":
            size = self._number(4)
            if size > _MAXINTSIZE:
                raise self.calls.error(b"integral size %d is larger than limit of %d"
                                       % (size, _MAXINTSIZE))
            return size
        return 0

    def padding(self, length: int, opt: int, size: int) -> int:
        """gettoalign: zero bytes before an option, for the alignment in force."""
        if size == 0 or opt == 0x63:   # 'c' is never aligned
            return 0
        align = self.header.align if size > self.header.align else size
        return ((align - (length & (align - 1))) & (align - 1)) & _U64

    def control(self, opt: int) -> None:
        """controloptions: spaces, byte order, alignment; anything else is an error."""
        if opt == 0x20:
            return
        if opt == 0x3E:
            self.header.little = False
        elif opt == 0x3C:
            self.header.little = True
        elif opt == 0x21:
            align = self._number(_MAXALIGN)
            if align <= 0 or align & (align - 1):
                raise self.calls.error(b"alignment %d is not a power of 2" % align)
            self.header.align = align
        else:
            raise self.calls.argerror(1, b"invalid format option '%s'" % bytes([opt]))


_INTEGER_OPTIONS = frozenset(b"bBhHlLTiI")


def _struct_arg(args: Tuple[Any, ...], index: int) -> Tuple[Any, ...]:
    """b_pack pushes a nil after its arguments: the first missing one is 'nil'."""
    if index == len(args):
        return args + (None,)
    return args


def _struct_pack(calls: _Calls, args: Tuple[Any, ...]) -> bytes:
    fmt = _Format(calls, calls.check_string(args, 0))
    out = bytearray()
    arg = 1
    for opt, size in fmt.options():
        pad = fmt.padding(len(out), opt, size)
        out += bytes(pad)
        if opt in _INTEGER_OPTIONS:
            number = calls.check_number(_struct_arg(args, arg), arg)
            arg += 1
            value = to_int64(number) & _U64 if number < 0 else _to_uint64(number)
            raw = (value & _U64).to_bytes(8, "little")[:size].ljust(size, b"\0")
            out += raw if fmt.header.little else raw[::-1]
        elif opt == 0x78:            # 'x'
            out.append(0)
        elif opt == 0x66 or opt == 0x64:   # 'f', 'd'
            number = calls.check_number(_struct_arg(args, arg), arg)
            arg += 1
            order = "<" if fmt.header.little else ">"
            if opt == 0x66:
                try:
                    out += _struct.pack(order + "f", number)
                except OverflowError:    # (float)d of a huge d is an infinity
                    out += _struct.pack(order + "f", math.copysign(math.inf, number))
            else:
                out += _struct.pack(order + "d", number)
        elif opt == 0x63 or opt == 0x73:   # 'c', 's'
            text = calls.check_string(_struct_arg(args, arg), arg)
            arg += 1
            if size == 0:
                size = len(text)
            if len(text) < size:
                # lstruct names the argument after the string (arg was incremented)
                raise calls.argerror(arg + 1, b"string too short")
            out += text[:size]
            if opt == 0x73:
                out.append(0)
        else:
            fmt.control(opt)
    return bytes(out)


def _struct_unpack(calls: _Calls, args: Tuple[Any, ...]) -> Tuple[Any, ...]:
    fmt = _Format(calls, calls.check_string(args, 0))
    data = calls.check_string(args, 1)
    pos = calls.opt_integer(args, 2, 1) & _U64   # a size_t
    if pos == 0:
        raise calls.argerror(3, b"offset must be 1 or greater")
    pos -= 1
    size_of_data = len(data)
    used = max(len(args), 2)
    results: List[Any] = []
    for opt, size in fmt.options():
        pos = (pos + fmt.padding(pos, opt, size)) & _U64
        if not (size <= size_of_data and pos <= size_of_data - size):
            raise calls.argerror(2, b"data string too short")
        calls.check_stack(used + len(results), 2, b"too many results")
        if opt in _INTEGER_OPTIONS:
            chunk = data[pos:pos + size]
            if not fmt.header.little:
                chunk = chunk[::-1]
            value = int.from_bytes(chunk[:8], "little")   # only 64 bits survive
            if opt >= 0x61:                                 # lower case: signed
                mask = (_U64 << ((size * 8 - 1) & 63)) & _U64
                if value & mask:
                    value |= mask
                results.append(float(_signed64(value)))
            else:
                results.append(float(value))
        elif opt == 0x66 or opt == 0x64:
            order = "<" if fmt.header.little else ">"
            code = "f" if opt == 0x66 else "d"
            results.append(_struct.unpack(order + code, data[pos:pos + size])[0])
        elif opt == 0x63:
            if size == 0:
                previous = results[-1] if results else None
                if previous.__class__ is bytes:
                    previous = str2number(previous)
                if previous is None or previous.__class__ is bool:
                    raise calls.error(b"format 'c0' needs a previous size")
                size = _to_uint64(float(previous))
                results.pop()
                if not (size <= size_of_data and pos <= size_of_data - size):
                    raise calls.argerror(2, b"data string too short")
            results.append(data[pos:pos + size])
        elif opt == 0x73:
            end = data.find(b"\0", pos)
            if end < 0:
                raise calls.error(b"unfinished string in data")
            size = end - pos + 1
            results.append(data[pos:end])
        elif opt != 0x78:
            fmt.control(opt)
        pos = (pos + size) & _U64
    results.append(_lua_number(_signed64(pos + 1)))
    return tuple(results)


def _struct_size(calls: _Calls, args: Tuple[Any, ...]) -> int:
    fmt = _Format(calls, calls.check_string(args, 0))
    pos = 0
    for opt, size in fmt.options():
        pos += fmt.padding(pos, opt, size)
        if opt == 0x73:
            raise calls.argerror(1, b"option 's' has no fixed size")
        if opt == 0x63 and size == 0:
            raise calls.argerror(1, b"option 'c0' has no fixed size")
        if not chr(opt).isalnum() or opt > 0x7F:
            fmt.control(opt)
        pos += size
    return pos


def library(calls: _Calls) -> Dict[bytes, Callable[..., Any]]:
    return {b"pack": lambda *args: _struct_pack(calls, args),
            b"unpack": lambda *args: _struct_unpack(calls, args),
            b"size": lambda *args: _struct_size(calls, args)}


