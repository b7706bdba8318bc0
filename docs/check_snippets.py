"""Run the code of the documentation pages, so that what they show stays true.

For each Markdown file given (default: every ``docs/*.md``), in a fresh temporary folder
and one namespace per page, in page order:

* a ```` ```pycon ```` block runs as a doctest (ELLIPSIS, NORMALIZE_WHITESPACE): every
  ``>>>`` line, with its printed output compared to the page;
* a ```` ```python ```` block runs with ``exec``; it must not raise.

Other blocks (``bash``, ``console``, ``text``) are not run, nor is a block right after an
``<!-- no-check -->`` line (for code that needs what a test machine lacks, such as a
cluster); the comment is invisible on the site. Exit code 0 when every block
of every page passed, 1 otherwise, with the failures printed. Needs what the pages use:
linclf, scikit-learn and matplotlib (the ``test`` extra has them all).

    python docs/check_snippets.py            # all pages
    python docs/check_snippets.py docs/math.md
"""

from __future__ import annotations

import contextlib
import doctest
import io
import os
import re
import sys
import tempfile
from pathlib import Path

FENCE = re.compile(
    r"(?P<skip>^<!-- no-check -->[ \t]*\n)?^```(?P<language>\w+)[^\n]*\n(?P<body>.*?)^```",
    re.MULTILINE | re.DOTALL,
)
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def check_page(path: Path) -> list[str]:
    """Run the page's pycon and python blocks; return the failure reports."""
    failures = []
    namespace: dict = {"__name__": "__main__"}
    parser = doctest.DocTestParser()
    for number, block in enumerate(FENCE.finditer(path.read_text("utf-8")), 1):
        language, body = block["language"], block["body"]
        where = f"{path} block {number} ({language})"
        if block["skip"]:
            continue
        if language == "pycon":
            test = parser.get_doctest(body, namespace, where, str(path), 0)
            report = io.StringIO()
            runner = doctest.DocTestRunner(optionflags=FLAGS)
            result = runner.run(test, out=report.write, clear_globs=False)
            namespace.update(test.globs)  # later blocks see this block's names
            if result.failed:
                failures.append(report.getvalue())
        elif language == "python":
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(compile(body, where, "exec"), namespace)
            except Exception as error:  # any error in a page's code is a failure to report
                failures.append(f"{where} raised {error!r}:\n{body}")
    return failures


def main(argv: list[str]) -> int:
    pages = [Path(p).resolve() for p in argv] or sorted(Path(__file__).parent.glob("*.md"))
    os.environ.setdefault("MPLBACKEND", "Agg")  # the plotting pages need no display
    failed = 0
    start = Path.cwd()
    for page in pages:
        with tempfile.TemporaryDirectory() as folder:
            os.chdir(folder)  # files the snippets write land in a throwaway folder
            try:
                failures = check_page(page)
            finally:
                os.chdir(start)
        failed += bool(failures)
        print(f"{page.name}: {'FAILED' if failures else 'ok'}")
        for failure in failures:
            print(failure)
    print(f"snippets of {len(pages)} pages: {len(pages) - failed} ok, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
