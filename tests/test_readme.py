"""The README's example runs as written and does what its comments say."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs_and_reaches_the_stated_accuracy():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert len(blocks) == 1
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(blocks[0], str(README), "exec"), {})  # its assert_gradient_close must pass
    accuracy = float(re.search(r"held-out accuracy: ([0-9.]+)", out.getvalue()).group(1))
    assert accuracy >= 0.94  # the comment says "about 0.96"


def test_readme_names_the_two_commands_ci_runs():
    text = README.read_text()
    assert "python -m pip install . && python -m linclf" in text
    assert (
        '<!-- test-command -->\n```bash\npython -m pip install ".[test]" && python -m pytest\n```'
        in text
    )


def test_the_layout_section_links_the_architecture_map_and_it_names_every_private_layer():
    text = README.read_text()
    layout = text[text.index("## Layout") :]
    assert "(docs/architecture.md)" in layout
    page = (README.parent / "docs" / "architecture.md").read_text()
    package = README.parent / "src" / "linclf"
    layers = sorted(p.name for p in package.iterdir() if p.is_dir() and p.name.startswith("_"))
    layers = [name for name in layers if name != "__pycache__"]
    assert layers  # the tree has private layers, so the loop below checks something
    for name in layers:
        assert f"{name}" in page, f"docs/architecture.md does not place linclf/{name}"
