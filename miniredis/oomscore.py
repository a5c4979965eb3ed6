"""oom-score-adj: which process the Linux OOM killer should prefer, as Redis's
setOOMScoreAdj. With ``oom-score-adj yes|relative`` the process's
/proc/self/oom_score_adj becomes the value it had at start-up plus
``oom-score-adj-values``' entry for its role (master, replica, forked child); with
``absolute`` that entry itself; ``no`` puts back the start-up value if this server
changed it. Only a server that owns its process (the command line) touches it: an
embedded one must not change its host's.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .state import ServerState

MASTER, REPLICA, CHILD = 0, 1, 2
_PATH = "/proc/self/oom_score_adj"
_base = 0                           # the value before this server took control
_adjusted = False                   # this server changed it (oom_score_adjusted_by_redis)


def apply(state: "ServerState", process_class: int = -1) -> bool:
    """Set the score for ``process_class`` (-1: this server's role now). False, logged,
    when the kernel refuses (lowering it needs privileges)."""
    global _base, _adjusted
    if not state.owns_process:
        return True
    mode = state.config["oom-score-adj"]
    if process_class == -1:
        process_class = REPLICA if state.repl.master_host is not None else MASTER
    try:
        if not _adjusted and mode != "no":    # (the value before we take control)
            with open(_PATH) as handle:
                _base = int(handle.read().strip() or 0)
        if mode == "no":
            if not _adjusted:
                return True
            value = _base
        else:
            value = int(state.config["oom-score-adj-values"].split()[process_class])
            if mode != "absolute":
                value += _base
            value = max(-1000, min(1000, value))
        with open(_PATH, "w") as handle:
            handle.write("%d\n" % value)
    except (OSError, ValueError) as exc:
        state.log("warning", "Unable to write oom_score_adj: %s"
                  % (getattr(exc, "strerror", None) or exc))
        return False
    _adjusted = mode != "no"
    return True
