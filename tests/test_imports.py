"""Imports run one way (DESIGN.md, contract 4), read from the sources with `ast`.

Every ``import`` / ``from ... import`` in a package's files counts, function-level (lazy)
imports included: a lazy import is still a dependency.

* ``workloads`` imports none of ``dataflow``, ``archsim``, ``rtl``;
* ``dataflow`` imports only ``workloads`` and itself (the contract lives in ``dataflow``);
* ``rtl`` does not import ``archsim`` (it meets the simulator only through
  ``dataflow.contract``);
* the simulators (``archsim.sat``, ``archsim.piuma``, ``archsim.dram``) import neither the CLI
  (``archsim.cli``) nor the sweep layer (``archsim.sweep``), nor each other's models
  (``archsim.dram`` is shared and may be imported by both).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("workloads", "dataflow", "archsim", "rtl")


def _module_of(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import of our packages in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    mod = _module_of(path)
    pkg = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the package
                base = pkg.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                prefix = ".".join(base)
                names = [f"{prefix}.{node.module}" if node.module else prefix]
                if not node.module:
                    names = [f"{prefix}.{a.name}" for a in node.names]
            else:
                names = [node.module or ""]
        else:
            continue
        out += [(node.lineno, n) for n in names if n.split(".")[0] in OURS]
    return out


def _files(package: str) -> list[Path]:
    base = ROOT.joinpath(*package.split("."))
    return sorted(p for p in base.rglob("*.py") if "__pycache__" not in p.parts)


def _violations(package: str, allowed) -> list[str]:
    bad = []
    for f in _files(package):
        for line, name in _imports(f):
            if not allowed(name):
                bad.append(f"{f.relative_to(ROOT)}:{line}: imports {name}")
    return bad


def _under(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


RULES = {
    "workloads": lambda n: _under(n, "workloads"),
    "dataflow": lambda n: _under(n, "workloads", "dataflow"),
    "rtl": lambda n: not _under(n, "archsim"),
    "archsim.sat": lambda n: not _under(n, "archsim.cli", "archsim.sweep", "archsim.piuma"),
    "archsim.piuma": lambda n: not _under(n, "archsim.cli", "archsim.sweep", "archsim.sat"),
    "archsim.dram": lambda n: not _under(n, "archsim.cli", "archsim.sweep", "archsim.sat",
                                         "archsim.piuma"),
}


@pytest.mark.parametrize("package", list(RULES))
def test_imports_run_one_way(package):
    if not ROOT.joinpath(*package.split(".")).exists():
        pytest.skip(f"{package} does not exist in this checkout")
    assert not _violations(package, RULES[package]), "\n".join(_violations(package, RULES[package]))


def test_the_checker_sees_lazy_and_relative_imports():
    """The rule reader is not vacuous: it finds a function-level and a relative import."""
    pkg = ROOT / "rtl"
    found = {n for f in _files("rtl") for _, n in _imports(f)}
    assert "rtl.array" in found or "rtl.layouts" in found  # relative imports resolved
    assert "dataflow.contract" in found
    assert _files("workloads") and _files("dataflow") and pkg.is_dir()
