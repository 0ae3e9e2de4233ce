"""Static checks on every template in the package, including other domains' pages.

The CSP allows scripts and styles from the app only, so inline scripts, style attributes and inline
event handlers would silently break in the browser; and no page may start audio by itself (safety
flags: a seizures flag means audio only ever starts by a deliberate action).
"""

from __future__ import annotations

import re

import pytest

from cadenza.web.templating import template_dirs, templates

# (search folder, template): the web app's templates, then each installed tool's (cadenza/tools/<tool>/templates).
TEMPLATES = [(root, path) for root in template_dirs() for path in sorted(root.rglob("*.html"))]
TEMPLATE_FILES = [path for _, path in TEMPLATES]
RULES = {
    "autoplaying audio or video": re.compile(r"<(audio|video)\b[^>]*\bautoplay", re.I),
    "a style attribute (blocked by the CSP)": re.compile(r"\sstyle\s*=", re.I),
    "an inline script (blocked by the CSP)": re.compile(r"<script\b(?![^>]*\bsrc=)", re.I),
    "an inline event handler (blocked by the CSP)": re.compile(r"<[^>]+\son[a-z]+\s*=", re.I),
    # Loaded resources (scripts, images, media, stylesheets) come from the app; a plain link (<a href>) to
    # another site, e.g. a therapist directory on the person's help page, loads nothing.
    "a resource from another site": re.compile(r"""(\bsrc\s*=|<link\b[^>]*\bhref\s*=)\s*["']https?://""", re.I),
    "autoescaping switched off": re.compile(r"\|\s*safe\b|autoescape\s+false", re.I),
}


def test_templates_exist():
    assert len(TEMPLATE_FILES) >= 10


@pytest.mark.parametrize(("root", "path"), TEMPLATES, ids=[path.relative_to(root).as_posix() for root, path in TEMPLATES])
def test_template_is_safe_and_compiles(root, path):
    name = path.relative_to(root).as_posix()
    text = path.read_text(encoding="utf-8")
    problems = [what for what, rule in RULES.items() if rule.search(text)]
    assert not problems, f"{name} contains {', '.join(problems)}"
    assert templates.env.get_template(name).filename == str(path), f"{name} is shadowed by another folder's"


def test_tool_templates_are_found():
    assert any(path.relative_to(root).as_posix() == "gait/client_gait.html" for root, path in TEMPLATES)


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


def test_walkthrough_p7_field_attributes_are_not_escaped(make_therapist, login_as):
    """The field() macro's extra attributes reach the browser as attributes, not as escaped text
    (``inputmode=&#34;decimal&#34;`` gave text keyboards, no range checks, and an emergency grant
    of 0.5 h that could not be submitted)."""
    macro = templates.env.from_string('{% from "_macros.html" import field %}'
                                      '{{ field("a", "A", {}, {}, attrs=attrs) }}')
    as_text = macro.render(attrs='inputmode="decimal" required step="0.5" max="{}<script>"')
    as_dict = macro.render(attrs={"inputmode": "decimal", "required": True, "step": 0.5, "max": '{}<script>',
                                  "min": None})
    for html in (as_text, as_dict):
        assert ' inputmode="decimal" required step="0.5" max="{}&lt;script&gt;">' in html
        assert "&#34;" not in html and "min=" not in html
    with pytest.raises(ValueError, match="attrs"):
        macro.render(attrs='onclick=alert(1)')

    make_therapist("ann")
    page = login_as("ann").get("/clients/new").text
    assert 'min="1900" max="2100"' in page
    assert 'required maxlength="64" autocomplete="off"' in page
    assert "&#34;" not in page


def test_compiled_at_start_up_a_page_view_compiles_nothing(make_therapist, login_as, monkeypatch):
    """`cadenza serve` compiles every template in each worker before its first request (issue 23), so no
    view pays for compiling one."""
    from cadenza.web.templating import compile_all_templates

    templates.env.cache.clear()
    names = {path.relative_to(root).as_posix() for root, path in TEMPLATES}
    assert compile_all_templates() == len(names) and set(templates.env.list_templates()) == names
    compiled: list[str] = []
    compile_source = templates.env.compile
    monkeypatch.setattr(templates.env, "compile", lambda source, name=None, *args, **kwargs:
                        compiled.append(name) or compile_source(source, name, *args, **kwargs))
    make_therapist("ann")
    ann = login_as("ann")
    for path in ("/", "/clients", "/clients/new", "/account/password"):
        assert ann.get(path).status_code == 200, path
    assert compiled == []
    templates.env.cache.clear()  # nothing kept: the next view compiles again
    assert ann.get("/clients").status_code == 200 and compiled
