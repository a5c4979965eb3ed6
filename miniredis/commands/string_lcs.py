"""LCS: the longest common subsequence of two strings (a string command, apart from
``strings.py`` for its size)."""
from __future__ import annotations

from typing import Any, List

from .. import errors
from ..args import parse_int
from ..errors import CommandError
from ..protocol import Map
from . import command


def _lcs_rows(a: bytes, b: bytes) -> List[int]:
    """The LCS table of ``a`` and ``b``, one big integer per row (bit-parallel LCS).

    Row i describes LCS(a[:i], b[:j]) for every j: that function steps up by 0 or 1
    as j grows, and bit j-1 of the row is 0 exactly where it steps up. Each row comes
    from the previous one with a few whole-integer operations instead of len(b)
    Python steps, so Redis's quadratic table costs little here.
    """
    full = (1 << len(b)) - 1
    masks: dict = {}
    for position, char in enumerate(b):
        masks[char] = masks.get(char, 0) | (1 << position)
    row = full
    rows = [row]
    for char in a:
        matched = row & masks.get(char, 0)
        row = ((row + matched) | (row - matched)) & full
        rows.append(row)
    return rows


def _lcs_at(row: int, j: int) -> int:
    """LCS(a[:i], b[:j]) from row i of _lcs_rows."""
    return j - (row & ((1 << j) - 1)).bit_count()


@command("lcs", -3, "readonly", keys=(1, 2, 1), group="string", since="7.0.0",
         summary="Find longest common substring")
def lcs(client, args: List[bytes]):
    # Redis's order: key types first, then the options, then the table size limit.
    db = client.db
    values = []
    wrong_type = False
    for key in args[1:3]:
        value = db.get_read(key)
        if value is not None and value.__class__ is not bytes and \
                value.__class__ is not bytearray:
            wrong_type = True
        elif value:
            values.append(bytes(value))
        else:
            values.append(b"")
    if wrong_type:
        raise CommandError(errors.LCS_NOT_STRINGS)
    want_len = want_idx = with_match_len = False
    min_match = 0
    i = 3
    while i < len(args):
        option = args[i].lower()
        if option == b"idx":
            want_idx = True
        elif option == b"len":
            want_len = True
        elif option == b"withmatchlen":
            with_match_len = True
        elif option == b"minmatchlen" and i + 1 < len(args):
            min_match = max(parse_int(args[i + 1]), 0)
            i += 1
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    if want_len and want_idx:
        raise CommandError(errors.LCS_LEN_AND_IDX)
    a, b = values
    if (len(a) + 1) * (len(b) + 1) * 4 > client.state.config["proto-max-bulk-len"]:
        raise CommandError(errors.LCS_TOO_MUCH_MEMORY)
    rows = _lcs_rows(a, b)
    length = _lcs_at(rows[len(a)], len(b))
    if want_len:
        return length
    # Walk back from the end exactly as Redis does (on a tie, step back in b), so the
    # same common string and the same match ranges come out.
    common = bytearray()
    matches = []
    x, y = len(a), len(b)
    current = None   # [a_start, a_end, b_start, b_end] of the match being extended
    while x > 0 and y > 0:
        if a[x - 1] == b[y - 1]:
            common.append(a[x - 1])
            if current is not None and current[0] == x and current[2] == y:
                current[0] -= 1
                current[2] -= 1
            else:
                if current is not None:
                    matches.append(current)
                current = [x - 1, x - 1, y - 1, y - 1]
            x -= 1
            y -= 1
        else:
            if current is not None:
                matches.append(current)
                current = None
            # LCS(x, y-1) is LCS(x, y) less one where bit y-1 of row x is clear.
            left = _lcs_at(rows[x], y) - (0 if rows[x] >> (y - 1) & 1 else 1)
            if _lcs_at(rows[x - 1], y) > left:
                x -= 1
            else:
                y -= 1
    if current is not None:
        matches.append(current)
    if not want_idx:
        return bytes(reversed(common))
    shown = []
    for a_start, a_end, b_start, b_end in matches:
        match_len = a_end - a_start + 1
        if match_len < min_match:
            continue
        entry: List[Any] = [[a_start, a_end], [b_start, b_end]]
        if with_match_len:
            entry.append(match_len)
        shown.append(entry)
    return Map({b"matches": shown, b"len": length})
