"""Docstring examples run as doctests, and every public object is documented.

The examples are part of the documentation a reader copies from, so each one is run
against the installed package; a failing example is shown in full in the assertion.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re

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
