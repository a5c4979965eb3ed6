"""Redis replication: miniredis as a master (SYNC/PSYNC, the backlog, WAIT) and as a
replica of a real redis-server or another miniredis (REPLICAOF).

- :mod:`.state`: the replication IDs and offsets both roles share (``state.repl``).
- :mod:`.replica`: the replica side, the link to a master (REPLICAOF);
  :mod:`.rdbsync` receives and loads a full resync's RDB, :mod:`.masterclient` is the
  client the master's commands run as.
- :mod:`.backlog`: the last ``repl-backlog-size`` bytes of the stream.
- :mod:`.feed`: the stream a master produces (``state.repl_feed``), ``feed_raw``.
- :mod:`.links`: a replica as the master sees it (REPLCONF, state, ACKs).
- :mod:`.fullsync`: the forked child producing an RDB for replicas (disk or diskless).
- :mod:`.master`: replicas, SYNC/PSYNC, WAIT, the cron (``state.replicas``).

The one propagation stream feeding both the AOF and the replicas is
:mod:`miniredis.propagate`.
"""
