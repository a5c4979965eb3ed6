"""CLUSTER, READONLY, READWRITE and ASKING on a server without cluster support,
compared raw with a real redis-server (started, as ours, with cluster-enabled no)."""
from __future__ import annotations

from tests.harness import command_info_and_docs

# Every CLUSTER subcommand of Redis 7.0.15, with arguments its arity accepts.
_SUBCOMMANDS = [
    "ADDSLOTS 1", "ADDSLOTSRANGE 1 2", "BUMPEPOCH", "COUNT-FAILURE-REPORTS x",
    "COUNTKEYSINSLOT 1", "DELSLOTS 1", "DELSLOTSRANGE 1 2", "FAILOVER", "FAILOVER FORCE",
    "FLUSHSLOTS", "FORGET x", "GETKEYSINSLOT 1 1", "HELP", "INFO", "KEYSLOT a", "LINKS",
    "MEET 127.0.0.1 1", "MYID", "NODES", "REPLICAS x", "REPLICATE x", "RESET",
    "RESET HARD", "SAVECONFIG", "SET-CONFIG-EPOCH 1", "SETSLOT 1 STABLE", "SHARDS",
    "SLAVES x", "SLOTS",
]


def test_every_subcommand_is_refused(differ):
    differ.check(*("CLUSTER " + sub for sub in _SUBCOMMANDS))
    differ.check(*("cluster " + sub.lower() for sub in _SUBCOMMANDS))


def test_arity_and_unknown_subcommands(differ):
    # Arity is checked before the refusal, as for any command.
    differ.check("CLUSTER", "CLUSTER FOO", "CLUSTER KEYSLOT", "CLUSTER KEYSLOT a b",
                 "CLUSTER INFO x", "CLUSTER HELP x", "CLUSTER MEET a", "CLUSTER SETSLOT 1",
                 "CLUSTER GETKEYSINSLOT 1", "CLUSTER ADDSLOTSRANGE 1", "CLUSTER ADDSLOTS",
                 "READONLY", "READWRITE", "ASKING", "READONLY x", "READWRITE x", "ASKING x",
                 "MULTI", "CLUSTER INFO", "READONLY", "EXEC")


def test_from_scripts(differ):
    differ.check(
        # CLUSTER RESET is noscript: "not allowed"; the others run and are refused.
        "EVAL \"return redis.call('cluster', 'reset', 'hard')\" 0",
        "EVAL \"return redis.pcall('cluster', 'reset')\" 0",
        "EVAL \"return redis.call('cluster', 'info')\" 0",
        "EVAL \"return redis.pcall('cluster', 'keyslot', 'a')\" 0",
        "EVAL \"return redis.pcall('cluster', 'keyslot')\" 0",
        "EVAL \"return redis.pcall('cluster', 'nosuch')\" 0",
        "EVAL \"return redis.pcall('readonly')\" 0",
        "EVAL \"return redis.pcall('asking')\" 0",
        "EVAL \"return redis.acl_check_cmd('cluster', 'info')\" 0",
        "FUNCTION LOAD REPLACE \"#!lua name=clu\nredis.register_function('clu', "
        "function(k, a) return redis.call('cluster', 'reset', 'hard') end)\"",
        "FCALL clu 0", "FUNCTION DELETE clu")


def test_metadata(differ):
    names = ["cluster", "readonly", "readwrite", "asking"] + [
        "cluster|" + sub.split()[0].lower() for sub in _SUBCOMMANDS]
    for name in names:
        real, mini = (_metadata(port, name) for port in differ.ports.values())
        assert mini == real, name
    differ.check("COMMAND GETKEYS cluster info", "COMMAND GETKEYS readonly")


def test_acl_categories(differ):
    differ.check("ACL DRYRUN default CLUSTER INFO", "ACL SETUSER clu on nopass +@all "
                 "-@admin", "ACL DRYRUN clu CLUSTER INFO", "ACL DRYRUN clu CLUSTER RESET",
                 "ACL DRYRUN clu READONLY", "ACL SETUSER clu -@connection",
                 "ACL DRYRUN clu ASKING", "ACL DRYRUN clu CLUSTER KEYSLOT a", "ACL DELUSER clu")


def _metadata(port: int, name: str):
    """COMMAND INFO's name, arity, flags, keys and categories; COMMAND DOCS's summary, since and group."""
    info, fields = command_info_and_docs(port, name)
    return info[:7], fields
