"""Version strings the library reads: Aviatrix controller versions and pinned chart versions."""

from __future__ import annotations

import re

MIN_DECRYPT_CONTROLLER = (8, 2)
"""The first controller release that enforces a per-rule decryption setting."""

_CONTROLLER = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:[.-](\d+))?$")
_PINNED_CHART = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")


def parse_controller_version(value: str) -> tuple[int, ...]:
    """``8.2``, ``8.2.1``, ``7.1.4105`` -> integer tuple; anything else is refused."""
    m = _CONTROLLER.match(value.strip())
    if not m:
        raise ValueError(
            f"{value!r} is not a controller version; expected MAJOR.MINOR[.PATCH] (e.g. 8.2.1)"
        )
    return tuple(int(g) for g in m.groups() if g is not None)


def is_pinned_chart_version(value: str) -> bool:
    """An exact (semver) chart version: ranges and ``latest`` make previews differ."""
    return _PINNED_CHART.match(value) is not None
