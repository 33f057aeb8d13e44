"""The policy pack as a directory ``pulumi preview --policy-pack DIR`` runs.

The pack ships in the wheel (``mcp_containment/policy_pack``: ``PulumiPolicy.yaml`` and the
wiring ``__main__.py``). A local ``--policy-pack`` directory is run as it is, nothing installed:
the CLI's Python language host starts ``<virtualenv>/bin/python -u -m pulumi.policy`` with an
absolute ``virtualenv`` used as given (pulumi/pulumi@1b5949891b
``sdk/python/toolchain/pip.go``: ``resolveVirtualEnvironmentPath``, ``Command``). So the
directory written here names the environment this package is installed in, where the pack's
dependencies already are, and pins ``requirements.txt`` to this very version (what
``pulumi install`` in the directory would install).
"""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path
from typing import Final

import yaml

from ..version import __version__

SHIPPED: Final = ("PulumiPolicy.yaml", "__main__.py")
WRITTEN: Final = (*SHIPPED, "requirements.txt")
_IGNORED: Final = frozenset({"__pycache__"})


class PackDirError(Exception):
    """The pack cannot be written where asked, or not for this environment."""


def environment(prefix: Path | None = None) -> Path:
    """The virtual environment the package runs in, as ``virtualenv`` names it."""
    root = Path(sys.prefix if prefix is None else prefix).absolute()
    python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not python.is_file():
        raise PackDirError(
            f"{root} is not a virtual environment ({python} does not exist): install "
            "mcp-containment in one (python -m venv), so the pack can name its interpreter"
        )
    return root


def _shipped(name: str) -> str:
    return (resources.files("mcp_containment") / "policy_pack" / name).read_text()


def policy_yaml(env: Path) -> str:
    """``PulumiPolicy.yaml`` for ``env``: the shipped one with the environment and version."""
    doc = yaml.safe_load(_shipped("PulumiPolicy.yaml"))
    doc["runtime"]["options"]["virtualenv"] = str(env)
    doc["version"] = __version__
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def write_pack(out: Path, prefix: Path | None = None) -> Path:
    """Write the pack into ``out`` (new, empty, or an earlier pack); return its absolute
    path. Refuses a directory holding anything else rather than mix with it."""
    env = environment(prefix)
    out = out.absolute()
    if out.exists() and not out.is_dir():
        raise PackDirError(f"{out} exists and is not a directory")
    present = [p.name for p in out.iterdir()] if out.exists() else []
    others = sorted(set(present) - {*WRITTEN, *_IGNORED})
    if others:
        raise PackDirError(f"{out} holds other files ({', '.join(others)}); give a new directory")
    out.mkdir(parents=True, exist_ok=True)
    (out / "PulumiPolicy.yaml").write_text(policy_yaml(env))
    (out / "__main__.py").write_text(_shipped("__main__.py"))
    (out / "requirements.txt").write_text(f"mcp-containment=={__version__}\n")
    return out
