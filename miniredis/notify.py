"""Keyspace notifications (``notify-keyspace-events``), as Redis's notify.c.

Commands call :func:`notify` with their event's class letter and name for each key
they change, in the order Redis does (``lpop`` before the ``del`` of an emptied list,
``set`` before ``expire`` for SET EX...). With notifications off (the default) that
costs one dictionary lookup. Events are published as ordinary pub/sub messages:
``__keyspace@<db>__:<key>`` carries the event name (class ``K``) and
``__keyevent@<db>__:<event>`` the key name (class ``E``).

Class letters: ``g`` generic, ``$`` string, ``l`` list, ``s`` set, ``h`` hash,
``z`` sorted set, ``t`` stream, ``x`` expired, ``e`` evicted, ``m`` key miss,
``n`` new key.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, FrozenSet

from .pubsub import pubsub_of

if TYPE_CHECKING:  # pragma: no cover
    from .keyspace import Database

_ALL_TYPES = "g$lshzxetd"
_parsed: Dict[str, FrozenSet[str]] = {}


def _classes(flags: str) -> FrozenSet[str]:
    classes = _parsed.get(flags)
    if classes is None:
        classes = _parsed[flags] = frozenset(flags.replace("A", _ALL_TYPES))
    return classes


def notify(db: "Database", event_class: str, event: bytes, key: bytes) -> None:
    """Publish ``event`` on ``key`` if ``notify-keyspace-events`` enables its class."""
    flags = db.state.config.values["notify-keyspace-events"]
    if not flags:
        return
    classes = _classes(flags)
    if event_class not in classes:
        return
    registry = pubsub_of(db.state)
    if "K" in classes:
        registry.publish(b"__keyspace@%d__:%s" % (db.id, key), event)
    if "E" in classes:
        registry.publish(b"__keyevent@%d__:%s" % (db.id, event), key)
