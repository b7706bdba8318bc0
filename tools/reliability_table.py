"""Build docs/reliability.md from the test suite: the bad-input table and the property list.

    python tools/reliability_table.py           # write docs/reliability.md, print the count
    python tools/reliability_table.py --check   # exit 1 when docs/reliability.md is stale

Every row of the table comes from a test that runs. The case tables of
tests/test_validation.py and tests/test_reliability.py (``BAD_X``, ``CASES``, ...) are read
from the imported modules: a test function parametrized over one of them asserts each of
its cases, and its other parametrization (a ``*_ENTRY_POINTS`` table, or a list of
functions) names the entry points. ``REFERENCED`` in tests/test_reliability.py adds the
cases that tests without a table assert, and ``KNOWN_GAPS`` there the bad inputs not yet
handled (strict xfails). ``pytest --collect-only``, run in a subprocess,
gives the items that really exist, so a row is only written for a collected test.
tests/test_reliability.py rebuilds the page in memory and compares it with the file.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
DOC = ROOT / "docs" / "reliability.md"
CASE_MODULES = ("test_validation", "test_reliability")
PROPERTY_MODULE = "test_properties"

# Case tables and the words that prefix their cases in the table ("" keeps the key as is).
CASE_TABLES = {
    "BAD_X": "X",
    "BAD_Y_ANY_ENTRY": "y",
    "BAD_LABELS": "labels",
    "BAD_CLASS_INDICES": "class indices",
    "BAD_SAMPLE_WEIGHT": "sample_weight",
    "BAD_HYPERPARAMETERS": "hyperparameter",
    "BAD_LOSS_ARGUMENTS": "loss argument",
    "TRAINER_MISMATCHES": "Trainer data",
    "LAYOUTS": "layout",
    "CONTAINERS": "container",
    "CASES": "",
}
# Tables about the page itself (read separately, or only checked by tests/test_reliability.py).
META_TABLES = {"REFERENCED", "REQUIRED", "KNOWN_GAPS"}
# Tables of good inputs in unusual forms: the outcome asserted is acceptance.
ACCEPTED = {
    "LAYOUTS": "accepted read-only and never written to; the result of a C-contiguous copy",
    "CONTAINERS": "accepted; the result of the ndarray",
}
# Case-table tests without an entry-point parametrization, and the entry point they use.
FUNCTION_ENTRIES = {
    "test_fit_rejects_targets_that_are_not_a_classification": "fit",
    "test_bad_hyperparameter_is_reported_at_fit_naming_it": "fit",
    "test_trainer_rejects_data_that_does_not_fit_the_parameters": "Trainer.fit",
    "test_predict_accepts_array_likes": "predict",
    "test_softmax_classifier_rejects_targets_that_are_not_a_classification": (
        "SoftmaxClassifier.fit"
    ),
}
# The order of the groups (the words before ": ") in the table; unknown groups come last.
GROUPS = [
    "X",
    "y",
    "labels",
    "class indices",
    "sample_weight",
    "hyperparameter",
    "loss",
    "loss argument",
    "Trainer data",
    "Trainer",
    "partial_fit",
    "model used before fit",
    "learning_rate too large",
    "start with non-finite parameters",
    "resume",
    "layout",
    "container",
    "caller's arrays",
    "loss function's arrays",
]

# The strict-xfail test of the known gaps, one item per case of KNOWN_GAPS.
GAP_TEST = "tests/test_reliability.py::test_known_gap_is_still_open"
# Tests named in the prose of the page; build() checks that each is collected.
MENTIONED = [
    "tests/test_trainer.py::test_huge_learning_rate_raises_divergence_and_rolls_back",
    "tests/test_trainer.py::test_learning_rate_1e6_raises_divergence_naming_epoch_and_batch",
    "tests/test_trainer.py::test_halving_option_recovers_and_converges_on_the_same_data",
    "tests/test_trainer.py::test_non_finite_start_cannot_be_halved_away",
    "tests/test_softmax.py::test_extreme_scores_give_finite_exact_losses",
    "tests/test_softmax.py::test_float32_loss_is_accumulated_accurately",
    "tests/test_checkpoint.py::test_sigkill_at_a_random_batch_then_resume_is_bit_identical",
    "tests/test_checkpoint.py::test_stopping_and_resuming_in_process_is_bit_identical",
    "tests/test_checkpoint.py::test_corrupt_latest_checkpoint_falls_back_to_the_previous_one",
    "tests/test_checkpoint.py::test_both_checkpoints_corrupt_is_an_error",
    "tests/test_checkpoint.py::test_resume_refuses_a_checkpoint_of_other_data",
    "tests/test_checkpoint.py::test_checkpoints_hold_no_pickle_and_keep_one_previous",
]


@dataclass
class Row:
    """One bad-input case: where it enters, what happens, and the tests that assert it."""

    key: str
    outcome: str
    match: str
    entries: list[str] = field(default_factory=list)
    tests: Counter = field(default_factory=Counter)  # test function node id -> items
    items: set[str] = field(default_factory=set)  # the collected items' node ids


@dataclass
class Report:
    """What the page shows: the bad-input rows, the known gaps and the property tests."""

    rows: list[Row]
    properties: list[tuple[str, int, str]]  # (test name, collected items, what it proves)
    gaps: list[tuple[str, object]]  # (case, tests/test_reliability.py's Gap)


def _is_entries_table(name: str) -> bool:
    return name.endswith("ENTRY_POINTS") or name.endswith("_METHODS")


def _label(value: object) -> str:
    if isinstance(value, str):
        return value
    return getattr(value, "__name__", repr(value))


class _Recorder:
    """pytest plugin: the collected items, with a label for each parameter's value."""

    def __init__(self) -> None:
        self.items: list[dict] = []

    def pytest_collection_finish(self, session) -> None:
        for item in session.items:
            callspec = getattr(item, "callspec", None)
            self.items.append(
                {
                    "nodeid": item.nodeid,
                    "function": getattr(item, "originalname", item.name),
                    "labels": {k: _label(v) for k, v in callspec.params.items()}
                    if callspec
                    else {},
                }
            )


def collect(paths: list[str]) -> list[dict]:
    """The items ``pytest --collect-only`` finds in ``paths``, collected in a subprocess."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "items.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--collect", str(out), *paths]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0 or not out.exists():
            raise RuntimeError(f"collecting {paths} failed:\n{done.stdout[-4000:]}{done.stderr}")
        return json.loads(out.read_text())


def _collect_main(out: str, paths: list[str]) -> int:
    import pytest

    recorder = _Recorder()
    code = pytest.main(
        ["--collect-only", "-q", "-p", "no:cacheprovider", *paths], plugins=[recorder]
    )
    Path(out).write_text(json.dumps(recorder.items))
    return int(code)


def _import(name: str):
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    return importlib.import_module(name)


def _raised_names(func, namespace: dict) -> list[str]:
    """Exception or warning classes named in ``pytest.raises(...)`` / ``pytest.warns(...)``."""
    names = []
    for node in ast.walk(ast.parse(inspect.getsource(func).lstrip())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("raises", "warns")
            and node.args
            and isinstance(node.args[0], ast.Name)
        ):
            found = namespace.get(node.args[0].id, getattr(builtins, node.args[0].id, None))
            if isinstance(found, type) and issubclass(found, BaseException):
                names.append(found.__name__)
    return sorted(set(names))


def _fields(value: object) -> bool:
    """Whether a table row is a NamedTuple (tests/test_reliability.py's ``Case``)."""
    return isinstance(value, tuple) and hasattr(value, "_fields")


def _outcome_and_match(value: object) -> tuple[str | None, str]:
    """The error class name and message pattern a table row carries (None: not in the row)."""
    if _fields(value) and "match" in value._fields:
        return value.error.__name__, value.match
    parts = value if isinstance(value, tuple) else (value,)
    errors = [p for p in parts if isinstance(p, type) and issubclass(p, BaseException)]
    texts = [p for p in parts if isinstance(p, str)]
    return (errors[0].__name__ if errors else None), (texts[-1] if texts else "")


def _case_keys(table: object, mark) -> list[str]:
    if isinstance(table, dict):
        return [str(key) for key in table]
    ids = mark.kwargs.get("ids")
    if isinstance(ids, list | tuple):
        return [str(i) for i in ids]
    return [repr(row[0] if isinstance(row, tuple) else row) for row in table]


def _argnames(mark) -> list[str]:
    names = mark.args[0]
    return [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)


def _file_of(module) -> str:
    return Path(module.__file__).resolve().relative_to(ROOT).as_posix()


def _table_rows(module, items_by_function: dict, rows: dict[str, Row]) -> None:
    """Add the rows of every case-table test of ``module`` to ``rows`` (merged by key)."""
    tables = {
        id(value): name
        for name, value in vars(module).items()
        if name.isupper() and isinstance(value, dict | list | tuple)
    }
    path = _file_of(module)
    for fname, func in vars(module).items():
        if not (fname.startswith("test_") and inspect.isfunction(func)):
            continue
        if func.__module__ != module.__name__:
            continue
        marks = [m for m in getattr(func, "pytestmark", []) if m.name == "parametrize"]
        case_marks, entry_args = [], []
        for mark in marks:
            name = tables.get(id(mark.args[1]))
            if name in CASE_TABLES:
                case_marks.append((name, mark))
            elif name is not None and _is_entries_table(name):
                entry_args.extend(_argnames(mark))
            elif name is None and all(
                isinstance(v, str) or inspect.isfunction(v) for v in mark.args[1]
            ):
                entry_args.extend(_argnames(mark))
            elif name is not None and name not in META_TABLES:
                raise ValueError(
                    f"{path}::{fname} is parametrized over the table {name}: add it to "
                    "CASE_TABLES (a case table) in tools/reliability_table.py, or name it "
                    "*_ENTRY_POINTS if it lists entry points"
                )
        if not case_marks:
            continue
        if len(case_marks) > 1:
            raise ValueError(f"{path}::{fname} is parametrized over two case tables")
        table_name, mark = case_marks[0]
        table = mark.args[1]
        values = list(table.values()) if isinstance(table, dict) else list(table)
        rows_name_entries = all(_fields(v) and "entries" in v._fields for v in values)
        if not (entry_args or rows_name_entries or fname in FUNCTION_ENTRIES):
            raise ValueError(f"{path}::{fname}: add its entry point to FUNCTION_ENTRIES")
        case_arg = _argnames(mark)[0]
        items = items_by_function.get((path, fname), [])
        # The collected items' value of the case argument: a dict table's key, or the first
        # element of a list table's row when the row fills several arguments.
        params = [p[0] if isinstance(p, tuple) and len(_argnames(mark)) > 1 else p for p in table]
        default = None
        for key, param, value in zip(_case_keys(table, mark), params, values, strict=True):
            matched = [item for item in items if item["labels"].get(case_arg) == _label(param)]
            if not matched:
                raise ValueError(f"{path}::{fname}: case {key!r} was not collected")
            outcome, match = _outcome_and_match(value)
            if outcome is None:
                if default is None:
                    raised = _raised_names(func, vars(module))
                    if len(raised) == 1:
                        default = raised[0]
                    elif not raised and table_name in ACCEPTED:
                        default = ACCEPTED[table_name]
                    else:
                        raise ValueError(f"{path}::{fname}: cannot tell the outcome {raised}")
                outcome = default
            prefix = CASE_TABLES[table_name]
            row_key = f"{prefix}: {key}" if prefix else key
            row = rows.setdefault(row_key, Row(row_key, outcome, match))
            if (row.outcome, row.match) != (outcome, match):
                raise ValueError(f"{row_key!r}: two tables give it different outcomes")
            for item in matched:
                if rows_name_entries:
                    labels = [value.entries]
                else:
                    labels = [item["labels"][a] for a in entry_args] or [FUNCTION_ENTRIES[fname]]
                row.entries.extend(e for e in labels if e not in row.entries)
            row.tests[f"{path}::{fname}"] += len(matched)
            row.items.update(item["nodeid"] for item in matched)


def build() -> Report:
    """Every bad-input case of the suite, and the property tests; raises if a test is missing."""
    modules = [_import(name) for name in CASE_MODULES]
    referenced = _import("test_reliability").REFERENCED
    gaps = _import("test_reliability").KNOWN_GAPS
    paths = sorted(
        {_file_of(m) for m in modules}
        | {ref.test.split("::")[0] for ref in referenced.values()}
        | {node_id.split("::")[0] for node_id in MENTIONED}
        | {f"tests/{PROPERTY_MODULE}.py"}
    )
    items = collect(paths)
    by_function: dict[tuple[str, str], list[dict]] = {}
    for item in items:
        by_function.setdefault((item["nodeid"].split("::")[0], item["function"]), []).append(item)

    rows: dict[str, Row] = {}
    for module in modules:
        _table_rows(module, by_function, rows)
    for key, ref in referenced.items():
        path, fname = ref.test.split("::")
        n_items = len(by_function.get((path, fname), []))
        if n_items == 0:
            raise ValueError(f"REFERENCED[{key!r}]: {ref.test} was not collected")
        if key in rows:
            raise ValueError(f"REFERENCED[{key!r}] duplicates a table row")
        rows[key] = Row(
            key,
            ref.outcome,
            ref.match,
            [ref.entries],
            Counter({ref.test: n_items}),
            {item["nodeid"] for item in by_function[(path, fname)]},
        )

    def group(row: Row) -> int:
        head = row.key.split(": ")[0]
        return GROUPS.index(head) if head in GROUPS else len(GROUPS)

    _check_mentioned_tests(by_function)
    gap_items = {
        item["labels"]["case"] for item in by_function.get(tuple(GAP_TEST.split("::")), [])
    }
    if set(gaps) != gap_items:
        raise ValueError(f"{GAP_TEST} does not run exactly the cases of KNOWN_GAPS")
    # sorted() is stable: within a group, the rows keep the order of their tables.
    return Report(sorted(rows.values(), key=group), _properties(by_function), list(gaps.items()))


def _check_mentioned_tests(by_function: dict) -> None:
    missing = []
    for node_id in MENTIONED:
        path, fname = node_id.split("::")
        if (path, fname) not in by_function:
            missing.append(node_id)
    if missing:
        raise ValueError(f"tests named in the page but not collected: {missing}")


def _properties(by_function: dict) -> list[tuple[str, int, str]]:
    """(name, collected items, what it proves) for each test of the property module."""
    path = f"tests/{PROPERTY_MODULE}.py"
    source = (ROOT / path).read_text()
    found = []
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
            continue
        lines = ast.get_source_segment(source, node).splitlines()
        starts = [i for i, line in enumerate(lines) if line.strip().startswith("# Proves:")]
        if not starts:
            raise ValueError(f"{path}::{node.name} has no '# Proves:' comment")
        start = starts[0]
        comment = []
        for line in lines[start:]:
            if not line.strip().startswith("#"):
                break
            comment.append(line.strip().lstrip("#").strip())
        proves = " ".join(comment).removeprefix("Proves:").strip()
        found.append((node.name, len(by_function.get((path, node.name), [])), proves))
    return found


def _code(text: str) -> str:
    if not text:
        return "—"
    # re.escape escapes spaces; outside verbose mode "\\ " and " " match alike.
    text = re.sub(r"(?<!\\)\\ ", " ", text).replace("|", "\\|")
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(report: Report) -> str:
    """The Markdown page of ``report``."""
    rows = report.rows
    n_items = len(set().union(*(row.items for row in rows)))
    table = [
        "| # | Case | Entry points | Outcome | Message (regex) | Asserted by |",
        "|---:|---|---|---|---|---|",
    ]
    for number, row in enumerate(rows, start=1):
        tests = "<br>".join(
            f"`{test.removeprefix('tests/')}`" + (f" ×{n}" if n > 1 else "")
            for test, n in row.tests.items()
        )
        table.append(
            f"| {number} | {_cell(row.key)} | {_cell(', '.join(row.entries))} | "
            f"{_cell(row.outcome)} | {_code(row.match)} | {tests} |"
        )
    properties = report.properties
    n_properties = sum(n for _, n, _ in properties)
    property_table = ["| Property test | Items | What it proves |", "|---|---:|---|"]
    property_table += [f"| `{name}` | {n} | {_cell(text)} |" for name, n, text in properties]
    gap_table = ["| Case | Entry points | Expected | Today |", "|---|---|---|---|"]
    gap_table += [
        f"| {_cell(key)} | {_cell(gap.entries)} | {_cell(gap.expected)} | {_cell(gap.today)} |"
        for key, gap in report.gaps
    ]
    return TEMPLATE.format(
        n_gaps=len(report.gaps),
        gap_table="\n".join(gap_table),
        n_cases=len(rows),
        n_items=n_items,
        table="\n".join(table),
        n_properties=n_properties,
        property_table="\n".join(property_table),
    )


TEMPLATE = """\
# Reliability

<!-- Generated by tools/reliability_table.py from the test suite: do not edit by hand.
     Regenerate with `python tools/reliability_table.py`; tests/test_reliability.py fails
     while this page is stale. -->

What linclf does with inputs it cannot use, how training reacts when it diverges, how
the numerics stay finite, how an interrupted training resumes, and the property tests
that back these claims. Every statement about a bad input below is a row of a test table,
and the page is rebuilt from those tests, so it lists exactly what the suite asserts.

## Bad inputs

Every public entry point checks its arguments once, at the boundary
(`linclf._validation`), and reports a problem as `ValueError` or `TypeError` whose message
names the argument, the bad value and what was expected (scikit-learn's wording where
scikit-learn has one). Hyperparameters of the estimators are stored by `__init__` and
checked by `fit`, naming the parameter. Inputs that are fine but unusual (read-only or
Fortran-ordered arrays, `np.matrix`, lists, pandas objects, object arrays of numbers) are
accepted, give the result of a plain C-contiguous array and are never written to.

**{n_cases} bad-input cases**, asserted by {n_items} collected test items. "Entry points"
without a class name (`fit`, `score`, `predict`, `decision_function`, `partial_fit`) are
`LinearSVM`'s; the softmax side (`SoftmaxClassifier`, `softmax_loss` and its loop twin)
runs the same tables in tests/test_reliability.py. "×n" counts a test's parametrized
items for the case (one per entry point). Run one case with
`python -m pytest "tests/test_validation.py::<test>[<case>-<entry point>]"`, or all of them
with `python -m pytest tests/test_validation.py tests/test_reliability.py`.

{table}

Where a case is asserted: the tables `BAD_X`, `BAD_Y_ANY_ENTRY`, `BAD_LABELS`,
`BAD_CLASS_INDICES`, `BAD_SAMPLE_WEIGHT`, `BAD_HYPERPARAMETERS`, `BAD_LOSS_ARGUMENTS`,
`TRAINER_MISMATCHES`, `LAYOUTS` and `CONTAINERS` of tests/test_validation.py, crossed with
its entry points; `CASES` of tests/test_reliability.py for the cases no other test
covers; and `REFERENCED` there for cases asserted by a test without a table (its test
checks that the named test's source holds the pattern). A new case in any of these
tables is a new row after `python tools/reliability_table.py`.

### Known gaps

{n_gaps} bad inputs are not yet handled as they should be. Each is a case of `KNOWN_GAPS`
in tests/test_reliability.py whose test asserts the expected behaviour and is marked
`xfail(strict=True)`: it fails today, and the fix turns it into a failure that asks for
the row to be deleted (`tests/test_reliability.py::test_known_gap_is_still_open`).

{gap_table}

## Divergence

Training checks every minibatch loss, and the parameters after the last step of each
epoch, for NaN and infinity; NumPy's own overflow warnings are silenced inside the loop,
because the divergence is reported once, as an error.

- `Trainer(on_divergence="raise")`, the default and what the estimators use: on the first
  non-finite loss or parameter the parameters are rolled back to the last state whose
  loss was finite, and `linclf.DivergenceError` is raised, naming the epoch and the batch
  and suggesting a lower `learning_rate` or standardized features. `DivergenceError` is a
  subclass of both `ValueError` and `FloatingPointError`, so either `except` catches it.
  Tests: `tests/test_trainer.py::test_huge_learning_rate_raises_divergence_and_rolls_back`,
  `tests/test_trainer.py::test_learning_rate_1e6_raises_divergence_naming_epoch_and_batch`.
- `Trainer(on_divergence="halve")`: the parameters return to those of the epoch with the
  lowest loss so far (the starting point before the first epoch), the optimizer's
  velocity is zeroed, its learning rate halved, and training goes on with the next batch;
  `n_halvings_` counts the halvings. In this mode a batch loss above 1000 times the loss
  at the start also counts as divergence, since overflow follows. After 40 halvings, or
  when the starting point itself gives a non-finite loss, `DivergenceError` is raised.
  Tests: `tests/test_trainer.py::test_halving_option_recovers_and_converges_on_the_same_data`,
  `tests/test_trainer.py::test_non_finite_start_cannot_be_halved_away`.

## Numerics

- Accumulation in float64: the loss (per-row sums, the weighted mean and the L2 penalty)
  and the bias gradient are summed in float64 whatever the training dtype; the products
  run in float32 when W, b and X all are float32, so the gradients keep the parameters'
  dtype. Test: `tests/test_softmax.py::test_float32_loss_is_accumulated_accurately`.
- Stable softmax: `softmax`, `log_softmax` and `softmax_cross_entropy` subtract the row
  maximum before exponentiating and take the log-sum-exp as `log1p` of the remaining
  terms, so large scores neither overflow nor lose a dominant class's tiny loss. Test:
  `tests/test_softmax.py::test_extreme_scores_give_finite_exact_losses`; the property
  suite checks float32 scores up to ±1e4 with no warning at all.
- Non-finite input is found with one float64 sum over the array (an exact scan runs only
  when the sum is not finite, to say how many entries and where); the vectorized loss
  functions scan X only when the result comes out non-finite. A float64 value that does
  not fit the float32 training dtype is reported as infinity, with its position.
- RuntimeWarnings are errors in the test suite (`filterwarnings` in pyproject.toml), and
  the suite also runs under `python -X dev -W error::RuntimeWarning -m pytest`: no
  overflow or invalid-value warning may escape on valid input.

## Checkpoint and resume

`Trainer(checkpoint_path=..., checkpoint_every=k)` writes a checkpoint at the end of
every k-th epoch and when training converges, in linclf's safe file format (a NumPy
archive and a JSON document, no pickle), atomically (temporary file, fsync, rename),
keeping the previous one at `checkpoint_path + ".prev"`. `Trainer.fit(..., resume=True)`
restores the parameters, the optimizer state, the epoch, the permutation, the random
generator, the history and the stopping counters, so the final parameters are
bit-identical to an uninterrupted fit. A checkpoint written for other data or settings is
refused with `ValueError`; if the latest file is truncated or corrupt, resume warns and
falls back to the `.prev` copy; if both are unusable it raises `linclf.ModelFileError`.
Tests in tests/test_checkpoint.py:

- `test_sigkill_at_a_random_batch_then_resume_is_bit_identical`
- `test_stopping_and_resuming_in_process_is_bit_identical`
- `test_corrupt_latest_checkpoint_falls_back_to_the_previous_one`
- `test_both_checkpoints_corrupt_is_an_error`
- `test_resume_refuses_a_checkpoint_of_other_data`
- `test_checkpoints_hold_no_pickle_and_keep_one_previous`

## Property suite

tests/test_properties.py states {n_properties} properties (counting parametrized items)
with Hypothesis on random shapes (N in 1–50, D in 1–20, C in 2–6) and dtypes (float32,
float64). Robustness properties poison at most one argument with NaN or ±inf and require
a `ValueError` naming it; on valid input, finite results of the right shape and dtype.
The score-level functions (`multiclass_hinge`, `softmax_cross_entropy`, `softmax`,
`log_softmax`, `linear_forward`, `linear_backward`) do not validate their input (they
are the trusted layer below the checked boundary), so their properties are stated for
finite scores up to a 64th of the dtype's largest value.

The profiles are registered in tests/conftest.py and chosen by the environment variable
`HYPOTHESIS_PROFILE`:

- `ci` (the default, so a plain `python -m pytest` runs it): 200 examples per property,
  derandomized (the same examples on every run), no example database, and a
  `@reproduce_failure` blob printed with any failure;
- `dev`: 20 fresh random examples per property, for a quick local run:
  `HYPOTHESIS_PROFILE=dev python -m pytest tests/test_properties.py`.

Every run ends with one line, counted from the tests that ran:
`linclf reliability: N bad-input cases tested, M property tests (hypothesis profile P)`,
where N counts the items of tests/test_validation.py and those marked `bad_input`, and M
those marked `property`.

{property_table}
"""


def main(argv: list[str]) -> int:
    if argv[:1] == ["--collect"]:
        return _collect_main(argv[1], argv[2:])
    report = build()
    page = render(report)
    count = f"{len(report.rows)} bad-input cases"
    if argv[:1] == ["--check"]:
        current = DOC.read_text() if DOC.exists() else ""
        print(f"{count}; docs/reliability.md is {'current' if current == page else 'stale'}")
        return 0 if current == page else 1
    DOC.write_text(page)
    print(f"{count}; wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
