"""The latency monitor (LATENCY LATEST/HISTORY/GRAPH/RESET/DOCTOR), as Redis's latency.c.

With ``latency-monitor-threshold`` above zero, every command lasting at least that many
milliseconds adds a sample to its event, ``command`` or ``fast-command`` (commands
flagged fast); so do an active expire cycle (``expire-cycle``) and the deletion of an
expired key (``expire-del``) lasting that long. An event keeps its last 160 samples, one per second (a later one in the
same second keeps the higher latency), and its all-time maximum.

Idle cost is nil: the dispatcher only calls :meth:`LatencyMonitor.command_ran` from the
branch it already takes for SLOWLOG, whose threshold it lowers below zero while the
threshold is set (see ``Client.after_slow``).
"""
from __future__ import annotations

import time
from typing import Dict, List, Optional

HISTORY_LEN = 160               # LATENCY_TS_LEN
GRAPH_COLUMNS = 80              # LATENCY_GRAPH_COLS
_CHARSET_FILL = "_o#"


class Series:
    """One event's samples: [unix seconds, milliseconds], oldest first, and its max."""

    __slots__ = ("samples", "max")

    def __init__(self) -> None:
        self.samples: List[List[int]] = []
        self.max = 0

    def add(self, latency: int, now: int) -> None:
        if latency > self.max:
            self.max = latency
        samples = self.samples
        if samples and samples[-1][0] == now:
            if latency > samples[-1][1]:
                samples[-1][1] = latency
            return
        samples.append([now, latency])
        if len(samples) > HISTORY_LEN:
            del samples[0]


class LatencyMonitor:
    """Every event's series, in creation order."""

    def __init__(self) -> None:
        self.events: Dict[str, Series] = {}

    def add(self, event: str, latency: int) -> None:
        series = self.events.get(event)
        if series is None:
            series = self.events[event] = Series()
        series.add(latency, int(time.time()))

    def add_if_needed(self, threshold: int, event: str, latency: int) -> None:
        """latencyAddSampleIfNeeded: only at or above a non-zero threshold."""
        if threshold and latency >= threshold:
            self.add(event, latency)

    def reset(self, event: Optional[bytes] = None) -> int:
        """Drop one event (case-insensitively) or all; how many were dropped."""
        if event is None:
            count = len(self.events)
            self.events.clear()
            return count
        wanted = event.decode("utf-8", "surrogateescape").lower()
        names = [name for name in self.events if name.lower() == wanted]
        for name in names:
            del self.events[name]
        return len(names)

    def graph(self, event: str) -> str:
        """LATENCY GRAPH's text: a header, a rule, then the sparkline with age labels."""
        series = self.events[event]
        now = int(time.time())
        values = [latency for _, latency in series.samples]
        labels = [_age(now - when) for when, _ in series.samples]
        text = "%s - high %d ms, low %d ms (all time high %d ms)\n" % (
            event, max(values), min(values), series.max)
        text += "-" * GRAPH_COLUMNS + "\n"
        parts = []
        for start in range(0, len(values), GRAPH_COLUMNS):
            parts.append(_sparkline(values[start:start + GRAPH_COLUMNS],
                                    labels[start:start + GRAPH_COLUMNS],
                                    min(values), max(values), 4))
        return text + "\n".join(parts)


def _age(seconds: int) -> str:
    if seconds < 60:
        return "%ds" % seconds
    if seconds < 3600:
        return "%dm" % (seconds // 60)
    if seconds < 86400:
        return "%dh" % (seconds // 3600)
    return "%dd" % (seconds // 86400)


def _sparkline(values: List[int], labels: List[str], low: int, high: int,
               rows: int) -> str:
    """sparklineRenderRange with SPARKLINE_FILL (min and max over the whole series)."""
    relmax = float(high - low) or 1.0
    steps = len(_CHARSET_FILL) * rows
    out = []
    row = 0
    while True:
        chars = [" "] * len(values)
        more = False
        for j, value in enumerate(values):
            step = int(int((value - low) * steps) / relmax)
            step = min(max(step, 0), steps - 1)
            if row < rows:
                index = step - (rows - row - 1) * len(_CHARSET_FILL)
                more = True
                if 0 <= index < len(_CHARSET_FILL):
                    chars[j] = _CHARSET_FILL[index]
                elif index >= len(_CHARSET_FILL):
                    chars[j] = "|"
            else:
                if row - rows < 1:          # one blank line above the labels
                    more = True
                    break
                at = row - rows - 1
                if len(labels[j]) > at:
                    more = True
                    chars[j] = labels[j][at]
        if not more:
            break
        row += 1
        out.append("".join(chars) + "\n")
    return "".join(out)
