"""A sized cache that keeps what is used: the simulator's and the replay's memo of resolved
sources, destinations and verdicts.

Clearing a full cache at once made every long replay fall off a cliff: the few hundred
endpoints that carry most of a log were thrown away with the one-off names and resolved again.
:class:`Recent` keeps two generations instead. New entries go into the young one; when it is
full it becomes the old one and the previous old one is dropped; a hit in the old generation
moves the entry back into the young one. Whatever is used at least once per half-limit
insertions is never dropped, and memory never exceeds ``limit`` entries.
"""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Recent(dict[K, V]):
    """At most ``limit`` entries, the least recently used dropped first (by generation).

    The dict itself is the young generation, so the hot path is one C-level lookup:
    ``cache.get(key) or cache.recall(key)`` (values are never None, never falsy); ``find``
    does both.
    """

    __slots__ = ("_half", "_old")

    def __init__(self, limit: int) -> None:
        super().__init__()
        self._half = max(1, limit // 2)
        self._old: dict[K, V] = {}

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
        if dict.__len__(self) >= self._half:
            self._old = dict(self)
            self.clear()
        self[key] = value
        return value

    def size(self) -> int:
        """Entries in both generations."""
        return dict.__len__(self) + len(self._old)
