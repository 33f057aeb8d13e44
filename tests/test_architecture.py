"""The shape of the code: functions small enough to read, and a project that stands on its own.
(The import layers are checked by ``lint-imports``, run by the test command.)"""

from __future__ import annotations

import ast
import subprocess
import sys

from .helpers import ROOT

PACKAGE = ROOT / "components" / "mcp_containment"
MAX_LINES = 60
REASON = "Long because"
"""A function over MAX_LINES says why in its docstring, starting with these words."""


def _functions() -> list[tuple[str, int, str]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                doc = ast.get_docstring(node) or ""
                out.append((f"{path.relative_to(ROOT)}:{node.name}", length, doc))
    return out


def test_no_function_is_long_without_saying_why() -> None:
    functions = _functions()
    assert len(functions) > 100  # the walk found the package
    unexplained = [
        f"{where} ({n} lines)" for where, n, doc in functions if n > MAX_LINES and REASON not in doc
    ]
    assert unexplained == []


def test_the_project_stands_on_its_own() -> None:
    # The project's documents are the code and the README; nothing cites a file outside it.
    tracked = subprocess.run(
        ["git", "ls-files", "components", "tests", "README.md", "__main__.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    # A section sign or a path out of the checkout is a reference the reader cannot follow;
    # this file is the one that names them.
    outside = ("\u00a7", "../shared/")
    citing = [
        f
        for f in tracked
        if f != "tests/test_architecture.py"
        and any(m in (ROOT / f).read_text(errors="replace") for m in outside)
    ]
    assert citing == []


def test_the_package_exports_its_components_lazily() -> None:
    # Importing the package must not load the Pulumi SDKs (the CLI's fast paths rely on it),
    # and every exported name must resolve.
    code = (
        "import sys, mcp_containment as m\n"
        "assert 'pulumi' not in sys.modules, 'pulumi loaded by the package import'\n"
        "assert sorted(m.__all__) == sorted(['__version__', *m._EXPORTS])\n"
        "missing = [n for n in m.__all__ if getattr(m, n, None) is None]\n"
        "assert not missing, missing\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
