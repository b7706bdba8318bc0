"""The documentation site's own tools: the offline checker and the build-time math.

``docs/check_site.py`` decides whether a built page loads anything from another host;
these tests feed it crafted pages, stylesheets and scripts, so a checker that misses a
CDN script or a web font (or that flags a plain link) fails here, without MkDocs. The
MathML hook ``docs/math_hook.py`` needs latex2mathml, from docs/requirements.txt: its
tests (and those of docs/griffe_rst.py) are marked ``extra``, left out of the README's
command and run by .ci/run once it has installed docs/requirements.txt.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


def load_docs_module(name):
    """Import ``docs/NAME.py`` (the docs folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"docs_{name}", DOCS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


check_site = load_docs_module("check_site")

CDN_SCRIPT = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"
GOOGLE_FONT = "https://fonts.googleapis.com/css?family=Roboto:300,400&display=fallback"

PAGE = f"""<!doctype html>
<html><head>
<link rel="preconnect" href="https://fonts.gstatic.com">
<link rel="stylesheet" href="{GOOGLE_FONT}">
<link rel="stylesheet" href="../assets/main.css">
<link rel="icon" href="assets/favicon.png">
<link rel="canonical" href="https://example.org/linclf/math/">
<script src="{CDN_SCRIPT}"></script>
<script src="../assets/bundle.js"></script>
<style>@font-face {{ src: url("https://fonts.gstatic.com/s/roboto.woff2"); }}
.logo {{ background: url(../images/logo.png); }}</style>
</head><body>
<a href="https://docs.dask.org">Dask</a>
<img src="//img.example.com/plot.png" alt="plot">
<img src="../images/templates.png" srcset="small.png 1x, https://img.example.com/big.png 2x">
<img src="data:image/png;base64,iVBORw0KGgo=" alt="inline">
<div style="background-image: url('https://img.example.com/bg.png')"></div>
<iframe src="https://www.youtube.com/embed/x"></iframe>
</body></html>
"""


def urls(loads):
    return sorted(load.url for load in loads)


def test_a_page_reports_each_load_from_another_host_and_nothing_else():
    # Each external load of PAGE is one line; the local script, stylesheet, icon, image,
    # data: URL, relative url(), the <a href> and the canonical link are not loads.
    assert urls(check_site.html_loads(PAGE)) == sorted(
        [
            "https://fonts.gstatic.com",
            GOOGLE_FONT,
            CDN_SCRIPT,
            "https://fonts.gstatic.com/s/roboto.woff2",
            "//img.example.com/plot.png",
            "https://img.example.com/big.png",
            "https://img.example.com/bg.png",
            "https://www.youtube.com/embed/x",
        ]
    )


def test_the_report_says_what_loads_the_url():
    whats = {load.url: load.what for load in check_site.html_loads(PAGE)}
    assert whats[CDN_SCRIPT] == "<script src>"
    assert whats[GOOGLE_FONT] == '<link rel="stylesheet">'
    assert whats["https://img.example.com/bg.png"] == "<div style> url()"


@pytest.mark.parametrize(
    "html",
    [
        '<a href="https://github.com/x/y">source</a>',
        '<link rel="alternate" type="application/rss+xml" href="https://example.org/feed">',
        '<script src="assets/javascripts/bundle.min.js"></script>',
        '<link rel="stylesheet" href="/assets/stylesheets/main.css">',
        '<img src="../images/confusion.png">',
        "<p>see https://cdn.jsdelivr.net in the text</p>",
    ],
)
def test_links_and_local_files_are_not_loads(html):
    assert check_site.html_loads(html) == []


def test_a_link_whose_rel_also_loads_is_a_load():
    # "alternate stylesheet" is a stylesheet the browser may fetch: only a rel made
    # entirely of navigation words is exempt.
    html = '<link rel="alternate stylesheet" href="https://cdn.example.com/dark.css">'
    assert urls(check_site.html_loads(html)) == ["https://cdn.example.com/dark.css"]


def test_a_stylesheet_reports_external_fonts_and_imports_not_local_urls():
    css = """
    /* url(https://in.a.comment/is-not-loaded.woff2) */
    @import "https://fonts.googleapis.com/css2?family=Inter";
    @font-face { src: url(https://fonts.gstatic.com/s/inter.woff2) format("woff2"); }
    @font-face { src: url("../fonts/local.woff2"); }
    .icon { mask-image: url('data:image/svg+xml;charset=utf-8,<svg/>'); }
    """
    assert urls(check_site.css_loads(css)) == [
        "https://fonts.googleapis.com/css2?family=Inter",
        "https://fonts.gstatic.com/s/inter.woff2",
    ]


def test_a_script_reports_a_url_string_but_not_a_comment_after_a_string():
    code = (
        'var s=document.createElement("script");s.src="https://cdn.example.com/x.js";\n'
        'if (ch == "\\u00A0"//nbsp and emsp\n'
        "fetch(`https://api.example.com/v1/${name}`)\n"
        'load("./local.js")\n'
    )
    assert urls(check_site.js_loads(code)) == [
        "https://api.example.com/v1/${name}",
        "https://cdn.example.com/x.js",
    ]


def test_the_themes_conditional_loads_are_reported_only_when_a_page_triggers_them(tmp_path):
    # The theme's bundle names mermaid's CDN; that is allowed only while no page has a
    # mermaid diagram, which is checked on the pages themselves.
    (tmp_path / "bundle.js").write_text(
        'function f(){return _t("https://unpkg.com/mermaid@11/dist/mermaid.min.js")}'
    )
    (tmp_path / "index.html").write_text('<script src="bundle.js"></script><p>no diagram</p>')
    assert check_site.check_site(tmp_path) == []
    (tmp_path / "diagram.html").write_text('<pre class="mermaid"><code>graph LR</code></pre>')
    [problem] = check_site.check_site(tmp_path)
    assert problem.startswith("diagram.html: https://unpkg.com/mermaid@")


def write_site(folder, page):
    (folder / "sub").mkdir()
    (folder / "sub" / "index.html").write_text(page, encoding="utf-8")
    (folder / "style.css").write_text("@import url(//fonts.example.com/a.css);")
    (folder / "search.json").write_text('{"url": "https://not.scanned.example.com/x.js"}')


def test_check_site_names_each_file_and_url(tmp_path):
    write_site(tmp_path, f'<script src="{CDN_SCRIPT}"></script><a href="https://x.org">x</a>')
    assert check_site.check_site(tmp_path) == [
        "style.css: //fonts.example.com/a.css (CSS url())",
        f"sub/index.html: {CDN_SCRIPT} (<script src>)",
    ]


def test_main_exits_1_with_the_offences_and_0_on_a_clean_site(tmp_path, capsys):
    bad, good = tmp_path / "bad", tmp_path / "good"
    bad.mkdir()
    good.mkdir()
    write_site(bad, f'<link rel="stylesheet" href="{GOOGLE_FONT}">')
    (good / "index.html").write_text('<link rel="stylesheet" href="style.css">')
    assert check_site.main([str(bad)]) == 1
    assert GOOGLE_FONT in capsys.readouterr().out
    assert check_site.main([str(good)]) == 0


def test_main_refuses_a_folder_without_pages(tmp_path):
    # A mistyped site path must not pass as "nothing loaded".
    assert check_site.main([str(tmp_path / "missing")]) == 2
    assert check_site.main([str(tmp_path)]) == 2


@pytest.fixture(scope="module")
def math_hook():
    import latex2mathml  # noqa: F401  (docs/requirements.txt; .ci/run installs it for -m extra)

    return load_docs_module("math_hook")


@pytest.mark.extra  # docs/requirements.txt
def test_a_formula_becomes_mathml_in_the_requested_style(math_hook):
    block = math_hook.tex_to_mathml(
        r"\frac{\partial s_{ic}}{\partial W_{cd}} = X_{id}", display=True
    )
    assert block.startswith("<math") and 'display="block"' in block and "<mfrac>" in block
    assert 'display="inline"' in math_hook.tex_to_mathml(r"x_i", display=False)


@pytest.mark.extra  # docs/requirements.txt
def test_sum_limits_go_under_the_sign_even_inside_braces(math_hook):
    # latex2mathml writes \sum_i inside \underbrace as a subscript; TeX puts it under.
    mathml = math_hook.tex_to_mathml(r"\underbrace{\sum_i a_i}_{\text{loss}}", display=True)
    assert '<munder><mo movablelimits="true">∑</mo><mi>i</mi></munder>' in mathml
    assert "<msub><mo>∑" not in mathml


@pytest.mark.extra  # docs/requirements.txt
def test_aligned_is_laid_out_as_a_table_and_text_escapes_are_resolved(math_hook):
    mathml = math_hook.tex_to_mathml(
        r"\begin{aligned} F &= a && \text{kink\_tol} \\ P &= b \end{aligned}", display=True
    )
    assert mathml.count("<mtr>") == 2
    assert "<mtext>kink_tol</mtext>" in mathml
    assert "&" not in mathml.replace("&#", "")


@pytest.mark.extra  # docs/requirements.txt
def test_a_backslash_at_the_end_of_a_line_is_a_space(math_hook):
    mathml = math_hook.tex_to_mathml("a,\\\n  b", display=False)
    assert "\\" not in mathml and "<mi>b</mi>" in mathml


@pytest.mark.extra  # docs/requirements.txt
def test_an_unknown_command_is_refused(math_hook):
    with pytest.raises(math_hook.UnsupportedFormula, match=r"\\foo"):
        math_hook.tex_to_mathml(r"\foo x", display=False)


@pytest.mark.extra  # docs/requirements.txt
def test_typeset_replaces_the_tex_and_warns_for_a_formula_it_cannot_convert(math_hook, caplog):
    page = (
        '<p><span class="arithmatex">\\(a &lt; b\\)</span> and'
        ' <span class="arithmatex">\\(\\foo\\)</span></p>'
        '<div class="arithmatex">\\[\nx^2\n\\]</div>'
    )
    with caplog.at_level(logging.WARNING, logger="mkdocs.plugins.linclf.math"):
        out = math_hook.typeset(page, "page.md")
    assert '<span class="arithmatex"><math' in out and "<mo>&lt;</mo>" in out
    assert '<div class="arithmatex"><math' in out and 'display="block"' in out
    assert '<span class="arithmatex">\\(\\foo\\)</span>' in out  # left as it was
    [record] = caplog.records
    assert "page.md" in record.getMessage() and "\\foo" in record.getMessage()


@pytest.mark.extra  # docs/requirements.txt
def test_a_display_formula_left_as_text_is_reported_but_code_is_not(math_hook, caplog):
    # "$$" outside code means arithmatex did not see a formula (a list item without blank
    # lines around it): the reader would get raw TeX.
    with caplog.at_level(logging.WARNING, logger="mkdocs.plugins.linclf.math"):
        math_hook.typeset("<p>the price is <code>$$5</code></p><pre>echo $$</pre>", "ok.md")
        assert caplog.records == []
        math_hook.typeset("<li>loss: $$ L = 1 $$</li>", "list.md")
    [record] = caplog.records
    assert "list.md" in record.getMessage() and "2 '$$'" in record.getMessage()


@pytest.fixture(scope="module")
def griffe_rst():
    import griffe  # noqa: F401  (docs/requirements.txt; .ci/run installs it for -m extra)

    return load_docs_module("griffe_rst")


NUMPYDOC = """Fit.

Parameters
----------
X : {array-like, sparse matrix} of shape (n_samples, n_features)
    The samples.

    A second paragraph.
W, b : ndarray (C, D); ndarray (C,) or None
    Weights and bias.
y, sample_weight
    As for fit.
schedule : {"constant", "step"}, Schedule or None
    A name.

Returns
-------
a, b : x; y
    Not a Parameters section: left alone.
"""


@pytest.mark.extra  # docs/requirements.txt
def test_the_griffe_extension_splits_shared_entries_and_unbraces_types(griffe_rst):
    # griffe reads "{a, b}" as a set of values whose first is the default (so X showed
    # "Default: array-like") and gives every name of a shared entry the first one's
    # default; the rewrite leaves griffe nothing to misread.
    assert griffe_rst.convert(NUMPYDOC).split("\n") == [
        "Fit.",
        "",
        "Parameters",
        "----------",
        "X : array-like or sparse matrix of shape (n_samples, n_features)",
        "    The samples.",
        "",
        "    A second paragraph.",
        "W : ndarray (C, D)",
        "    Weights and bias.",
        "b : ndarray (C,) or None",
        "    Weights and bias.",
        "y",
        "    As for fit.",
        "sample_weight",
        "    As for fit.",
        'schedule : one of {"constant", "step"}, Schedule or None',
        "    A name.",
        "",
        "Returns",
        "-------",
        "a, b : x; y",
        "    Not a Parameters section: left alone.",
        "",
    ]


@pytest.mark.extra  # docs/requirements.txt
def test_the_written_types_are_what_griffe_keeps_of_each_type(griffe_rst):
    text = griffe_rst.convert(
        "Parameters\n----------\nsample_weight : array-like or None, default None\n"
        "    Weights.\nflag : bool, optional\n    A flag.\n"
    )
    assert griffe_rst.written_types(text) == {
        "sample_weight": "array-like or None",
        "flag": "bool",
    }


@pytest.mark.extra  # docs/requirements.txt
def test_griffe_reads_the_rewritten_parameters_as_written(griffe_rst):
    # End to end through griffe's numpy parser: X is required (no "Default: array-like"),
    # each shared name gets its own type and default, and "array-like or None", which
    # parses as a Python expression, keeps its spelling.
    import griffe

    code = '''
def fit(X, y, sample_weight=None):
    """Fit.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The samples.
    y, sample_weight : array-like; array-like or None
        Labels and weights.
    """
'''
    extensions = griffe.Extensions(griffe_rst.RstToMarkdown())
    with griffe.temporary_visited_package(
        "pkg", {"__init__.py": code}, extensions=extensions, docstring_parser="numpy"
    ) as package:
        [section] = [s for s in package["fit"].docstring.parsed if s.kind.value == "parameters"]
        rows = [(p.name, str(p.annotation), p.value) for p in section.value]
    assert rows == [
        ("X", "array-like or sparse matrix of shape (n_samples, n_features)", None),
        ("y", "array-like", None),
        ("sample_weight", "array-like or None", "None"),
    ]


@pytest.mark.extra  # docs/requirements.txt
def test_tex_left_as_text_is_reported(math_hook, caplog):
    # Two \[ \] blocks with no blank line between them: arithmatex takes neither, and
    # Markdown leaves "[ h = \frac{a}{b} ]" in the text.
    with caplog.at_level(logging.WARNING, logger="mkdocs.plugins.linclf.math"):
        math_hook.typeset("<p><code>\\frac</code> is code</p>", "ok.md")
        assert caplog.records == []
        math_hook.typeset("<p>[ h = \\frac{a}{b} \\qquad ]</p>", "raw.md")
    [record] = caplog.records
    assert "raw.md" in record.getMessage() and "\\\\frac" in record.getMessage()


@pytest.mark.extra  # docs/requirements.txt
def test_norm_bars_keep_their_size_unless_sized(math_hook):
    # TeX's \lVert does not grow with its row; \big| is sized on purpose.
    norm = math_hook.tex_to_mathml(r"\lVert W \rVert^2", display=True)
    assert norm.count('<mo stretchy="false">‖</mo>') == 2
    big = math_hook.tex_to_mathml(r"\big| x \big|", display=True)
    assert 'stretchy="false"' not in big and "minsize" in big
