"""The policy pack installed from the wheel, outside this repository: the wheel carries the
pack, ``containment policy-pack`` in the consumer's environment writes a directory bound to
that environment, and the pack started from there (as the CLI starts it) gates a preview.

The consumer's environment is a fresh venv holding only the wheel; the pack's dependencies
(Pulumi, pulumi-policy, pydantic, ...) are borrowed from this one by a path entry, which adds
their directory without running its ``.pth`` files, so this checkout's editable install stays
out of it.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from mcp_containment import __version__
from mcp_containment.config.schema import Spec
from mcp_containment.offline import engine
from mcp_containment.offline.runtime import Capture

from ..helpers import ROOT, stack_config_of
from ..test_policies import FAILING, example, fired
from .harness import EngineRun, Pack


def _tracked_tree(into: Path) -> Path:
    """The checkout's files as git sees them (committed or not, ignored files left out)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    return into


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = _tracked_tree(tmp_path_factory.mktemp("source"))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), "."],
        cwd=tree,
        check=True,
    )
    [built] = out.glob("mcp_containment-*.whl")
    return built


@pytest.fixture(scope="module")
def consumer(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A consumer's virtual environment with the wheel installed; returns its root."""
    root = tmp_path_factory.mktemp("consumer") / "venv"
    venv.create(root, with_pip=False)
    [site_dir] = root.glob("lib/python*/site-packages")
    (site_dir / "borrowed.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(root / "bin" / "python"),
            "install",
            "--no-deps",
            "--ignore-installed",
            "--quiet",
            str(wheel),
        ],
        check=True,
    )
    return root


def test_the_wheel_carries_the_pack(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "mcp_containment/policy_pack/PulumiPolicy.yaml" in names
    assert "mcp_containment/policy_pack/__main__.py" in names
    assert f"mcp_containment-{__version__}.dist-info/entry_points.txt" in names


def test_the_installed_pack_gates_a_first_preview(consumer: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    where = subprocess.run(
        [
            str(consumer / "bin" / "python"),
            "-c",
            "import mcp_containment; print(mcp_containment.__file__)",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(consumer)), where  # the wheel's copy, not this checkout
    written = subprocess.run(
        [str(consumer / "bin" / "containment"), "policy-pack", "--out", "pack"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    pack_dir = Path(written)
    assert pack_dir == tmp_path / "pack"
    assert (pack_dir / "requirements.txt").read_text() == f"mcp-containment=={__version__}\n"

    assert (pack_dir / "PulumiPolicy.yaml").read_text().count(f"virtualenv: {consumer}") == 1

    refused = _first_preview(pack_dir, *FAILING["dcf-decryption-scope"][2](True))
    assert fired(refused.violations, "dcf-decryption-scope") and refused.outcome
    assert _first_preview(pack_dir, *example("foundry-prod", True)).violations == []


def _first_preview(pack_dir: Path, spec: Spec, capture: Capture) -> EngineRun:
    with Pack(
        pack_dir,
        project=capture.project,
        stack=capture.stack,
        dry_run=True,
        stack_config=stack_config_of(spec),
    ) as pack:
        pack.configure()
        return pack.run(engine.requests(capture))
