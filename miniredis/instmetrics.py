"""INFO's instantaneous_* rates, as Redis 7.0's trackInstantaneousMetric keeps them.

Every 100 ms the cron samples five running totals (commands processed, bytes in and
out including replication, replication bytes in and out); each sample is the rate
since the previous one, per second, and a rate shown is the mean of the last 16
samples (STATS_METRIC_SAMPLES), so a burst fades out over 1.6 s. CONFIG RESETSTAT
empties the samples. Nothing here runs per request: the counters it reads already
exist.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, List

if TYPE_CHECKING:  # pragma: no cover
    from .state import Stats

SAMPLES = 16                    # STATS_METRIC_SAMPLES
PERIOD_MS = 100                 # run_with_period(100) in serverCron
COMMANDS, NET_INPUT, NET_OUTPUT, NET_INPUT_REPL, NET_OUTPUT_REPL = range(5)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class _Metric:
    """One metric's ring of samples (Redis's inst_metric[i])."""

    __slots__ = ("samples", "idx", "last_time", "last_count")

    def __init__(self, now_ms: int) -> None:
        self.samples: List[int] = [0] * SAMPLES
        self.idx = 0
        self.last_time = now_ms
        self.last_count = 0

    def track(self, reading: int, now_ms: int) -> None:
        elapsed = now_ms - self.last_time
        # (C's integer division: a counter reset by RESETSTAT gives a negative delta
        # for one sample at most, as in Redis)
        delta = reading - self.last_count
        rate = int(delta * 1000 / elapsed) if elapsed > 0 else 0
        self.samples[self.idx] = rate
        self.idx = (self.idx + 1) % SAMPLES
        self.last_time = now_ms
        self.last_count = reading

    def mean(self) -> int:
        return int(sum(self.samples) / SAMPLES)


class InstantMetrics:
    """The five metrics serverCron samples (see the module)."""

    def __init__(self) -> None:
        self.reset()
        self.next_ms = 0

    def reset(self) -> None:
        """resetServerStats: every ring zeroed, the last sample taken now at 0."""
        now = _now_ms()
        self.metrics = [_Metric(now) for _ in range(5)]

    def cron(self, stats: "Stats") -> None:
        """Called at every cron tick: samples once per 100 ms (run_with_period)."""
        now = _now_ms()
        if now < self.next_ms:
            return
        self.next_ms = now + PERIOD_MS
        repl_in = stats.total_net_repl_input_bytes
        repl_out = stats.total_net_repl_output_bytes
        metrics = self.metrics
        metrics[COMMANDS].track(stats.total_commands_processed, now)
        # (total_net_output_bytes already holds the replicas' bytes; the input total
        # does not hold the master's: added here as Redis adds them)
        metrics[NET_INPUT].track(stats.total_net_input_bytes + repl_in, now)
        metrics[NET_OUTPUT].track(stats.total_net_output_bytes, now)
        metrics[NET_INPUT_REPL].track(repl_in, now)
        metrics[NET_OUTPUT_REPL].track(repl_out, now)

    def info_lines(self) -> List[str]:
        """The four kbps fields of INFO stats (ops/sec is :meth:`ops_per_sec`)."""
        metrics = self.metrics
        return ["instantaneous_%s_kbps:%.2f" % (name, metrics[which].mean() / 1024)
                for name, which in (("input", NET_INPUT), ("output", NET_OUTPUT),
                                    ("input_repl", NET_INPUT_REPL),
                                    ("output_repl", NET_OUTPUT_REPL))]

    def ops_per_sec(self) -> int:
        return self.metrics[COMMANDS].mean()
