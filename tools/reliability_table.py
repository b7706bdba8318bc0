"""Write the generated blocks of docs/reliability.md from the tests' own tables.

    python tools/reliability_table.py           # rewrite the blocks, print the counts
    python tools/reliability_table.py --check   # exit 1 when the page is stale

The page is prose written by hand around blocks that run from ``<!-- begin NAME -->`` to
``<!-- end NAME -->``. NAME is a key of ``SECTIONS`` in tests/reliability_cases.py (the
table of that section's cases, which tests/test_reliability.py runs), ``gaps`` (its
``GAPS``), ``properties`` (the tests of tests/test_properties.py, each with its
``# Proves:`` comment) or ``failure-classes`` (tests/failure_classes.py, its tests counted
by ``pytest --collect-only``). Every section needs its block and every block a source; a new
section is a key in ``SECTIONS`` and a block where the page should show it.
"""

from __future__ import annotations

import ast
import math
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "reliability.md"
PROPERTIES = ROOT / "tests" / "test_properties.py"
BLOCK = re.compile(r"(<!-- begin ([\w-]+) -->\n)(.*?)(<!-- end \2 -->)", re.DOTALL)

sys.path.insert(0, str(ROOT / "tests"))
import failure_classes  # noqa: E402  (tests/ holds them, beside the helpers they use)
import reliability_cases  # noqa: E402


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def code(pattern: str) -> str:
    """A regex as inline code; re.escape's ``\\ `` reads as a space, so it is shown as one."""
    if not pattern:
        return "—"
    text = cell(re.sub(r"(?<!\\)\\ ", " ", pattern))
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def case_table(cases: dict) -> str:
    n_items = sum(len(case.calls) for case in cases.values())
    lines = [
        f"**{len(cases)} cases**, run as {n_items} items of "
        "`tests/test_reliability.py::test_case` (one per case and entry point).",
        "",
        "| # | Case | Entry points | Outcome | Message (regex) |",
        "|---:|---|---|---|---|",
    ]
    for number, (key, case) in enumerate(cases.items(), start=1):
        outcome = case.outcome or case.error.__name__
        entries = ", ".join(case.calls)
        lines.append(
            f"| {number} | {cell(key)} | {cell(entries)} | {cell(outcome)} | {code(case.match)} |"
        )
    return "\n".join(lines)


def gap_table(gaps: dict) -> str:
    lines = [
        f"**{len(gaps)} known gaps.**",
        "",
        "| Case | Entry points | Expected | Today |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {cell(key)} | {cell(gap.entries)} | {cell(gap.expected)} | {cell(gap.today)} |"
        for key, gap in gaps.items()
    ]
    return "\n".join(lines)


def n_items(function: ast.FunctionDef, tables: dict[str, ast.expr]) -> int:
    """The items pytest makes of a test: the product of its parametrizations' lengths."""
    sizes = []
    for decorator in function.decorator_list:
        if isinstance(decorator, ast.Call) and ast.unparse(decorator.func).endswith("parametrize"):
            values = decorator.args[1]
            values = tables.get(values.id, values) if isinstance(values, ast.Name) else values
            if not isinstance(values, ast.Dict | ast.List | ast.Tuple):
                raise ValueError(f"{function.name}: cannot count {ast.unparse(values)}")
            sizes.append(len(values.keys if isinstance(values, ast.Dict) else values.elts))
    return math.prod(sizes)


def property_table(path: Path = PROPERTIES) -> str:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    tables = {
        target.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    rows = []
    for node in tree.body:
        if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
            continue
        lines = ast.get_source_segment(source, node).splitlines()
        start = next(
            (i for i, line in enumerate(lines) if line.strip().startswith("# Proves:")), None
        )
        if start is None:
            raise ValueError(f"{path.name}::{node.name} has no '# Proves:' comment")
        comment = []
        for line in lines[start:]:
            if not line.strip().startswith("#"):
                break
            comment.append(line.strip().lstrip("#").strip())
        rows.append((node.name, n_items(node, tables), " ".join(comment)[len("Proves:") :]))
    return "\n".join(
        [
            f"**{len(rows)} property tests**, {sum(row[1] for row in rows)} items with their "
            "parametrizations.",
            "",
            "| Property test | Items | What it proves |",
            "|---|---:|---|",
            *(f"| `{name}` | {n} | {cell(proves.strip())} |" for name, n, proves in rows),
        ]
    )


def collected_items(nodeids: list[str]) -> dict[str, int]:
    """How many items pytest collects for each ``file::function`` (a subprocess, collect only)."""
    files = sorted({nodeid.split("::")[0] for nodeid in nodeids})
    found = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "slow or not slow",
            *files,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()
    counts = dict.fromkeys(nodeids, 0)
    for line in found:
        function = line.split("[")[0]
        if function in counts:
            counts[function] += 1
    return counts


def class_table() -> str:
    classes = failure_classes.FAILURE_CLASSES
    items = collected_items([test for _, tests, _ in classes.values() for test in tests])
    missing = sorted(test for test, count in items.items() if count == 0)
    if missing:
        raise ValueError(f"tests/failure_classes.py names tests pytest does not collect: {missing}")
    cases = reliability_cases.CASES
    lines = [
        "| # | Class | Test functions (items) | Reliability cases (items) | Items in all |",
        "|---:|---|---:|---:|---:|",
    ]
    for number, (title, tests, keys) in classes.items():
        n_tests = sum(items[test] for test in tests)
        n_cases = sum(len(cases[key].calls) for key in keys)
        lines.append(
            f"| {number} | {cell(title)} | {len(tests)} ({n_tests}) | {len(keys)} ({n_cases}) "
            f"| {n_tests + n_cases} |"
        )
    return "\n".join(lines)


def block(name: str) -> str:
    if name in reliability_cases.SECTIONS:
        return case_table(reliability_cases.SECTIONS[name])
    if name == "gaps":
        return gap_table(reliability_cases.GAPS)
    if name == "properties":
        return property_table()
    if name == "failure-classes":
        return class_table()
    raise ValueError(f"docs/reliability.md has a block {name!r} that nothing generates")


def render(page: str) -> str:
    """``page`` with every generated block rewritten (blank lines around it, for Markdown)."""
    missing = set(reliability_cases.SECTIONS) - {match[2] for match in BLOCK.finditer(page)}
    if missing:
        raise ValueError(f"docs/reliability.md has no block for the sections {sorted(missing)}")
    return BLOCK.sub(lambda m: f"{m[1]}\n{block(m[2])}\n\n{m[4]}", page)


def main(argv: list[str]) -> int:
    page = PAGE.read_text(encoding="utf-8")
    fresh = render(page)
    counts = ", ".join(f"{key}: {len(cases)}" for key, cases in reliability_cases.SECTIONS.items())
    if argv[:1] == ["--check"]:
        state = "current" if fresh == page else "stale: run python tools/reliability_table.py"
        print(f"cases ({counts}); docs/reliability.md is {state}")
        return 0 if fresh == page else 1
    PAGE.write_text(fresh, encoding="utf-8")
    print(f"cases ({counts}); wrote docs/reliability.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
