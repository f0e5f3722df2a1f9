"""Every URL name the code reverses exists: a template or a view naming a page that is not in the URL map
is a server error for whoever opens that page (an expert's link did, with ``experts:file``). The
rendering of every page over a full dossier is in ``test_every_page.py``; this scan also covers the
branches that dossier does not reach."""

import re
from pathlib import Path

from django.urls import URLPattern, URLResolver, get_resolver

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_URL = re.compile(r"""\{%\s*url\s+['"]([^'"]+)['"]""")
PYTHON_URL = re.compile(r"""\b(?:reverse|redirect|reverse_lazy|resolve_url)\(\s*['"]([\w-]+:[\w:-]+)['"]""")


def url_names(resolver=None, prefix="") -> set[str]:
    """Every reversible name of the URL map, with its namespaces (``experts:file``)."""
    names = set()
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            space = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            names |= url_names(pattern, space)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(prefix + pattern.name)
    return names


def reversed_names() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for folder in [ROOT / "templates", *(ROOT / "guichet").glob("*/templates")]:
        for path in folder.rglob("*.html"):
            for name in TEMPLATE_URL.findall(path.read_text()):
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    for path in (ROOT / "guichet").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for name in PYTHON_URL.findall(path.read_text()):
            found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_the_scan_sees_the_code():
    found = reversed_names()
    assert "experts:file" in found and "dossiers:attachment" in found
    assert len(found) > 50


def test_every_url_name_reversed_in_templates_and_code_exists():
    known = url_names()
    missing = {name: sorted(where) for name, where in reversed_names().items() if name not in known}
    assert not missing, f"URL names reversed but absent from the URL map: {missing}"
