"""A sized cache that keeps what is used: the simulator's and the replay's memo of resolved
sources, destinations and verdicts.

Clearing a full cache at once made every long replay fall off a cliff: the few hundred
endpoints that carry most of a log were thrown away with the one-off names and resolved again.
:class:`Recent` keeps two generations instead. New entries go into the young one; when it is
full it becomes the old one and the previous old one is dropped; a hit in the old generation
moves the entry back into the young one. Whatever is used at least once per half-limit
insertions is never dropped, a hit in the young generation costs one dict lookup, and memory
never exceeds ``limit`` entries.
"""

from __future__ import annotations

from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    """At most ``limit`` entries, the least recently used dropped first (by generation)."""

    __slots__ = ("_half", "_old", "_young")

    def __init__(self, limit: int) -> None:
        self._half = max(1, limit // 2)
        self._young: dict[K, V] = {}
        self._old: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        """The cached value, or None (values are never None)."""
        hit = self._young.get(key)
        if hit is None:
            hit = self._old.pop(key, None)
            if hit is not None:
                self.put(key, hit)
        return hit

    def put(self, key: K, value: V) -> V:
        young = self._young
        if len(young) >= self._half:
            self._old = young
            young = self._young = {}
        young[key] = value
        return value

    def __len__(self) -> int:
        return len(self._young) + len(self._old)
