"""A sized cache that keeps what is used: the simulator's and the replay's memo of resolved
sources, destinations and verdicts.

Clearing a full cache at once made every long replay fall off a cliff: the few hundred
endpoints that carry most of a log were thrown away with the one-off names and resolved again.
:class:`Recent` keeps two generations instead. New entries go into the young one; when it is
full it becomes the old one and the previous old one is dropped; a hit in the old generation
moves the entry back into the young one. Whatever is used at least once per half-limit
insertions is never dropped, and memory never exceeds ``limit`` entries.

A log also brings endpoints it names once and never again (a fresh name per line, a scan of
addresses). Caching those evicts the entries that carry the log and spreads the ones that
stay over more memory. :meth:`Recent.offer` admits an entry on its second sighting only, the
way TinyLFU's doorkeeper does: the first one marks a slot in a small byte table (keyed by the
key's hash, cleared every ``limit`` marks), so a one-off costs a hash and a byte, not an entry.
"""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")

_DOORKEEPER_SLOTS = 1 << 17
"""Slots of the doorkeeper's table: with at most ``limit`` (20,000) marks between clearings,
fewer than one one-off in six is admitted by a collision."""


class Recent(dict[K, V]):
    """At most ``limit`` entries, the least recently used dropped first (by generation).

    The dict itself is the young generation, so the hot path is one C-level lookup:
    ``cache.get(key) or cache.recall(key)`` (values are never None, never falsy); ``find``
    does both.
    """

    __slots__ = ("_half", "_limit", "_marks", "_old", "_seen")

    def __init__(self, limit: int) -> None:
        super().__init__()
        self._limit = limit
        self._half = max(1, limit // 2)
        self._old: dict[K, V] = {}
        self._seen = bytearray(_DOORKEEPER_SLOTS)
        self._marks = 0

    def find(self, key: K) -> V | None:
        """The cached value, or None."""
        return self.get(key) or self.recall(key)

    def recall(self, key: K) -> V | None:
        """The value from the old generation (moved back into the young one), or None."""
        hit = self._old.pop(key, None)
        if hit is not None:
            self.put(key, hit)
        return hit

    def put(self, key: K, value: V) -> V:
        """Cache ``value`` (never None, never falsy) and return it."""
        if len(self) >= self._half:
            self._old = dict(self)
            self.clear()
        self[key] = value
        return value

    def offer(self, key: K, value: V) -> V:
        """:meth:`put` ``value`` if ``key`` was offered before (recently); return it."""
        slot = hash(key) & (_DOORKEEPER_SLOTS - 1)
        seen = self._seen
        if seen[slot]:
            return self.put(key, value)
        seen[slot] = 1
        self._marks += 1
        if self._marks >= self._limit:
            self._seen = bytearray(_DOORKEEPER_SLOTS)
            self._marks = 0
        return value

    def size(self) -> int:
        """Entries in both generations."""
        return len(self) + len(self._old)
