"""The layout keeps its promises: dependencies point one way, stages never import each other, mpi4py lives in one
module, nothing imports in a cycle, and file formats are left to the field's libraries."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pzmpi"
STAGES = ("acquire", "train", "compute", "deliver")
# What each part of the foundation may import, besides itself: lower layers only.
FOUNDATION = {"core": set(), "io": {"core"}, "photometry": {"core"}, "estimators": {"core", "io", "photometry"}}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def names_imported(path: Path) -> set[str]:
    """Every module (and module.name) ``path`` imports, at any depth of the file (lazy imports count)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def raw_imports() -> dict[str, set[str]]:
    return {module_name(path): names_imported(path) for path in PACKAGE.rglob("*.py")}


def imports_of(path: Path) -> set[str]:
    """Every pzmpi module ``path`` imports."""
    modules = {module_name(p) for p in PACKAGE.rglob("*.py")}
    return {name for name in names_imported(path) if name in modules}


def graph() -> dict[str, set[str]]:
    return {module_name(path): imports_of(path) for path in PACKAGE.rglob("*.py")}


def part(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def test_a_stage_uses_the_foundation_never_another_stage():
    for module, imported in graph().items():
        if part(module) in STAGES:
            others = {name for name in imported if part(name) in STAGES and part(name) != part(module)}
            assert not others, f"{module} imports another stage: {sorted(others)}"
            assert not {name for name in imported if part(name) in ("cli", "datasets")}, module


def test_the_foundation_depends_only_on_what_lies_below_it():
    for module, imported in graph().items():
        if part(module) in FOUNDATION:
            allowed = FOUNDATION[part(module)] | {part(module)}
            wrong = {name for name in imported if part(name) not in allowed and name != "pzmpi"}
            assert not wrong, f"{module} imports above its layer: {sorted(wrong)}"


def test_no_module_imports_in_a_cycle():
    edges = {module: {name for name in imported if name != module} for module, imported in graph().items()}
    state: dict[str, int] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for name in sorted(edges.get(module, ())):
            if state.get(name) == 1:
                cycle = trail[trail.index(name):] + [name] if name in trail else [module, name]
                raise AssertionError(f"import cycle: {' -> '.join(cycle)}")
            if name not in state:
                visit(name, trail + [name])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])


def test_mpi4py_is_imported_by_one_module_only():
    users = sorted(module for module, imported in raw_imports().items() if any(n.startswith("mpi4py") for n in imported))
    assert users == ["pzmpi.core.mpi"]


def test_file_formats_and_healpix_are_the_libraries_work():
    """No parquet, FITS or HEALPix decoding of pzmpi's own: the package that did it is gone, and no module
    unpacks bytes or computes HEALPix pixels itself."""
    assert not (PACKAGE / "parquet").exists()
    assert not [module for module, imported in raw_imports().items() if "struct" in imported]
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        for sign in ("ang2pix", "_FITS_BLOCK", "thrift", "def decompress"):
            assert sign not in text, f"{path.relative_to(PACKAGE)}: {sign}"


def test_the_command_line_loads_no_heavy_library_before_it_pins_threads():
    """Thread counts are pinned from the configuration before numpy, numba, pyarrow or MPI load."""
    code = ("import sys, pzmpi.cli; print(' '.join(m for m in ('numpy', 'numba', 'pyarrow', 'mpi4py', 'h5py', "
            "'scipy', 'rail') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr
