"""The seeds' reliable queue: LPUSH producers, BRPOPLPUSH consumers, recovery.

A plain BRPOP queue loses the item a consumer was working on when it crashes. Here a
consumer takes each item with ``BRPOPLPUSH queue processing:<name>``, which moves it
atomically into a processing list of its own; when the work is done it records the
item and removes it (``LREM``) in one MULTI/EXEC, so an item is either still in the
processing list or recorded, never both or neither. Each consumer keeps a heartbeat
key (``alive:<name>``, expiring after ``HEARTBEAT_MS``); the recovery step finds the
processing lists of consumers whose heartbeat is gone and moves their items back to
the front of the queue, where a live consumer takes them.

Run ``python scripts/reliable_queue.py [redis://host:port/db] [--producers N]
[--consumers M] [--items K]``: without a URL it starts a miniredis of its own. N
producer and M consumer processes run at once; midway, one consumer is killed
(SIGKILL) while it holds an item; recovery requeues it; the script checks that every
item was processed exactly once and exits 0 if so. Its keys start with
``reliable:`` and are deleted first.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import sys
import time
from typing import List, Optional, Tuple

import redis

PREFIX = "reliable:"
QUEUE = PREFIX + "queue"
PROCESSED = PREFIX + "processed"      # hash: item -> times processed
PROCESSED_BY = PREFIX + "processed-by"  # hash: item -> consumer name
STOP = PREFIX + "stop"
HEARTBEAT_MS = 2000
# Each item "takes" this long: long enough next to the kill step's 50 ms look that a
# consumer is caught holding one before the queue runs dry.
WORK_SECONDS = 0.02


def processing_key(name: str) -> str:
    return PREFIX + "processing:" + name


def alive_key(name: str) -> str:
    return PREFIX + "alive:" + name


# -- the processes ----------------------------------------------------------------------
def produce(url: str, producer: int, items: int) -> None:
    client = redis.Redis.from_url(url)
    for i in range(items):
        client.lpush(QUEUE, "p%d-%d" % (producer, i))


def consume(url: str, name: str) -> None:
    """Take items until the stop key appears; beat the heart between items."""
    client = redis.Redis.from_url(url)
    processing = processing_key(name)
    while True:
        client.set(alive_key(name), os.getpid(), px=HEARTBEAT_MS)
        item = client.brpoplpush(QUEUE, processing, timeout=0.2)
        if item is None:
            if client.exists(STOP):
                return
            continue
        time.sleep(WORK_SECONDS)                     # the work
        with client.pipeline(transaction=True) as done:
            done.hincrby(PROCESSED, item, 1)
            done.hset(PROCESSED_BY, item, name)
            done.lrem(processing, 1, item)
            done.execute()


# -- recovery -----------------------------------------------------------------------------
def recover(client: redis.Redis) -> List[Tuple[str, List[bytes]]]:
    """Requeue what dead consumers (no heartbeat) left in their processing lists;
    returns (consumer, items) for each list emptied."""
    recovered = []
    for key in client.scan_iter(match=processing_key("*")):
        name = key.decode()[len(processing_key("")):]
        if client.exists(alive_key(name)):
            continue
        items = []
        # Newest first to the queue's consuming end: the oldest is taken next.
        while True:
            item = client.lmove(key, QUEUE, "LEFT", "RIGHT")
            if item is None:
                break
            items.append(item)
        if items:
            recovered.append((name, items))
    return recovered


def _kill_mid_item(client: redis.Redis, consumers: List[multiprocessing.Process],
                   names: List[str], deadline: float) -> Tuple[str, bytes]:
    """SIGKILL a consumer while an item is in its processing list.

    The consumer is first frozen (SIGSTOP) and its list checked after a moment (so that
    a transaction it had already sent has been served): still holding an item, it dies;
    otherwise it resumes and we try another."""
    while True:
        for process, name in zip(consumers, names):
            if not client.llen(processing_key(name)):
                continue
            os.kill(process.pid, signal.SIGSTOP)
            time.sleep(0.05)
            held = client.lrange(processing_key(name), 0, -1)
            if held:
                os.kill(process.pid, signal.SIGKILL)
                process.join()
                return name, held[0]
            os.kill(process.pid, signal.SIGCONT)
        if time.monotonic() > deadline:
            raise TimeoutError("no consumer was caught holding an item")
        time.sleep(0.001)


# -- the run -------------------------------------------------------------------------------
def run(url: str, producers: int = 3, consumers: int = 3, items: int = 200,
        timeout: float = 60.0) -> bool:
    """The whole scenario (see the module docstring); whether every item was processed
    exactly once with nothing left over."""
    client = redis.Redis.from_url(url)
    stale = list(client.scan_iter(match=PREFIX + "*"))
    if stale:
        client.delete(*stale)
    total = producers * items
    context = multiprocessing.get_context("spawn")
    names = ["consumer-%d" % i for i in range(consumers)]
    workers = [context.Process(target=consume, args=(url, name)) for name in names]
    feeders = [context.Process(target=produce, args=(url, i, items))
               for i in range(producers)]
    for process in workers + feeders:
        process.start()
    print("%d producers push %d items; %d consumers take them" % (
        producers, total, consumers))
    try:
        deadline = time.monotonic() + timeout
        while client.hlen(PROCESSED) < total // 3:
            if time.monotonic() > deadline:
                raise TimeoutError("consumers too slow")
            time.sleep(0.01)
        victim, item = _kill_mid_item(client, workers, names, deadline)
        print("killed %s while it held %s" % (victim, item.decode()))
        recovered: List[Tuple[str, List[bytes]]] = []
        while client.hlen(PROCESSED) < total:
            recovered += recover(client)
            if time.monotonic() > deadline:
                raise TimeoutError("items missing: %d of %d processed" % (
                    client.hlen(PROCESSED), total))
            time.sleep(0.05)
        for name, moved in recovered:
            print("recovery: %s has no heartbeat; requeued %s" % (
                name, ", ".join(i.decode() for i in moved)))
    finally:
        client.set(STOP, 1)
        for process in feeders + workers:
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join()
    return _report(client, producers, items, item)


def _report(client: redis.Redis, producers: int, items: int, killed_item: bytes) -> bool:
    counts = {k: int(v) for k, v in client.hgetall(PROCESSED).items()}
    expected = {b"p%d-%d" % (p, i) for p in range(producers) for i in range(items)}
    left = client.llen(QUEUE) + sum(
        client.llen(key) for key in client.scan_iter(match=processing_key("*")))
    twice = sorted(item for item, n in counts.items() if n != 1)
    ok = set(counts) == expected and not twice and left == 0
    if ok:
        print("every one of the %d items was processed exactly once (%s by %s, "
              "after recovery); queue and processing lists empty" % (
                  len(expected), killed_item.decode(),
                  client.hget(PROCESSED_BY, killed_item).decode()))
    else:
        print("FAILED: %d missing, %d processed more than once, %d left in lists" % (
            len(expected - set(counts)), len(twice), left))
    return ok


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="Redis URL (default: a miniredis of our own)")
    parser.add_argument("--producers", type=int, default=3)
    parser.add_argument("--consumers", type=int, default=3,
                        help="at least 2: one of them is killed")
    parser.add_argument("--items", type=int, default=200, help="items per producer")
    args = parser.parse_args(argv[1:])
    if args.consumers < 2 or args.producers < 1 or args.items < 1:
        parser.error("need --consumers >= 2, --producers >= 1, --items >= 1")
    server = None
    url: Optional[str] = args.url
    if url is None:
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        from miniredis import Server
        server = Server(port=0).start()
        url = server.url
    try:
        return 0 if run(url, args.producers, args.consumers, args.items) else 1
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
