"""MkDocs hook: typeset every formula as MathML when the site is built.

pymdownx.arithmatex (``generic: true`` in mkdocs.yml) leaves inline math as
``<span class="arithmatex">\\(…\\)</span>`` and display math as
``<div class="arithmatex">\\[…\\]</div>``, on the Markdown pages and in the docstrings
that mkdocstrings renders. This hook replaces the TeX inside each of them by MathML,
converted by ``latex2mathml`` (pinned in docs/requirements.txt). Browsers render MathML
natively, so the pages need no script and no font from another host to show their
formulas, and a reader without a network sees them typeset.

A formula that does not convert (latex2mathml raises, or leaves a ``\\command`` it does not
know in its output) is logged as a warning, which fails ``mkdocs build --strict``, and
stays as TeX on the page: a new formula the converter cannot typeset fails CI instead of
shipping as raw TeX. Rewrite it with the commands the other pages use.

A ``$$`` or a TeX command (``\\frac``, ``\\sum``, ...) left in a page's text, outside
code and formulas, is a formula that arithmatex did not recognize (inside a list item
without blank lines around it, or a second ``\\[ \\]`` block right after a first): it is
logged as a warning too, since the reader would see its raw TeX.

Loaded by mkdocs.yml (``hooks: [docs/math_hook.py]``).
"""

from __future__ import annotations

import html
import logging
import re
from typing import Any
from xml.etree import ElementTree

from latex2mathml.converter import convert

log = logging.getLogger("mkdocs.plugins.linclf.math")

ARITHMATEX = re.compile(
    r'<(?P<tag>span|div) class="arithmatex">(?P<tex>.*?)</(?P=tag)>', flags=re.DOTALL
)
# The delimiters arithmatex wraps around the TeX: \( \) inline, \[ \] display; an
# environment such as \begin{cases} … \end{cases} may also stand alone in a display block.
DELIMITED = re.compile(r"^\\[(\[](?P<body>.*)\\[)\]]$", flags=re.DOTALL)
# A backslash pair (a TeX line break, kept) or a backslash before a line break, which TeX
# reads as a control space and latex2mathml does not know: it becomes "\ ".
BACKSLASH_NEWLINE = re.compile(r"\\(\\|\s*\n\s*)")
# latex2mathml lays out the align* environment (right- and left-aligned columns in turn)
# but not aligned, the same layout inside a formula: it writes its & as text.
ALIGNED = re.compile(r"\\(begin|end)\{aligned\}")
# Inside \text{…} latex2mathml keeps escapes such as \_ verbatim: the characters they stand for.
TEXT_ESCAPE = re.compile(r"\\([_%#&$])")
COMMAND = re.compile(r"\\(?:[A-Za-z]+|.)", flags=re.DOTALL)

MATHML = "http://www.w3.org/1998/Math/MathML"
ElementTree.register_namespace("", MATHML)
# TeX sets the limits of \sum, \max, ... under and over the operator in display style and
# beside it in a line. latex2mathml does so only for a \sum outside braces (it writes
# \underbrace{\sum_i …} as a subscript): every such subscript becomes an under/over
# script with movablelimits, which browsers render the way TeX does in either style.
LIMITS_OPERATORS = {"∑", "∏", "∐", "⋃", "⋂", "⨁", "⨂", "⋁", "⋀", "max", "min", "lim", "sup", "inf"}
# \lVert, \rVert, \lfloor, ... keep their size in TeX unless \left, \right or \big sizes
# them; latex2mathml leaves them stretchy, and a browser stretches them to the height of
# their row (a tall \lVert W \rVert beside a sum with limits).
FIXED_DELIMITERS = {"‖", "|", "⌊", "⌋", "⌈", "⌉"}
SCRIPTS_TO_LIMITS = {
    f"{{{MATHML}}}msub": f"{{{MATHML}}}munder",
    f"{{{MATHML}}}msubsup": f"{{{MATHML}}}munderover",
}


# Code, where a "$$" or a backslash is no formula: <pre> blocks and inline <code>; and the
# formulas already typeset.
CODE = re.compile(r"<(pre|code)\b.*?</\1>", flags=re.DOTALL)
MATH = re.compile(r"<math\b.*?</math>", flags=re.DOTALL)
# A TeX command in a page's text: the body of a formula that arithmatex did not recognize
# (two \[ \] blocks with no blank line between them), its delimiters eaten as escapes.
TEX_COMMAND = re.compile(
    r"\\(?:begin|end|frac|sum|prod|int|sqrt|mathcal|mathbf|mathbb|operatorname|text|left|right"
    r"|alpha|beta|gamma|delta|Delta|lambda|mu|sigma|theta|eta|varepsilon|partial|nabla|cdot"
    r"|le|ge|ne|in|qquad|quad|lVert|rVert)\b"
)


class UnsupportedFormula(ValueError):
    """latex2mathml could not convert a formula, or left TeX commands in its output."""


def tex_to_mathml(tex: str, *, display: bool) -> str:
    """The MathML ``<math>`` element of one formula, without its ``\\( \\)`` delimiters.

    Parameters
    ----------
    tex : str
        The TeX of the formula, as between ``$…$`` or ``$$…$$`` on a page.
    display : bool
        True for display math (a block of its own), False for math within a line.

    Returns
    -------
    str
        A ``<math>`` element, with ``display="block"`` or ``display="inline"``.

    Raises
    ------
    UnsupportedFormula
        If latex2mathml raises, or its output still holds a backslash outside the markup
        (a command it passed through instead of converting).
    """
    tex = BACKSLASH_NEWLINE.sub(lambda m: "\\\\" if m.group(1) == "\\" else "\\ ", tex)
    tex = ALIGNED.sub(r"\\\1{align*}", tex)
    try:
        mathml = convert(tex.strip(), display="block" if display else "inline")
    except Exception as error:  # each latex2mathml error derives from Exception directly
        raise UnsupportedFormula(f"latex2mathml failed: {error!r}") from error
    try:
        root = ElementTree.fromstring(mathml)
    except ElementTree.ParseError as error:
        raise UnsupportedFormula(f"latex2mathml wrote malformed MathML: {error}") from error
    for element in root.iter():
        if element.tag == f"{{{MATHML}}}mtext" and element.text:
            element.text = TEXT_ESCAPE.sub(r"\1", element.text)
        elif element.tag in SCRIPTS_TO_LIMITS and _is_limits_operator(element):
            element.tag = SCRIPTS_TO_LIMITS[element.tag]
            element[0].set("movablelimits", "true")
        elif (
            element.tag == f"{{{MATHML}}}mo"
            and (element.text or "").strip() in FIXED_DELIMITERS
            and not {"stretchy", "minsize"} & set(element.attrib)
        ):
            element.set("stretchy", "false")
    leftover = [command for text in root.itertext() for command in COMMAND.findall(text)]
    if leftover:
        raise UnsupportedFormula(f"not converted: {', '.join(dict.fromkeys(leftover))}")
    return ElementTree.tostring(root, encoding="unicode")


def _is_limits_operator(script: ElementTree.Element) -> bool:
    """Whether the base of a subscript element is an operator that takes limits (∑, max)."""
    base = script[0] if len(script) else None
    return (
        base is not None
        and base.tag == f"{{{MATHML}}}mo"
        and (base.text or "").strip() in LIMITS_OPERATORS
    )


def typeset(page_html: str, where: str) -> str:
    """``page_html`` with the TeX of every arithmatex element replaced by MathML.

    A formula that does not convert is logged as a warning naming ``where`` and is left
    as it was; so is a ``$$`` or a TeX command left in the text outside code.
    """

    def replace(match: re.Match[str]) -> str:
        tex = html.unescape(match.group("tex")).strip()
        delimited = DELIMITED.match(tex)
        body = delimited.group("body") if delimited else tex
        try:
            mathml = tex_to_mathml(body, display=match.group("tag") == "div")
        except UnsupportedFormula as error:
            log.warning("%s: formula %r does not convert to MathML: %s", where, tex, error)
            return match.group(0)
        return f'<{match.group("tag")} class="arithmatex">{mathml}</{match.group("tag")}>'

    typeset_html = ARITHMATEX.sub(replace, page_html)
    text = CODE.sub("", MATH.sub("", typeset_html))
    stray = text.count("$$")
    if stray:
        log.warning("%s: %d '$$' left as text: a display formula was not recognized", where, stray)
    commands = sorted(set(TEX_COMMAND.findall(text)))
    if commands:
        log.warning("%s: TeX left as text (%s): a formula was not recognized", where, commands)
    return typeset_html


def on_page_content(content: str, page: Any, **kwargs: Any) -> str:
    return typeset(content, page.file.src_uri)
