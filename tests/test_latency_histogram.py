"""Per-command latency histograms against redis-server: LATENCY HISTOGRAM, INFO
latencystats, CONFIG latency-tracking and RESETSTAT (Redis's unit/latency-monitor).

Durations differ between the servers, so most checks compare the *shape* of the
replies (which commands, how many calls, RESP types) and check on each server that the
buckets are well formed: names among HdrHistogram's power-of-two reporting levels,
cumulative counts rising to the number of calls. DEBUG SLEEP makes durations known
well enough to compare some replies byte for byte.
"""
from __future__ import annotations

import re
import time
from typing import Any, List

import pytest

from tests.harness import compare_scenario, connect, parse_raw, wait_blocked

# LATENCY HISTOGRAM's bucket names (us): each reporting level 1024 ns << n, named after
# the highest value of the HdrHistogram cell (2 significant digits) starting there,
# then the histogram's last cell (up to 2^30 - 1 ns) for anything longer.
BUCKETS = [1, 2, 4, 8, 16, 33, 66, 132, 264, 528, 1056, 2113, 4227, 8454, 16908, 33816,
           67633, 135266, 270532, 541065, 1073741]


def _value(item: Any) -> Any:
    kind, body = item
    return int(body) if kind == b":" else body


def _pairs(item: Any) -> List[Any]:
    """A map's (key, value) pairs, from a RESP3 map or a RESP2 flat array."""
    kind, items = item
    if kind == b"%":
        return list(items)
    assert kind == b"*", item
    return [(items[i], items[i + 1]) for i in range(0, len(items), 2)]


def histogram_shape(raw: bytes, ordered: bool = False) -> Any:
    """LATENCY HISTOGRAM's reply without its timings: per command its name, calls and
    RESP types. Asserts the buckets are well formed. Entries are sorted unless
    ``ordered`` (the order of a command's subcommands is Redis's hash order)."""
    top = parse_raw(raw)
    entries = []
    for name, body in _pairs(top):
        fields = dict((_value(k), v) for k, v in _pairs(body))
        assert sorted(fields) == [b"calls", b"histogram_usec"], body
        calls = _value(fields[b"calls"])
        buckets = [(_value(k), _value(v)) for k, v in _pairs(fields[b"histogram_usec"])]
        assert buckets, body
        if fields[b"histogram_usec"][0] == b"%":
            buckets.sort()      # (parse_raw sorts a map's pairs by their repr)
        names = [name for name, _ in buckets]
        counts = [count for _, count in buckets]
        assert all(name in BUCKETS for name in names), buckets
        assert names == sorted(set(names)), buckets
        assert counts == sorted(set(counts)) and counts[-1] == calls, buckets
        kinds = {fields[b"calls"][0]} | {k[0] for k, _ in _pairs(fields[b"histogram_usec"])}
        entries.append((_value(name), calls, top[0], body[0],
                        fields[b"histogram_usec"][0], tuple(sorted(kinds))))
    return entries if ordered else sorted(entries)


def test_histogram_of_known_durations_is_identical(differ):
    # DEBUG SLEEP puts a call well inside one bucket (a loaded machine may oversleep by
    # milliseconds): 80 ms in 67633..135266 us, 20 ms in 16908..33816 us; the replies
    # are then the same bytes.
    def scenario(port, protocol, admin):
        admin.call("CONFIG", "RESETSTAT")
        for seconds in ("0.08", "0.02", "0.02"):
            admin.call("DEBUG", "SLEEP", seconds)
        return [admin.call("LATENCY", "HISTOGRAM", "debug"),
                admin.call("LATENCY", "HISTOGRAM", "DEBUG", "debug", "nosuch")]
    compare_scenario(differ, scenario)


def test_histogram_after_resetstat_holds_resetstat_only(differ):
    def scenario(port, protocol, admin):
        admin.call("SET", "a", "1")
        admin.call("CONFIG", "RESETSTAT")
        return histogram_shape(admin.call("LATENCY", "HISTOGRAM"))
    compare_scenario(differ, scenario)


@pytest.mark.parametrize("names", [
    (), ("set", "hset"), ("hgetall", "get", "zadd"), ("blabla",),
    ("blabla", "blabla2", "set", "get"), ("set", "set"), ("SET",), ("",), ("set|x",),
    ("client|id|x",), ("client|",), ("|client",), ("CLIENT|ID",), ("client|id",),
    ("get", "set"),
])
def test_histogram_of_named_commands(differ, names):
    def scenario(port, protocol, admin):
        admin.call("CONFIG", "RESETSTAT")
        for command in (("SET", "a", "b"), ("SET", "c", "d"), ("GET", "a"),
                        ("HSET", "f", "k", "v"), ("HGETALL", "f"), ("CLIENT", "ID"),
                        ("CLIENT", "GETNAME")):
            admin.call(*command)
        return histogram_shape(admin.call("LATENCY", "HISTOGRAM", *names),
                               ordered=bool(names) and "client" not in names)
    compare_scenario(differ, scenario)


def test_histogram_of_a_container_lists_its_subcommands(differ):
    def scenario(port, protocol, admin):
        admin.call("CONFIG", "RESETSTAT")
        admin.call("CLIENT", "ID")
        admin.call("CLIENT", "LIST")
        admin.call("CLIENT", "ID")
        admin.call("COMMAND")               # the bare form counts as "command"
        admin.call("COMMAND", "COUNT")
        return [histogram_shape(admin.call("LATENCY", "HISTOGRAM", "client")),
                histogram_shape(admin.call("LATENCY", "HISTOGRAM", "command")),
                histogram_shape(admin.call("LATENCY", "HISTOGRAM", "config", "Client"))]
    compare_scenario(differ, scenario)


def test_histogram_counts_transactions_and_script_calls(differ):
    def scenario(port, protocol, admin):
        admin.call("CONFIG", "RESETSTAT")
        admin.call("MULTI")
        admin.call("SET", "a", "1")
        admin.call("INCR", "a")
        admin.call("EXEC")
        admin.call("EVAL", "redis.call('incr', KEYS[1]); return redis.call('get', KEYS[1])",
                   "1", "a")
        admin.call("MULTI")
        admin.call("GET", "a")
        admin.call("DISCARD")
        return histogram_shape(admin.call("LATENCY", "HISTOGRAM"))
    compare_scenario(differ, scenario)


def test_histogram_of_blocking_commands(differ):
    # A blocking call counts once it is served or unblocked with an error; one that
    # times out (or is unblocked as a timeout) never gets a histogram.
    def scenario(port, protocol, admin):
        admin.call("CONFIG", "RESETSTAT")
        waiter = connect(port, protocol)
        try:
            waiter.call("BLPOP", "nolist", "0.01")
            seen = [histogram_shape(admin.call("LATENCY", "HISTOGRAM", "blpop"))]
            waiter_id = int(parse_raw(waiter.call("CLIENT", "ID"))[1])
            waiter.send("BLPOP", "list", "0")
            wait_blocked(admin, 1)
            seen.append(histogram_shape(admin.call("LATENCY", "HISTOGRAM", "blpop")))
            admin.call("RPUSH", "list", "x")
            seen.append(waiter.read_raw())
            seen.append(histogram_shape(admin.call("LATENCY", "HISTOGRAM", "blpop")))
            waiter.send("BRPOP", "list", "0")
            wait_blocked(admin, 1)
            admin.call("CLIENT", "UNBLOCK", str(waiter_id))
            seen.append(waiter.read_raw())
            seen.append(histogram_shape(admin.call("LATENCY", "HISTOGRAM", "brpop")))
            waiter.send("BRPOP", "list", "0")
            wait_blocked(admin, 1)
            admin.call("CLIENT", "UNBLOCK", str(waiter_id), "ERROR")
            seen.append(waiter.read_raw())
            seen.append(histogram_shape(admin.call("LATENCY", "HISTOGRAM", "brpop")))
            # (CLIENT UNBLOCK counts a failed call either way, as Redis)
            info = parse_raw(admin.call("INFO", "commandstats"))[1]
            seen.append(sorted(re.findall(
                rb"cmdstat_(b[lr]pop):calls=(\d+),.*failed_calls=(\d+)", info)))
            return seen
        finally:
            waiter.close()
    compare_scenario(differ, scenario)


def test_latency_tracking_off_records_nothing_and_hides_latencystats(differ):
    def scenario(port, protocol, admin):
        admin.call("CONFIG", "RESETSTAT")
        admin.call("GET", "a")
        try:
            seen = [admin.call("CONFIG", "SET", "latency-tracking", "no")]
            admin.call("SET", "a", "1")
            admin.call("GET", "a")
            seen.append(histogram_shape(admin.call("LATENCY", "HISTOGRAM")))
            seen.append(admin.call("INFO", "latencystats"))
            seen.append(admin.call("CONFIG", "GET", "latency-tracking"))
        finally:
            admin.call("CONFIG", "SET", "latency-tracking", "yes")
        admin.call("SET", "a", "2")
        seen.append(histogram_shape(admin.call("LATENCY", "HISTOGRAM", "set", "get")))
        return seen
    compare_scenario(differ, scenario)


_PERCENTILE_LINE = re.compile(rb"latency_percentiles_usec_([^:]+):(.*)")


def _latencystats(raw: bytes) -> Any:
    """INFO latencystats as {command: [(percentile name, value)]}."""
    text = parse_raw(raw)[1]
    lines = text.split(b"\r\n")
    assert lines[0] == b"# Latencystats", lines
    stats = {}
    for line in lines[1:]:
        if not line:
            continue
        match = _PERCENTILE_LINE.fullmatch(line)
        assert match, line
        fields = match.group(2).split(b",") if match.group(2) else []
        values = []
        for field in fields:
            name, value = field.split(b"=")
            assert re.fullmatch(rb"\d+\.\d{3}", value), field
            values.append((name, float(value)))
        stats[match.group(1)] = values
    return stats


def _is_cell_top(usec: float, lowest: bool = False) -> bool:
    """Whether ``usec`` (3 decimals, ns precision) is where an HdrHistogram cell of
    2 significant digits ends (or, ``lowest``, begins)."""
    ns = round(usec * 1000) + (0 if lowest else 1)
    width = 1 << max((ns | 255).bit_length() - 8, 0)
    return ns % width == 0


def test_latencystats_percentiles(differ):
    def scenario(port, protocol, admin):
        admin.call("CONFIG", "RESETSTAT")
        try:
            for sleep in ("0.006", "0.006", "0.006", "0.03"):
                admin.call("DEBUG", "SLEEP", sleep)
            admin.call("GET", "a")
            seen = []
            for setting in ("50 99 99.9", "0 50 100", "99.99 1e1", ""):
                assert admin.call("CONFIG", "SET", "latency-tracking-info-percentiles",
                                  setting) == b"+OK\r\n"
                stats = _latencystats(admin.call("INFO", "latencystats"))
                debug = stats[b"debug"]
                for name, value in debug:
                    assert _is_cell_top(value, lowest=name == b"p0"), (name, value)
                    high = name in (b"p99.99", b"p100", b"p99", b"p99.9")
                    # (a loaded machine may oversleep by milliseconds; p0 is its
                    # cell's lowest value: 5996.544 for 6000 to 6029 us)
                    low = (30000 if high else 6000) - (33 if name == b"p0" else 0)
                    assert low <= value < (90000 if high else 30000), (name, value)
                seen.append((sorted(stats), [[name for name, _ in values]
                                             for values in stats.values()]))
            return seen
        finally:
            admin.call("CONFIG", "SET", "latency-tracking-info-percentiles", "50 99 99.9")
    compare_scenario(differ, scenario, protocols=(2,))


def test_commandstats_counts_bare_command(differ):
    def scenario(port, protocol, admin):
        admin.call("CONFIG", "RESETSTAT")
        admin.call("COMMAND")
        info = parse_raw(admin.call("INFO", "commandstats"))[1]
        return sorted(re.findall(rb"cmdstat_([^:]+):calls=(\d+)", info))
    compare_scenario(differ, scenario)


def test_expire_of_a_big_key_is_a_latency_event(differ):
    # unit/latency-monitor: deleting a big expired key takes longer than the threshold;
    # both the deletion (expire-del) and the active expire cycle are latency events.
    def scenario(port, protocol, admin):
        admin.call("CONFIG", "SET", "latency-monitor-threshold", "20")
        admin.call("LATENCY", "RESET")
        try:
            for start in range(0, 1_000_000, 10_000):
                admin.call("SADD", "big", *[str(i) for i in range(start, start + 10_000)])
            # Loading is not what is measured: on a loaded machine a 10,000-member SADD
            # (a "fast" command) may itself pass 20 ms and log a fast-command event.
            admin.call("LATENCY", "RESET")
            admin.call("PEXPIRE", "big", "50")
            deadline = time.time() + 5
            while admin.call("DBSIZE") != b":0\r\n" and time.time() < deadline:
                time.sleep(0.05)
            events = parse_raw(admin.call("LATENCY", "LATEST"))[1]
            names = sorted(event[1][0][1] for event in events)
            # LATENCY DOCTOR's advice for them (hz, large objects), figures aside; its
            # THP advice depends on the process, the order of events on Redis's hashing.
            doctor = parse_raw(admin.call("LATENCY", "DOCTOR"))[1]
            doctor = doctor.split(b"- I detected a non zero amount")[0]
            lines = sorted(re.sub(rb"\d+(\.\d+)?", b"N", doctor).split(b"\n"))
            return [admin.call("DBSIZE"), names, lines]
        finally:
            admin.call("CONFIG", "SET", "latency-monitor-threshold", "0")
            admin.call("LATENCY", "RESET")
    compare_scenario(differ, scenario, protocols=(2,))


def test_slow_command_is_a_latency_event_with_the_slowlog_off(differ):
    # A latency monitor threshold makes every command's time weighed after the call
    # (LATENCY events), whatever the slowlog's threshold, even with the slowlog off
    # (-1): the dispatcher's settings follow CONFIG SET of any of the three parameters.
    def scenario(port, protocol, admin):
        admin.call("LATENCY", "RESET")
        admin.call("CONFIG", "SET", "slowlog-log-slower-than", "-1")
        admin.call("CONFIG", "SET", "latency-monitor-threshold", "1")
        try:
            # 5 ms: past the latency threshold, below the slowlog's default 10 ms
            admin.call("DEBUG", "SLEEP", "0.005")    # a "command" event
            admin.call("PING")
            events = parse_raw(admin.call("LATENCY", "LATEST"))[1]
            names = sorted(event[1][0][1] for event in events)
            admin.call("CONFIG", "SET", "latency-monitor-threshold", "0")
            admin.call("LATENCY", "RESET")
            admin.call("DEBUG", "SLEEP", "0.005")    # no event once it is 0 again
            after = parse_raw(admin.call("LATENCY", "LATEST"))[1]
            return [names, after]
        finally:
            admin.call("CONFIG", "SET", "latency-monitor-threshold", "0")
            admin.call("CONFIG", "SET", "slowlog-log-slower-than", "10000")
            admin.call("LATENCY", "RESET")
    compare_scenario(differ, scenario, protocols=(2,))
