"""Citations of docs/ in code, tests and benchmarks point at pages and headings that exist.

Code cites the reference as ``(docs/inference.md, "Slide mode")``; renaming a heading
without fixing its citations fails here, naming the file that cites it.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CITING = ("app", "gcnet_core", "tests", "benchmarks")
CITATION = re.compile(r"docs/(\w+\.md)(.{0,200}?)(?:\)|\.\s|\.\"|\Z)", re.DOTALL)  # up to the sentence's end


def headings(page: Path) -> set[str]:
    return {line.lstrip("#").strip() for line in page.read_text(encoding="utf-8").splitlines()
            if line.startswith("#")}


def citations() -> list[tuple[Path, str, list[str]]]:
    """(citing file, page, quoted headings) for every ``docs/<page>.md`` in the code."""
    found = []
    for folder in CITING:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for match in CITATION.finditer(path.read_text(encoding="utf-8")):
                found.append((path, match.group(1), re.findall(r'"([^"\n]+)"', match.group(2))))
    return found


def test_every_cited_page_and_heading_exists():
    cited = citations()
    assert len(cited) > 20  # the pattern still finds the citations
    missing = []
    for path, page, quoted in cited:
        where = path.relative_to(ROOT)
        if not (DOCS / page).is_file():
            missing.append(f"{where}: docs/{page} does not exist")
            continue
        missing += [f'{where}: docs/{page} has no heading "{h}"' for h in quoted
                    if h not in headings(DOCS / page)]
    assert not missing, "\n".join(missing)


def test_nothing_cites_a_section_number():
    """The old out-of-tree spec was cited by section number; these pages have none."""
    stale = [f"{path.relative_to(ROOT)}:{number}"
             for folder in CITING for path in sorted((ROOT / folder).rglob("*.py"))
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if re.search(r"§\d", line)]
    assert not stale, "cite docs/<page>.md and its heading instead: " + ", ".join(stale)


def test_the_pages_point_at_each_others_headings():
    pointers = [(page.name, match) for page in sorted(DOCS.glob("*.md"))
                for match in re.findall(r'(\w+\.md), "([^"]+)"', page.read_text(encoding="utf-8"))]
    assert len(pointers) > 10
    missing = [f'{name}: {target} has no heading "{heading}"' for name, (target, heading) in pointers
               if heading not in headings(DOCS / target)]
    assert not missing, "\n".join(missing)


def test_the_index_lists_every_page():
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    assert [p.name for p in sorted(DOCS.glob("*.md")) if f"]({p.name})" not in index] == ["README.md"]
