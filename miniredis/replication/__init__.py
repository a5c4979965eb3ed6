"""Redis replication: miniredis as a master (SYNC/PSYNC, the backlog, WAIT) and as a
replica of a real redis-server or another miniredis (REPLICAOF).

- :mod:`.state`: the replication IDs and offsets both roles share (``state.repl``).
- :mod:`.replica`: the replica side, the link to a master (REPLICAOF);
  :mod:`.rdbsync` receives and loads a full resync's RDB, :mod:`.masterclient` is the
  client the master's commands run as.
"""
