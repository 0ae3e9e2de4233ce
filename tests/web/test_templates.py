"""Static checks on every template in the package, including other domains' pages.

The CSP allows scripts and styles from the app only, so inline scripts, style attributes and inline
event handlers would silently break in the browser; and no page may start audio by itself (safety
flags: a seizures flag means audio only ever starts by a deliberate action).
"""

from __future__ import annotations

import re

import pytest

from cadenza.web.templating import TEMPLATES_DIR, templates

TEMPLATE_FILES = sorted(p for p in TEMPLATES_DIR.rglob("*.html"))
RULES = {
    "autoplaying audio or video": re.compile(r"<(audio|video)\b[^>]*\bautoplay", re.I),
    "a style attribute (blocked by the CSP)": re.compile(r"\sstyle\s*=", re.I),
    "an inline script (blocked by the CSP)": re.compile(r"<script\b(?![^>]*\bsrc=)", re.I),
    "an inline event handler (blocked by the CSP)": re.compile(r"<[^>]+\son[a-z]+\s*=", re.I),
    "a resource from another site": re.compile(r"""(src|href)\s*=\s*["']https?://(?!doi\.org)""", re.I),
    "autoescaping switched off": re.compile(r"\|\s*safe\b|autoescape\s+false", re.I),
}


def test_templates_exist():
    assert len(TEMPLATE_FILES) >= 10


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda p: str(p.relative_to(TEMPLATES_DIR)))
def test_template_is_safe_and_compiles(path):
    text = path.read_text(encoding="utf-8")
    problems = [what for what, rule in RULES.items() if rule.search(text)]
    assert not problems, f"{path.relative_to(TEMPLATES_DIR)} contains {', '.join(problems)}"
    templates.env.get_template(str(path.relative_to(TEMPLATES_DIR)))


def test_every_form_that_posts_carries_the_csrf_token():
    for path in TEMPLATE_FILES:
        text = path.read_text(encoding="utf-8")
        for form in re.findall(r"<form\b[^>]*method=\"post\"[^>]*>.*?</form>", text, re.S | re.I):
            assert 'name="csrf_token"' in form, f"{path.name}: a POST form without the CSRF token"


def test_no_script_starts_audio():
    """The autoplay rule holds for scripts too: nothing served from static/ calls play() or sets autoplay."""
    from cadenza.web.templating import STATIC_DIR

    scripts = sorted(STATIC_DIR.rglob("*.js"))
    assert scripts, "htmx.min.js is served from static/"
    for path in scripts:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\.play\s*\(|autoplay", text, re.I), path.name
