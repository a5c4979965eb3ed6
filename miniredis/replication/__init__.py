"""Redis replication: miniredis as a master (SYNC/PSYNC, the backlog, WAIT) and as a
replica of a real redis-server or another miniredis (REPLICAOF).

- :mod:`.state`: the replication IDs and offsets both roles share (``state.repl``).
"""
