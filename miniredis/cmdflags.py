"""A request's flags as Redis's processCommand weighs them for its refusals: EXEC's
carry what its queue accumulated (``mstate.cmd_flags``, ``cmd_inv_flags``), and an
EVAL, EVALSHA or FCALL whose script or function declared flags is a write or not as it
said (getCommandFlags). The dispatcher's slow path (``Client._gate``) asks these.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, List, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from .commands import Command


def queued(client: Any, cmd: "Command") -> Iterator[Tuple["Command", List[bytes]]]:
    """The commands (subcommands resolved) an EXEC would run; none for any other
    command."""
    if cmd.name != "exec" or cmd.parent is not None or not client.multi:
        return
    for args in client.multi:
        found = client.state.names.lookup(args[0])
        if found is not None and found.subcommands and len(args) > 1:
            found = found.subcommands.get(args[1].lower(), found)
        if found is not None:
            yield found, args


def writes(client: Any, cmd: "Command") -> bool:
    """A write command, or an EXEC whose queue holds one (a script's declared flags
    included)."""
    if cmd.is_write:
        return True
    from .commands.scripting import declared_writes
    for found, args in queued(client, cmd):
        declared = declared_writes(client.state, found, args)
        if found.is_write if declared is None else declared:
            return True
    return False


def disk_denied(client: Any, cmd: "Command") -> bool:
    """Refused while the disk fails: write commands (see :func:`writes`) and PING."""
    return (cmd.name == "ping" and cmd.parent is None) or writes(client, cmd)


def denies(client: Any, cmd: "Command", flag: str) -> bool:
    """A command without ``flag`` ("stale", "loading"), or an EXEC whose queue holds
    one (Redis's cmd_inv_flags)."""
    if flag not in cmd.flags:
        return True
    return any(flag not in found.flags for found, _ in queued(client, cmd))


def carries(client: Any, cmd: "Command", flag: str) -> bool:
    """A command with ``flag``, or an EXEC whose queue holds one (Redis's
    accumulated cmd_flags)."""
    if flag in cmd.flags:
        return True
    return any(flag in found.flags for found, _ in queued(client, cmd))
