"""Domain names: normalisation, validation, and a compiled matcher.

Two grammars share one matcher:

* MCP server egress domains follow Obot's rules: a hostname, optionally with a single leading
  ``*.``; nothing else may carry a wildcard.
* Platform WebGroups (the lists shipped in ``mcp_containment/data``) may also use Aviatrix's
  infix wildcards, where ``*`` inside a label matches any run of characters within that label
  (``ec2.*.amazonaws.com``, ``*.dkr.ecr.*.amazonaws.com``).

Matching semantics: case-insensitive and trailing-dot-insensitive; ``a.b.c`` matches
only itself; a leading ``*.`` matches one or more extra labels; ``*`` alone matches everything.
A policy's patterns are compiled once (:class:`DomainIndex`), so a lookup costs a few
dictionary lookups, never a scan of the pattern list.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

MATCH_ALL = "*"

_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
# Platform labels may contain infix wildcards; each '*' stands for a run inside one label.
_GLOB_LABEL = re.compile(r"^[a-z0-9*]([a-z0-9*_-]{0,61}[a-z0-9*])?$")
_MAX_NAME = 253
_WHITESPACE = re.compile(r"\s")

# Names that resolve inside a cluster, a host or a cloud's metadata plane. An egress rule
# naming them is either a mistake or an attempt to reach something the gateway never sees.
INTERNAL_NAMES: frozenset[str] = frozenset(
    {"localhost", "metadata.google.internal", "metadata", "kubernetes.default"}
)
INTERNAL_SUFFIXES: tuple[str, ...] = (
    "localhost",
    "local",
    "cluster.local",
    "svc",
    "internal",
    "in-addr.arpa",
    "ip6.arpa",
)


class DomainError(ValueError):
    """A domain that cannot be used; the message says why, in the user's words."""


def normalize(name: str) -> str:
    """Case-fold, strip surrounding whitespace and one trailing root dot."""
    name = name.strip().lower()
    # Only a root dot that ends a label: 'a.com..' has an empty label and must stay invalid.
    if len(name) > 1 and name[-1] == "." and (name[-2].isalnum() or name[-2] in "-_*"):
        name = name[:-1]
    return name


def is_internal(name: str) -> bool:
    """True for names that only resolve inside a host, a cluster or a cloud metadata plane."""
    bare = name[2:] if name.startswith("*.") else name
    return _internal_index().match(bare) != 0


def internal_patterns() -> tuple[str, ...]:
    """The patterns :func:`is_internal` matches (after dropping a leading ``*.``): for indexes
    that answer it in the same walk as other patterns."""
    return (*INTERNAL_NAMES, *(p for s in INTERNAL_SUFFIXES for p in (s, "*." + s)))


@cache
def _internal_index() -> DomainIndex:
    return DomainIndex((p, 1) for p in internal_patterns())


def _reject_non_hostname(raw: str, name: str) -> None:
    if not name:
        raise DomainError("is empty")
    if "://" in name:
        raise DomainError(f"{raw!r} carries a protocol; give the hostname only")
    if "/" in name:
        raise DomainError(f"{raw!r} carries a path; give the hostname only")
    if ":" in name or "[" in name:
        raise DomainError(f"{raw!r} carries a port or an IPv6 address; give the hostname only")
    if _WHITESPACE.search(name):
        raise DomainError(f"{raw!r} contains whitespace")
    if "@" in name or "?" in name or "#" in name:
        raise DomainError(f"{raw!r} is not a hostname")
    # An IPv4 address ends in a digit (IPv6 was refused above for its ':'); parsing only those
    # keeps validation of ordinary hostnames free of exception handling.
    if name[-1].isdigit():
        try:
            ipaddress.ip_network(name, strict=False)
        except ValueError:
            pass
        else:
            raise DomainError(f"{raw!r} is an IP address; egress domains are hostnames")
    if len(name) > _MAX_NAME:
        raise DomainError(f"{raw!r} is longer than {_MAX_NAME} characters")


def _check_labels(raw: str, labels: list[str], label_re: re.Pattern[str]) -> None:
    if len(labels) < 2:
        raise DomainError(f"{raw!r} needs at least two labels (e.g. example.com)")
    for label in labels:
        if not label:
            raise DomainError(f"{raw!r} has an empty label")
        if len(label) > 63:
            raise DomainError(f"{raw!r} has a label longer than 63 characters")
        if not label_re.match(label):
            raise DomainError(f"{raw!r} has an invalid label {label!r}")
    if labels[-1].isdigit():
        raise DomainError(f"{raw!r} has an all-numeric top-level label")


def check_egress_domain(raw: str) -> str:
    """Validate an MCP server's egress domain; return it normalised (trimmed, lower case).

    Everything Obot refuses is refused (:func:`obot_domain_error` is the final word), so a
    rendered catalog entry always passes Obot's validation. Stricter than Obot, on purpose:
    internal names it lets through (``*.local``, ``*.internal``, ``kubernetes.default``), names
    over 253 characters and all-numeric top-level labels (``1.2.3``), which never reach a
    public service through the gateway.
    """
    name = raw.strip()
    if name == MATCH_ALL:
        raise DomainError(
            "'*' (allow all) cannot be declared; omit egressDomains and set "
            "kubernetes.obot.defaultDenyAllEgress: false to get Obot's allow-all default"
        )
    name = name.lower()
    _reject_non_hostname(raw, name)
    if is_internal(name):
        raise DomainError(f"{raw!r} is an internal name; it never leaves the cluster or host")
    labels = name.split(".")
    wildcard = labels[0] == "*"
    if wildcard:
        labels = labels[1:]
    if any("*" in label for label in labels):
        raise DomainError(f"{raw!r}: only a single leading '*.' wildcard is allowed")
    _check_labels(raw, (["*"] if wildcard else []) + labels, _LABEL_OR_STAR)
    if wildcard and len(labels) < 2:
        raise DomainError(
            f"{raw!r} is a wildcard over a whole top-level domain (Obot requires two DNS "
            "labels after '*.')"
        )
    reason = obot_domain_error(raw)
    if reason is not None:
        raise DomainError(f"{raw!r}: {reason} (Obot's rule)")
    return name


# A leading '*' label is checked by the wildcard rule above; here it only needs to be allowed.
_LABEL_OR_STAR = re.compile(r"^(\*|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)$")


# --- Obot's own rule --------------------------------------------------------------------------
# obot-platform/obot pkg/mcp/mcpvalidators.go (ba10ff72): hostnameRegex (L37),
# validateEgressDomains (L77-148) and isDeniedEgressDomain (L150-169), restated. The messages
# are Obot's, so a refusal reads the same here and in Obot's catalog sync errors.

_OBOT_HOSTNAME = re.compile(
    r"(?:\*\.)?[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*"
)
_OBOT_DENIED: frozenset[str] = frozenset({"localhost", "metadata.google.internal", "cluster.local"})
_OBOT_DENIED_SUFFIXES = (".localhost", ".cluster.local", ".svc", ".in-addr.arpa", ".ip6.arpa")


def _go_parse_ip(text: str) -> bool:
    # Go's net.ParseIP accepts dotted IPv4 and IPv6 literals, never a zone.
    if "%" in text:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def obot_domain_error(domain: str) -> str | None:
    """Why Obot refuses one egress domain, in Obot's words; None when Obot accepts it.

    Obot checks the whitespace-trimmed text but stores the domain as written: it neither
    lowercases nor de-duplicates (the renderer does both)."""
    text = domain.strip()
    if not text:
        return "egress domain cannot be empty"
    if "://" in text:
        return "egress domain must not include a protocol"
    if _go_parse_ip(text):
        return "egress domain must not be an IP address"
    if "/" in text or ":" in text:
        return "egress domain must not include a path or port"
    if _OBOT_HOSTNAME.fullmatch(text) is None:
        return "egress domain must be a valid hostname or leading wildcard hostname"
    host = text.lower().removeprefix("*.")
    if len(host.split(".")) < 2:
        return "egress domain must contain at least two DNS labels"
    if host in _OBOT_DENIED or host.endswith(_OBOT_DENIED_SUFFIXES):
        return "egress domain is not allowed"
    return None


def obot_egress_error(domains: Iterable[str], deny_all_egress: bool | None) -> str | None:
    """Obot's ``validateEgressDomains`` over a runtime config: the first reason, or None."""
    listed = list(domains)
    if deny_all_egress and listed:
        return "denyAllEgress cannot be true when egressDomains are specified"
    for i, domain in enumerate(listed):
        reason = obot_domain_error(domain)
        if reason is not None:
            return f"egressDomains[{i}]: {reason}"
    return None


def check_platform_pattern(raw: str) -> str:
    """Validate a platform WebGroup entry (infix wildcards allowed); return it normalised."""
    name = normalize(raw)
    _reject_non_hostname(raw, name)
    if name == MATCH_ALL:
        return name
    if "**" in name:
        raise DomainError(f"{raw!r}: '**' is not a valid wildcard")
    _check_labels(raw, name.split("."), _GLOB_LABEL)
    return name


# --- matching ---------------------------------------------------------------------------------


def _label_regex(label: str) -> re.Pattern[str]:
    return re.compile("^" + "[^.]*".join(re.escape(p) for p in label.split("*")) + "$")


@dataclass(slots=True)
class _Node:
    """A node of the infix-glob trie (platform patterns such as ``ec2.*.amazonaws.com``)."""

    children: dict[str, _Node]
    # Few nodes have glob children: the rest share the empty tuple and no dict.
    globs: tuple[tuple[re.Pattern[str], _Node], ...] = ()
    glob_keys: dict[str, _Node] | None = None
    exact: int = 0  # patterns that end here
    wild: int = 0  # leading '*.' patterns that end here: need one or more further labels

    @classmethod
    def new(cls) -> _Node:
        return cls({})


class DomainIndex:
    """Patterns compiled for lookup; each pattern carries a bitmask.

    ``match(name)`` returns the OR of the masks of every pattern that matches ``name``, so one
    lookup answers "which WebGroups contain this hostname" for a whole policy.

    Plain names and leading-wildcard patterns (all of the MCP servers' domains) live in two
    dicts whose values already account for every pattern that matches the key: a declared
    name costs one lookup, a name under a ``*.`` pattern one lookup per label up to its
    nearest one. Only infix globs (platform lists) need a walk, in a trie of their own that
    holds nothing else.

    Names that match the same patterns share a *class*: a small integer, numbered once per
    distinct mask (:meth:`classify`, :meth:`mask_of`). A policy with thousands of WebGroups
    has masks thousands of bits wide; a caller that keys its own answers on the class never
    hashes or combines one per name.
    """

    __slots__ = (
        "_all",
        "_classes",
        "_exact",
        "_exact_class",
        "_globs",
        "_masks",
        "_wild",
        "_wild_class",
    )

    def __init__(self, entries: Iterable[tuple[str, int]] = ()) -> None:
        self._all = 0
        self._exact: dict[str, int] = {}
        self._wild: dict[str, int] = {}
        self._globs: _Node | None = None
        # Compiled after construction and again on the first lookup after a change.
        self._exact_class: dict[str, int] | None = None
        self._wild_class: dict[str, int] = {}
        self._masks: list[int] = []
        self._classes: dict[int, int] = {}
        for pattern, mask in entries:
            self.add(pattern, mask)
        self._compile()

    def add(self, pattern: str, mask: int) -> None:
        pattern = normalize(pattern)
        self._exact_class = None
        if pattern == MATCH_ALL:
            self._all |= mask
            return
        labels = pattern.split(".")
        wild = len(labels) > 1 and labels[0] == "*"
        fixed = labels[1:] if wild else labels
        if any("*" in label for label in fixed):
            self._add_glob(fixed, wild, mask)
            return
        table = self._wild if wild else self._exact
        key = ".".join(fixed)
        table[key] = table.get(key, 0) | mask

    def _add_glob(self, labels: list[str], wild: bool, mask: int) -> None:
        node = self._globs = self._globs or _Node.new()
        for label in reversed(labels):
            if "*" in label:
                keys = node.glob_keys
                nxt = keys.get(label) if keys is not None else None
                if nxt is None:
                    nxt = _Node.new()
                    if keys is None:
                        keys = node.glob_keys = {}
                    keys[label] = nxt
                    node.globs = (*node.globs, (_label_regex(label), nxt))
            else:
                nxt = node.children.get(label)
                if nxt is None:
                    nxt = node.children[label] = _Node.new()
            node = nxt
        if wild:
            node.wild |= mask
        else:
            node.exact |= mask

    def _compile(self) -> dict[str, int]:
        """Each key's class made final: a ``*.`` key's carries every ``*.`` pattern above
        it, a declared name's every pattern that matches the name."""
        self._masks, self._classes = [], {}
        self._class_of(self._all)  # class 0: names no pattern names (but '*')
        wild = self._wild
        self._wild_class = {}
        for key, own in wild.items():
            mask, rest = own, key
            while (dot := rest.find(".")) >= 0:
                rest = rest[dot + 1 :]
                mask |= wild.get(rest, 0)
            self._wild_class[key] = self._class_of(self._all | mask)
        exact = {
            name: self._class_of(own | self._masks[self._unlisted(name)])
            for name, own in self._exact.items()
        }
        self._exact_class = exact
        return exact

    def _class_of(self, mask: int) -> int:
        found = self._classes.get(mask)
        if found is None:
            found = self._classes[mask] = len(self._masks)
            self._masks.append(mask)
        return found

    def match(self, name: str) -> int:
        return self.match_normalized(normalize(name))

    def match_normalized(self, name: str) -> int:
        """``match`` for a name already normalised (the simulator normalises once per host)."""
        cls = self.classify(name)  # first: it may compile, which replaces the mask list
        return self._masks[cls]

    def classify(self, name: str) -> int:
        """The class of a normalised name: names of one class match the same patterns."""
        exact = self._exact_class
        if exact is None:
            exact = self._compile()
        found = exact.get(name)
        return found if found is not None else self._unlisted(name)

    def mask_of(self, cls: int) -> int:
        """The mask of the patterns that match the names of class ``cls`` (classes are
        numbered afresh when a pattern is added)."""
        return self._masks[cls]

    def _unlisted(self, name: str) -> int:
        """The class of ``name`` from every pattern but its own exact entry."""
        cls = 0
        wild = self._wild_class
        rest = name
        while (dot := rest.find(".")) >= 0:
            rest = rest[dot + 1 :]
            found = wild.get(rest)
            if found is not None:
                cls = found
                break
        if self._globs is not None:
            globbed = _walk(self._globs, name.split("."))
            if globbed:  # one class more per set of globs a name meets: bounded by the policy
                cls = self._class_of(self._masks[cls] | globbed)
        return cls


def _walk(root: _Node, labels: list[str]) -> int:
    """The masks of the trie's patterns that match ``labels``."""
    mask = 0
    node = root
    remaining = len(labels)
    pending: list[tuple[_Node, int]] = []
    while True:
        if remaining == 0:
            mask |= node.exact
        else:
            mask |= node.wild
            label = labels[remaining - 1]
            # Glob labels: branch to them off the main walk.
            for regex, glob_child in node.globs:
                if regex.match(label):
                    pending.append((glob_child, remaining - 1))
            child = node.children.get(label)
            if child is not None:
                node = child
                remaining -= 1
                continue
        if not pending:
            return mask
        node, remaining = pending.pop()


def matches(pattern: str, name: str) -> bool:
    """One pattern against one name (convenience; compile a DomainIndex for many)."""
    return DomainIndex([(pattern, 1)]).match(name) == 1


def _label_covers(a: str, b: str) -> bool:
    if a in (b, "*"):
        return True
    if "*" in b:
        return False  # a partial glob never provably covers another glob
    return "*" in a and _label_regex(a).match(b) is not None


def covers(a: str, b: str) -> bool:
    """True when every name matched by pattern ``b`` is matched by pattern ``a``.

    Exact for plain names and leading wildcards; conservative for infix globs (it may miss a
    cover, it never reports a false one), which is the safe side for shadowing analysis.
    """
    a, b = normalize(a), normalize(b)
    if a == MATCH_ALL:
        return True
    if b == MATCH_ALL:
        return False
    la, lb = a.split("."), b.split(".")
    a_wild, b_wild = la[0] == "*" and len(la) > 1, lb[0] == "*" and len(lb) > 1
    if a_wild:
        la = la[1:]
    if b_wild:
        lb = lb[1:]
    if b_wild and not a_wild:
        return False
    if a_wild:
        # b must be longer than a's fixed part (a needs at least one extra label).
        if len(lb) < len(la) or (len(lb) == len(la) and not b_wild):
            return False
    elif len(la) != len(lb):
        return False
    return all(_label_covers(x, y) for x, y in zip(reversed(la), reversed(lb), strict=False))


def is_overbroad(pattern: str) -> bool:
    """``*``, or a wildcard whose fixed part is a bare public suffix (``*.com``, ``*.co.uk``)."""
    pattern = normalize(pattern)
    if pattern == MATCH_ALL:
        return True
    labels = pattern.split(".")
    if labels[0] != "*":
        return False
    fixed = labels[1:]
    if len(fixed) == 1:
        return True
    # Two-label public suffixes such as co.uk / com.au: second-level generic label under a ccTLD.
    return len(fixed) == 2 and len(fixed[1]) == 2 and fixed[0] in _GENERIC_SLD


_GENERIC_SLD = frozenset({"co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "go"})
