"""Pub/sub compared raw with a real redis-server, plus redis-py's PubSub and buffer limits."""
from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.harness import RawConnection, compare_scenario, connect


def _close(conn):
    """Leave every subscription synchronously (RESET), then close: the next test must
    not see this connection's channels and patterns while its close is in flight."""
    conn.call("RESET")
    conn.close()


def _read(conn, count):
    return [conn.read_raw() for _ in range(count)]


def _numsub_wait(admin, channel, count):
    """Wait until PUBSUB NUMSUB reports ``count`` subscribers (subscriptions are async)."""
    deadline = time.time() + 5
    want = b":%d\r\n" % count
    while time.time() < deadline:
        if admin.call("PUBSUB", "NUMSUB", channel).endswith(want):
            return
        time.sleep(0.005)
    raise AssertionError("subscription not registered")


def test_subscribe_publish_unsubscribe(differ):
    def scenario(port, protocol, admin):
        sub = connect(port, protocol)
        sub.send("SUBSCRIBE", "a", "b", "a")
        replies = _read(sub, 3)
        replies.append(admin.call("PUBLISH", "a", "hello"))
        replies.append(admin.call("PUBLISH", "nobody", "x"))
        replies.append(admin.call("PUBLISH", "b", ""))
        replies += _read(sub, 2)
        replies += [sub.call("UNSUBSCRIBE", "a"), admin.call("PUBLISH", "a", "gone")]
        sub.send("UNSUBSCRIBE", "b", "never")
        replies += _read(sub, 2)
        replies += [sub.call("UNSUBSCRIBE"), sub.call("PUNSUBSCRIBE"),
                    sub.call("SUNSUBSCRIBE"), sub.call("PING")]
        _close(sub)
        return replies
    compare_scenario(differ, scenario)


def test_patterns_and_channels_together(differ):
    def scenario(port, protocol, admin):
        sub = connect(port, protocol)
        sub.send("SUBSCRIBE", "news.tech")
        sub.send("PSUBSCRIBE", "news.*", "n[aeiou]ws.t*", "other")
        replies = _read(sub, 4)
        replies += [admin.call("PUBSUB", "NUMPAT"),
                    admin.call("PUBLISH", "news.tech", "m1")]
        # The channel's subscribers come first; patterns in Redis's (hash) order.
        replies += _read(sub, 1) + sorted(_read(sub, 2))
        replies += [admin.call("PUBLISH", "news.art", "m2")]
        replies += _read(sub, 1)
        replies += [sub.call("PUNSUBSCRIBE", "news.*"), sub.call("PUNSUBSCRIBE", "nothing"),
                    admin.call("PUBLISH", "news.art", "m3"), admin.call("PUBSUB", "NUMPAT")]
        _close(sub)
        return replies
    compare_scenario(differ, scenario)


def test_resp2_subscriber_command_limits(differ):
    def scenario(port, protocol, admin):
        sub = connect(port, protocol)
        replies = [sub.call("SUBSCRIBE", "c"), sub.call("GET", "k"), sub.call("PING"),
                   sub.call("PING", "hi"), sub.call("CLIENT", "ID")[:1],
                   sub.call("PUBSUB", "NUMSUB", "c"), sub.call("NOSUCH"),
                   sub.call("PUBLISH", "c", "self")]
        if protocol == 3:
            replies.append(sub.read_raw())  # the message to itself
        replies += [sub.call("UNSUBSCRIBE"), sub.call("PING"), sub.call("GET", "k")]
        _close(sub)
        return replies
    compare_scenario(differ, scenario)


def test_shard_channels(differ):
    def scenario(port, protocol, admin):
        sub = connect(port, protocol)
        sub.send("SSUBSCRIBE", "s1", "s2")
        replies = _read(sub, 2)
        replies += [sub.call("SUBSCRIBE", "c"),
                    admin.call("PUBSUB", "SHARDNUMSUB", "s1", "s2", "c"),
                    sorted(admin.call("PUBSUB", "SHARDCHANNELS").split(b"\r\n")),
                    admin.call("PUBSUB", "SHARDCHANNELS", "*2"),
                    admin.call("PUBLISH", "s1", "not shard"),
                    admin.call("SPUBLISH", "s1", "shard")]
        replies += _read(sub, 1)
        replies += [sub.call("SUNSUBSCRIBE", "s1"), sub.call("SUNSUBSCRIBE")]
        replies += [sub.call("UNSUBSCRIBE", "c")]
        _close(sub)
        return replies
    compare_scenario(differ, scenario)


def test_pubsub_introspection(differ):
    def scenario(port, protocol, admin):
        subs = [connect(port, protocol) for _ in range(2)]
        subs[0].call("SUBSCRIBE", "x")
        subs[1].send("SUBSCRIBE", "x", "y")
        _read(subs[1], 2)
        subs[1].call("PSUBSCRIBE", "p*")
        replies = [sorted(admin.call("PUBSUB", "CHANNELS").split(b"\r\n")),
                   admin.call("PUBSUB", "CHANNELS", "y*"),
                   admin.call("PUBSUB", "NUMSUB"),
                   admin.call("PUBSUB", "NUMSUB", "x", "y", "z", "x"),
                   admin.call("PUBSUB", "NUMPAT"),
                   admin.call("PUBLISH", "x", "m")]
        subs[0].close()
        _numsub_wait(admin, "x", 1)
        replies.append(admin.call("PUBSUB", "NUMSUB", "x"))
        replies.append(subs[1].read_raw())   # the message published to x above
        replies.append(subs[1].call("RESET"))
        replies += [admin.call("PUBSUB", "NUMSUB", "x", "y"), admin.call("PUBSUB", "NUMPAT"),
                    admin.call("PUBSUB", "CHANNELS")]
        _close(subs[1])
        return replies
    compare_scenario(differ, scenario)


def test_pubsub_errors(differ):
    differ.check("SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "PUBLISH a", "SPUBLISH a b c",
                 "PUBSUB", "PUBSUB NOSUCH", "PUBSUB NUMPAT x", "PUBSUB CHANNELS a b",
                 "PUBSUB SHARDCHANNELS a b", "PUBSUB HELP", "PUBSUB HELP x")


def test_commands_info(differ):
    differ.check("COMMAND INFO subscribe psubscribe ssubscribe unsubscribe punsubscribe "
                 "sunsubscribe publish spublish",
                 "COMMAND INFO pubsub|channels pubsub|numsub pubsub|numpat "
                 "pubsub|shardchannels pubsub|shardnumsub pubsub|help")


def test_subscriber_sees_its_place_in_client_list(mini):
    sub = connect(mini.port)
    sub.send("SUBSCRIBE", "a", "b")
    sub.read_raw()
    sub.read_raw()
    sub.call("PSUBSCRIBE", "p*")
    admin = RawConnection(mini.port)
    listing = admin.call("CLIENT", "LIST")
    line = [l for l in listing.split(b"\n") if b"sub=2" in l]
    assert line and b" psub=1 ssub=0 " in line[0] and b"flags=P " in line[0]
    _close(sub)
    admin.close()


def test_slow_subscriber_is_disconnected(mini):
    admin = RawConnection(mini.port)
    assert admin.call("CONFIG", "SET", "client-output-buffer-limit",
                      "pubsub 1mb 256kb 60") == b"+OK\r\n"
    try:
        slow = socket.create_connection(("127.0.0.1", mini.port))
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.sendall(b"SUBSCRIBE flood\r\n")
        time.sleep(0.1)
        payload = b"x" * 65536
        deadline = time.time() + 10
        delivered = 1
        while delivered and time.time() < deadline:
            reply = admin.call("PUBLISH", "flood", payload)
            delivered = int(reply[1:-2])
        assert delivered == 0, "the subscriber was never disconnected"
        assert admin.call("PUBSUB", "NUMSUB", "flood").endswith(b":0\r\n")
        slow.close()
    finally:
        admin.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 32mb 8mb 60")
        admin.close()


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_pubsub(mini, protocol):
    import redis
    client = redis.Redis(port=mini.port, protocol=protocol)
    pubsub = client.pubsub()
    events, jobs = "events%d" % protocol, "jobs%d" % protocol
    pubsub.subscribe(events)
    pubsub.psubscribe("ev*%d" % protocol)
    assert pubsub.get_message(timeout=1)["type"] == "subscribe"
    assert pubsub.get_message(timeout=1)["type"] == "psubscribe"
    assert client.publish(events, "one") == 2
    first = pubsub.get_message(timeout=1)
    second = pubsub.get_message(timeout=1)
    assert (first["type"], first["channel"], first["data"]) == ("message", events.encode(), b"one")
    assert (second["type"], second["pattern"], second["data"]) == ("pmessage", b"ev*%d" % protocol,
                                                             b"one")
    pubsub.punsubscribe("ev*%d" % protocol)
    pubsub.unsubscribe(events)
    assert pubsub.get_message(timeout=1)["type"] == "punsubscribe"
    assert pubsub.get_message(timeout=1)["type"] == "unsubscribe"

    got = []
    done = threading.Event()

    def handler(message):
        got.append(message["data"])
        if len(got) == 3:
            done.set()
    pubsub.subscribe(**{jobs: handler})
    thread = pubsub.run_in_thread(sleep_time=0.01, daemon=True)
    deadline = time.time() + 5
    while client.pubsub_numsub(jobs)[0][1] != 1 and time.time() < deadline:
        time.sleep(0.01)
    for i in range(3):
        client.publish(jobs, str(i))
    assert done.wait(5)
    assert got == [b"0", b"1", b"2"]
    thread.stop()
    thread.join(5)
    pubsub.close()
    client.close()
