"""Bitmap commands on strings: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP and BITFIELD.

SETBIT and BITFIELD write in place: the string becomes a ``bytearray`` (see
``strings._mutable_string``), so setting one bit does not copy the whole value.
"""
from __future__ import annotations

from typing import List, Optional

from .. import errors
from ..args import parse_int, to_int
from ..errors import CommandError
from ..notify import notify
from . import command
from .strings import _mutable_string, _string_for_write


# -- bits --------------------------------------------------------------------------------
def parse_bit_offset(client, text: bytes, hash_allowed: bool = False, bits: int = 1) -> int:
    """getBitOffsetFromArgument: a bit offset (``#N`` counts in units of ``bits`` where
    allowed, multiplied in 64-bit C arithmetic), below proto-max-bulk-len bytes."""
    multiplier = 1
    if hash_allowed and len(text) > 1 and text[:1] == b"#":
        text, multiplier = text[1:], bits
    value = to_int(text)
    if value is None:
        raise CommandError(errors.BIT_OFFSET)
    value = _wrap_int64(value * multiplier)
    if value < 0 or (value >> 3) >= client.state.config["proto-max-bulk-len"]:
        raise CommandError(errors.BIT_OFFSET)
    return value


def _wrap_int64(number: int) -> int:
    """``number`` as a C int64 after wrap-around."""
    number &= (1 << 64) - 1
    return number - (1 << 64) if number >> 63 else number


@command("setbit", 4, "write denyoom", keys=(1, 1, 1), group="bitmap", since="2.2.0",
         summary="Sets or clears the bit at offset in the string value stored at key")
def setbit(client, args: List[bytes]):
    key = args[1]
    offset = parse_bit_offset(client, args[2])
    if args[3] not in (b"0", b"1"):
        raise CommandError(errors.BIT_VALUE)
    db = client.db
    value = _string_for_write(db, key)
    index, mask = offset >> 3, 0x80 >> (offset & 7)
    old = 1 if value is not None and index < len(value) and value[index] & mask else 0
    on = args[3] == b"1"
    value = _mutable_string(db, key, value)
    if index < len(value) and old == on:
        # Redis does not signal a key whose bytes did not change, nor count it as a
        # change to save.
        return old
    if index >= len(value):
        value.extend(bytes(index + 1 - len(value)))
    if on:
        value[index] |= mask
    else:
        value[index] &= ~mask & 0xFF
    client.state.dirty += 1
    db.signal_modified(key)
    notify(db, "$", b"setbit", key)
    return old


@command("getbit", 3, "readonly fast", keys=(1, 1, 1), group="bitmap", since="2.2.0",
         summary="Returns the bit value at offset in the string value stored at key")
def getbit(client, args: List[bytes]):
    offset = parse_bit_offset(client, args[2])
    value = client.db.get_string(args[1])
    if value is None or (offset >> 3) >= len(value):
        return 0
    return 1 if value[offset >> 3] & (0x80 >> (offset & 7)) else 0


def _range_unit(word: bytes) -> bool:
    """The BYTE|BIT word of BITCOUNT/BITPOS: True for BIT, else a syntax error."""
    unit = word.lower()
    if unit == b"bit":
        return True
    if unit == b"byte":
        return False
    raise CommandError(errors.SYNTAX)


def _clamp_range(start: int, end: int, total: int) -> tuple:
    """Redis's index conversion: negatives count from the end, then both are clamped
    to the string (the range is empty when start > end afterwards)."""
    if start < 0:
        start += total
    if end < 0:
        end += total
    start, end = max(start, 0), max(end, 0)
    if end >= total:
        end = total - 1
    return start, end


def _bit_slice(value, first: int, last: int) -> tuple:
    """Bits ``first``..``last`` (inclusive) of ``value`` as (int, width)."""
    chunk = int.from_bytes(value[first >> 3:(last >> 3) + 1], "big")
    chunk >>= 7 - (last & 7)
    width = last - first + 1
    return chunk & ((1 << width) - 1), width


@command("bitcount", -2, "readonly", keys=(1, 1, 1), group="bitmap", since="2.6.0",
         summary="Count set bits in a string")
def bitcount(client, args: List[bytes]):
    # As in Redis 7.0 the key is looked up first: a missing key counts 0 whatever the
    # other arguments say, and a wrong type wins over argument errors.
    value = client.db.get_string(args[1])
    if value is None:
        return 0
    if len(args) == 2:
        return int.from_bytes(value, "big").bit_count()
    if len(args) not in (4, 5):
        raise CommandError(errors.SYNTAX)
    start, end = parse_int(args[2]), parse_int(args[3])
    in_bits = _range_unit(args[4]) if len(args) == 5 else False
    total = len(value) * 8 if in_bits else len(value)
    if start < 0 and end < 0 and start > end:
        return 0
    start, end = _clamp_range(start, end, total)
    if start > end:
        return 0
    if not in_bits:
        return int.from_bytes(value[start:end + 1], "big").bit_count()
    return _bit_slice(value, start, end)[0].bit_count()


def _first_bit(value, first: int, last: int, bit: bool) -> int:
    """Position of the first ``bit`` in bit positions first..last, or -1."""
    skip = b"\0" if bit else b"\xff"
    position = first
    while position <= last:
        if position & 7 == 0 and position + 7 <= last:
            # Whole bytes: skip those holding none of the wanted bit at C speed.
            whole_end = ((last + 1) >> 3)
            segment = bytes(value[position >> 3:whole_end])
            skipped = len(segment) - len(segment.lstrip(skip))
            position += skipped * 8
            if skipped < len(segment):
                byte = segment[skipped] if bit else segment[skipped] ^ 0xFF
                return position + 8 - byte.bit_length()
            continue
        if bool(value[position >> 3] & (0x80 >> (position & 7))) == bit:
            return position
        position += 1
    return -1


@command("bitpos", -3, "readonly", keys=(1, 1, 1), group="bitmap", since="2.8.7",
         summary="Find first bit set or clear in a string")
def bitpos(client, args: List[bytes]):
    # Redis 7.0's order: the bit, then the key (missing: answered at once), then the
    # range arguments (start, the BYTE|BIT word, end).
    bit_number = parse_int(args[2])
    if bit_number not in (0, 1):
        raise CommandError(errors.BITPOS_BIT)
    bit = bit_number == 1
    value = client.db.get_string(args[1])
    if value is None:
        return -1 if bit else 0
    in_bits = end_given = False
    size = len(value)
    if len(args) == 3:
        start, end = 0, size - 1
    elif len(args) <= 6:
        start = parse_int(args[3])
        if len(args) == 6:
            in_bits = _range_unit(args[5])
        if len(args) >= 5:
            end = parse_int(args[4])
            end_given = True
        else:
            end = size - 1
        start, end = _clamp_range(start, end, size * 8 if in_bits else size)
    else:
        raise CommandError(errors.SYNTAX)
    if start > end:
        return -1
    first, last = (start, end) if in_bits else (start * 8, end * 8 + 7)
    found = _first_bit(value, first, last, bit)
    if found >= 0 or bit or end_given:
        return found
    # Looking for a clear bit with no end given: the string counts as padded with
    # zeros, so the answer is the first bit after the range searched.
    return ((last >> 3) + 1) * 8


@command("bitop", -4, "write denyoom", keys=(2, -1, 1), group="bitmap", since="2.6.0",
         summary="Perform bitwise operations between strings")
def bitop(client, args: List[bytes]):
    operation = args[1].lower()
    if operation not in (b"and", b"or", b"xor", b"not"):
        raise CommandError(errors.SYNTAX)
    if operation == b"not" and len(args) != 4:
        raise CommandError(errors.BITOP_NOT)
    db = client.db
    sources = [db.get_string(key) for key in args[3:]]
    sources = [bytes(s) if s is not None else b"" for s in sources]
    size = max(len(s) for s in sources)
    destination = args[2]
    if size == 0:
        if db.delete_stored(destination):
            client.state.dirty += 1
            notify(db, "g", b"del", destination)
        return 0
    numbers = [int.from_bytes(s.ljust(size, b"\0"), "big") for s in sources]
    if operation == b"not":
        result = numbers[0] ^ ((1 << (8 * size)) - 1)
    else:
        result = numbers[0]
        for number in numbers[1:]:
            if operation == b"and":
                result &= number
            elif operation == b"or":
                result |= number
            else:
                result ^= number
    # Redis stores the result as a raw string object (OBJECT ENCODING says raw).
    db.set(destination, bytearray(result.to_bytes(size, "big")))
    client.state.dirty += 1
    notify(db, "$", b"set", destination)
    return size


# -- BITFIELD ----------------------------------------------------------------------------
def _bitfield_type(text: bytes) -> tuple:
    """``i8``/``u16``...: (signed, bits). Lower-case letter only, u64 and beyond
    refused, the C string ends at a NUL byte (all as getBitfieldTypeFromArgument)."""
    text = text.split(b"\0", 1)[0]
    kind = text[:1]
    bits = to_int(text[1:])
    if kind not in (b"i", b"u") or bits is None or bits < 1 or \
            (kind == b"i" and bits > 64) or (kind == b"u" and bits > 63):
        raise CommandError(errors.BITFIELD_TYPE)
    return kind == b"i", bits


def _read_bits(value, offset: int, bits: int) -> int:
    """The unsigned field at bit ``offset``; bytes past the string read as zeros."""
    first, last = offset >> 3, (offset + bits - 1) >> 3
    chunk = bytes(value[first:last + 1]).ljust(last - first + 1, b"\0")
    number = int.from_bytes(chunk, "big")
    number >>= (last - first + 1) * 8 - (offset & 7) - bits
    return number & ((1 << bits) - 1)


def _write_bits(value: bytearray, offset: int, bits: int, number: int) -> None:
    """Store ``number`` (two's complement, truncated) in the field at bit ``offset``."""
    first, last = offset >> 3, (offset + bits - 1) >> 3
    width = (last - first + 1) * 8
    shift = width - (offset & 7) - bits
    chunk = int.from_bytes(value[first:last + 1], "big")
    mask = ((1 << bits) - 1) << shift
    chunk = (chunk & ~mask) | ((number & ((1 << bits) - 1)) << shift)
    value[first:last + 1] = chunk.to_bytes(last - first + 1, "big")


def _signed(number: int, bits: int) -> int:
    return number - (1 << bits) if number >> (bits - 1) else number


def _bitfield_result(value: int, incr: int, signed: bool, bits: int,
                     policy: bytes) -> Optional[int]:
    """``value + incr`` brought into the field's range per WRAP/SAT/FAIL (None when
    FAIL refuses). As in Redis's unsigned check, SET of a negative number to an
    unsigned field reads it as a huge uint64, so it overflows upwards (SAT: max)."""
    if signed:
        low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    else:
        low, high = 0, (1 << bits) - 1
        if value < 0:
            value += 1 << 64
    total = value + incr
    if low <= total <= high:
        return total
    if policy == b"fail":
        return None
    if policy == b"sat":
        return high if total > high else low
    wrapped = total & ((1 << bits) - 1)
    return _signed(wrapped, bits) if signed else wrapped


def _bitfield(client, args: List[bytes], read_only: bool):
    operations = []
    policy = b"wrap"
    highest_bit = -1     # the farthest bit a SET/INCRBY reaches: the string grows to it
    i = 2
    while i < len(args):
        word = args[i].lower()
        if word == b"get" and i + 2 < len(args):
            signed, bits = _bitfield_type(args[i + 1])
            operations.append((b"get", signed, bits,
                               parse_bit_offset(client, args[i + 2], True, bits), 0, policy))
            i += 3
        elif word in (b"set", b"incrby") and i + 3 < len(args):
            signed, bits = _bitfield_type(args[i + 1])
            offset = parse_bit_offset(client, args[i + 2], True, bits)
            highest_bit = max(highest_bit, offset + bits - 1)
            number = parse_int(args[i + 3])
            operations.append((word, signed, bits, offset, number, policy))
            i += 4
        elif word == b"overflow" and i + 1 < len(args):
            policy = args[i + 1].lower()
            if policy not in (b"wrap", b"sat", b"fail"):
                raise CommandError(errors.BITFIELD_OVERFLOW)
            i += 2
        else:
            raise CommandError(errors.SYNTAX)
    db = client.db
    key = args[1]
    writes = highest_bit >= 0
    if writes and read_only:
        raise CommandError(errors.BITFIELD_RO)
    value = _string_for_write(db, key) if writes else db.get_string(key)
    dirty = False
    if writes:
        # Redis makes room for every write up front (even one FAIL will refuse).
        dirty = value is None
        value = _mutable_string(db, key, value)
        size = (highest_bit >> 3) + 1
        if len(value) < size:
            value.extend(bytes(size - len(value)))
            dirty = True
    elif value is None:
        value = b""
    results: List[Optional[int]] = []
    changes = 0
    for kind, signed, bits, offset, number, how in operations:
        old = _read_bits(value, offset, bits)
        if signed:
            old = _signed(old, bits)
        if kind == b"get":
            results.append(old)
            continue
        if kind == b"set":
            new = _bitfield_result(number, 0, signed, bits, how)
            reply = old
        else:
            new = reply = _bitfield_result(old, number, signed, bits, how)
        if new is None:
            results.append(None)
            continue
        _write_bits(value, offset, bits, new)
        results.append(reply)
        if dirty or new != old:
            changes += 1
    if changes:
        # Redis counts one change per operation that changed bits.
        client.state.dirty += changes
        db.signal_modified(key)
        notify(db, "$", b"setbit", key)
    return results


@command("bitfield", -2, "write denyoom", keys=(1, 1, 1), group="bitmap", since="3.2.0",
         summary="Perform arbitrary bitfield integer operations on strings")
def bitfield(client, args: List[bytes]):
    return _bitfield(client, args, read_only=False)


@command("bitfield_ro", -2, "readonly fast", keys=(1, 1, 1), group="bitmap",
         since="6.0.0", summary="Perform arbitrary bitfield integer operations on strings. "
                 "Read-only variant of BITFIELD")
def bitfield_ro(client, args: List[bytes]):
    return _bitfield(client, args, read_only=True)
