"""Property-based tests: one or more per validator, against independent definitions."""

from __future__ import annotations

import ipaddress
import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mcp_containment.config.validate import issues_of
from mcp_containment.core.fqdn import DomainError, check_egress_domain, normalize
from mcp_containment.core.versions import parse_controller_version as parse_version

from .helpers import paths, raw_stack, with_changes

label = st.from_regex(r"\A[a-z]([a-z0-9-]{0,20}[a-z0-9])?\Z")
hostname = st.lists(label, min_size=2, max_size=5).map(".".join).filter(lambda h: len(h) <= 253)


@given(hostname)
def test_valid_hostnames_are_accepted_and_normalisation_is_idempotent(name: str) -> None:
    assume(not re.search(r"(^|\.)(localhost|local|svc|internal|arpa)$", name))
    assert check_egress_domain(name) == name
    assert check_egress_domain(" " + name.upper() + " ") == name
    assert normalize(normalize(name)) == normalize(name)


@given(hostname)
def test_a_trailing_root_dot_is_refused_as_obot_does(name: str) -> None:
    with pytest.raises(DomainError):
        check_egress_domain(name + ".")


@given(hostname)
def test_single_leading_wildcard_is_accepted(name: str) -> None:
    assume(not re.search(r"(^|\.)(localhost|local|svc|internal|arpa)$", name))
    assert check_egress_domain("*." + name) == "*." + name


@given(hostname, st.sampled_from(["https://", "http://", "ftp://"]))
def test_protocol_is_always_refused(name: str, scheme: str) -> None:
    with pytest.raises(DomainError, match="protocol"):
        check_egress_domain(scheme + name)


@given(hostname, st.integers(min_value=1, max_value=65535))
def test_port_is_always_refused(name: str, port: int) -> None:
    with pytest.raises(DomainError, match="port"):
        check_egress_domain(f"{name}:{port}")


@given(hostname, st.from_regex(r"\A/[a-z0-9/]{0,10}\Z"))
def test_path_is_always_refused(name: str, path: str) -> None:
    with pytest.raises(DomainError, match="path"):
        check_egress_domain(name + path)


@given(st.ip_addresses(v=4))
def test_ip_addresses_are_always_refused(ip: ipaddress.IPv4Address) -> None:
    with pytest.raises(DomainError):
        check_egress_domain(str(ip))


@given(hostname, st.sampled_from(["cluster.local", "svc", "localhost", "in-addr.arpa", "internal"]))
def test_internal_suffixes_are_always_refused(name: str, suffix: str) -> None:
    with pytest.raises(DomainError, match="internal"):
        check_egress_domain(f"{name}.{suffix}")


@given(hostname, st.integers(min_value=1, max_value=3))
def test_non_leading_wildcards_are_always_refused(name: str, at: int) -> None:
    labels = name.split(".")
    assume(at < len(labels))
    labels.insert(at, "*")
    with pytest.raises(DomainError, match="single leading"):
        check_egress_domain(".".join(labels))


# --- CIDRs --------------------------------------------------------------------------------------


@given(st.ip_addresses(v=4), st.integers(min_value=8, max_value=28))
def test_cidr_accepted_iff_canonical(ip: ipaddress.IPv4Address, prefix: int) -> None:
    text = f"{ip}/{prefix}"
    canonical = str(ipaddress.IPv4Network(text, strict=False))
    raw = with_changes(
        raw_stack("foundry-dev"), egress__eastWest=[text], gateway__transitGateway="t"
    )
    found = paths(raw)
    key = "egress.eastWest[0]"
    if text != canonical:
        assert "not canonical" in found[key]
    elif ipaddress.IPv4Network(text).overlaps(ipaddress.IPv4Network("10.30.0.0/16")):
        assert "overlaps" in found[key]
    else:
        assert key not in found


@given(st.integers(min_value=0, max_value=255), st.integers(min_value=16, max_value=27))
def test_subnet_accepted_iff_inside_the_vnet(third_octet: int, prefix: int) -> None:
    net = ipaddress.IPv4Network(f"10.{third_octet}.1.0/{prefix}", strict=False)
    raw = with_changes(raw_stack("foundry-dev"), network__agentSubnet=str(net))
    found = paths(raw)
    inside = net.subnet_of(ipaddress.IPv4Network("10.30.0.0/16"))
    assert ("outside network.cidr" in found.get("network.agentSubnet", "")) == (not inside)


@given(st.integers(min_value=24, max_value=30), st.booleans())
def test_gateway_subnet_size_rule(prefix: int, ha: bool) -> None:
    raw = with_changes(
        raw_stack("foundry-dev"), network__gatewaySubnet=f"10.30.0.0/{prefix}", gateway__ha=ha
    )
    # Independent statement of the rule: 5 reserved + 6 per gateway in the subnet.
    needed = 5 + 6 * (2 if ha else 1)
    too_small = 2 ** (32 - prefix) < needed
    assert ("network.gatewaySubnet" in paths(raw)) == too_small


# --- names and versions ---------------------------------------------------------------------------

K8S_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


@given(st.text(alphabet="abcXYZ019-_. !/", min_size=0, max_size=70))
def test_server_name_accepted_iff_entry_key_and_label_value(name: str) -> None:
    # An entry key is Obot's DNS-1123 subdomain and stands in for a pod label value.
    raw = raw_stack("obot-aks")
    raw["mcpServers"][0]["name"] = name
    valid = len(name) <= 63 and bool(DNS1123_SUBDOMAIN.match(name))
    assert ("mcpServers[0].name" not in paths(raw)) == valid
    if valid:
        assert K8S_LABEL_VALUE.match(name)


@given(st.text(alphabet="abcXYZ019-_. !/", min_size=0, max_size=70))
def test_workload_name_accepted_iff_kubernetes_label_value(name: str) -> None:
    raw = raw_stack("obot-eks")
    raw["mcpWorkloads"][0]["name"] = name
    valid = bool(name) and len(name) <= 63 and bool(K8S_LABEL_VALUE.match(name))
    assert ("mcpWorkloads[0].name" not in paths(raw)) == valid


@given(st.lists(st.integers(min_value=0, max_value=9999), min_size=2, max_size=3))
def test_dotted_versions_parse_to_their_numbers(parts: list[int]) -> None:
    text = ".".join(map(str, parts))
    assert parse_version(text) == tuple(parts)


@given(st.text(min_size=1, max_size=10).filter(lambda t: not re.fullmatch(r"[\d.\-\s]+", t)))
def test_versions_with_letters_never_parse(text: str) -> None:
    with pytest.raises(ValueError, match="not a controller version"):
        parse_version(text)


@given(st.sampled_from(["github", "slack", "notion"]), st.integers(min_value=2, max_value=4))
def test_duplicate_names_always_reported(name: str, copies: int) -> None:
    raw = raw_stack("obot-aks")
    server = {"name": name, "runtime": "npx", "npxConfig": {"package": "p"}, "denyAllEgress": True}
    raw["mcpServers"] = [{**server, "displayName": f"{name} {i}"} for i in range(copies)]
    found = [i for i in issues_of(raw) if "is used twice" in i.message]
    assert len(found) == copies - 1
