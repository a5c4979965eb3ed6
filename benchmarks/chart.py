"""Draw bench.py's results as one PNG (matplotlib, from the ``bench`` extra).

Six panels: requests per second as a ratio to redis-server for each configuration
(50 clients, 50 clients -P 16, 1 client) with miniredis and the peers side by side;
the scale goals (1M-member sorted set, GET over 1M vs 1k keys); one client's p50
latency ratio; memory per key in bytes for every server. Dashed lines are the goals.

    python benchmarks/chart.py [RESULTS_JSON] [OUT_PNG]
"""
from __future__ import annotations

import json
import os
import sys
from typing import Dict, List, Optional, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
COLORS = {"redis-server": "#a41e11", "miniredis": "#3572a5", "alicebob": "#00add8",
          "fakeredis": "#b0b0b0"}
NAMES = {"redis-server": "redis-server 7.0.15", "miniredis": "miniredis",
         "alicebob": "alicebob/miniredis (Go)", "fakeredis": "fakeredis TCP server"}
GOAL_STYLE = dict(color="black", linestyle="--", linewidth=1)


def _bars(ax, labels: Sequence[str], series: Dict[str, List[Optional[float]]],
          log: bool = False) -> None:
    """Grouped bars: one group per label, one bar per series (None = no bar)."""
    width = 0.8 / max(len(series), 1)
    for index, (kind, values) in enumerate(series.items()):
        xs = [i + (index - (len(series) - 1) / 2) * width for i in range(len(labels))]
        ax.bar([x for x, v in zip(xs, values) if v is not None],
               [v for v in values if v is not None], width, color=COLORS[kind],
               label=NAMES[kind])
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=8)
    if log:
        ax.set_yscale("log")
    ax.grid(axis="y", alpha=0.3)


def _ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return a / b if a and b else None


def _throughput_panel(ax, label: str, tests: dict, goal: Optional[float]) -> None:
    names = list(tests)
    kinds = [k for k in ("miniredis", "alicebob", "fakeredis")
             if any(k in per for per in tests.values())]
    series = {kind: [_ratio(tests[t].get(kind, {}).get("rps"),
                            tests[t].get("redis-server", {}).get("rps")) for t in names]
              for kind in kinds}
    _bars(ax, names, series)
    ax.axhline(1.0, color="#a41e11", linewidth=1, alpha=0.6)
    if goal:
        ax.axhline(goal, **GOAL_STYLE)
        ax.text(len(names) - 0.5, goal, " goal %.1fx" % goal, va="bottom", ha="right",
                fontsize=7)
    ax.set_title("%s: requests/s vs redis-server" % label, fontsize=10)
    ax.set_ylabel("ratio to redis-server (1 = same)")


def _scale_panel(ax, results: dict) -> None:
    labels, values, goals = [], [], []
    zset = results.get("zset", {})
    for test, per in zset.get("results", {}).items():
        if test == "ZSCORE":
            continue
        labels.append("%s zset\n" % _short(zset["members"])
                      + test.replace(" LIMIT 0 10", "\nLIMIT 0 10"))
        values.append(_ratio(per.get("miniredis"), per.get("redis-server")))
        goals.append(0.6)
    keyscale = results.get("keyscale")
    if keyscale:
        for config, per in keyscale["results"].items():
            mini = per.get("miniredis", {})
            labels.append("GET %s vs %s keys\n%s" % (_short(keyscale["large"]),
                                                     _short(keyscale["small"]), config))
            values.append(_ratio(mini.get("large"), mini.get("small")))
            goals.append(0.95)
    if not labels:
        ax.set_visible(False)
        return
    ax.bar(range(len(labels)), [v or 0 for v in values], 0.5, color=COLORS["miniredis"])
    for i, goal in enumerate(goals):
        ax.plot([i - 0.35, i + 0.35], [goal, goal], **GOAL_STYLE)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_title("scale: big sorted set, miniredis / redis-server;\nminiredis GET with "
                 "many keys / with few (dashes: goals)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)


def _short(count: int) -> str:
    return "%dM" % (count // 10**6) if count >= 10**6 and count % 10**6 == 0 else (
        "%dk" % (count // 1000) if count >= 1000 else str(count))


def _latency_panel(ax, tests: dict) -> None:
    names = list(tests)
    kinds = [k for k in ("miniredis", "alicebob", "fakeredis")
             if any(k in per for per in tests.values())]
    series = {kind: [_ratio(tests[t].get(kind, {}).get("p50"),
                            tests[t].get("redis-server", {}).get("p50")) for t in names]
              for kind in kinds}
    _bars(ax, names, series)
    ax.axhline(1.1, **GOAL_STYLE)
    ax.text(len(names) - 0.5, 1.1, " goal 1.1x", va="bottom", ha="right", fontsize=7)
    ax.set_title("1 client: p50 latency vs redis-server (lower is better)", fontsize=10)
    ax.set_ylabel("ratio to redis-server p50")


def _memory_panel(ax, memory: dict) -> None:
    datasets = memory["datasets"]
    names = list(datasets)
    kinds = [k for k in ("redis-server", "miniredis", "alicebob", "fakeredis")
             if any(k in d["servers"] for d in datasets.values())]
    series = {kind: [max(datasets[n]["servers"].get(kind, {}).get("per_key", 0), 1)
                     if kind in datasets[n]["servers"] else None for n in names]
              for kind in kinds}
    labels = []
    for name in names:
        per = datasets[name]["servers"]
        ratio = _ratio(per["miniredis"]["per_key"], per["redis-server"]["per_key"])
        labels.append("%s\n(%s)\nmini %s, goal <=%g" % (
            name, datasets[name]["unit"], "%.2fx" % ratio if ratio else "-",
            datasets[name]["goal"]))
    _bars(ax, labels, series, log=True)
    ax.set_xticklabels(labels, rotation=0, ha="center", fontsize=7)
    scale = memory.get("scale", 1)
    ax.set_title("memory: RSS growth per key, bytes%s" % (
        "" if scale == 1 else " (datasets x%g)" % scale), fontsize=10)
    ax.set_ylabel("bytes (log scale)")


def draw(results: dict, path: str) -> None:
    """Write the six-panel chart of ``results`` (bench.py's JSON) to ``path``."""
    fig, axes = plt.subplots(3, 2, figsize=(14, 15))
    throughput = results.get("throughput", {})
    goals = {"50 clients -P 16": 0.6}
    slots = [axes[0][0], axes[0][1], axes[1][0]]
    for ax, config in zip(slots, ("50 clients", "50 clients -P 16", "1 client")):
        if config in throughput:
            _throughput_panel(ax, config, throughput[config], goals.get(config))
        else:
            ax.set_visible(False)
    if "1 client" in throughput:
        _latency_panel(axes[1][1], throughput["1 client"])
    else:
        axes[1][1].set_visible(False)
    _scale_panel(axes[2][0], results)
    if "memory" in results:
        _memory_panel(axes[2][1], results["memory"])
    else:
        axes[2][1].set_visible(False)
    handles: dict = {}      # label -> the first handle drawn with it
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    fig.legend(list(handles.values()), list(handles), loc="upper center", ncol=4,
               fontsize=9, bbox_to_anchor=(0.5, 0.965))
    meta = results.get("meta", {})
    fig.suptitle("miniredis vs redis-server (issue 17 goals) -- %s%s, %s CPUs shared, "
                 "load %s" % (meta.get("date", ""), " quick" if meta.get("quick") else "",
                             meta.get("cpus", "?"), " ".join(meta.get("loadavg", []))),
                 fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    source = argv[0] if argv else os.path.join(HERE, "latest.json")
    target = argv[1] if len(argv) > 1 else os.path.join(HERE, "chart.png")
    with open(source) as data:
        draw(json.load(data), target)
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
