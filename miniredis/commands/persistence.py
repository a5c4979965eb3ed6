"""Persistence commands: SAVE, BGSAVE, BGREWRITEAOF (the machinery is in
:mod:`miniredis.persistence`)."""
from __future__ import annotations

from typing import Any, List

from .. import errors
from ..errors import CommandError
from ..persistence import files, snapshots
from ..protocol import OK, Simple
from . import command


@command("bgrewriteaof", 1, "admin noscript no_async_loading", group="server",
         since="1.0.0", summary="Asynchronously rewrite the append-only file")
def bgrewriteaof(client: Any, args: List[bytes]) -> Any:
    state = client.state
    aof = files(state)
    if aof.rewrite is not None:
        raise CommandError(errors.REWRITE_RUNNING)
    saves = getattr(state, "snapshots", None)
    if state.propagation.depth or client.no_blocking or (saves is not None and saves.child is not None):
        # Inside EXEC the transaction's effects are not logged yet: after it (Redis
        # schedules the rewrite whenever it cannot start one at once). Asked for, it
        # is not held back by earlier failures.
        aof.rewrite_scheduled = True
        aof.rewrite_failures = 0
        return _status("Background append only file rewriting scheduled")
    if not aof.start_rewrite():             # (logged)
        raise CommandError(errors.REWRITE_CANT_START)
    return _status("Background append only file rewriting started")


def _status(text: str) -> Any:
    return Simple(text)


@command("save", 1, "admin noscript no_async_loading no_multi", group="server",
         since="1.0.0", summary="Synchronously save the dataset to disk")
def save(client: Any, args: List[bytes]) -> Any:
    saves = snapshots(client.state)
    if saves.child is not None:
        raise CommandError(errors.BGSAVE_RUNNING)
    try:
        saves.save(client.state)
    except OSError:     # logged as Redis's rdbSave does
        raise CommandError(errors.SAVE_FAILED) from None
    return OK


@command("bgsave", -1, "admin noscript no_async_loading", group="server", since="1.0.0",
         summary="Asynchronously save the dataset to disk")
def bgsave(client: Any, args: List[bytes]) -> Any:
    schedule = False
    if len(args) > 1:
        if len(args) == 2 and args[1].lower() == b"schedule":
            schedule = True
        else:
            raise CommandError(errors.SYNTAX)
    state = client.state
    saves = snapshots(state)
    aof = getattr(state, "aof_files", None)
    if saves.child is not None:
        raise CommandError(errors.BGSAVE_RUNNING)
    if aof is not None and aof.rewrite is not None:
        if not schedule:
            raise CommandError(errors.BGSAVE_REWRITE_RUNNING)
        saves.scheduled = True
        return _status("Background saving scheduled")
    if not saves.start_background(state):
        raise CommandError(errors.SAVE_FAILED)      # fork failed (logged)
    return _status("Background saving started")
