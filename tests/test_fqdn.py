"""FQDN matching: the compiled trie against an independent, regex-based reference definition."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_containment.core.fqdn import (
    DomainError,
    DomainIndex,
    check_platform_pattern,
    covers,
    is_overbroad,
    matches,
    normalize,
)


def reference(pattern: str, name: str) -> bool:
    """The matching semantics, written directly: case/trailing-dot insensitive; '*' alone
    matches all; a leading '*.' is one or more labels; any other '*' is a run of characters in
    one label."""
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern == "*":
        return True
    labels = pattern.split(".")
    parts = []
    if labels[0] == "*" and len(labels) > 1:
        parts.append(r"[^.]+(\.[^.]+)*\.")
        labels = labels[1:]
    parts.append(r"\.".join("[^.]*".join(map(re.escape, lab.split("*"))) for lab in labels))
    return re.fullmatch("".join(parts), name) is not None


LABELS = ["a", "b", "api", "github", "com", "io", "s3", "us-east-1", "amazonaws", "x1"]
label = st.sampled_from(LABELS)
name = st.lists(label, min_size=1, max_size=5).map(".".join)
glob_label = st.one_of(label, st.just("*"), label.map(lambda s: s[:1] + "*"))


@st.composite
def pattern(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["exact", "wild", "infix", "all"]))
    if kind == "all":
        return "*"
    fixed = draw(st.lists(label, min_size=1, max_size=3))
    if kind == "infix":
        fixed = [draw(glob_label) if i else lab for i, lab in enumerate(fixed)] + ["com"]
    return ("*." if kind == "wild" else "") + ".".join(fixed)


@given(pattern(), name)
@settings(max_examples=500)
def test_single_pattern_matches_reference(p: str, n: str) -> None:
    assert matches(p, n) == reference(p, n)


@given(st.lists(pattern(), min_size=1, max_size=12), name)
@settings(max_examples=300)
def test_index_mask_is_the_union_of_reference_matches(patterns: list[str], n: str) -> None:
    index = DomainIndex((p, 1 << i) for i, p in enumerate(patterns))
    expected = 0
    for i, p in enumerate(patterns):
        if reference(p, n):
            expected |= 1 << i
    assert index.match(n) == expected


@given(st.lists(pattern(), min_size=1, max_size=12), st.lists(name, min_size=1, max_size=12))
@settings(max_examples=300)
def test_names_of_one_class_match_the_same_patterns(patterns: list[str], names: list[str]) -> None:
    # The evaluator keys a name's prepared destination on its class: a class is one mask.
    index = DomainIndex((p, 1 << i) for i, p in enumerate(patterns))
    by_class: dict[int, int] = {}
    for n in names:
        cls = index.classify(normalize(n))
        assert index.mask_of(cls) == index.match(n)
        assert by_class.setdefault(cls, index.match(n)) == index.match(n)
    masks = [index.mask_of(c) for c in by_class]
    assert len(set(masks)) == len(masks)  # and one class per mask


@given(st.lists(pattern(), min_size=2, max_size=10), name)
@settings(max_examples=200)
def test_patterns_added_after_a_lookup_are_matched(patterns: list[str], n: str) -> None:
    whole = DomainIndex((p, 1 << i) for i, p in enumerate(patterns))
    grown = DomainIndex([(patterns[0], 1)])
    grown.match(n)  # compiled once; every add must make it compile again
    for i, p in enumerate(patterns[1:], start=1):
        grown.add(p, 1 << i)
    assert grown.match(n) == whole.match(n)


@given(pattern(), pattern(), st.lists(name, min_size=1, max_size=20))
@settings(max_examples=300)
def test_covers_is_sound(a: str, b: str, names: list[str]) -> None:
    # covers(a, b) may be conservative, but when it says yes, no name matched by b escapes a.
    if covers(a, b):
        for n in [*names, b.replace("*", "q"), b.replace("*", "q.r")]:
            if reference(b, n):
                assert reference(a, n), (a, b, n)


@pytest.mark.parametrize(
    ("p", "n", "expected"),
    [
        ("api.github.com", "api.github.com", True),
        ("api.github.com", "API.GitHub.com.", True),
        ("api.github.com", "x.api.github.com", False),
        ("*.githubusercontent.com", "raw.githubusercontent.com", True),
        ("*.githubusercontent.com", "a.b.githubusercontent.com", True),
        ("*.githubusercontent.com", "githubusercontent.com", False),
        ("*", "anything.example", True),
        ("ec2.*.amazonaws.com", "ec2.us-east-1.amazonaws.com", True),
        ("ec2.*.amazonaws.com", "ec2.a.b.amazonaws.com", False),
        ("*.dkr.ecr.*.amazonaws.com", "1234.dkr.ecr.us-east-1.amazonaws.com", True),
        ("*.dkr.ecr.*.amazonaws.com", "dkr.ecr.us-east-1.amazonaws.com", False),
    ],
)
def test_design_examples(p: str, n: str, expected: bool) -> None:
    assert matches(p, n) is expected
    assert reference(p, n) is expected


@given(st.text(alphabet="aB.-x ", min_size=1, max_size=20))
def test_normalize_is_idempotent(text: str) -> None:
    assert normalize(normalize(text)) == normalize(text)


@pytest.mark.parametrize("bad", ["a**.com", "https://x.com", "x.com/p", "10.0.0.1", "com"])
def test_platform_patterns_refuse_bad_entries(bad: str) -> None:
    with pytest.raises(DomainError):
        check_platform_pattern(bad)


@pytest.mark.parametrize(
    ("p", "broad"),
    [("*", True), ("*.com", True), ("*.co.uk", True), ("*.github.com", False), ("x.com", False)],
)
def test_overbroad(p: str, broad: bool) -> None:
    assert is_overbroad(p) is broad
