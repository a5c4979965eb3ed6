"""The seeds' jobs API: Flask in front, HotQueue workers behind (our own code).

A client POSTs a job; the API saves a record in a Redis hash and answers at once with
the job's id, and a worker process does the (slow) analysis later::

    POST /jobs        {"start": 1, "end": 100000}   -> 201, the record (status "queued")
    GET  /jobs/<id>                                 -> 200, the record; 404 when unknown

The record lives in the hash ``job:<id>`` (fields ``id``, ``status``, ``payload``,
``result``, ``error``, ``created``, ``started``, ``finished``; payload and result are
JSON). Only the id travels on the HotQueue ``jobs`` (the list ``hotqueue:jobs``).
Workers run a function decorated with ``@queue.worker``, as the seed does: each
moves its job from ``queued`` to ``running`` to ``done`` (or ``failed``). The analysis
is counting the primes in ``[start, end)``.

Run ``python scripts/flask_hotqueue_jobs.py [redis://host:port/db]``: without a URL it
starts a miniredis of its own. It starts two worker processes and serves the API on
http://127.0.0.1:5000 (``--port``); ``--demo`` instead posts a few jobs through Flask's
test client, waits until they are done, prints them and exits (status 0 when every
job is done). The worker function must be importable (module ``flask_hotqueue_jobs``)
so this file has no side effects on import.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import sys
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

import redis
from flask import Flask, jsonify, request
from hotqueue import HotQueue

QUEUE = "jobs"
_STOP = "stop"          # a worker that takes this message exits


class _Stop(Exception):
    """Raised inside the worker function: the seed's workers stop on an exception."""


# -- jobs in Redis (shared by the API and the workers) -----------------------------------
def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _job_key(jid: str) -> str:
    return "job:" + jid


def job_queue(url: str) -> HotQueue:
    """The HotQueue of job ids (HotQueue takes Redis's keyword arguments, not a URL)."""
    return HotQueue(QUEUE, serializer=json, **redis.connection.parse_url(url))


def add_job(rd: redis.Redis, queue: HotQueue, payload: Dict[str, Any]) -> Dict[str, Any]:
    """Save a new job record, then queue its id (in that order: a worker must find the
    record of every id it takes)."""
    jid = str(uuid.uuid4())
    rd.hset(_job_key(jid), mapping={"id": jid, "status": "queued",
                                    "payload": json.dumps(payload), "created": _now()})
    queue.put(jid)
    return get_job(rd, jid)  # type: ignore[return-value]


def get_job(rd: redis.Redis, jid: str) -> Optional[Dict[str, Any]]:
    """The job's record with payload and result decoded, or None for an unknown id."""
    raw = rd.hgetall(_job_key(jid))
    if not raw:
        return None
    job: Dict[str, Any] = {k.decode(): v.decode() for k, v in raw.items()}
    for field in ("payload", "result"):
        if field in job:
            job[field] = json.loads(job[field])
    return job


def update_job(rd: redis.Redis, jid: str, status: str, **fields: str) -> None:
    rd.hset(_job_key(jid), mapping={"status": status, **fields})


# -- the API -------------------------------------------------------------------------------
def _validate(payload: Any) -> Optional[str]:
    """Why the request's job cannot run, or None."""
    if not isinstance(payload, dict):
        return "the body must be a JSON object"
    start, end = payload.get("start"), payload.get("end")
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (start, end)):
        return "'start' and 'end' must be integers"
    if not 0 <= start <= end <= 10_000_000:
        return "need 0 <= start <= end <= 10000000"
    return None


def create_app(url: str) -> Flask:
    """The Flask application, storing jobs in the Redis database at ``url``."""
    app = Flask(__name__)
    rd = redis.Redis.from_url(url)
    queue = job_queue(url)

    @app.post("/jobs")
    def submit_job() -> Any:
        payload = request.get_json(force=True, silent=True)
        problem = _validate(payload)
        if problem is not None:
            return jsonify(status="error", message=problem), 400
        return jsonify(add_job(rd, queue, payload)), 201

    @app.get("/jobs/<jid>")
    def show_job(jid: str) -> Any:
        job = get_job(rd, jid)
        if job is None:
            return jsonify(status="error", message="no job %s" % jid), 404
        return jsonify(job)

    return app


# -- the workers ---------------------------------------------------------------------------
def count_primes(start: int, end: int) -> int:
    """The "analysis": how many primes in [start, end) (a sieve up to ``end``)."""
    if end <= 2:
        return 0
    sieve = bytearray([1]) * end
    sieve[0:2] = b"\x00\x00"
    for n in range(2, int(end ** 0.5) + 1):
        if sieve[n]:
            sieve[n * n::n] = bytes(len(range(n * n, end, n)))
    return sum(sieve[start:])


def run_worker(url: str) -> None:
    """A worker process: run jobs until it takes the stop message."""
    rd = redis.Redis.from_url(url)
    queue = job_queue(url)

    @queue.worker                       # BLPOP hotqueue:jobs, for ever
    def execute_job(jid: str) -> None:
        if jid == _STOP:
            raise _Stop()
        update_job(rd, jid, "running", started=_now())
        payload = get_job(rd, jid)["payload"]  # type: ignore[index]
        try:
            result = count_primes(payload["start"], payload["end"])
        except Exception as exc:  # the job failed, not the worker
            update_job(rd, jid, "failed", error=repr(exc), finished=_now())
        else:
            update_job(rd, jid, "done", result=json.dumps(result), finished=_now())

    try:
        execute_job()
    except (_Stop, KeyboardInterrupt):
        pass


class Workers:
    """Worker processes (spawned, so they share nothing with the API's process)."""

    def __init__(self, url: str, count: int = 2) -> None:
        self.url = url
        context = multiprocessing.get_context("spawn")
        self.processes = [context.Process(target=run_worker, args=(url,), daemon=True)
                          for _ in range(count)]
        for process in self.processes:
            process.start()

    def stop(self, timeout: float = 10.0) -> None:
        """One stop message per worker (queued behind any pending job), then wait."""
        job_queue(self.url).put(*[_STOP] * len(self.processes))
        for process in self.processes:
            process.join(timeout)
            if process.is_alive():
                process.kill()
                process.join()


# -- the command line -------------------------------------------------------------------------
def wait_for(app: Flask, jids: List[str], timeout: float = 30.0) -> List[Dict[str, Any]]:
    """Poll GET /jobs/<id> until every job is done or failed; the final records."""
    client = app.test_client()
    deadline = time.monotonic() + timeout
    while True:
        jobs = [client.get("/jobs/" + jid).get_json() for jid in jids]
        if all(job["status"] in ("done", "failed") for job in jobs):
            return jobs
        if time.monotonic() > deadline:
            raise TimeoutError("jobs not finished: %s" % [job["status"] for job in jobs])
        time.sleep(0.05)


def demo(url: str, workers: int = 2) -> bool:
    """Post a few jobs, wait for them and print them; whether all are done."""
    app = create_app(url)
    client = app.test_client()
    running = Workers(url, workers)
    try:
        ranges = [(0, 100), (0, 1_000_000), (1_000, 2_000), (999_000, 1_000_000)]
        jids = []
        for start, end in ranges:
            response = client.post("/jobs", json={"start": start, "end": end})
            assert response.status_code == 201, response.get_data(as_text=True)
            jids.append(response.get_json()["id"])
        print("posted %d jobs" % len(jids))
        jobs = wait_for(app, jids)
    finally:
        running.stop()
    for job in jobs:
        print("%s %-6s primes in [%d, %d): %s" % (
            job["id"], job["status"], job["payload"]["start"], job["payload"]["end"],
            job.get("result", job.get("error"))))
    missing = client.get("/jobs/no-such-job")
    print("GET /jobs/no-such-job -> %d" % missing.status_code)
    return all(job["status"] == "done" for job in jobs) and missing.status_code == 404


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="Redis URL (default: a miniredis of our own)")
    parser.add_argument("--demo", action="store_true",
                        help="post a few jobs, print them when done, exit")
    parser.add_argument("--port", type=int, default=5000, help="HTTP port of the API")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv[1:])
    server = None
    url = args.url
    if url is None:
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        from miniredis import Server
        server = Server(port=0).start()
        url = server.url
    try:
        if args.demo:
            return 0 if demo(url, args.workers) else 1
        # SIGTERM unwinds like Ctrl-C, so the workers and the server are stopped.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        workers = Workers(url, args.workers)
        try:
            create_app(url).run(host="127.0.0.1", port=args.port)
        finally:
            workers.stop()
        return 0
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
