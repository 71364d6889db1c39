"""The renderer (``leadmagnet.render.renderer``) on its own, without an app: what it remembers per theme
and how a theme reload replaces it."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import TemplatesNotFound

from leadmagnet.content.catalog import Page, read_file
from leadmagnet.content.offer import BUILTIN_FIELDS, FieldSpec
from leadmagnet.render.renderer import Renderer, style_hash
from leadmagnet.render.themes import Themes
from tests.conftest import SAMPLES


def renderer_with_css(tmp_path: Path, css: str) -> tuple[Renderer, Path]:
    css_file = tmp_path / "themes" / "brand" / "static" / "critical.css"
    css_file.parent.mkdir(parents=True)
    css_file.write_text(css)
    (tmp_path / "themes" / "brand" / "theme.toml").write_text('extends = "default"\n')
    config = {"DEFAULT_THEME": "brand", "SITE_NAME": "Test", "BASE_URL": "https://offers.example.com"}
    return Renderer(config, Themes(tmp_path / "themes")), css_file


def test_inline_css_is_read_once_per_theme_version(tmp_path: Path) -> None:
    renderer, css_file = renderer_with_css(tmp_path, "body{color:red}")
    theme = renderer.theme_for(None)
    assert renderer.inline_static(theme, "critical.css") == "body{color:red}"
    css_file.write_text("body{color:blue}")
    assert renderer.inline_static(theme, "critical.css") == "body{color:red}"  # same theme version: cached
    renderer.reset()
    assert renderer.inline_static(renderer.theme_for(None), "critical.css") == "body{color:blue}"
    assert style_hash("body{color:blue}") in renderer.style_hashes


def test_a_render_begun_before_a_theme_reload_does_not_pin_what_it_made(tmp_path: Path) -> None:
    """A request holding the old theme stores what it made after the reload cleared the caches
    (a gthread worker, another thread reloading): the next request must not be served it."""
    renderer, css_file = renderer_with_css(tmp_path, "body{color:red}")
    old_theme = renderer.theme_for(None)
    old_env = renderer.env(old_theme)
    css_file.write_text("body{color:blue}")
    renderer.reset()  # another thread saw the theme change
    renderer.inline_static(old_theme, "critical.css")  # the request that began before it finishes
    renderer.env(old_theme)
    new_theme = renderer.theme_for(None)
    assert new_theme is not old_theme
    assert renderer.inline_static(new_theme, "critical.css") == "body{color:blue}"
    assert renderer.env(new_theme) is not old_env
    html = renderer.render("error.html", status=404, title="Not found", message="Gone.")
    assert "body{color:blue}" in html and "body{color:red}" not in html


def sample_pages() -> dict[str, Page]:
    pages = (read_file(path, SAMPLES)[0] for path in sorted(SAMPLES.glob("*.md")))
    return {page.offer.slug: page for page in pages if page is not None}


def test_a_build_chooses_templates_most_specific_first(tmp_path: Path) -> None:
    """Without auto-reload the theme's template names are listed once; the choice is the same."""
    templates = tmp_path / "themes" / "brand" / "templates"
    templates.mkdir(parents=True)
    (templates / "offer-webinar.html").write_text('{% extends "default:offer.html" %}{% block pitch %}BY TYPE{% endblock %}')
    (templates / "offer-growth-playbook.html").write_text('{% extends "default:offer.html" %}{% block pitch %}BY SLUG{% endblock %}')
    config = {"DEFAULT_THEME": "brand", "SITE_NAME": "Test", "BASE_URL": "https://offers.example.com"}
    renderer = Renderer(config, Themes(tmp_path / "themes"), auto_reload=False)
    pages = sample_pages()
    assert "BY SLUG" in renderer.offer_html(pages["growth-playbook"], "live")
    assert "BY TYPE" in renderer.offer_html(pages["q1-product-demo"], "live")
    plain = renderer.offer_html(pages["seo-checklist"], "live")
    assert "BY " not in plain and "Launching a landing page" in plain
    with pytest.raises(TemplatesNotFound, match=r"nope-1\.html"):
        renderer.render(["nope-1.html", "nope-2.html"])


def test_blank_fields_writes_what_the_loop_over_form_field_writes(tmp_path: Path) -> None:
    renderer = Renderer({"DEFAULT_THEME": "default", "SITE_NAME": "Test", "BASE_URL": "https://x.example"}, Themes(tmp_path))
    env = renderer.env(renderer.theme_for(None))
    fields = [
        BUILTIN_FIELDS["email"],
        FieldSpec("size", 'Team <script>alert("size")</script>', "select", True, (("1", "<b>One</b>"), ("2", "Two & more"))),
        FieldSpec("note", "A note", "textarea", max_length=500),
    ]
    imported = '{% from "_macros.html" import form_field %}'
    looped = env.from_string(imported + "{% for f in fields %}{{ form_field(f) }}{% endfor %}").render(fields=fields)
    blank = env.from_string(imported + "{{ fields|blank_fields(form_field) }}")
    assert blank.render(fields=fields) == looped
    assert blank.render(fields=fields) == looped  # the second time from what the first one made
    assert "&lt;script&gt;" in looped and "<script>" not in looped and "&lt;b&gt;One&lt;/b&gt;" in looped
    # A dict field with arguments (the consent checkbox), and one that cannot be a key (a list in it).
    consent = [{"name": "consent", "label": "I <em>agree</em>", "type": "checkbox", "required": True, "max_length": 1}]
    odd = [{"name": "odd", "label": "Odd", "type": "text", "required": False, "max_length": 9, "tags": ["x"]}]
    for these in (consent, odd):
        looped = env.from_string(imported + "{% for f in fields %}{{ form_field(f, none, none) }}{% endfor %}").render(fields=these)
        blank = env.from_string(imported + "{{ fields|blank_fields(form_field, none, none) }}")
        assert blank.render(fields=these) == blank.render(fields=these) == looped
    assert "I &lt;em&gt;agree&lt;/em&gt;" in env.from_string(imported + "{{ fields|blank_fields(form_field) }}").render(fields=consent)


def test_blank_fields_does_not_reuse_a_macro_that_sees_the_render(tmp_path: Path) -> None:
    """A macro defined in the template (or imported with context) reads the render's variables:
    it is a new macro each render, and what one render made is not shown in the next."""
    renderer = Renderer({"DEFAULT_THEME": "default", "SITE_NAME": "Test", "BASE_URL": "https://x.example"}, Themes(tmp_path))
    env = renderer.env(renderer.theme_for(None))
    template = env.from_string("{% macro f(field) %}{{ who }}:{{ field.name }};{% endmacro %}{{ fields|blank_fields(f) }}")
    fields = [BUILTIN_FIELDS["email"]]
    assert template.render(fields=fields, who="Ada") == "Ada:email;"
    assert template.render(fields=fields, who="Grace") == "Grace:email;"


def test_blank_fields_keeps_markup_and_plain_text_of_the_same_words_apart(tmp_path: Path) -> None:
    """A label given as Markup is shown as HTML, the same words as plain text are escaped: equal
    strings of different types must not share what the macro made."""
    from markupsafe import Markup

    renderer = Renderer({"DEFAULT_THEME": "default", "SITE_NAME": "Test", "BASE_URL": "https://x.example"}, Themes(tmp_path))
    env = renderer.env(renderer.theme_for(None))
    blank = env.from_string('{% from "_macros.html" import form_field %}{{ fields|blank_fields(form_field, none, none) }}')

    def consent(label: str) -> list[dict]:
        return [{"name": "consent", "label": label, "type": "checkbox", "required": True, "max_length": 1}]

    assert "I <em>agree</em>" in blank.render(fields=consent(Markup("I <em>agree</em>")))
    plain = blank.render(fields=consent("I <em>agree</em>"))
    assert "I &lt;em&gt;agree&lt;/em&gt;" in plain and "<em>" not in plain


def test_a_build_skips_a_listed_template_it_cannot_load_as_the_server_does(tmp_path: Path) -> None:
    """A dangling link named like a more specific template: the server falls back to the next
    name, and so does a build (which lists the theme's templates once)."""
    templates = tmp_path / "themes" / "brand" / "templates"
    templates.mkdir(parents=True)
    (templates / "offer-ebook.html").symlink_to(tmp_path / "missing.html")
    config = {"DEFAULT_THEME": "brand", "SITE_NAME": "Test", "BASE_URL": "https://offers.example.com"}
    page = sample_pages()["growth-playbook"]
    live = Renderer(config, Themes(tmp_path / "themes")).offer_html(page, "live")
    built = Renderer(config, Themes(tmp_path / "themes"), auto_reload=False).offer_html(page, "live")
    assert built == live and "<h1" in built


def test_template_outputs_escape_as_jinja_does(tmp_path: Path) -> None:
    """The theme environments write each ``{{ }}`` through escape_output (plain text, no Markup
    wrapper): the same characters as Jinja's own autoescape, for every kind of value."""
    import jinja2
    from markupsafe import Markup

    from leadmagnet.render.renderer import escape_output

    class Html:
        def __html__(self) -> str:
            return "<b>own</b>"

    source = (
        "{{ s }}|{{ m }}|{{ n }}|{{ h }}|{{ missing }}|{{ s ~ m }}|{% set b %}<i>{{ s }}</i>{% endset %}{{ b }}|"
        "{% macro k(x) %}[{{ x }}]{% endmacro %}{{ k(s) }}|{{ s|e }}|{{ m|safe }}|{{ [s] }}"
    )
    values = {"s": "\"><script>alert(1)</script>&amp;'<", "m": Markup("<em>a&amp;b</em>"), "n": 3, "h": Html()}
    renderer = Renderer({"DEFAULT_THEME": "default", "SITE_NAME": "Test", "BASE_URL": "https://x.example"}, Themes(tmp_path))
    ours = renderer.env(renderer.theme_for(None)).from_string(source)
    assert ours.root_render_func.__globals__["escape"] is escape_output
    stock = jinja2.Environment(autoescape=True).from_string(source)
    assert ours.render(values) == stock.render(values)
    assert "&lt;script&gt;" in ours.render(values) and "<script>" not in ours.render(values)


def test_blank_fields_of_a_tuple_of_fields_is_looked_up_whole_with_its_arguments(tmp_path: Path) -> None:
    """An offer's tuple of fields is remembered whole: another order, other arguments (Markup
    or plain text of the same words, a list that cannot be a key) write what the loop writes."""
    from markupsafe import Markup

    renderer = Renderer({"DEFAULT_THEME": "default", "SITE_NAME": "Test", "BASE_URL": "https://x.example"}, Themes(tmp_path))
    env = renderer.env(renderer.theme_for(None))
    head = '{% from "_macros.html" import form_field %}'
    loop = env.from_string(head + "{% for f in fields %}{{ form_field(f, v, none) }}{% endfor %}")
    blank = env.from_string(head + "{{ fields|blank_fields(form_field, v, none) }}")
    fields = (BUILTIN_FIELDS["email"], BUILTIN_FIELDS["company"])
    for run in (fields, fields[::-1], fields[:1], fields):
        for value in ("", Markup("<b>x</b>"), "<b>x</b>", ["a"], ""):
            assert blank.render(fields=run, v=value) == loop.render(fields=run, v=value)
    assert "&lt;b&gt;x" in blank.render(fields=fields, v="<b>x</b>")
