"""Partial resynchronisation across a restart (PSYNC2 with RDB aux fields).

Every RDB this server saves records where it stands in its replication history
(rdbPopulateSaveInfo: repl-id, repl-offset, repl-stream-db), when it has one: a master
with a backlog, or a replica with a master (live or cached). After a restart from
that file (loadDataFromDisk):

- a master keeps the old history as its secondary ID, valid up to the saved offset,
  and starts a backlog there, so its replicas continue with +CONTINUE instead of a
  full resync; the DELs of the keys that expired while it was down go into that
  backlog first, so the replicas drop them too;
- a replica takes the saved ID and offset as its own and as a cached master, so its
  first PSYNC to its master asks to continue from there.

Without the fields (or from an AOF) a master has no backlog and the next replica gets
a full resync, as with Redis.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from ..state import ServerState


def save_info(state: "ServerState") -> Tuple[Tuple[bytes, bytes], ...]:
    """The AUX fields an RDB saved now carries (none outside a replication chain)."""
    repl = state.repl
    if repl.master_host is None:
        feed = state.repl_feed
        if feed is None:
            return ()
        stream_db = feed.selected_db or 0
    else:
        link = repl.link
        if link is None:
            return ()
        if link.client is not None:
            stream_db = link.client.db.id
        elif link.cached is not None:
            stream_db = link.cached.db
        else:
            return ()
    return ((b"repl-stream-db", b"%d" % stream_db), (b"repl-id", repl.replid.encode()),
            (b"repl-offset", b"%d" % repl.offset))


def before_load(state: "ServerState") -> None:
    """A master about to load its RDB at start-up: a backlog for the expired keys'
    DELs (Redis creates it before rdbLoad)."""
    if state.config["appendonly"] or _configured_replica(state):
        return
    state.replicas.ensure_backlog()
    state.repl.loaded_info = None
    state.repl.feed_expired_on_load = True


def after_load(state: "ServerState") -> None:
    """Take up the history the RDB recorded (see the module doc); a master that
    found none drops the backlog again."""
    repl = state.repl
    repl.feed_expired_on_load = False
    info, repl.loaded_info = repl.loaded_info, None
    if state.config["appendonly"]:
        return
    if _configured_replica(state):
        if info is not None:
            replid, offset, stream_db = info
            repl.replid = replid
            repl.offset = offset
            repl.restored = (replid, offset, stream_db)
            state.log("notice", "Before turning into a replica, using my own master "
                                "parameters to synthesize a cached master: I may be able "
                                "to synchronize with the new master with just a partial "
                                "transfer.")
        return
    if info is None:
        state.replicas.free_backlog()
        return
    replid, offset, _ = info
    repl.replid2 = replid
    repl.second_replid_offset = offset + 1
    feed = state.replicas.ensure_backlog()
    backlog = feed.backlog                      # (settles the expired keys' DELs)
    repl.offset = repl.offset + offset
    feed.settled = repl.offset
    backlog.first_offset = repl.offset - backlog.histlen + 1


def _configured_replica(state: "ServerState") -> bool:
    return state.repl.master_host is not None or bool(state.config.values["replicaof"])
