"""A test kit for programs that use the components.

Pulumi's own mocks answer calls with nothing, which the components cannot run on (an
attachment point needs an id, a UDR needs the gateway's address). :class:`ContainmentMocks`
answers every call they make, deterministically; :func:`capture` runs a program under them
and returns every resource it registered, with the options the engine would see; and
:func:`assert_unique_urns` fails on what the engine would refuse, two resources under one
URN (a component composed twice with the same child names)::

    from mcp_containment.testing import assert_unique_urns, capture

    def test_two_regions() -> None:
        resources = capture(my_program, stack_references={"org/network/prod": {...}})
        assert_unique_urns(resources)
        assert resources.of_type("aviatrix:index/dcfRuleset:DcfRuleset")
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .offline.runtime import SECRET, Capture, CapturedResource, ContainmentMocks, run


def capture(
    program: Callable[[], None],
    *,
    project: str = "test",
    stack: str = "test",
    config: Mapping[str, str] | None = None,
    secret_keys: Sequence[str] = (),
    preview: bool = False,
    stack_references: Mapping[str, Mapping[str, Any]] | None = None,
) -> Capture:
    """Run ``program`` under :class:`ContainmentMocks`; every resource it registered, in the
    order it declared them. ``config`` is the stack's config (``namespace:key`` -> text),
    ``secret_keys`` which of it are secrets, ``preview`` runs it as a first preview (computed
    outputs unknown), and ``stack_references`` gives a ``pulumi.StackReference`` by name the
    outputs it reads."""
    return run(
        program,
        project=project,
        stack=stack,
        config=config,
        secret_keys=secret_keys,
        preview=preview,
        stack_references=stack_references,
    )


def duplicate_urns(resources: Capture | Sequence[CapturedResource]) -> list[str]:
    """URNs registered more than once, sorted: the engine refuses each."""
    items = resources.resources if isinstance(resources, Capture) else resources
    counts = Counter(r.urn for r in items)
    return sorted(urn for urn, n in counts.items() if n > 1)


def assert_unique_urns(resources: Capture | Sequence[CapturedResource]) -> None:
    """Fail, naming them, when two resources share a URN."""
    duplicates = duplicate_urns(resources)
    if duplicates:
        shown = "\n  ".join(duplicates)
        raise AssertionError(f"{len(duplicates)} URN(s) registered more than once:\n  {shown}")


__all__ = [
    "SECRET",
    "Capture",
    "CapturedResource",
    "ContainmentMocks",
    "assert_unique_urns",
    "capture",
    "duplicate_urns",
]
