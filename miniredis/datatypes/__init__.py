"""Value classes for the Redis types Python has no container for (sorted sets, streams)."""
