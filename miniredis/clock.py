"""One injectable source of time.

Every component asks the server's clock, never ``time`` directly, so tests can freeze
time and fast-forward it: keys expire and blocking timeouts fire exactly as if the time
had really passed.
"""
from __future__ import annotations

import time
from typing import Callable, List, Optional, Tuple

wall_seconds = time.time     # (Clock.ms_terms)


def _wall_ms() -> int:
    """Unix time in milliseconds: :meth:`Clock.ms` while the clock is neither frozen
    nor moved (a plain function: a lookup of a key with a TTL reads the clock, and a
    method's attribute tests cost as much as the reading)."""
    return int(wall_seconds() * 1000.0)   # (float * float: specialised)


def _never_expires() -> int:
    """Clock.expiry_ms while loading: before every TTL (some are below zero)."""
    return -(1 << 65)


class Clock:
    """Wall-clock milliseconds and monotonic seconds, optionally frozen.

    While frozen, ``advance()`` moves both clocks forward and runs the callbacks the
    server registered (active expiry, blocking timeouts) so the effects of the elapsed
    time happen at once.
    """

    def __init__(self) -> None:
        self._frozen_ms: Optional[int] = None
        self._frozen_mono: float = 0.0
        self._offset_ms = 0
        self._on_advance: List[Callable[[], None]] = []
        # ms(): Unix time in milliseconds. An attribute: _wall_ms itself while the
        # clock runs as the wall's, else _moved_ms (see _chosen).
        self.ms: Callable[[], int] = _wall_ms
        # The time keys' TTLs are judged at: ms(), except while a script or EXEC runs
        # (see hold_expiry). An attribute, so the lookups that
        # call it pay nothing for the choice.
        self.expiry_ms: Callable[[], int] = self.ms

    # -- reading -----------------------------------------------------------------
    def _moved_ms(self) -> int:
        """:meth:`ms` of a frozen or moved clock."""
        if self._frozen_ms is not None:
            return self._frozen_ms
        return _wall_ms() + self._offset_ms

    def _following(self, reader: Callable[[], int]) -> bool:
        """Whether ``reader`` (what expiry_ms was) is one of ms()'s own functions,
        not a hold's snapshot nor a load's suspension."""
        return reader is _wall_ms or reader == self._moved_ms

    def _chosen(self) -> None:
        """Choose ms() after the clock was frozen, moved or let run again; expiry_ms
        follows it unless held or suspended."""
        following = self._following(self.expiry_ms)
        self.ms = _wall_ms if self._frozen_ms is None and not self._offset_ms \
            else self._moved_ms
        if following:
            self.expiry_ms = self.ms

    def ms_terms(self) -> Tuple[Optional[int], int]:
        """What :meth:`ms` is made of, for a loop that reads it per item without a call
        each: (the frozen time or None, the offset); unfrozen, ``ms()`` is
        ``int(wall_seconds() * 1000) + offset``."""
        return self._frozen_ms, self._offset_ms

    def us(self) -> int:
        """Unix time in microseconds."""
        if self._frozen_ms is not None:
            return self._frozen_ms * 1000
        return int(time.time() * 1_000_000) + self._offset_ms * 1000

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes backwards."""
        if self._frozen_ms is not None:
            return self._frozen_mono
        return time.monotonic() + self._offset_ms / 1000.0

    def hold_expiry(self) -> Callable[[], int]:
        """Judge TTLs at this instant until :meth:`restore_expiry`: no key expires
        while a script or a transaction runs (Redis's keyIsExpired judges at
        scriptTimeSnapshot() in a script, at the outermost call's cached time in EXEC),
        so what it logs replays the same. Only expiry stops; ms(), TIME and the
        deadlines writes compute go on. Returns what to restore (holds nest: a script
        in EXEC judges at its own start)."""
        previous = self.expiry_ms
        if previous is not _never_expires:      # (loading: nothing expires, EXEC neither)
            snapshot = self.ms()
            self.expiry_ms = lambda: snapshot
        return previous

    def suspend_expiry(self) -> Callable[[], int]:
        """No key expires until :meth:`restore_expiry` (Redis's keyIsExpired while
        loading: an AOF replays its writes to keys whose TTLs passed while the server
        was down, and they expire at their first lookup after). Returns what to
        restore."""
        previous = self.expiry_ms
        self.expiry_ms = _never_expires
        return previous

    def restore_expiry(self, previous: Callable[[], int]) -> None:
        """End a :meth:`hold_expiry`, given what it returned (ms() itself, as it is
        now, if that was ms(): the clock may have been frozen or moved since)."""
        self.expiry_ms = self.ms if self._following(previous) else previous

    @property
    def frozen(self) -> bool:
        return self._frozen_ms is not None

    # -- control (tests) ---------------------------------------------------------
    def freeze(self, at_ms: Optional[int] = None) -> None:
        """Stop time at ``at_ms`` (default: now)."""
        now = self.ms()
        mono = self.monotonic()
        self._frozen_ms = now if at_ms is None else int(at_ms)
        self._frozen_mono = mono
        self._chosen()

    def unfreeze(self) -> None:
        """Let time run again from where the frozen clock stands."""
        if self._frozen_ms is None:
            return
        self._offset_ms = self._frozen_ms - int(time.time() * 1000)
        self._frozen_ms = None
        self._chosen()

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` and run the time-driven callbacks."""
        delta_ms = int(round(seconds * 1000))
        if self._frozen_ms is not None:
            self._frozen_ms += delta_ms
            self._frozen_mono += delta_ms / 1000.0
        else:
            self._offset_ms += delta_ms
        self._chosen()
        for callback in list(self._on_advance):
            callback()

    def on_advance(self, callback: Callable[[], None]) -> None:
        """Register a callback run after every ``advance()``."""
        self._on_advance.append(callback)
