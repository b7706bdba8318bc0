"""A Griffe extension that lets linclf's Sphinx-flavoured docstrings render in MkDocs.

linclf's docstrings are numpydoc with a few reStructuredText constructs that Markdown
does not know. Before mkdocstrings renders a docstring, this extension rewrites them:

* a ``.. math::`` directive and its indented body become a ``$$ … $$`` block, and a
  ``:math:`…``` role becomes ``$…$``: pymdownx.arithmatex marks both, and
  docs/math_hook.py typesets them as MathML;
* a cross-reference role (``:func:`~linclf.losses.softmax```, ``:class:`Trainer```)
  becomes inline code of the name it shows (the last component after ``~``).

and three numpydoc conventions of the Parameters sections that griffe reads otherwise:

* several names sharing an entry become one entry per name, with the shared description
  and, when the type has one ``;``-separated part per name (``W, b : ndarray (C, D);
  ndarray (C,)``), each its own type: griffe would give every name the first one's
  default and signature type, and the whole line as their type;
* a type in braces: griffe takes ``{…}`` for a set of values whose first is the default,
  and drops what follows the braces. A set of values (one item a Python literal:
  ``{"auto", "lbfgs"}``) becomes ``one of {"auto", "lbfgs"}``, a union of types
  (``{array-like, sparse matrix} of shape (n, d)``) becomes ``array-like or sparse
  matrix of shape (n, d)``; either way the default is then the signature's.
* (not a docstring matter) griffe takes an attribute annotated with a bare ``ClassVar``
  for a dataclass field: it is removed from the generated signature;
* a type that happens to be a Python expression (``array-like or None``) is parsed by
  griffe and shown re-spaced (``array - like or None``): such parameters get their type
  back as written, once the objects are loaded.

Only the text given to the renderer changes; the source files are not touched.
Loaded by mkdocs.yml (``extensions: [docs/griffe_rst.py]``, a path relative to it).
"""

from __future__ import annotations

import ast
import re
from typing import Any

import griffe

MATH_ROLE = re.compile(r":math:`([^`]+)`")
XREF_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|exc|obj|const|ref):`([^`]+)`")
TITLED_TARGET = re.compile(r"^(.*?)\s*<[^>]+>$")
MATH_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*(?P<rest>.*)$")
PARAMETER_SECTIONS = ("Parameters", "Other Parameters")
UNDERLINE = re.compile(r"^[ \t]*-{3,}[ \t]*$")
ENTRY = re.compile(
    r"^(?P<indent>[ \t]*)(?P<names>\*{0,2}\w+(?:,[ \t]*\*{0,2}\w+)*)"
    r"(?:[ \t]+:[ \t]+(?P<type>\S.*))?[ \t]*$"
)
# What griffe keeps of a type as the annotation: not ", default …" nor ", optional".
DEFAULT_SUFFIX = re.compile(r"^(?P<annotation>.+),\s+default(?: |: |=).+$")


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


def _is_value(item: str) -> bool:
    """Whether a brace item is a value (``"auto"``, ``True``, ``0.5``), not a type name."""
    try:
        ast.literal_eval(item)
    except (ValueError, SyntaxError):
        return False
    return True


def _unbraced(kind: str) -> str:
    """A parameter type that starts with ``{…}`` rewritten so that griffe keeps it whole."""
    if not kind.startswith("{") or "}" not in kind:
        return kind
    inside, rest = kind[1:].split("}", 1)
    items = [item.strip() for item in inside.split(",")]
    if any(_is_value(item) for item in items):
        return f"one of {{{inside}}}{rest}"
    return " or ".join(items) + rest


def _parameter_entries(text: str) -> str:
    """Split shared entries and unbrace types in the Parameters sections of ``text``."""
    lines = text.split("\n")
    out: list[str] = []
    section, section_indent = None, ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and UNDERLINE.match(lines[i + 1]) and line.strip():
            section, section_indent = line.strip(), line[: len(line) - len(line.lstrip())]
            out.extend(lines[i : i + 2])
            i += 2
            continue
        entry = ENTRY.match(line) if section in PARAMETER_SECTIONS else None
        if not entry or entry.group("indent") != section_indent:
            out.append(line)
            i += 1
            continue
        # The entry's description: the following lines indented deeper, and blank lines.
        end = i + 1
        while end < len(lines) and (
            not lines[end].strip()
            or len(lines[end]) - len(lines[end].lstrip()) > len(section_indent)
        ):
            end += 1
        while end > i + 1 and not lines[end - 1].strip():
            end -= 1  # trailing blank lines belong to what follows
        description = lines[i + 1 : end]
        names = [name.strip() for name in entry.group("names").split(",")]
        kind = entry.group("type")
        kinds = [part.strip() for part in kind.split(";")] if kind else [None]
        if len(kinds) != len(names):
            kinds = [kind] * len(names)  # one type for every name (or none at all)
        for name, part in zip(names, kinds, strict=True):
            head = f"{section_indent}{name}" + (f" : {_unbraced(part)}" if part else "")
            out.extend([head, *description])
        i = end
    return "\n".join(out)


def convert(text: str) -> str:
    """The Markdown equivalent of a docstring's reStructuredText constructs."""
    text = _parameter_entries(_math_blocks(text))
    text = MATH_ROLE.sub(lambda m: f"${m.group(1)}$", text)
    return XREF_ROLE.sub(lambda m: f"`{_shown_name(m.group(1))}`", text)


def written_types(text: str) -> dict[str, str]:
    """The type of each parameter of ``text`` (already converted) as griffe annotates it."""
    types = {}
    section, section_indent = None, ""
    lines = text.split("\n")
    for line, following in zip(lines, [*lines[1:], ""], strict=True):
        if UNDERLINE.match(following) and line.strip():
            section, section_indent = line.strip(), line[: len(line) - len(line.lstrip())]
            continue
        entry = ENTRY.match(line) if section in PARAMETER_SECTIONS else None
        if entry and entry.group("indent") == section_indent and entry.group("type"):
            kind = entry.group("type")
            default = DEFAULT_SUFFIX.match(kind)
            kind = default.group("annotation") if default else kind
            types[entry.group("names")] = kind.removesuffix(", optional")
    return types


def _drop_class_variables(cls: griffe.Class) -> None:
    """Remove a bare ``ClassVar`` attribute from a dataclass's generated ``__init__``.

    griffe unwraps ``ClassVar[T]`` and knows it is no field, but takes an attribute annotated
    ``ClassVar`` alone (``checks: ClassVar = {...}``) for one; Python's dataclasses do not.
    """
    init = cls.members.get("__init__")
    if "dataclass" not in cls.labels or init is None or not init.is_function:
        return
    for name in [parameter.name for parameter in init.parameters]:
        member = cls.all_members.get(name)
        if member is not None and member.is_attribute and str(member.annotation) == "ClassVar":
            del init.parameters[name]


class RstToMarkdown(griffe.Extension):
    """Rewrite math directives, math roles and cross-reference roles in every docstring."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = convert(obj.docstring.value)

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Give a parameter type that griffe parsed as an expression its written text back."""
        if obj.is_alias:
            return
        if obj.is_class:
            _drop_class_variables(obj)
        if obj.docstring is None:
            return
        types = written_types(obj.docstring.value)
        kinds = (
            griffe.DocstringSectionKind.parameters,
            griffe.DocstringSectionKind.other_parameters,
        )
        for section in obj.docstring.parsed:
            if section.kind not in kinds:
                continue
            for parameter in section.value:
                written = types.get(parameter.name)
                if isinstance(parameter.annotation, griffe.Expr) and written is not None:
                    parameter.annotation = written
