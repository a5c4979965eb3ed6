"""Keep the script's frame when it calls a library function in tail position.

Redis's library functions (redis.call, next, pairs, xpcall, table.insert...) are C
functions. Lua 5.1 runs a C function called in tail position (``return f(...)``) as an
ordinary call, so the script's frame, and the line the error handler reports, stays.
Some of ours are Lua functions (the sandbox's replacements, and redis.call/pcall,
which must accept more arguments than lupa's C wrapper can take: see the prelude); a
tail call to a Lua function replaces the caller's frame, and the script's line would
be lost ("(tail call)").

:func:`keep_frames` rewrites a compiled chunk (``string.dump``'s output, Lua 5.1
bytecode of this build) so that a tail call to a library function (a value read from
the globals, or from a table read from them: ``return redis.call(...)``, ``return
next(t)``, ``return table.insert(t, x)``, also through a local or upvalue copy such as
``local call = redis.call``) becomes a plain call. Lua compiles every tail call as
``TAILCALL A B 0`` followed by ``RETURN A 0``; ``CALL A B 0`` followed by the same
``RETURN`` returns the same values, so only the opcode changes. Tail calls to the
script's own functions (closures, or functions kept in its own tables) stay tail
calls: their unbounded recursion and error levels (``error(msg, 2)`` from a function
called in tail position names no line) are Lua's, as in Redis.
Only bytecode this module's caller just produced from source is rewritten, never
bytecode from a script (scripts cannot load bytecode at all).
"""
from __future__ import annotations

import struct
from bisect import bisect_right
from typing import Dict, List, Optional, Set, Tuple

# Lua 5.1 opcodes (lopcodes.h).
_MOVE, _LOADK, _LOADBOOL, _LOADNIL, _GETUPVAL, _GETGLOBAL, _GETTABLE = range(7)
_NEWTABLE, _SELF = 10, 11
_CONCAT, _TESTSET, _CALL, _TAILCALL = 21, 27, 28, 29
_FORLOOP, _FORPREP, _TFORLOOP, _SETLIST, _CLOSURE, _VARARG = 31, 32, 33, 34, 36, 37
# Instructions whose A field is a register they write.
_WRITES_A = frozenset([_MOVE, _LOADK, _LOADBOOL, _LOADNIL, _GETUPVAL, _GETGLOBAL,
                       _GETTABLE, _NEWTABLE, _SELF, *range(12, 22), _TESTSET, _CALL,
                       _FORLOOP, _FORPREP, _TFORLOOP, _CLOSURE, _VARARG])

_HEADER = b"\x1bLuaQ\x00\x01\x04\x08\x04\x08\x00"   # 5.1, little endian, x86-64 sizes


class _Proto:
    """Where one function's code is in the dump, and what the analysis needs."""

    __slots__ = ("code_at", "code", "nups", "protos", "data", "parent", "closure_pc",
                 "writers")

    def __init__(self, code_at: int, code: Tuple[int, ...]) -> None:
        self.code_at = code_at
        self.code = code
        self.nups = 0
        self.protos: List["_Proto"] = []
        self.data: Set[int] = set()      # words that are operands, not instructions
        self.parent: Optional["_Proto"] = None
        self.closure_pc = 0              # the parent's CLOSURE making this function
        self.writers: Dict[int, List[int]] = {}   # register -> pcs writing it, in order

    def link(self) -> None:
        """Find the operand words and the writes of each register, and tell each
        nested function where it is made."""
        writers = self.writers
        for pc, ins in enumerate(self.code):
            if pc in self.data:
                continue
            op = ins & 0x3F
            if op in _WRITES_A:
                writers.setdefault((ins >> 6) & 0xFF, []).append(pc)
            if op == _CLOSURE:
                child = self.protos[ins >> 14]
                child.parent, child.closure_pc = self, pc
                self.data.update(range(pc + 1, pc + 1 + child.nups))
            elif op == _SETLIST and (ins >> 14) & 0x1FF == 0:
                self.data.add(pc + 1)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = len(_HEADER)

    def int(self) -> int:
        value = struct.unpack_from("<i", self.data, self.pos)[0]
        self.pos += 4
        return value

    def skip_string(self) -> None:
        size = struct.unpack_from("<Q", self.data, self.pos)[0]
        self.pos += 8 + size

    def function(self) -> _Proto:
        self.skip_string()                      # source
        self.pos += 8                           # linedefined, lastlinedefined
        nups = self.data[self.pos]
        self.pos += 4                           # nups, numparams, is_vararg, maxstack
        count = self.int()
        proto = _Proto(self.pos, struct.unpack_from("<%dI" % count, self.data, self.pos))
        proto.nups = nups
        self.pos += 4 * count
        for _ in range(self.int()):             # constants
            kind = self.data[self.pos]
            self.pos += 1
            if kind == 1:
                self.pos += 1
            elif kind == 3:
                self.pos += 8
            elif kind == 4:
                self.skip_string()
            elif kind != 0:
                raise ValueError("unknown constant type %d" % kind)
        proto.protos = [self.function() for _ in range(self.int())]
        lines = self.int()                      # line info
        self.pos += 4 * lines
        for _ in range(self.int()):             # local variables
            self.skip_string()
            self.pos += 8
        for _ in range(self.int()):             # upvalue names
            self.skip_string()
        return proto


def _from_library(proto: _Proto, pc: int, reg: int, depth: int = 0) -> bool:
    """Does register ``reg`` hold, at ``pc``, a value read from the globals or from a
    table read from them (``redis.call``, ``next``, ``table.insert``), directly or
    through copies between locals and upvalues (``local call = redis.call``)?

    The value is the one the nearest write before ``pc`` (in code order) left.
    Scripts cannot create globals, so these are the libraries; a script's own
    functions (closures, or read from its own tables) are not."""
    if depth > 16:
        return False
    pcs = proto.writers.get(reg)
    at = bisect_right(pcs, pc) if pcs else 0
    if at == 0:
        return False                  # a parameter
    back = pcs[at - 1]
    ins = proto.code[back]
    op = ins & 0x3F
    if op == _GETGLOBAL:
        return True
    if op == _MOVE or op == _GETTABLE or op == _SELF:   # a copy, or the table's origin
        return _from_library(proto, back - 1, (ins >> 23) & 0x1FF, depth + 1)
    if op == _GETUPVAL:
        return _upvalue_from_library(proto, ins >> 23, depth + 1)
    return False


def _upvalue_from_library(proto: _Proto, index: int, depth: int) -> bool:
    # The CLOSURE that made ``proto`` says where its upvalue ``index`` comes from: a
    # local of the enclosing function (MOVE) or one of its upvalues (GETUPVAL).
    parent = proto.parent
    if parent is None or index >= proto.nups:
        return False
    pseudo = parent.code[proto.closure_pc + 1 + index]
    if pseudo & 0x3F == _MOVE:
        return _from_library(parent, proto.closure_pc, pseudo >> 23, depth + 1)
    return _upvalue_from_library(parent, pseudo >> 23, depth + 1)


def _tail_calls_to_patch(proto: _Proto) -> List[int]:
    """Indexes of the TAILCALLs of ``proto`` whose callee is a library function."""
    return [pc for pc, ins in enumerate(proto.code)
            if ins & 0x3F == _TAILCALL and pc not in proto.data
            and _from_library(proto, pc - 1, (ins >> 6) & 0xFF)]


def keep_frames(dump: bytes) -> Optional[bytes]:
    """``dump`` with the tail calls to functions read from tables made plain calls,
    or None when there is none (or the dump is not of this Lua build)."""
    if not dump.startswith(_HEADER):
        return None
    try:
        return _patched(dump)
    except (struct.error, ValueError, IndexError, RecursionError):  # pragma: no cover
        return None          # not understood: the chunk runs as compiled


def _patched(dump: bytes) -> Optional[bytes]:
    out: Optional[bytearray] = None
    pending = [_Reader(dump).function()]
    every = []
    while pending:                   # every function, each linked before its children
        proto = pending.pop()
        proto.link()
        every.append(proto)
        pending.extend(proto.protos)
    for proto in every:
        for pc in _tail_calls_to_patch(proto):
            if out is None:
                out = bytearray(dump)
            at = proto.code_at + 4 * pc
            out[at] = (out[at] & 0xC0) | _CALL      # the opcode is the low 6 bits
    return None if out is None else bytes(out)
