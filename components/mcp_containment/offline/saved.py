"""A plan saved to a file, for ``containment check --plan``: the program runs once.

The file holds the capture and what it was planned from: a digest of the validated stack config,
this package (its version and the bytes of every file in it, so an edited checkout is never
taken for the release it was cut from), the Pulumi SDKs installed and the Python version, and
whether it was a preview. :func:`load` refuses a file whose plan could differ from the one the
program would produce now, naming what changed: a saved plan is never stale.

Secrets are never written: the capture holds ``[secret]`` where a secret was, and the config
only as a digest.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping
from dataclasses import fields
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from ..config.schema import Spec
from ..crossguard.resources import Unknown
from ..version import __version__
from .runtime import Capture, CapturedInvoke, CapturedResource

FORMAT = 1
_UNKNOWN = "__mcp_containment_unknown__"
"""The key of the one-entry object that stands for a value unknown until apply."""
_PACKAGE = Path(__file__).resolve().parent.parent


class StalePlan(ValueError):
    """The saved plan cannot stand for the program's plan now; the message says why."""


def provenance(spec: Spec, preview: bool) -> dict[str, Any]:
    """What a plan depends on, each part named so a mismatch can say which changed."""
    config = json.dumps(spec.model_dump(mode="json", by_alias=True), sort_keys=True)
    return {
        "config": hashlib.sha256(config.encode()).hexdigest(),
        "preview": preview,
        "package": f"mcp-containment {__version__} {_package_digest()}",
        "sdks": _sdk_versions(),
        "python": sys.version.split()[0],
    }


@cache
def _package_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(
        p for p in _PACKAGE.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    ):
        digest.update(str(path.relative_to(_PACKAGE)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@cache
def _sdk_versions() -> dict[str, str]:
    """Every installed Pulumi distribution (the SDK, the providers, the policy SDK)."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name.startswith("pulumi"):
            found[name] = dist.version
    return dict(sorted(found.items()))


def save(capture: Capture, spec: Spec, path: Path) -> None:
    """Write ``capture`` (planned from ``spec``) to ``path``; ValueError for a capture that
    holds a value JSON cannot carry."""
    doc = {
        "format": FORMAT,
        "provenance": provenance(spec, capture.preview),
        "capture": {
            "project": capture.project,
            "stack": capture.stack,
            "preview": capture.preview,
            "outputs": _encode(capture.outputs),
            "invokes": [{"token": i.token, "args": _encode(i.args)} for i in capture.invokes],
            "resources": [
                {f.name: _encode(getattr(r, f.name)) for f in fields(CapturedResource)}
                for r in capture.resources
            ],
        },
    }
    path.write_text(json.dumps(doc, sort_keys=False, allow_nan=False) + "\n", encoding="utf-8")


def load(path: Path, spec: Spec, preview: bool) -> Capture:
    """The capture saved in ``path``, if it was planned from ``spec`` by this installation
    (as a preview when ``preview``); :class:`StalePlan` otherwise."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise StalePlan(f"{path} is not a saved plan ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or "capture" not in doc:
        raise StalePlan(f"{path} is not a saved plan (containment plan --save writes one)")
    saved, now = doc.get("provenance") or {}, provenance(spec, preview)
    changed = [key for key in now if saved.get(key) != now[key]]
    if changed:
        raise StalePlan(f"{path} {_what(changed, saved, now)}")
    try:
        return _capture(doc["capture"])
    except (KeyError, TypeError, ValueError) as exc:
        raise StalePlan(f"{path} is not a saved plan ({exc})") from None


def _what(changed: list[str], saved: Mapping[str, Any], now: Mapping[str, Any]) -> str:
    key = changed[0]
    again = "plan again: containment plan --save"
    if key == "preview":
        if now["preview"]:
            return "holds an update's plan; --preview plans a first preview itself (drop --plan)"
        return "holds a first preview's plan, not an update's; " + again
    what = {
        "config": "the stack config has changed",
        "package": f"was planned by {saved.get('package')}, this is {now['package']}",
        "sdks": "was planned with other Pulumi SDK versions",
        "python": f"was planned under Python {saved.get('python')}, this is {now['python']}",
    }
    return f"is stale: {what.get(key, key + ' changed')}; {again}"


def _encode(value: Any) -> Any:
    if isinstance(value, Unknown):
        return {_UNKNOWN: value.path}
    if isinstance(value, Mapping):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise ValueError(f"a captured value of type {type(value).__name__} cannot be saved")


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and _UNKNOWN in value:
            return Unknown(value[_UNKNOWN])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _capture(doc: Mapping[str, Any]) -> Capture:
    tuples = {f.name for f in fields(CapturedResource) if str(f.type).startswith("tuple")}
    resources = []
    for raw in doc["resources"]:
        r = {k: _decode(v) for k, v in raw.items()}
        for name in tuples:
            r[name] = tuple(r[name])
        r["property_dependencies"] = {k: tuple(v) for k, v in r["property_dependencies"].items()}
        resources.append(CapturedResource(**r))
    return Capture(
        resources=resources,
        outputs=_decode(doc["outputs"]),
        invokes=[CapturedInvoke(i["token"], _decode(i["args"])) for i in doc["invokes"]],
        project=doc["project"],
        stack=doc["stack"],
        preview=doc["preview"],
    )
