"""A Griffe extension that lets linclf's Sphinx-flavoured docstrings render in MkDocs.

linclf's docstrings are numpydoc with a few reStructuredText constructs that Markdown
does not know. Before mkdocstrings renders a docstring, this extension rewrites them:

* a ``.. math::`` directive and its indented body become a ``$$ … $$`` block, and a
  ``:math:`…``` role becomes ``$…$``: pymdownx.arithmatex then hands both to MathJax;
* a cross-reference role (``:func:`~linclf.losses.softmax```, ``:class:`Trainer```)
  becomes inline code of the name it shows (the last component after ``~``).

Only the text given to the renderer changes; the source files are not touched.
Loaded by mkdocs.yml (``extensions: [docs/griffe_rst.py]``, a path relative to it).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

MATH_ROLE = re.compile(r":math:`([^`]+)`")
XREF_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|exc|obj|const|ref):`([^`]+)`")
TITLED_TARGET = re.compile(r"^(.*?)\s*<[^>]+>$")
MATH_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*(?P<rest>.*)$")


def _shown_name(target: str) -> str:
    """What Sphinx shows for a role target: its title, or ``~a.b.c`` as ``c``."""
    titled = TITLED_TARGET.match(target)
    if titled:
        return titled.group(1)
    if target.startswith("~"):
        return target[1:].rsplit(".", 1)[-1]
    return target


def _math_blocks(text: str) -> str:
    """Turn each ``.. math::`` directive with its indented body into a ``$$`` block."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = MATH_DIRECTIVE.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        indent = match.group("indent")
        body = [match.group("rest").strip()] if match.group("rest").strip() else []
        i += 1
        # The body: every following line that is blank or indented deeper than the directive.
        while i < len(lines) and (
            not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > len(indent)
        ):
            if lines[i].strip():
                body.append(lines[i].strip())
            elif (
                body
                and i + 1 < len(lines)
                and lines[i + 1].strip()
                and (len(lines[i + 1]) - len(lines[i + 1].lstrip()) <= len(indent))
            ):
                break  # a blank line, then text back at the directive's level: body ended
            i += 1
        out.extend(["", f"{indent}$$", *(f"{indent}{line}" for line in body), f"{indent}$$", ""])
    return "\n".join(out)


def convert(text: str) -> str:
    """The Markdown equivalent of a docstring's reStructuredText constructs."""
    text = _math_blocks(text)
    text = MATH_ROLE.sub(lambda m: f"${m.group(1)}$", text)
    return XREF_ROLE.sub(lambda m: f"`{_shown_name(m.group(1))}`", text)


class RstToMarkdown(griffe.Extension):
    """Rewrite math directives, math roles and cross-reference roles in every docstring."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = convert(obj.docstring.value)
