"""`containment lock` leaves the old stack file or the new one, never a mix: killed at every
step of the write, failing at every system call, and under a file-size limit."""

from __future__ import annotations

import errno
import os
import resource
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from typer.testing import CliRunner

from mcp_containment.cli import app
from mcp_containment.config import files
from mcp_containment.config.load import load_file
from mcp_containment.config.lock import build_lock, render_locked_file, write_lock

from .helpers import STACKS_DIR

OUTPUTS = {
    "agentSubnetId": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/"
    "virtualNetworks/v/subnets/agents",
    "gatewayPrivateIp": "10.40.0.4",
}
FILES_MODULE = files.__file__


def _prepared(tmp_path: Path) -> tuple[Path, bytes, bytes, Any]:
    path = tmp_path / "Pulumi.prod.yaml"
    shutil.copy(STACKS_DIR / "Pulumi.foundry-prod.yaml", path)
    lock = build_lock(load_file(path), OUTPUTS)
    return path, path.read_bytes(), render_locked_file(path, lock), lock


def _write_steps(path: Path, lock: Any) -> int:
    """How many profiler events the write has in the file module (calls, returns and the
    system calls it makes: each is a point to kill it at)."""
    events = 0

    def count(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal events
        if frame.f_code.co_filename == FILES_MODULE:
            events += 1

    sys.setprofile(count)
    try:
        write_lock(path, lock)
    finally:
        sys.setprofile(None)
    return events


def _killed_at(path: Path, lock: Any, step: int) -> None:
    """Run the write in a forked child that SIGKILLs itself at profiler event ``step``."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            seen = 0

            def kill(frame: FrameType, event: str, arg: Any) -> None:
                nonlocal seen
                if frame.f_code.co_filename == FILES_MODULE:
                    seen += 1
                    if seen == step:
                        os.kill(os.getpid(), signal.SIGKILL)

            sys.setprofile(kill)
            write_lock(path, lock)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


def test_a_kill_at_any_point_leaves_the_old_file_or_the_new_one(tmp_path: Path) -> None:
    path, old, new, lock = _prepared(tmp_path)
    scratch = tmp_path / "scratch" / path.name
    scratch.parent.mkdir()
    scratch.write_bytes(old)
    steps = _write_steps(scratch, lock)
    assert steps > 20  # reads, mkstemp, fchmod, write, fsync, replace, directory fsync
    outcomes = []
    for step in range(1, steps + 1):
        path.write_bytes(old)
        _killed_at(path, lock, step)
        now = path.read_bytes()
        assert now in (old, new), f"mixed file after a kill at step {step}"
        outcomes.append(now == new)
    # Killed before the rename: the old file; after it: the new one. Both must have happened.
    assert outcomes[0] is False and outcomes[-1] is True
    assert outcomes == sorted(outcomes)  # once new, never old again


def _failing(exc: OSError) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise exc

    return fail


_FDOPEN = os.fdopen


class _FullDisk:
    """A file object whose write fails like a full disk."""

    def __init__(self, fd: int, mode: str) -> None:
        self.fh = _FDOPEN(fd, mode)

    def __enter__(self) -> _FullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.fh.close()

    def fileno(self) -> int:
        return self.fh.fileno()

    def write(self, data: bytes) -> int:
        self.fh.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize(
    ("target", "replacement"),
    [
        ((tempfile, "mkstemp"), _failing(OSError(errno.EACCES, os.strerror(errno.EACCES)))),
        ((os, "fchmod"), _failing(OSError(errno.EPERM, os.strerror(errno.EPERM)))),
        ((os, "fdopen"), _FullDisk),
        ((os, "fsync"), _failing(OSError(errno.EIO, os.strerror(errno.EIO)))),
        ((os, "replace"), _failing(OSError(errno.EXDEV, os.strerror(errno.EXDEV)))),
    ],
    ids=["mkstemp", "fchmod", "write", "fsync", "rename"],
)
def test_a_failure_at_each_step_leaves_the_file_and_no_temporary(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    target: tuple[object, str],
    replacement: Callable[..., Any],
) -> None:
    path, old, _, _ = _prepared(tmp_path)
    monkeypatch.setattr(*target, replacement)
    result = CliRunner().invoke(app, ["lock", "--config", str(path), "--json"])
    monkeypatch.undo()
    assert result.exit_code == 2, result.output
    assert '"path": "' + str(path) + '"' in result.stdout
    assert "it is unchanged" in result.stdout
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_a_file_size_limit_mid_write_leaves_the_old_file(tmp_path: Path) -> None:
    path, old, new, _ = _prepared(tmp_path)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            os.close(read)
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a core dump
            _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
            resource.setrlimit(resource.RLIMIT_FSIZE, (len(old) + 16, hard))
            result = CliRunner().invoke(app, ["lock", "--config", str(path)])
            os.write(write, result.stderr.encode()[:4000])
            code = result.exit_code
        finally:
            os._exit(code)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read, "rb") as fh:
        err = fh.read().decode()
    assert len(new) > len(old) + 16
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 2, err
    assert "File too large" in err and "it is unchanged" in err
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
