"""The README is a short user guide and the user docs describe the product as it is now (issue 19).

History and experiments belong in CHANGELOG.md and models/MODEL_CARD.md; these checks keep lab-notebook phrasing
out of README.md and docs/. Building the site itself is `make docs` (mkdocs build --strict), not a test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
USER_DOCS = [README, *sorted(DOCS.rglob("*.md"))]

LAB_NOTEBOOK = {
    "this round": r"\bthis round\b",
    "an earlier or last round": r"\b(last|previous|earlier) round\b",
    "this or the last stop": r"\b(this|last|previous) stop\b",
    "the previous classifier or model": r"\bprevious (classifier|model)\b",
    "first person (I tried, I read, ...)": r"\bI\b",
}


def prose(text: str) -> str:
    """The text without fenced code blocks and inline code, where commands and outputs may say anything."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)
    return re.sub(r"`[^`\n]*`", "", text)


def test_readme_is_a_short_user_guide():
    text = README.read_text()
    lines = text.splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; move detail into docs/"
    assert "## Quickstart" in lines, "README.md needs a '## Quickstart' heading"
    for command in ("make run", "make test"):
        assert re.search(rf"^{command}\b", text, re.MULTILINE), f"README.md must show `{command}` in a command block"
    assert "docs/ui-screenshot.png" in text
    top = "\n".join(lines[:30]).lower()
    assert "non-commercial" in top and "maskedface-net" in top and "face mask 12k" in top, (
        "the classifier's non-commercial licence and its training sets belong near the top of README.md"
    )


def test_readme_links_exist():
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README.read_text()):
        if "://" not in target:
            assert (ROOT / target).exists(), f"README.md links to {target}, which does not exist"


@pytest.mark.parametrize("doc", USER_DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_user_docs_describe_the_product_as_it_is(doc: Path):
    text = prose(doc.read_text())
    found = [
        f"{name}: line {text[: m.start()].count(chr(10)) + 1}: {text[m.start() : m.end() + 40]!r}"
        for name, pattern in LAB_NOTEBOOK.items()
        for m in re.finditer(pattern, text)
    ]
    assert not found, f"{doc.name} reads like a lab notebook (history goes to CHANGELOG.md):\n" + "\n".join(found)


def _nav_pages(items) -> list[str]:
    pages = []
    for item in items:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        pages += _nav_pages(value) if isinstance(value, list) else [value]
    return pages


def test_every_docs_page_is_in_the_site_navigation():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    nav = _nav_pages(config["nav"])
    on_disk = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    assert sorted(nav) == on_disk, "mkdocs.yml's nav and the pages under docs/ differ"
