"""MkDocs hook: the API reference must document every name in ``linclf.__all__``.

The names are read from ``src/linclf/__init__.py`` with ``ast`` (linclf need not be
installed to build the docs), and likewise those of ``linclf.datasets.__all__``. A name
that ``docs/api.md`` has no ``::: linclf.NAME`` (``::: linclf.datasets.NAME``) block for
is logged as a warning, which fails ``mkdocs build --strict``: a new public function
cannot be released without its reference entry.
"""

from __future__ import annotations

import ast
import logging
import re
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.plugins.linclf")

INIT = Path(__file__).resolve().parent.parent / "src" / "linclf" / "__init__.py"
# Each package whose __all__ the API reference documents, and its __init__ file.
PACKAGES = {"linclf": INIT, "linclf.datasets": INIT.parent / "datasets" / "__init__.py"}
# Not objects with a docstring of their own: the version string is shown in the text.
NOT_RENDERED = {"__version__"}


def public_names(init: Path = INIT) -> list[str]:
    """The strings of the ``__all__ = [...]`` assignment in a package's ``__init__``."""
    tree = ast.parse(init.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return [ast.literal_eval(element) for element in node.value.elts]
    raise RuntimeError(f"no __all__ in {init}")


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    if page.file.src_uri == "api.md":
        for package, init in PACKAGES.items():
            block = rf"^::: {re.escape(package)}\.(\w+)\s*$"
            documented = set(re.findall(block, markdown, flags=re.MULTILINE))
            missing = sorted(set(public_names(init)) - documented - NOT_RENDERED)
            if missing:
                names = ", ".join(f"{package}.{name}" for name in missing)
                log.warning("api.md has no '::: %s.NAME' block for %s", package, names)
    return markdown
