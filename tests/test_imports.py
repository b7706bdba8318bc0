"""Import direction between linclf's modules, the public names, and a light ``import linclf``.

The modules are parsed with ``ast`` (nothing is imported to inspect them), so an import
hidden inside a function counts as much as one at the top of the file.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import linclf

# Layers, low to high. A module may import only modules of a strictly lower rank, so two
# modules of one rank (linear and losses, objective and optim) never import each other.
# Placement notes: _validation raises exceptions' warning, so it sits above it; gradcheck
# and _blas (block sizes, BLAS threads) depend on NumPy only; datasets sits just below
# demo, which loads it; the package root (``from . import __version__``) sits below
# __main__, its only importer. A new module fails test_every_module_has_a_rank until it
# is placed here.
RANKS = {
    "exceptions": 0,
    "gradcheck": 0,
    "_engine": 0,
    "_engine.blas": 0,
    "_version": 0,
    "_engine.blocks": 0,
    "_formats": 1,
    "_training": 2,
    "_validation": 1,
    "linear": 2,
    "losses": 2,
    "objective": 3,
    "optim": 3,
    "_engine.core": 4,
    "trainer": 5,
    "_solvers": 5.5,
    "estimator": 6,
    "datasets": 6,
    "demo": 8,
    "plot": 7,
    "persistence": 7,
    "distributed": 7,
    "__init__": 7,
    "cli": 9,
    "__main__": 10,
}

# The package's own __init__ re-exports every layer; it is the one exempt importer.
EXEMPT_IMPORTERS = {"__init__"}

PACKAGE_DIR = Path(linclf.__file__).resolve().parent


def module_files():
    """Map ``dotted.name`` (relative to linclf, "__init__" for the root) to its file."""
    files = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = path.relative_to(PACKAGE_DIR).with_suffix("").parts
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        files[".".join(parts)] = path
    return files


MODULE_FILES = module_files()


def layer_of(dotted):
    """The RANKS key of a module path inside linclf: its top-level component, or for the
    engine (whose modules sit at different ranks) the engine module itself."""
    parts = dotted.split(".")
    return ".".join(parts[:2]) if parts[0] == "_engine" and len(parts) > 1 else parts[0]


def is_submodule(dotted):
    """Whether ``dotted`` (relative to linclf) names a module or package on disk."""
    path = PACKAGE_DIR.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def linclf_imports(module):
    """The linclf modules (relative dotted names, "__init__" for the root) ``module`` imports."""
    path = MODULE_FILES[module]
    is_package = path.name == "__init__.py"
    # The package a relative import starts from, as parts below linclf.
    here = [] if module == "__init__" else module.split(".")
    package = here if is_package else here[:-1]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "linclf" or alias.name.startswith("linclf."):
                    targets.add(alias.name.removeprefix("linclf").lstrip(".") or "__init__")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # level 1 is the current package, each further dot one package up.
                base = package[: len(package) - node.level + 1]
                base = base + (node.module.split(".") if node.module else [])
            elif node.module == "linclf" or (node.module or "").startswith("linclf."):
                base = node.module.split(".")[1:]
            else:
                continue
            for alias in node.names:
                # ``from . import name``: a submodule if one exists, else the package's attribute.
                candidate = ".".join([*base, alias.name])
                if alias.name != "*" and is_submodule(candidate):
                    targets.add(candidate)
                else:
                    targets.add(".".join(base) or "__init__")
    return {t for t in targets if layer_of(t) != layer_of(module)}


def test_the_package_is_found_with_its_modules():
    # Guards the parser against walking an empty or wrong directory.
    assert {"estimator", "objective", "__init__", "datasets"} <= set(MODULE_FILES)


@pytest.mark.parametrize("module", sorted(MODULE_FILES))
def test_every_module_has_a_rank(module):
    # New modules must be placed in the layer table before they can be imported.
    assert layer_of(module) in RANKS, f"linclf.{module} has no rank in RANKS: place it"


def test_the_rank_table_names_only_existing_modules():
    # A renamed or deleted module leaves no stale entry that would hide a misplacement.
    existing = {layer_of(m) for m in MODULE_FILES}
    assert set(RANKS) <= existing, sorted(set(RANKS) - existing)


@pytest.mark.parametrize("module", sorted(set(MODULE_FILES) - EXEMPT_IMPORTERS))
def test_modules_import_only_lower_layers(module):
    # Lower layers never import higher ones, nor modules of their own rank.
    rank = RANKS.get(layer_of(module), -1)  # an unplaced module may import nothing
    offending = sorted(t for t in linclf_imports(module) if RANKS.get(layer_of(t), 99) >= rank)
    assert offending == [], (
        f"linclf.{module} (rank {rank}) imports {offending} of rank "
        f"{[RANKS.get(layer_of(t)) for t in offending]}"
    )


def test_gradcheck_imports_nothing_from_linclf():
    # The checker depends on NumPy only, so it can check any gradient, ours included.
    assert linclf_imports("gradcheck") == set()


def test_optim_imports_at_most_exceptions_and_validation():
    # The optimizer is independent of the model: no loss, objective or engine inside it.
    assert linclf_imports("optim") <= {"exceptions", "_validation"}


def test_the_parser_finds_known_imports():
    # The parser itself: known top-level and in-function imports are found, so an empty
    # result elsewhere means no import, not a parser that sees nothing.
    assert {"_engine.core", "_validation", "exceptions", "optim", "trainer"} <= linclf_imports(
        "estimator"
    )
    assert "demo" in linclf_imports("cli") and "cli" in linclf_imports("__main__")


@pytest.mark.parametrize("name", linclf.__all__)
def test_every_name_in_all_exists(name):
    # `from linclf import *` and the documentation rely on each listed name.
    assert hasattr(linclf, name)


def test_all_has_no_duplicates():
    # A duplicated entry would hide a name that was meant to be exported.
    assert len(linclf.__all__) == len(set(linclf.__all__))


@pytest.mark.parametrize("heavy", ["sklearn", "pandas", "matplotlib", "scipy.sparse"])
def test_import_linclf_does_not_import_heavy_packages(heavy):
    # A fresh interpreter: the test process itself has scikit-learn and pandas loaded.
    code = (
        "import sys, linclf\n"
        "name = sys.argv[1]\n"
        "print(sorted(m for m in sys.modules if m == name or m.startswith(name + '.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, heavy],
        capture_output=True,
        text=True,
        check=False,
        cwd=PACKAGE_DIR.parent,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"import linclf loaded {result.stdout.strip()}"
