"""Check that a built documentation site loads nothing from another host.

A reader without a network (or who does not want to be tracked by a CDN or a font
service) should get every page whole: scripts, stylesheets, fonts, images and formulas
(typeset as MathML at build time by docs/math_hook.py) all come from the site itself.

    python docs/check_site.py SITE_DIR

scans every ``.html``, ``.css`` and ``.js`` file under SITE_DIR for what a browser
*loads* when it shows a page:

* HTML: ``src`` of ``<script>``, ``<img>``, ``<iframe>``, ``<embed>``, ``<audio>``,
  ``<video>``, ``<source>``, ``<track>``, ``<input type=image>``; ``srcset``; ``poster``;
  ``<object data>``; ``<link href>`` unless its ``rel`` only names a document to
  navigate to (``canonical``, ``alternate``, ``next``, ...: see NAVIGATION_RELS); SVG
  ``<image>``/``<use>`` ``href``; ``url(…)`` and ``@import`` in ``<style>`` blocks and
  ``style`` attributes; inline ``<script>`` code as below;
* CSS: ``url(…)`` (fonts, images) and ``@import``;
* JavaScript: every string that starts with a URL to another host (a script cannot be
  analysed for which strings it loads, so every one counts), except the
  conditional loads of the theme's bundle in CONDITIONAL_SCRIPT_LOADS, each allowed only
  while its condition (checked on the site's pages, where it can be) keeps it from
  running.

An ``<a href>`` to another site is navigation, not a load, and is fine. Source maps
(``*.map``) are read only by a browser's developer tools and are not scanned.

Exit code 0 when nothing is loaded from another host; 1 with one ``FILE: URL (what)``
line per offence otherwise; 2 when SITE_DIR holds no HTML page (a wrong path must not
pass).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

# A URL names another host when it has a scheme with an authority (http:, https:, or
# any other "scheme://") or is protocol-relative ("//host/..."). data:, blob: and
# relative URLs are the page's own.
EXTERNAL = re.compile(r"^\s*(?:[A-Za-z][A-Za-z0-9+.-]*:)?//", flags=re.ASCII)

# Elements whose attribute is fetched when the page is shown.
LOADING_ATTRIBUTES = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "audio": ("src",),
    "video": ("src", "poster"),
    "source": ("src", "srcset"),
    "track": ("src",),
    "input": ("src",),
    "object": ("data",),
    "image": ("href", "xlink:href"),
    "use": ("href", "xlink:href"),
    "feimage": ("href", "xlink:href"),
}
# <link rel=...> values that only name a related document, fetched when the reader
# follows it (or never): every other rel (stylesheet, icon, preload, preconnect,
# dns-prefetch, prefetch, modulepreload, manifest, unknown ones) counts as a load.
NAVIGATION_RELS = {"alternate", "author", "canonical", "help", "license", "me", "next", "prev"}

CSS_URL = re.compile(r"""url\(\s*(?P<quote>['"]?)(?P<url>.*?)(?P=quote)\s*\)""", re.IGNORECASE)
CSS_IMPORT = re.compile(r"""@import\s+(?P<quote>['"])(?P<url>.*?)(?P=quote)""", re.IGNORECASE)
CSS_COMMENT = re.compile(r"/\*.*?\*/", flags=re.DOTALL)
# A URL to another host at the start of a JavaScript string: a quote, then "scheme://"
# or "//" and a dotted host name. Matching where a string starts, rather than parsing the
# strings, cannot be misled by the regular expressions of minified code; the dotted host
# keeps a comment right after a string ("\\u00A0"//nbsp) from counting.
JS_URL = re.compile(
    r"""['"`](?P<url>(?:[A-Za-z][A-Za-z0-9+.-]*:)//[^\s'"`]+|//[\w-]+(?:\.[\w-]+)+[^\s'"`]*)"""
)


@dataclass(frozen=True)
class ConditionalLoad:
    """A URL the theme's script fetches only under a condition that this site avoids."""

    prefix: str
    reason: str
    # A marker that must not occur in any HTML page of the site for the load to stay
    # dormant, or None when the condition lives in the reader's browser.
    forbidden_marker: str | None


CONDITIONAL_SCRIPT_LOADS = (
    ConditionalLoad(
        "https://unpkg.com/mermaid@",
        "Material loads mermaid only for a page with a mermaid diagram",
        'class="mermaid"',
    ),
    ConditionalLoad(
        "https://api.github.com/",
        "Material fetches a repository's stars only when mkdocs.yml sets repo_url",
        'data-md-component="source"',
    ),
    ConditionalLoad(
        "https://${",
        "Material fetches a GitLab repository's facts only when mkdocs.yml sets repo_url",
        'data-md-component="source"',
    ),
    ConditionalLoad(
        "https://unpkg.com/resize-observer-polyfill",
        "Material loads this polyfill only in a browser without ResizeObserver, which "
        "every browser has had since 2020",
        None,
    ),
)


@dataclass(frozen=True)
class Load:
    """One URL that a file of the site loads, and what loads it."""

    url: str
    what: str


def is_external(url: str) -> bool:
    """Whether ``url`` points at another host (absolute or protocol-relative)."""
    return bool(EXTERNAL.match(url))


def srcset_urls(value: str) -> list[str]:
    """The URLs of a ``srcset`` attribute (each candidate is ``URL [descriptor]``)."""
    return [candidate.split()[0] for candidate in value.split(",") if candidate.split()]


def css_loads(css: str, where: str = "CSS") -> list[Load]:
    """The URLs a stylesheet loads from another host: ``url(…)`` and ``@import``."""
    css = CSS_COMMENT.sub("", css)
    found = [Load(m["url"], f"{where} url()") for m in CSS_URL.finditer(css)]
    found += [Load(m["url"], f"{where} @import") for m in CSS_IMPORT.finditer(css)]
    return [load for load in found if is_external(load.url)]


def js_loads(code: str, where: str = "script") -> list[Load]:
    """The strings of ``code`` that start with a URL to another host.

    Conditional loads of CONDITIONAL_SCRIPT_LOADS are left out: :func:`check_site`
    checks their conditions.
    """
    return [
        Load(match["url"], f"{where} string")
        for match in JS_URL.finditer(code)
        if not any(match["url"].startswith(load.prefix) for load in CONDITIONAL_SCRIPT_LOADS)
    ]


class _LoadFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.loads: list[Load] = []
        self._inside: str | None = None  # "style" or "script" while in such an element

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for name in LOADING_ATTRIBUTES.get(tag, ()):
            if name in values:
                urls = srcset_urls(values[name]) if name == "srcset" else [values[name]]
                self.loads += [Load(url, f"<{tag} {name}>") for url in urls]
        if tag == "link" and "href" in values:
            rels = set(values.get("rel", "").lower().split())
            if not rels or not rels <= NAVIGATION_RELS:
                rel = values.get("rel", "")
                self.loads.append(Load(values["href"], f'<link rel="{rel}">'))
        if "style" in values:
            self.loads += css_loads(values["style"], f"<{tag} style>")
        if tag == "script" and "src" not in values:
            self._inside = "script"
        elif tag == "style":
            self._inside = "style"

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._inside = None

    def handle_data(self, data: str) -> None:
        if self._inside == "style":
            self.loads += css_loads(data, "<style>")
        elif self._inside == "script":
            self.loads += js_loads(data, "<script>")


def html_loads(page: str) -> list[Load]:
    """The URLs an HTML page loads from another host (links to other sites excluded)."""
    finder = _LoadFinder()
    finder.feed(page)
    finder.close()
    return [load for load in finder.loads if is_external(load.url)]


def file_loads(path: Path) -> list[Load]:
    """What the file at ``path`` loads from another host, by its suffix; [] for others."""
    text = path.read_text(encoding="utf-8", errors="replace")
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        return html_loads(text)
    if suffix == ".css":
        return css_loads(text)
    if suffix in (".js", ".mjs"):
        return js_loads(text)
    return []


def dormant_condition_failures(pages: Iterable[tuple[str, str]]) -> Iterator[str]:
    """A report for each conditional load whose condition a page breaks.

    ``pages`` yields ``(name, html)``; a page holding a load's forbidden marker would
    make the theme fetch that load from another host.
    """
    for name, page in pages:
        for load in CONDITIONAL_SCRIPT_LOADS:
            if load.forbidden_marker and load.forbidden_marker in page:
                marker = load.forbidden_marker
                yield f"{name}: {load.prefix}… ({load.reason}; this page has {marker})"


def check_site(site: Path) -> list[str]:
    """One ``FILE: URL (what)`` line for each load from another host under ``site``."""
    problems = []
    pages = []
    for path in sorted(site.rglob("*")):
        if not path.is_file():
            continue
        name = path.relative_to(site).as_posix()
        problems += [f"{name}: {load.url} ({load.what})" for load in file_loads(path)]
        if path.suffix.lower() in (".html", ".htm"):
            pages.append((name, path.read_text(encoding="utf-8", errors="replace")))
    if not pages:
        raise FileNotFoundError(f"{site} holds no HTML page: is it a built site?")
    problems += dormant_condition_failures(pages)
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python docs/check_site.py SITE_DIR", file=sys.stderr)
        return 2
    site = Path(argv[0])
    try:
        problems = check_site(site)
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 2
    for problem in problems:
        print(problem)
    files = sum(1 for path in site.rglob("*") if path.is_file())
    if problems:
        print(f"{len(problems)} load(s) from another host in {site}", file=sys.stderr)
        return 1
    print(f"{site}: {files} files, nothing loaded from another host")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
