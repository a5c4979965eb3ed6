"""The server's clock (miniredis/clock.py): ``ms`` is a plain function while the clock
runs as the wall's and follows freezes and moves; the time TTLs are judged at
(``expiry_ms``) follows it, except while a script or EXEC holds it or a load suspends
it, and comes back to the clock as it is when the hold ends."""
from __future__ import annotations

import time

from miniredis.clock import Clock


def _wall() -> int:
    return int(time.time() * 1000)


def test_the_clock_follows_freezes_and_moves():
    clock = Clock()
    assert abs(clock.ms() - _wall()) <= 5 and clock.expiry_ms is clock.ms
    clock.advance(10)
    assert abs(clock.ms() - _wall() - 10_000) <= 5
    assert abs(clock.expiry_ms() - _wall() - 10_000) <= 5
    clock.freeze(1000)
    assert clock.ms() == clock.expiry_ms() == 1000 and clock.us() == 1_000_000
    clock.advance(1.5)
    assert clock.ms() == clock.expiry_ms() == 2500
    clock.unfreeze()
    time.sleep(0.02)
    assert 2500 + 15 <= clock.ms() <= 2500 + 1000
    assert abs(clock.expiry_ms() - clock.ms()) <= 5


def test_holds_and_suspensions_end_at_the_clock_as_it_is_then():
    clock = Clock()
    held = clock.hold_expiry()
    snapshot = clock.expiry_ms()
    clock.advance(60)             # (a script's DEBUG SLEEP... time goes on)
    assert clock.expiry_ms() == snapshot and clock.ms() >= snapshot + 60_000
    clock.restore_expiry(held)
    assert abs(clock.expiry_ms() - clock.ms()) <= 5 and clock.expiry_ms() >= snapshot + 60_000
    # Nested: a script in EXEC judges at its own start; ending it restores EXEC's.
    outer = clock.hold_expiry()
    first = clock.expiry_ms()
    clock.advance(1)
    inner = clock.hold_expiry()
    assert clock.expiry_ms() >= first + 1000
    clock.restore_expiry(inner)
    assert clock.expiry_ms() == first
    clock.restore_expiry(outer)
    assert abs(clock.expiry_ms() - clock.ms()) <= 5
    # Loading: nothing expires, then the clock again (frozen meanwhile).
    suspended = clock.suspend_expiry()
    assert clock.expiry_ms() < 0
    clock.freeze(7000)
    assert clock.expiry_ms() < 0
    clock.restore_expiry(suspended)
    assert clock.expiry_ms() == 7000 == clock.ms()
