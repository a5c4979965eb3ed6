"""A multi-process task queue on Redis Streams (the seed's example, our own code).

    queue = TaskQueue("my-queue")

    @queue.task
    def fib(n): ...

    handle = fib(100000)      # XADDs a message, returns at once
    queue.run(4)              # worker processes: XREADGROUP BLOCK, run, store, XACK
    print(handle())           # blocks until the result is stored

Messages are entries of the stream ``<name>`` read through the consumer group
``<name>:workers``; each worker is a consumer named after its process. A result is
stored pickled in the hash ``<name>:results`` (field: the message ID) with HSETNX, so
a message that somebody else already completed is never stored twice, and the worker
then XACKs the message and pushes a wake-up on ``<name>:done:<id>`` for the waiting
handle. Messages left pending by a worker that died are taken over with XAUTOCLAIM
once they have been idle for ``claim_idle_ms``.

Run ``python scripts/streams_taskqueue.py [redis://host:port]``: without a URL it
starts a miniredis of its own, then computes fib(100000) in a worker process.
"""
from __future__ import annotations

import functools
import importlib
import multiprocessing
import os
import pickle
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import redis

_MISSING = object()


class TaskError(Exception):
    """The task raised: carries the worker's exception text."""


class Result:
    """The handle a task call returns: call it to wait for the task's result."""

    def __init__(self, queue: "TaskQueue", task_id: bytes) -> None:
        self.queue = queue
        self.task_id = task_id
        self._value: Any = _MISSING

    def ready(self) -> bool:
        return self._fetch() is not _MISSING

    def _fetch(self) -> Any:
        if self._value is _MISSING:
            raw = self.queue.load_result(self.task_id)
            if raw is not None:
                self._value = pickle.loads(raw)
        return self._value

    def __call__(self, timeout: Optional[float] = None) -> Any:
        """The task's return value, waiting for it (TimeoutError after ``timeout``)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        done_key = self.queue.done_key(self.task_id)
        while True:
            value = self._fetch()
            if value is not _MISSING:
                self.queue.client.delete(done_key)
                ok, payload = value
                if not ok:
                    raise TaskError(payload)
                return payload
            wait = 1.0
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    raise TimeoutError("task %s has no result yet" % self.task_id.decode())
            # The worker pushes here after storing the result; the timeout only
            # guards against a wake-up lost to a crash between the two.
            self.queue.client.blpop([done_key], timeout=max(wait, 0.01))


def _has_hashes() -> bool:
    """Whether this miniredis has HSET yet (hashes are written by another helper)."""
    try:
        importlib.import_module("miniredis.commands.hashes")
        return True
    except ImportError:
        return False


class TaskQueue:
    """Tasks are functions registered with :meth:`task`; see the module docstring."""

    def __init__(self, name: str, url: str = "redis://127.0.0.1:6379/0",
                 claim_idle_ms: int = 2000, block_ms: int = 200) -> None:
        self.name = name
        self.url = url
        self.group = name + ":workers"
        self.results_key = name + ":results"
        self.claim_idle_ms = claim_idle_ms
        self.block_ms = block_ms
        # Decided once, here, so producers and (spawned) workers agree.
        self.use_hash = _has_hashes()
        self.tasks: Dict[str, str] = {}       # task name -> "module:qualname"
        self._client: Optional[redis.Redis] = None
        self._functions: Dict[str, Callable[..., Any]] = {}

    # A queue travels to worker processes (spawned, not forked): without its
    # connection, and with its tasks as import paths.
    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        state["_client"] = None
        state["_functions"] = {}
        return state

    @property
    def client(self) -> redis.Redis:
        if self._client is None:
            self._client = redis.Redis.from_url(self.url)
        return self._client

    def done_key(self, task_id: bytes) -> str:
        return "%s:done:%s" % (self.name, task_id.decode())

    def store_result(self, task_id: bytes, data: bytes) -> None:
        """Keep a pickled result: a field of the results hash, or a string key when
        this server has no hashes yet."""
        if self.use_hash:
            self.client.hset(self.results_key, task_id, data)
        else:
            self.client.set("%s:%s" % (self.results_key, task_id.decode()), data)

    def load_result(self, task_id: bytes) -> Optional[bytes]:
        if self.use_hash:
            return self.client.hget(self.results_key, task_id)
        return self.client.get("%s:%s" % (self.results_key, task_id.decode()))

    # -- producing --------------------------------------------------------------------
    def task(self, func: Callable[..., Any]) -> Callable[..., Result]:
        """Register ``func``; calling the returned function enqueues a call of it."""
        name = "%s.%s" % (func.__module__, func.__qualname__)
        self.tasks[name] = "%s:%s" % (func.__module__, func.__qualname__)
        self._functions[name] = func

        @functools.wraps(func)
        def enqueue(*args: Any, **kwargs: Any) -> Result:
            return self.enqueue(name, args, kwargs)
        enqueue.task_name = name            # type: ignore[attr-defined]
        return enqueue

    def enqueue(self, name: str, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Result:
        self._ensure_group()
        payload = pickle.dumps((name, args, kwargs))
        task_id = self.client.xadd(self.name, {"task": payload})
        return Result(self, task_id)

    def _ensure_group(self) -> None:
        try:
            self.client.xgroup_create(self.name, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    # -- consuming ----------------------------------------------------------------------
    def run(self, nworkers: int) -> "Workers":
        """Start ``nworkers`` worker processes; stop them with ``.stop()``."""
        self._ensure_group()
        context = multiprocessing.get_context("spawn")
        stop = context.Event()
        processes = [context.Process(target=_worker_main, args=(self, stop), daemon=True)
                     for _ in range(nworkers)]
        for process in processes:
            process.start()
        return Workers(processes, stop)

    def _resolve(self, name: str) -> Callable[..., Any]:
        func = self._functions.get(name)
        if func is None:
            module_name, qualname = self.tasks[name].split(":")
            target: Any = importlib.import_module(module_name)
            for part in qualname.split("."):
                target = getattr(target, part)
            func = getattr(target, "__wrapped__", target)
            self._functions[name] = func
        return func

    def work(self, stop: Any, consumer: Optional[str] = None) -> None:
        """A worker's loop: reclaim stale messages, else read new ones, until ``stop``."""
        consumer = consumer or "worker-%d" % os.getpid()
        client = self.client
        while not stop.is_set():
            _, claimed, _ = client.xautoclaim(self.name, self.group, consumer,
                                              self.claim_idle_ms, "0-0", count=1)
            messages = claimed
            if not messages:
                reply = client.xreadgroup(self.group, consumer, {self.name: ">"},
                                          count=1, block=self.block_ms)
                messages = reply[0][1] if reply else []
            for task_id, fields in messages:
                self._execute(client, task_id, fields)

    def _execute(self, client: redis.Redis, task_id: bytes,
                 fields: Dict[bytes, bytes]) -> None:
        name, args, kwargs = pickle.loads(fields[b"task"])
        try:
            outcome = (True, self._resolve(name)(*args, **kwargs))
        except Exception as exc:  # the caller gets it when it asks for the result
            outcome = (False, "%s: %s" % (type(exc).__name__, exc))
        self.store_result(task_id, pickle.dumps(outcome))
        client.xack(self.name, self.group, task_id)
        client.rpush(self.done_key(task_id), 1)


class Workers:
    """The running worker processes of one queue."""

    def __init__(self, processes: List[Any], stop: Any) -> None:
        self.processes = processes
        self.stop_event = stop

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        for process in self.processes:
            process.join(timeout)
            if process.is_alive():
                process.kill()
                process.join()


def _worker_main(queue: TaskQueue, stop: Any) -> None:
    """Entry point of a worker process."""
    try:
        queue.work(stop)
    except KeyboardInterrupt:
        pass


# -- the seed's example ------------------------------------------------------------------
def fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return b


def main(argv: List[str]) -> int:
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)      # fib(100000) has 20,899 digits
    server = None
    if len(argv) > 1:
        url = argv[1]
    else:
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        from miniredis import Server
        server = Server(port=0).start()
        url = "redis://127.0.0.1:%d/0" % server.port
    queue = TaskQueue("my-queue", url=url)
    task = queue.task(fib)
    workers = queue.run(1)
    try:
        fib100k = task(100000)
        print("100,000th fibonacci ends with: %s" % str(fib100k())[-6:])
    finally:
        workers.stop()
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
