"""LATENCY: the latency monitor's events (see :mod:`miniredis.latency`) and the
per-command latency histograms (see :mod:`miniredis.histogram`, recorded while
``latency-tracking`` is on) as Redis 7.0 reports them."""
from __future__ import annotations

import time
from typing import List

from .. import errors
from ..errors import CommandError
from ..histogram import distribution, has_histogram
from ..latency import LatencyMonitor
from ..protocol import Map, PairMap, Verbatim
from . import command, container
from .connection import help_reply


def monitor_of(state) -> LatencyMonitor:
    """The server's latency monitor (created with the ServerState)."""
    return state.latency


container("latency", -2, group="server", since="2.8.13",
          summary="A container for latency diagnostics commands")


@command("latency|help", 2, "loading stale", group="server", since="2.8.13",
         summary="Show helpful text about the different subcommands.")
def latency_help(client, args: List[bytes]):
    return help_reply(args, [
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram "
        "for the specified command names.",
        "    If no commands are specified then all histograms are replied.",
    ])


@command("latency|latest", 2, "admin noscript loading stale", group="server",
         since="2.8.13", summary="Return the latest latency samples for all events.")
def latency_latest(client, args: List[bytes]):
    return [[name.encode(), series.samples[-1][0], series.samples[-1][1], series.max]
            for name, series in monitor_of(client.state).events.items()]


@command("latency|history", 3, "admin noscript loading stale", group="server",
         since="2.8.13", summary="Return timestamp-latency samples for the event.")
def latency_history(client, args: List[bytes]):
    series = monitor_of(client.state).events.get(args[2].decode("utf-8", "surrogateescape"))
    if series is None:
        return []
    return [[when, latency] for when, latency in series.samples]


@command("latency|reset", -2, "admin noscript loading stale", group="server",
         since="2.8.13", summary="Reset latency data for one or more events.")
def latency_reset(client, args: List[bytes]):
    monitor = monitor_of(client.state)
    if len(args) == 2:
        return monitor.reset()
    return sum(monitor.reset(event) for event in args[2:])


@command("latency|graph", 3, "admin noscript loading stale", group="server",
         since="2.8.13", summary="Return a latency graph for the event.")
def latency_graph(client, args: List[bytes]):
    event = errors.c_text(args[2])      # (a C string, as Redis looks it up)
    monitor = monitor_of(client.state)
    if event not in monitor.events:
        raise CommandError(errors.LATENCY_NO_SAMPLES.format(event))
    return Verbatim(monitor.graph(event))


@command("latency|histogram", -2, "admin noscript loading stale", group="server",
         since="7.0.0", summary="Return the cumulative distribution of latencies of a "
                                "subset of commands or all.")
def latency_histogram(client, args: List[bytes]):
    """Every command with a histogram, or those named (a name that is no command is
    skipped; a command's subcommands come with it; a repeated name repeats)."""
    if len(args) == 2:
        entries = client.state.names.stats_entries()
    else:
        entries = [entry for name in args[2:]
                   for entry in client.state.names.by_fullname(name)]
    return PairMap([(entry.fullname.encode(), _histogram_reply(entry))
                    for entry in entries if has_histogram(entry)])


def _histogram_reply(entry) -> Map:
    calls, buckets = distribution(entry)
    return Map({b"calls": calls, b"histogram_usec": Map(buckets)})


# -- DOCTOR ------------------------------------------------------------------------------
_DISABLED = ("I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this "
             "Redis instance. You may use \"CONFIG SET latency-monitor-threshold "
             "<milliseconds>.\" in order to enable it. If we weren't in a deep space "
             "mission I'd suggest to take a look at "
             "https://redis.io/topics/latency-monitor.\n")
_NO_SPIKES = ("Dave, no latency spike was observed during the lifetime of this Redis "
              "instance, not in the slightest bit. I honestly think you ought to sit down "
              "calmly, take a stress pill, and think things over.\n")
_NO_FIX = ("\nWhile there are latency events logged, I'm not able to suggest any easy "
           "fix. Please use the Redis community to get some help, providing this report "
           "in your help request.\n")
_ADVICE = {
    "slowlog_enabled": "- There are latency issues with potentially slow commands you are "
    "using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET "
    "slowlog-log-slower-than %d'. If the Slow log is disabled Redis is not able to log "
    "slow commands execution for you.\n",
    "slowlog_tuning": "- Your current Slow Log configuration only logs events that are "
    "slower than your configured latency monitor threshold. Please use 'CONFIG SET "
    "slowlog-log-slower-than %d'.\n",
    "slowlog_inspect": "- Check your Slow Log to understand what are the commands you are "
    "running which are too slow to execute. Please check "
    "https://redis.io/commands/slowlog for more information.\n",
    "scheduler": "- The system is slow to execute Redis code paths not containing system "
    "calls. This usually means the system does not provide Redis CPU time to run for long "
    "periods. You should try to:\n"
    "  1) Lower the system load.\n"
    "  2) Use a computer / VM just for Redis if you are running other software in the "
    "same system.\n"
    "  3) Check if you have a \"noisy neighbour\" problem.\n"
    "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in "
    "your system.\n"
    "  5) Check if the problem is allocator-related by recompiling Redis with "
    "MALLOC=libc, if you are using Jemalloc. However this may create fragmentation "
    "problems.\n",
    "hz": "- In order to make the Redis keys expiring process more incremental, try to set "
    "the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n",
    "large_objects": "- Deleting, expiring or evicting (because of maxmemory policy) large "
    "objects is a blocking operation. If you have very large objects that are often "
    "deleted, expired, or evicted, try to fragment those objects into multiple smaller "
    "objects.\n",
    "disable_thp": "- I detected a non zero amount of anonymous huge pages used by your "
    "process. This creates very serious latency events in different conditions, "
    "especially when Redis is persisting on disk. To disable THP support use the command "
    "'echo never > /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it "
    "into /etc/rc.local so that the command will be executed again after a reboot. Note "
    "that even if you have already disabled THP, you still need to restart the Redis "
    "process to get rid of the huge pages already created.\n",
}
_ADVICE_ORDER = ["slowlog_enabled", "slowlog_tuning", "slowlog_inspect", "scheduler",
                 "hz", "large_objects", "disable_thp"]


def _anon_huge_pages() -> int:
    """AnonHugePages of this process (Redis advises disabling THP when non-zero)."""
    total = 0
    try:
        with open("/proc/self/smaps") as handle:
            for line in handle:
                if line.startswith("AnonHugePages:"):
                    total += int(line.split()[1])
    except (OSError, ValueError):
        return 0
    return total


def doctor_report(state) -> str:
    """createLatencyReport for the events this server records (command, fast-command,
    expire-cycle, expire-del)."""
    monitor = monitor_of(state)
    threshold = state.config["latency-monitor-threshold"]
    if not monitor.events and threshold == 0:
        return _DISABLED
    report = ""
    advices: dict = {}
    count = 0
    now = int(time.time())
    for number, (event, series) in enumerate(monitor.events.items(), 1):
        count = number
        if number == 1:
            report += ("Dave, I have observed latency spikes in this Redis instance. You "
                       "don't mind talking about it, do you Dave?\n\n")
        latencies = [latency for _, latency in series.samples]
        samples = len(latencies)
        avg = sum(latencies) // samples
        mad = sum(abs(avg - value) for value in latencies) // samples
        period = max(now - min(when for when, _ in series.samples), 1)
        report += ("%d. %s: %d latency spikes (average %dms, mean deviation %dms, "
                   "period %.2f sec). Worst all time event %dms."
                   % (number, event, samples, avg, mad, period / samples, series.max))
        lowered = event.lower()
        if lowered == "command":
            slowlog = state.config["slowlog-log-slower-than"]
            if slowlog < 0:
                advices["slowlog_enabled"] = 1
            elif slowlog // 1000 > threshold:
                advices["slowlog_tuning"] = 1
            advices["slowlog_inspect"] = advices["large_objects"] = 1
        elif lowered == "fast-command":
            advices["scheduler"] = 1
        elif lowered == "expire-cycle":
            advices["hz"] = advices["large_objects"] = 1
        report += "\n"
    if _anon_huge_pages() > 0:
        advices["disable_thp"] = 1
    if count == 0 and not advices:
        return report + _NO_SPIKES
    if count > 0 and not advices:
        return report + _NO_FIX
    report += "\nI have a few advices for you:\n\n"
    for name in _ADVICE_ORDER:
        if name == "hz" and state.config["hz"] >= 100:
            continue        # (counted as advice all the same, as in Redis)
        if name in advices:
            text = _ADVICE[name]
            report += text % (threshold * 1000) if "%d" in text else text
    return report


@command("latency|doctor", 2, "admin noscript loading stale", group="server",
         since="2.8.13", summary="Return a human readable latency analysis report.")
def latency_doctor(client, args: List[bytes]):
    return Verbatim(doctor_report(client.state))
