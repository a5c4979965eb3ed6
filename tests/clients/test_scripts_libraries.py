"""The Lua scripts task-queue libraries register, run on miniredis and on redis-server.

Each test drives a library code path that runs its scripts (huey's schedule pop and
semaphore, rq's unique enqueue/schedule, scheduler lock, ``Queue.empty`` and rate
limiting, kombu's binding-table refresh and sweep plus its WATCH/MULTI restore of
unacknowledged messages) once against a real redis-server and once against miniredis,
and requires the same observations from both: what the library returned and the state
it left in the keyspace. Classic rate limiters (token bucket, sliding-window log,
fixed window) run through redis-py's ``register_script`` and are compared reply by
reply, as parsed values under RESP2 and RESP3 and as raw bytes.
"""
from __future__ import annotations

import datetime
from typing import Any, Callable, List, Tuple

import pytest
import redis

DB = 9


def _client(port: int, protocol: int = 2) -> redis.Redis:
    return redis.Redis(port=port, db=DB, protocol=protocol)


def snapshot(conn: redis.Redis, scores: bool = True,
             lists: bool = True) -> List[Tuple[Any, ...]]:
    """Every key with its type, content and whether it has a TTL: what a script left
    behind. ``scores=False`` leaves out sorted-set scores (when they are timestamps),
    ``lists=False`` shows lists by length only (when they hold random message IDs)."""
    out = []
    for key in sorted(conn.keys("*")):
        kind = conn.type(key).decode()
        if kind == "string":
            value: Any = conn.get(key)
        elif kind == "list":
            value = conn.lrange(key, 0, -1) if lists else conn.llen(key)
        elif kind == "set":
            value = sorted(conn.smembers(key))
        elif kind == "hash":
            value = sorted(conn.hkeys(key))
        elif kind == "zset":
            value = conn.zrange(key, 0, -1, withscores=scores)
        else:
            value = None
        out.append((key, kind, value, conn.pttl(key) > 0))
    return out


def _burst_worker(*args: Any, **kwargs: Any) -> Any:
    """An in-process rq ``SimpleWorker`` whose command-channel thread polls every 0.1 s.

    rq runs that pub/sub thread with ``sleep_time=60`` and, at the end of a burst,
    unsubscribes and then stops it; redis-py's ``PubSubWorkerThread.stop`` joins the
    thread, which may already be waiting in ``get_message`` for a subscription that
    will not come: the burst then ends 60 s late (seen on a loaded machine, whatever
    the server). The same commands are sent; only the client's wait is shorter.
    """
    from rq import SimpleWorker

    class _Worker(SimpleWorker):
        def subscribe(self) -> None:
            self.pubsub = self.connection.pubsub()
            self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
            self.pubsub_thread = self.pubsub.run_in_thread(
                sleep_time=0.1, daemon=True, exception_handler=self._pubsub_exception_handler)

    return _Worker(*args, **kwargs)


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def protocol(request) -> int:
    """The libraries run with redis-py speaking RESP2 (their default) and RESP3."""
    return request.param


def on_both(mini: Any, real_redis: Any, scenario: Callable[[redis.Redis], Any],
            protocol: int = 2) -> Any:
    """Run ``scenario(client)`` on redis-server and on miniredis (database 9, emptied
    first, scripts flushed) and assert equal results; returns Redis's."""
    results = {}
    for name, port in (("redis", real_redis.port), ("miniredis", mini.port)):
        conn = _client(port, protocol)
        conn.flushdb()
        conn.script_flush()
        try:
            results[name] = scenario(conn)
        except Exception as exc:   # the same failure on both servers is the same result
            results[name] = ("raised", type(exc).__name__, str(exc))
        finally:
            conn.flushdb()
            conn.close()
    assert results["miniredis"] == results["redis"]
    return results["redis"]


# -- huey ---------------------------------------------------------------------------
def test_huey_schedule_pop_script(mini, real_redis, protocol):
    from huey.storage import RedisStorage

    def scenario(conn: redis.Redis) -> Any:
        storage = RedisStorage("sched", connection_pool=conn.connection_pool)
        base = datetime.datetime(2030, 1, 1, 12, 0, 0)
        for i in range(6):
            storage.add_to_schedule(b"task-%d" % i, base + datetime.timedelta(seconds=i))
        seen = [storage.read_schedule(base - datetime.timedelta(seconds=1)),
                snapshot(conn)]
        seen.append(storage.read_schedule(base + datetime.timedelta(seconds=2.5)))
        seen.append(storage.schedule_size())
        seen.append(storage.read_schedule(base + datetime.timedelta(days=1)))
        seen.append(storage.read_schedule(base + datetime.timedelta(days=2)))
        seen.append(snapshot(conn))
        return seen

    seen = on_both(mini, real_redis, scenario, protocol)
    assert seen[0] == [] and seen[2] == [b"task-0", b"task-1", b"task-2"]
    assert seen[3] == 3 and seen[4] == [b"task-3", b"task-4", b"task-5"]
    assert seen[5] == [] and seen[6] == []


def test_huey_semaphore_scripts(mini, real_redis, protocol):
    from huey import RedisHuey
    from huey.contrib.helpers import RedisSemaphore

    def scenario(conn: redis.Redis) -> Any:
        huey = RedisHuey("sem", connection_pool=conn.connection_pool)
        sem = RedisSemaphore(huey, "slots", value=2, timeout=60)
        seen: List[Any] = [sem.acquire("a"), sem.acquire("b"), sem.acquire("c"),
                           sem.acquire("a"), sem.renew("a"), sem.renew("zz")]
        seen.append(conn.zrange("sem.lock.slots", 0, -1))
        seen.append(sem.release("a"))
        seen += [sem.acquire("c"), sem.acquire("d")]
        # Holders older than the timeout are dropped by the next acquire.
        conn.zadd("sem.lock.slots", {"b": 1})
        seen += [sem.acquire("d"), snapshot(conn, scores=False)]
        return seen

    seen = on_both(mini, real_redis, scenario, protocol)
    assert seen[:6] == ["a", "b", None, "a", True, False]


# -- rq -----------------------------------------------------------------------------
def test_rq_unique_enqueue_and_schedule_scripts(mini, real_redis, protocol):
    from rq import Queue
    from rq.exceptions import DuplicateJobError

    from tests.clients.tasks_rq import add

    def scenario(conn: redis.Redis) -> Any:
        queue = Queue("uniq", connection=conn)
        seen: List[Any] = []
        queue.enqueue(add, 1, 2, job_id="job-1", unique=True)
        queue.enqueue(add, 1, 2, job_id="job-2", unique=True, at_front=True, ttl=100)
        for job_id in ("job-1", "job-2"):
            try:
                queue.enqueue(add, 3, 4, job_id=job_id, unique=True)
                seen.append("enqueued twice")
            except DuplicateJobError:
                seen.append("duplicate")
        queue.enqueue_in(datetime.timedelta(seconds=60), add, 5, 6, job_id="job-3",
                         unique=True)
        try:
            queue.enqueue_in(datetime.timedelta(seconds=60), add, 5, 6, job_id="job-3",
                             unique=True)
        except DuplicateJobError:
            seen.append("duplicate")
        seen.append(queue.job_ids)
        seen.append(snapshot(conn, scores=False))
        seen.append(queue.empty())        # Queue.empty's script: jobs and queue gone
        seen.append(snapshot(conn, scores=False))
        return seen

    seen = on_both(mini, real_redis, scenario, protocol)
    assert seen[:3] == ["duplicate"] * 3 and seen[3] == ["job-2", "job-1"]
    assert seen[5] == 2


def test_rq_scheduler_lock_scripts(mini, real_redis, protocol):
    from rq import Queue
    from rq.scheduler import RQScheduler

    def scenario(conn: redis.Redis) -> Any:
        queues = [Queue("one", connection=conn), Queue("two", connection=conn)]
        first = RQScheduler(queues, connection=conn, name="first")
        second = RQScheduler(queues, connection=conn, name="second")
        seen: List[Any] = [sorted(first.acquire_locks()), sorted(second.acquire_locks())]
        first.heartbeat()
        seen.append(sorted(first.acquired_locks))
        seen.append([conn.get("rq:scheduler-lock:%s" % n) for n in ("one", "two")])
        seen.append([0 < conn.ttl("rq:scheduler-lock:%s" % n) <= 61 for n in ("one", "two")])
        # Another scheduler took a lock over: the heartbeat notices and lets it go.
        conn.set("rq:scheduler-lock:two", "second")
        first.heartbeat()
        seen.append(sorted(first.acquired_locks))
        first.release_locks()
        seen.append([conn.get("rq:scheduler-lock:%s" % n) for n in ("one", "two")])
        return seen

    seen = on_both(mini, real_redis, scenario, protocol)
    assert seen[0] == ["one", "two"] and seen[1] == []
    assert seen[3] == [b"first", b"first"] and seen[5] == ["one"]
    assert seen[6] == [None, b"second"]


def test_rq_rate_limit_scripts(mini, real_redis, protocol):
    from rq import Queue
    from rq.rate_limit import RateLimit

    from tests.clients.tasks_rq import add

    def scenario(conn: redis.Redis) -> Any:
        queue = Queue("limited", connection=conn)
        limit = RateLimit(key="api", concurrency=2)
        jobs = [queue.enqueue(add, i, i, job_id="rl-%d" % i, rate_limit=limit)
                for i in range(5)]
        seen: List[Any] = [[job.get_status().value for job in jobs], queue.job_ids,
                           snapshot(conn, scores=False)]
        # An in-process worker (no fork): each finished job lets the next one in.
        _burst_worker([queue], connection=conn).work(burst=True)
        seen.append([job.get_status(refresh=True).value for job in jobs])
        seen.append([job.return_value() for job in jobs])
        seen.append(sorted(k for k in conn.keys("rq:rate_limit*")))
        return seen

    seen = on_both(mini, real_redis, scenario, protocol)
    assert seen[0][:2] == ["queued", "queued"] and seen[1] == ["rl-0", "rl-1"]
    assert seen[3] == ["finished"] * 5 and seen[4] == [0, 2, 4, 6, 8]


# -- kombu --------------------------------------------------------------------------
def test_kombu_binding_scripts_and_transactional_restore(mini, real_redis, protocol):
    from kombu import Connection, Exchange, Producer, Queue

    def scenario(conn: redis.Redis) -> Any:
        port = conn.connection_pool.connection_kwargs["port"]
        url = "redis://127.0.0.1:%d/%d" % (port, DB)
        seen: List[Any] = []
        with Connection(url, transport_options={"visibility_timeout": 0}) as connection:
            channel = connection.channel()
            exchange = Exchange("ex", type="direct")
            expiring = Queue("temp", exchange, routing_key="t", expires=30)
            permanent = Queue("perm", exchange, routing_key="p")
            expiring(channel).declare()      # binding through REFRESH_BINDING
            permanent(channel).declare()
            seen.append(snapshot(conn, scores=False, lists=False))
            producer = Producer(channel, exchange=exchange)
            producer.publish({"n": 1}, routing_key="t")
            producer.publish({"n": 2}, routing_key="p")
            message = channel.basic_get("perm", no_ack=False)
            seen.append(message.payload)
            seen.append([conn.llen("perm"), conn.hlen("unacked"), conn.zcard("unacked_index")])
            # Visibility timeout 0: the unacknowledged message goes back (WATCH + MULTI).
            channel.qos.restore_visible(num=10, interval=1)
            seen.append([conn.llen("perm"), conn.hlen("unacked"), conn.zcard("unacked_index")])
            again = channel.basic_get("perm", no_ack=False)
            seen.append(again.payload)
            again.ack()
            seen.append([conn.llen("perm"), conn.hlen("unacked"), conn.zcard("unacked_index")])
            # A binding table past its deadline: swept unless a permanent binding keeps it.
            conn.zadd("_kombu.binding_deadlines", {"ex": 0, "gone": 0})
            conn.sadd("_kombu.binding.gone", "x\x06\x16\x06\x16q")
            seen.append(channel.sweep_bindings())
            seen.append(snapshot(conn, scores=False, lists=False))
            channel.close()
        return seen

    seen = on_both(mini, real_redis, scenario, protocol)
    assert seen[1] == {"n": 2} and seen[2] == [0, 1, 1] and seen[3] == [1, 0, 0]
    assert seen[5] == [0, 0, 0] and seen[6] == 2


# -- rate limiters through register_script --------------------------------------------
TOKEN_BUCKET = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])          -- tokens per second
local now = tonumber(ARGV[3])           -- milliseconds
local requested = tonumber(ARGV[4])
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = tonumber(bucket[1]), tonumber(bucket[2])
if tokens == nil then tokens, ts = capacity, now end
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate / 1000)
local allowed = tokens >= requested
if allowed then tokens = tokens - requested end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000))
return {allowed, tokens, tostring(tokens), redis.call('HGET', KEYS[1], 'tokens'),
        redis.call('PTTL', KEYS[1]) > 1000}
"""

SLIDING_WINDOW = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
    redis.call('ZADD', KEYS[1], now, ARGV[4])
    redis.call('PEXPIRE', KEYS[1], window)
    return {1, count + 1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, count, tonumber(oldest[2]) + window - now, oldest}
"""

FIXED_WINDOW = """
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX')
if count > tonumber(ARGV[3]) then
    return redis.error_reply('RATELIMITED retry in ' .. redis.call('TTL', KEYS[1]) .. 's')
end
return {count, redis.status_reply('ALLOWED')}
"""

TOKEN_CALLS = [(key, 5, rate, now, n) for key, rate in (("bucket", 2.5), ("odd", 0.7))
               for now, n in [(1000, 1), (1000, 3), (1100, 2), (1150, 1), (1700, 1),
                              (2000, 3), (2001, 0.5), (9000, 5), (9000, 1),
                              (9000.5, 0.25), (9333, 0.1), (1e15, 1e-3)]]
SLIDING_CALLS = [("window", now, 1000, 3, "req-%d" % i) for i, now in
                 enumerate([0, 10, 20, 30, 500, 1005, 1011, 1500, 2600, 2600.5])]
FIXED_CALLS = [("fixed", 60, n, 5) for n in (1, 2, 2, 1, 1)]


def _limiter_replies(port: int, protocol: int) -> List[Any]:
    conn = _client(port, protocol)
    conn.flushdb()
    conn.script_flush()
    replies: List[Any] = []
    try:
        bucket = conn.register_script(TOKEN_BUCKET)
        sliding = conn.register_script(SLIDING_WINDOW)
        fixed = conn.register_script(FIXED_WINDOW)
        for key, *args in TOKEN_CALLS:
            replies.append(bucket(keys=[key], args=args))
        for key, *args in SLIDING_CALLS:
            replies.append(sliding(keys=[key], args=args))
        for key, *args in FIXED_CALLS:
            try:
                replies.append(fixed(keys=[key], args=args))
            except redis.ResponseError as exc:
                replies.append(("error", str(exc)))
        replies.append(sorted(conn.keys("*")))
        replies.append(conn.hgetall("bucket"))
        replies.append(conn.hgetall("odd"))
        replies.append(conn.zrange("window", 0, -1, withscores=True))
        # A script registered in a pipeline (EVALSHA queued, loaded on NOSCRIPT).
        conn.script_flush()
        with conn.pipeline() as pipe:
            bucket(keys=["piped"], args=[3, 1, 0, 1], client=pipe)
            sliding(keys=["piped-w"], args=[0, 100, 1, "a"], client=pipe)
            replies.append(pipe.execute())
    finally:
        conn.flushdb()
        conn.close()
    return replies


@pytest.mark.parametrize("protocol", [2, 3])
def test_rate_limiter_scripts_same_replies(mini, real_redis, protocol):
    expected = _limiter_replies(real_redis.port, protocol)
    actual = _limiter_replies(mini.port, protocol)
    for i, (want, got) in enumerate(zip(expected, actual)):
        assert got == want, "call #%d: redis %r, miniredis %r" % (i, want, got)
    assert len(actual) == len(expected)
    # The scripts did limit: the bucket refused, the window and the counter too.
    assert [reply[0] for reply in expected[:24]].count(None) >= 6
    assert ("error", "RATELIMITED retry in 60s") in expected


def test_rate_limiter_scripts_raw_replies(differ):
    """The same scripts' raw replies (RESP2 and RESP3), EVALSHA after SCRIPT LOAD."""
    commands: List[Any] = [["SCRIPT", "LOAD", TOKEN_BUCKET], ["SCRIPT", "LOAD", SLIDING_WINDOW],
                           ["SCRIPT", "LOAD", FIXED_WINDOW]]
    import hashlib
    shas = [hashlib.sha1(s.encode()).hexdigest() for s in
            (TOKEN_BUCKET, SLIDING_WINDOW, FIXED_WINDOW)]
    for calls, sha in ((TOKEN_CALLS, shas[0]), (SLIDING_CALLS, shas[1]),
                       (FIXED_CALLS, shas[2])):
        for key, *args in calls:
            commands.append(["EVALSHA", sha, 1, key, *map(str, args)])
    commands += ["HGETALL bucket", "HGETALL odd", "ZRANGE window 0 -1 WITHSCORES",
                 "GET fixed"]
    differ.check(*commands)


# -- whole library flows, every reply compared ------------------------------------------
@pytest.fixture
def tee(mini, real_redis):
    """A :class:`TeeProxy`: the library talks to redis-server through it, and every
    request also runs on miniredis with the raw replies compared."""
    from tests.clients.teeproxy import TeeProxy

    for port in (real_redis.port, mini.port):
        _client(port).flushdb()
    proxy = TeeProxy(real_redis.port, mini.port)
    yield proxy
    proxy.close()
    for port in (real_redis.port, mini.port):
        _client(port).flushdb()


def test_rq_flow_through_tee_proxy(tee):
    from rq import Queue, Retry
    from rq.job import Job
    from rq.registry import FailedJobRegistry

    from tests.clients.tasks_rq import add, boom, flaky

    conn = _client(tee.port)
    queue = Queue("tee", connection=conn)
    queue.enqueue(add, 1, 2, job_id="a")
    queue.enqueue(boom, job_id="b", retry=Retry(max=1))
    queue.enqueue(add, 3, 4, job_id="c", depends_on="a")
    queue.enqueue(flaky, "tee:flaky", 1, job_id="d", retry=Retry(max=2))
    queue.enqueue_in(datetime.timedelta(seconds=100), add, 0, 0, job_id="e")
    queue.enqueue(add, 5, 5, job_id="f", at_front=True, result_ttl=0)
    # In-process worker without fork; its pub/sub connection is relayed, not compared.
    _burst_worker([queue], connection=conn, name="tee-worker").work(burst=True)
    assert [Job.fetch(i, connection=conn).get_status().value for i in "abcd"] == [
        "finished", "failed", "finished", "finished"]
    FailedJobRegistry(queue=queue).requeue("b")
    _burst_worker([queue], connection=conn, name="tee-worker-2").work(burst=True)
    queue.delete(delete_jobs=True)
    conn.close()
    assert tee.compared > 300
    assert tee.mismatches == []


def test_huey_and_kombu_flows_through_tee_proxy(tee):
    from kombu import Connection, Exchange, Queue

    from tests.clients.tasks_huey import make_huey

    url = "redis://127.0.0.1:%d/%d" % (tee.port, DB)
    for kind in ("plain", "priority", "expire"):
        huey, tasks = make_huey(kind, url)
        huey.storage.read_timeout = 0.1     # the last, empty BRPOP/BZPOPMIN times out
        options = {"priority": 5} if kind == "priority" else {}
        results = [tasks.add(1, 2), tasks.flaky("tee:%s" % kind), tasks.record("x", **options)]
        tasks.add.schedule((1, 1), delay=60)
        tasks.add(5, 5).revoke()
        while True:     # the consumer's work, done in this process: dequeue, execute
            task = huey.dequeue()
            if task is None:
                break
            huey.execute(task)
        assert results[0].get() == 3
        assert huey.read_schedule(datetime.datetime.utcnow()) == []
        assert len(huey.read_schedule(datetime.datetime.utcnow() +
                                      datetime.timedelta(seconds=120))) == 1
        with huey.lock_task("L"):
            assert huey.is_locked("L")
        huey.flush()
    with Connection(url, transport_options={"visibility_timeout": 0}) as connection:
        simple = connection.SimpleQueue("simple")
        for i in range(5):
            simple.put({"i": i}, priority=i % 3)
        payloads = []
        for _ in range(3):
            message = simple.get(timeout=1)
            payloads.append(message.payload["i"])
            message.ack()
        simple.get(timeout=1).requeue()
        simple.get(timeout=1).reject()
        assert len(set(payloads)) == 3 and simple.qsize() == 1
        simple.clear()
        simple.close()
        channel = connection.channel()
        exchange = Exchange("fan", type="fanout")
        for name in ("f1", "f2"):
            Queue(name, exchange)(channel).declare()
        Queue("f1", exchange)(channel).delete()
        channel.close()
    assert tee.compared > 200
    assert tee.mismatches == []
