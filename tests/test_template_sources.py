"""Template sources: a `{# … #}` comment spanning lines is not a comment for Django, which prints it to the user
(« {# Read-only answers of a dossier… #} » was shown on four pages). Every template file of the project is scanned
so that such a comment never comes back; multi-line comments use `{% comment %}`."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUFFIXES = {".html", ".txt", ".xml", ".md"}
MULTILINE_COMMENT = re.compile(r"\{#(?:(?!#\}).)*?\n", re.S)


def template_files() -> list[Path]:
    folders = [ROOT / "templates", *sorted((ROOT / "guichet").glob("*/templates"))]
    return [p for folder in folders for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix in SUFFIXES]


def test_the_scan_sees_the_templates():
    files = template_files()
    assert len(files) > 50 and ROOT / "templates" / "dossiers" / "_answers.html" in files


def test_no_template_has_a_multiline_hash_comment():
    found = []
    for path in template_files():
        source = path.read_text(encoding="utf-8")
        for match in MULTILINE_COMMENT.finditer(source):
            line = source.count("\n", 0, match.start()) + 1
            found.append(f"{path.relative_to(ROOT)}:{line}")
    assert not found, "A {# #} comment must fit on one line (else Django prints it); use {% comment %}: " + ", ".join(
        found
    )
