"""Docstring examples run as doctests, and every public object is documented.

The examples are part of the documentation a reader copies from, so each one is run
against the installed package; a failing example is shown in full in the assertion.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import linclf

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

# Every module and subpackage, linclf.datasets included; __main__ only defines main()
# behind its ``if __name__ == "__main__"`` guard, so importing it runs nothing.
MODULES = sorted(
    ["linclf", *(m.name for m in pkgutil.walk_packages(linclf.__path__, prefix="linclf."))]
)


def run_doctests(module):
    """Run the examples of ``module``; return (failed, attempted, report of failures)."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=FLAGS, verbose=False)
    report = []
    failed = attempted = 0
    for test in finder.find(module, module.__name__):
        result = runner.run(test, out=report.append, clear_globs=True)
        failed += result.failed
        attempted += result.attempted
    return failed, attempted, "".join(report)


def test_the_walk_finds_the_package_modules():
    # Guards against a walk that silently finds nothing to test.
    assert {"linclf.estimator", "linclf.objective", "linclf.datasets", "linclf.__main__"} <= set(
        MODULES
    )


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests_pass(name):
    # Every example in the module's docstrings prints what it claims.
    failed, _, report = run_doctests(importlib.import_module(name))
    assert failed == 0, f"{failed} doctest example(s) failed in {name}:\n{report}"


def test_the_package_has_examples():
    # The docstrings do carry examples, so the passes above are not vacuous.
    attempted = sum(run_doctests(importlib.import_module(name))[1] for name in MODULES)
    assert attempted >= 20


PUBLIC_OBJECTS = sorted(
    name
    for name in linclf.__all__
    if inspect.isfunction(getattr(linclf, name)) or inspect.isclass(getattr(linclf, name))
)

SECTION = re.compile(r"^(Parameters|Returns|Attributes|Examples)\n-{3,}$", re.MULTILINE)


def is_exception_or_warning(obj):
    return inspect.isclass(obj) and issubclass(obj, BaseException)


@pytest.mark.parametrize("name", PUBLIC_OBJECTS)
def test_public_object_has_a_docstring(name):
    # Every exported function and class says what it is.
    # __doc__, not inspect.getdoc: getdoc would lend an undocumented class its base's text.
    doc = getattr(linclf, name).__doc__
    assert doc and doc.strip(), f"linclf.{name} has no docstring"


@pytest.mark.parametrize(
    "name", [n for n in PUBLIC_OBJECTS if not is_exception_or_warning(getattr(linclf, n))]
)
def test_public_function_or_class_has_a_numpydoc_section(name):
    # Beyond a summary line, the reader gets Parameters, Returns, Attributes or Examples
    # (exceptions and warnings are fully described by their one paragraph).
    doc = inspect.cleandoc(getattr(linclf, name).__doc__ or "")
    assert SECTION.search(doc), f"linclf.{name} has no Parameters/Returns/Attributes/Examples"


def public_methods(cls):
    """Public methods of ``cls`` written in linclf, inherited ones (get_params, ...) included."""
    return [
        name
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and member.__module__.startswith("linclf.")
    ]


PUBLIC_METHODS = sorted(
    f"{cls_name}.{method}"
    for cls_name in PUBLIC_OBJECTS
    if inspect.isclass(getattr(linclf, cls_name))
    and not is_exception_or_warning(getattr(linclf, cls_name))
    for method in public_methods(getattr(linclf, cls_name))
)


@pytest.mark.parametrize("qualname", PUBLIC_METHODS)
def test_public_method_has_a_docstring(qualname):
    # fit, predict, step, ...: each public method of an exported class is documented.
    cls_name, method = qualname.split(".")
    doc = getattr(getattr(linclf, cls_name), method).__doc__
    assert doc and doc.strip(), f"linclf.{qualname} has no docstring"


# Every parameter described: the API reference renders each docstring's Parameters
# section as a table, so a parameter left out, or listed without a description, is a blank
# row or a missing one. The sections are read as numpydoc lays them out (no numpydoc or
# griffe needed): a title underlined with dashes; entries ``name[, name...] [: type]`` at
# the section's indentation, each followed by its indented description.
NUMPYDOC_SECTION = re.compile(r"^(?P<title>[A-Z][A-Za-z ]*)\n-{3,}[ \t]*$", re.MULTILINE)
NUMPYDOC_ENTRY = re.compile(r"^(?P<names>\*{0,2}\w+(?:,[ \t]*\*{0,2}\w+)*)(?:[ \t]*:.*)?$")


def numpydoc_sections(doc):
    """``{title: body}`` of a docstring's numpydoc sections, dedented."""
    doc = inspect.cleandoc(doc or "")
    heads = list(NUMPYDOC_SECTION.finditer(doc))
    ends = [head.start() for head in heads[1:]] + [len(doc)] if heads else []
    return {head["title"]: doc[head.end() : end] for head, end in zip(heads, ends, strict=True)}


def numpydoc_entries(body):
    """``[(names, description)]`` of a section body; names of ``a, b : type`` are split."""
    entries = []
    for line in body.split("\n"):
        if line.strip() and not line[0].isspace():
            match = NUMPYDOC_ENTRY.match(line)
            names = [n.strip() for n in match["names"].split(",")] if match else [line]
            entries.append((names, []))
        elif entries:
            entries[-1][1].append(line.strip())
    return [(names, " ".join(description).strip()) for names, description in entries]


def test_the_numpydoc_reader_reads_a_known_docstring():
    # The reader below is the test's oracle: on a docstring with every layout it must see
    # each name and description, or the test of the package's docstrings proves nothing.
    doc = """Summary.

    Parameters
    ----------
    X, y : ndarray (N, D); ndarray (N,)
        The data.

        Second paragraph.
    flag
    **kwargs
        Passed on.

    Returns
    -------
    ndarray
        The result.
    """
    sections = numpydoc_sections(doc)
    assert set(sections) == {"Parameters", "Returns"}
    assert numpydoc_entries(sections["Parameters"]) == [
        (["X", "y"], "The data.  Second paragraph."),
        (["flag"], ""),
        (["**kwargs"], "Passed on."),
    ]
    assert numpydoc_entries(sections["Returns"]) == [(["ndarray"], "The result.")]


def documented_objects():
    """``{qualified name: object}`` of what the API reference documents with parameters.

    The names of ``linclf.__all__``, ``linclf.datasets.__all__``, the schedules and
    optimizer of ``linclf.optim``, ``linclf.plot``, ``linclf.distributed`` and
    ``linclf.chunks``, and the
    public methods (written in linclf) of their classes; not exceptions and warnings, nor
    the ``Optimizer`` protocol (its methods are documented once, in the module docstring).
    """
    import linclf.chunks
    import linclf.datasets
    import linclf.distributed
    import linclf.optim
    import linclf.plot

    modules = [linclf, linclf.datasets, linclf.optim, linclf.plot, linclf.distributed]
    modules.append(linclf.chunks)
    found = {}
    for module in modules:
        for name in module.__all__:
            obj = getattr(module, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if is_exception_or_warning(obj) or obj is linclf.optim.Optimizer:
                continue
            found[f"{module.__name__}.{name}"] = obj
            if inspect.isclass(obj):
                for method in public_methods(obj):
                    found[f"{module.__name__}.{name}.{method}"] = getattr(obj, method)
    return found


DOCUMENTED = documented_objects()


def signature_names(obj):
    """The parameter names of ``obj`` (its constructor's for a class), ``*``/``**`` kept."""
    parameters = list(inspect.signature(obj).parameters.values())
    if inspect.isclass(obj) and [p.kind for p in parameters] == [
        inspect.Parameter.VAR_POSITIONAL,
        inspect.Parameter.VAR_KEYWORD,
    ]:
        return []  # no constructor of its own (a base class): nothing to document
    stars = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}
    names = [stars.get(p.kind, "") + p.name for p in parameters]
    return names[1:] if names[:1] in (["self"], ["cls"]) else names


def test_the_objects_include_the_schedules_datasets_and_estimator_methods():
    # Guards against a collection that silently shrinks.
    assert {
        "linclf.LinearSVM",
        "linclf.LinearSVM.fit",
        "linclf.SoftmaxClassifier.predict_proba",
        "linclf.SGD.step",
        "linclf.Trainer.fit",
        "linclf.datasets.load_digits",
        "linclf.optim.StepSchedule",
        "linclf.optim.CosineSchedule",
        "linclf.optim.make_schedule",
        "linclf.plot.templates",
        "linclf.distributed.fit",
    } <= set(DOCUMENTED)


@pytest.mark.parametrize("qualname", sorted(DOCUMENTED))
def test_every_parameter_is_documented_with_a_description(qualname):
    obj = DOCUMENTED[qualname]
    sections = numpydoc_sections(obj.__doc__)
    entries = [
        entry
        for title in ("Parameters", "Other Parameters")
        for entry in numpydoc_entries(sections.get(title, ""))
    ]
    if inspect.isclass(obj):
        # A record's fields (GradientCheckResult) are documented as its attributes.
        entries += numpydoc_entries(sections.get("Attributes", ""))
    described = {name.lstrip("*"): text for names, text in entries for name in names}
    wanted = [name.lstrip("*") for name in signature_names(obj)]
    missing = [name for name in wanted if name not in described]
    assert not missing, f"{qualname}: parameters {missing} are not in the docstring"
    empty = [name for name in wanted if not described[name]]
    assert not empty, f"{qualname}: parameters {empty} have no description"
    if not inspect.isclass(obj):
        stale = sorted(set(described) - set(wanted))
        assert not stale, f"{qualname}: the docstring documents {stale}, not in the signature"


@pytest.mark.parametrize("qualname", sorted(DOCUMENTED))
def test_every_returned_value_is_described(qualname):
    # A Returns entry with only a type renders as a row with a blank description.
    entries = numpydoc_entries(numpydoc_sections(DOCUMENTED[qualname].__doc__).get("Returns", ""))
    blank = [" ".join(names) for names, text in entries if not text]
    assert not blank, f"{qualname}: Returns entries {blank} have no description"


def test_no_docstring_holds_a_control_character():
    # TeX in a docstring that is not a raw string: "\top" and "\rVert" become a tab and a
    # carriage return ("dS^\top X" rendered as "dS^<tab>op X"); raw docstrings keep them.
    package = Path(linclf.__file__).resolve().parent
    found = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                doc = ast.get_docstring(node, clean=False) or ""
                if any(ch in doc for ch in "\t\r\x0b\x0c\x07\x08"):
                    found.append(f"{path.relative_to(package)}:{getattr(node, 'name', '')}")
    assert found == [], f"docstrings with control characters (make them r-strings): {found}"
