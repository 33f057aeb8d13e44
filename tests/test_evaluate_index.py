"""The evaluator's indexes answer what the definitions they index answer.

Sources are matched through indexes (label groups by namespace and label, ranges by prefix
length, the rest by kind) instead of testing every group; addresses are read and classified
without ``ipaddress``'s slow paths; caches keep what is used. Each is checked here against the
plain definition on many random inputs, edge cases included.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_containment.core.cache import Recent
from mcp_containment.core.evaluate import Evaluator
from mcp_containment.core.groups import (
    _CGNAT,
    CidrIndex,
    Endpoint,
    ThreatFeed,
    _special_ranges,
    address_value,
    group_contains,
    ipv4,
    is_public,
)
from mcp_containment.core.model import (
    Action,
    DefaultAction,
    Layer,
    Rule,
    Rulebase,
    Selector,
    SelectorKind,
    SmartGroup,
)

K8S, CIDR, SUBNET = SelectorKind.K8S, SelectorKind.CIDR, SelectorKind.SUBNET


def _pods(ns: str, *tags: tuple[str, str]) -> Selector:
    return Selector(K8S, k8s_namespace=ns, tags=tuple(sorted(tags)))


GROUPS = (
    SmartGroup("ns-a", (_pods("a"),)),
    SmartGroup("a-app-x", (_pods("a", ("app", "x")),)),
    SmartGroup("a-app-x-tier-web", (_pods("a", ("app", "x"), ("tier", "web")),)),
    SmartGroup("a-tier-web", (_pods("a", ("tier", "web")),)),
    SmartGroup("b-app-x", (_pods("b", ("app", "x")),)),
    SmartGroup("no-namespace", (Selector(K8S, tags=(("app", "x"),)),)),
    SmartGroup("ten-eight", (Selector(CIDR, cidr="10.0.0.0/8"),)),
    SmartGroup("ten-one", (Selector(SUBNET, cidr="10.1.0.0/16"),)),
    SmartGroup("host", (Selector(CIDR, cidr="10.1.2.3/32"),)),
    SmartGroup("pods-or-range", (_pods("c", ("app", "y")), Selector(CIDR, cidr="192.168.0.0/24"))),
    SmartGroup("anywhere", (Selector(SelectorKind.ANYWHERE, cidr="0.0.0.0/0"),)),
    SmartGroup("public", (Selector(SelectorKind.PUBLIC_INTERNET),)),
    SmartGroup("threat", (Selector(SelectorKind.THREAT),)),
    SmartGroup(
        "storage-tag",
        (
            Selector(
                SelectorKind.EXTERNAL, external="azureips", ext_args=(("service_name", "Storage"),)
            ),
        ),
    ),
    SmartGroup("empty", ()),
)


def _rulebase() -> Rulebase:
    rules = tuple(
        Rule(f"r{i}", i, Layer.BEFORE_UI, Action.PERMIT, (g.name,), ("anywhere",))
        for i, g in enumerate(GROUPS)
    )
    return Rulebase(GROUPS, (), rules, DefaultAction(Action.DENY), threat_feed=("203.0.113.0/24",))


def _endpoints(rng: random.Random) -> list[Endpoint]:
    out = []
    for n in range(3000):
        kind = n % 4
        if kind == 0:
            labels = {
                k: rng.choice(("x", "y", "web", "db"))
                for k in rng.sample(["app", "tier", "zone"], rng.randrange(4))
            }
            ns = rng.choice(("a", "b", "c", "d"))
            net = IPv4Network(
                rng.choice(("10.1.0.0/16", "10.1.2.3/32", "172.16.0.0/12", "10.0.0.0/8"))
            )
            out.append(
                Endpoint(f"pod{n}", network=net, namespace=ns, labels=tuple(sorted(labels.items())))
            )
        elif kind == 1:
            ip = IPv4Address(
                rng.choice((0x0A010203, 0x0A010000, 0xC0A80005, 0xCB007105, rng.getrandbits(32)))
            )
            out.append(Endpoint(str(ip), ip=ip))
        elif kind == 2:
            name = rng.choice([g.name for g in GROUPS])
            out.append(Endpoint(f"group:{name}", member_of=name, namespace=rng.choice((None, "a"))))
        else:
            out.append(Endpoint(f"tag{n}", svctag=rng.choice(("Storage", "storage", "Sql"))))
    return out


def test_a_source_is_in_exactly_the_groups_that_contain_it() -> None:
    rulebase = _rulebase()
    ev = Evaluator(rulebase)
    threat = ThreatFeed(rulebase.threat_feed)
    for ep in _endpoints(random.Random(15)):
        prepared = ev.source(ep)
        expected = {i for i, g in enumerate(GROUPS) if group_contains(g, ep, threat)}
        found = {i for i in range(len(GROUPS)) if prepared.mask >> i & 1}
        assert found == expected, ep
        assert prepared.rules == tuple(sorted(expected))  # rule i is sourced from group i


def test_a_range_that_does_not_parse_fails_where_it_did() -> None:
    groups = (*GROUPS, SmartGroup("bad", (_pods("z"), Selector(CIDR, cidr="10.0.0.1/8"))))
    rules = (Rule("bad", 1, Layer.BEFORE_UI, Action.PERMIT, ("bad",), ("anywhere",)),)
    ev = Evaluator(Rulebase(groups, (), rules, DefaultAction(Action.DENY)))
    pod = Endpoint("pod", namespace="z")
    assert ev.source(pod).rules == (0,)  # its pod selector matches first, as before
    with pytest.raises(ValueError, match="has host bits set"):
        ev.source(Endpoint("ip", ip=IPv4Address("10.0.0.1")))


def test_the_range_index_answers_as_ipaddress() -> None:
    rng = random.Random(7)
    nets = [IPv4Network((rng.getrandbits(32), rng.randrange(33)), strict=False) for _ in range(300)]
    nets += [IPv4Network("10.0.0.0/8"), IPv4Network("10.1.0.0/16"), IPv4Network("0.0.0.0/0")]
    index = CidrIndex((n, 1 << i) for i, n in enumerate(nets))
    inside = [n.network_address + rng.randrange(n.num_addresses) for n in nets]
    for ip in [IPv4Address(rng.getrandbits(32)) for _ in range(2000)] + inside:
        assert index.of_address(ip) == sum(1 << i for i, n in enumerate(nets) if ip in n)
    for sub in [IPv4Network((int(ip), rng.randrange(8, 33)), strict=False) for ip in inside]:
        expected = sum(1 << i for i, n in enumerate(nets) if sub.subnet_of(n))
        assert index.of_network(sub) == expected


def test_is_public_is_ipaddress_is_global_outside_cgnat() -> None:
    assert _special_ranges() is not None  # the fast path is in use on this Python
    rng = random.Random(3)
    constants = IPv4Address._constants  # type: ignore[attr-defined]
    edges = [
        v
        for n in (*constants._private_networks, constants._public_network, _CGNAT)
        for v in (
            int(n.network_address) - 1,
            int(n.network_address),
            int(n.broadcast_address),
            int(n.broadcast_address) + 1,
        )
        if 0 <= v < 1 << 32
    ]
    for value in edges + [rng.getrandbits(32) for _ in range(50_000)]:
        ip = IPv4Address(value)
        assert is_public(ip) == (ip.is_global and ip not in _CGNAT), ip


@pytest.mark.parametrize(
    "text",
    [
        "1.2.3.4",
        "0.0.0.0",
        "255.255.255.255",
        "01.2.3.4",
        "1.2.3",
        "1.2.3.4.5",
        "256.1.1.1",
        "1.2.3.4/32",
        " 1.2.3.4",
        "1.2.3.4 ",
        "\u0661.2.3.4",  # an Arabic-Indic digit: isdigit() but not ASCII
        "1..2.3",
        "",
        "::1",
        "1.2.3.-4",
        "+1.2.3.4",
    ],
)
def test_ipv4_reads_what_ipaddress_reads(text: str) -> None:
    assert outcome(ipv4, text) == outcome(IPv4Address, text)


def outcome(read: Callable[[str], object], text: str) -> object:
    """What ``read`` makes of ``text``: its value, or its error's message."""
    try:
        return read(text)
    except ValueError as exc:
        return str(exc)


def test_a_cache_keeps_what_is_used_and_never_grows_past_its_limit() -> None:
    cache: Recent[str, int] = Recent(100)
    cache.put("hot", 1)
    for n in range(10_000):
        cache.put(f"once-{n}", n + 1)
        if n % 40 == 0:
            assert cache.find("hot") == 1  # used once per 40 new names: never dropped
        assert cache.size() <= 100
    assert cache.find("once-0") is None  # a name seen once is dropped in time


def test_a_cache_admits_an_entry_on_its_second_sighting_only() -> None:
    cache: Recent[str, int] = Recent(100)
    assert cache.offer("hot", 1) == 1
    assert cache.find("hot") is None  # a first sighting only marks the doorkeeper
    cache.offer("hot", 1)
    assert cache.find("hot") == 1
    admitted = 0
    for n in range(10_000):
        cache.offer(f"once-{n}", n + 1)
        admitted += cache.find(f"once-{n}") is not None
        if n % 40 == 0:
            assert cache.find("hot") == 1  # one-offs never push out what is used
        assert cache.size() <= 100
    # A one-off gets in only through a doorkeeper collision (a slot marked by another key).
    assert admitted < 100, admitted


@given(st.text(alphabet="0123456789.x: \u0661+-", max_size=20) | st.ip_addresses(v=4).map(str))
@settings(max_examples=2000)
def test_an_address_reads_as_ipaddress_reads_it(text: str) -> None:
    # inet_pton reads the dotted quad in C: it must accept exactly what IPv4Address accepts.
    assert outcome(address_value, text) == outcome(lambda t: int(IPv4Address(t)), text)
