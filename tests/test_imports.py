"""Import direction between linclf's modules, no reach into another module's private names,
the public names, and a light ``import linclf``.

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
# modules of one rank (linear and losses, objective and optim) never import each other;
# the modules inside one private package share its rank and may import each other.
# Placement notes: _validation raises exceptions' warning, so it sits above it; gradcheck
# and _engine.blas (block sizes, BLAS threads) depend on NumPy only; _engine's modules have
# a rank each, since the core sits above the math it runs; _formats (the model file) and
# _training (checkpoint, stopping rule, divergence, progress, SIGINT) serve the Trainer;
# _solvers (the Solver protocol, the SGD solver over the Trainer, full-batch solvers) sits
# above the Trainer, and _fitting (fit plan, fitted-model record, class weights) above the
# solvers, below the estimator that uses it; datasets sits just below demo, which loads it;
# chunks (the per-chunk training API) sits above the estimator it fits and below
# distributed, its Dask driver;
# the package root (``from . import __version__``) sits below __main__, its only importer.
# A new module fails test_every_module_has_a_rank until it is placed here.
RANKS = {
    "exceptions": 0,
    "_sklearn": 0,
    "gradcheck": 0,
    "_engine": 0,
    "_engine.blas": 0,
    "_version": 0,
    "_engine.blocks": 0,
    "_engine.compiled": 0,  # the compiled kernel's loader: ctypes and NumPy only
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
    "_fitting": 5.7,
    "_dask": 5.8,  # lazy prediction on Dask: below the estimator that delegates to it
    "estimator": 6,
    "datasets": 6,
    "chunks": 6.5,
    "demo": 8,
    "plot": 7,
    "persistence": 7,
    "distributed": 7,
    "__init__": 7,
    "_cli": 8.5,
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


def parse(module, source=None):
    """The syntax tree of ``module`` (relative dotted name), or of ``source`` read as it."""
    if source is None:
        source = MODULE_FILES[module].read_text(encoding="utf-8")
    return ast.parse(source, filename=f"linclf.{module}")


def import_base(module, node):
    """The linclf module an ``ImportFrom`` node of ``module`` reads, as parts below linclf,
    or None when it is not linclf's."""
    if node.level:
        here = [] if module == "__init__" else module.split(".")
        package = here if is_submodule(f"{module}.__init__") else here[:-1]
        # level 1 is the current package, each further dot one package up.
        base = package[: len(package) - node.level + 1]
        return base + (node.module.split(".") if node.module else [])
    if node.module == "linclf" or (node.module or "").startswith("linclf."):
        return node.module.split(".")[1:]
    return None


def linclf_imports(module, source=None):
    """The linclf modules (relative dotted names, "__init__" for the root) ``module`` imports."""
    targets = set()
    for node in ast.walk(parse(module, source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "linclf" or alias.name.startswith("linclf."):
                    targets.add(alias.name.removeprefix("linclf").lstrip(".") or "__init__")
        elif isinstance(node, ast.ImportFrom) and (base := import_base(module, node)) is not None:
            for alias in node.names:
                # ``from . import name``: a submodule if one exists, else the package's attribute.
                candidate = ".".join([*base, alias.name])
                if alias.name != "*" and is_submodule(candidate):
                    targets.add(candidate)
                else:
                    targets.add(".".join(base) or "__init__")
    return {t for t in targets if layer_of(t) != layer_of(module)}


SELF = {"self", "cls"}
STRING_ACCESS = {"getattr", "setattr", "hasattr", "delattr"}


def is_private(name):
    # Dunders (``__version__``, ``__sklearn_tags__``) are protocol, not private.
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def string_access(node):
    """``(obj, name)`` of ``getattr(obj, "name", ...)`` and its kin, else None."""
    if (
        isinstance(node, ast.Call)
        and getattr(node.func, "id", None) in STRING_ACCESS
        and len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
        and isinstance(node.args[1].value, str)
    ):
        return node.args[0], node.args[1].value
    return None


def own_private_names(tree):
    """The private names a module defines: at module level, in its class bodies, and as the
    attributes its own classes use on ``self`` / ``cls`` (``self._x``, ``getattr(self,
    "_x")``). Touching those, on any object, stays inside the module: its own business. (The
    rule reads no types: another module's attribute of the same name on another object is
    not told apart.)"""
    names = set()

    def define(body):
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))

    define(tree.body)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            define(node.body)
        elif isinstance(node, ast.Attribute) and getattr(node.value, "id", None) in SELF:
            names.add(node.attr)
        elif (access := string_access(node)) and getattr(access[0], "id", None) in SELF:
            names.add(access[1])
    return {name for name in names if is_private(name)}


def private_reaches(module, source=None):
    """``"line N: code"`` for each private name of another module that ``module`` imports
    (``from .x import _name``) or touches (``obj._x``, ``getattr(obj, "_x")``) on anything
    but ``self`` / ``cls``. Private *modules* (``from ._engine.core import Public``,
    ``linclf._validation.check_X``) are fine: only the name at the end counts."""
    tree = parse(module, source)
    own = own_private_names(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (base := import_base(module, node)) is not None:
            found += [
                (node.lineno, f"from {'.' * node.level}{node.module or ''} import {alias.name}")
                for alias in node.names
                if is_private(alias.name) and not is_submodule(".".join([*base, alias.name]))
            ]
            continue
        if isinstance(node, ast.Attribute):
            target, name = node.value, node.attr
            dotted = ast.unparse(node)
            if dotted.startswith("linclf.") and is_submodule(dotted.removeprefix("linclf.")):
                continue
        elif access := string_access(node):
            target, name = access
        else:
            continue
        if is_private(name) and name not in own and getattr(target, "id", None) not in SELF:
            found.append((node.lineno, ast.unparse(node)))
    return [f"line {line}: {code}" for line, code in sorted(set(found))]


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
    # The one exception is the compiled kernel's loader, a leaf (ctypes and NumPy only),
    # whose one-pass SGD step has the ufuncs' bits (tests/test_compiled.py).
    assert linclf_imports("optim") <= {"exceptions", "_validation", "_engine.compiled"}


# A module as the parsers see it (read as linclf.estimator): each kind of import and reach.
SAMPLE = """\
from . import _validation, losses
from .trainer import Trainer, _Plateau
from linclf._engine.core import LinearObjective, _workspace
import linclf._validation


class Model:
    _cache = None

    def fit(self, other, estimator):
        from .optim import SGD

        self._params = other._params  # _params is this module's own (set on self)
        estimator._rng = linclf._validation.check_X(None)
        _validation._to_ndarray(self.__class__, estimator.__dict__, type(self)._cache)
        return getattr(estimator, "_make_trainer")
"""


def test_the_import_parser_finds_every_kind_of_import():
    # Top-level, in-function, relative, absolute, and ``from . import module``, so an empty
    # result elsewhere means no import, not a parser that sees nothing; ``..`` climbs a level.
    assert linclf_imports("estimator", SAMPLE) == {
        "_validation",
        "losses",
        "trainer",
        "_engine.core",
        "optim",
    }
    assert linclf_imports("_engine.core", "from ..losses import x\nfrom .blas import y") == {
        "losses",
        "_engine.blas",
    }
    assert "cli" in linclf_imports("__main__")


def test_the_private_name_parser_finds_every_kind_of_reach():
    # The imported private names, the attribute and getattr reaches; not self/cls, not the
    # module's own private names, not dunders, not a private module reached by its path.
    assert private_reaches("estimator", SAMPLE) == [
        "line 2: from .trainer import _Plateau",
        "line 3: from linclf._engine.core import _workspace",
        "line 14: estimator._rng",
        "line 15: _validation._to_ndarray",
        "line 16: getattr(estimator, '_make_trainer')",
    ]


@pytest.mark.parametrize("module", sorted(MODULE_FILES))
def test_modules_reach_no_private_name_of_another_module(module):
    # Layers talk through public seams: a module never imports another module's private
    # names nor touches private attributes of objects other than self/cls (a reach that is
    # needed is a seam to make public). No allow-list: every offender is listed here.
    reaches = private_reaches(module)
    assert reaches == [], (
        f"linclf.{module} reaches {len(reaches)} private names of other modules:\n  "
        + "\n  ".join(reaches)
    )


@pytest.mark.parametrize("name", linclf.__all__)
def test_every_name_in_all_exists(name):
    # `from linclf import *` and the documentation rely on each listed name.
    assert hasattr(linclf, name)


def test_all_has_no_duplicates():
    # A duplicated entry would hide a name that was meant to be exported.
    assert len(linclf.__all__) == len(set(linclf.__all__))


@pytest.mark.parametrize("command", [["--version"], ["gradcheck"], ["--help"]])
def test_commands_without_a_model_do_not_import_scikit_learn(command):
    # With scikit-learn installed the estimators import it (1 to 3 s here): the commands
    # that need no estimator must not pay that.
    code = (
        "import contextlib, io, sys\n"
        "from linclf import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    cli.main(sys.argv[1:])\n"
        "print('sklearn' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *command],
        capture_output=True,
        text=True,
        check=False,
        cwd=PACKAGE_DIR.parent,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


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
