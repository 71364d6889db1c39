"""The renderer (``leadmagnet.render.renderer``) on its own, without an app: what it remembers per theme
and how a theme reload replaces it."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import TemplatesNotFound

from leadmagnet.content.catalog import Page, read_file
from leadmagnet.content.fields import BUILTIN_FIELDS, FieldSpec
from leadmagnet.render.renderer import Renderer, style_hash
from leadmagnet.render.themes import Themes
from tests.support.content import SAMPLES


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


def test_template_outputs_escape_as_stock_jinja_autoescape_does(tmp_path: Path) -> None:
    """The theme environments are stock Jinja with autoescape: every kind of ``{{ }}`` value is
    written as a plain ``jinja2.Environment(autoescape=True)`` writes it, and nothing a visitor
    or a front-matter author types can open a tag."""
    import jinja2
    from markupsafe import Markup

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
    stock = jinja2.Environment(autoescape=True).from_string(source)
    assert ours.render(values) == stock.render(values)
    assert "&lt;script&gt;" in ours.render(values) and "<script>" not in ours.render(values)


def test_form_fields_escape_labels_choices_and_typed_values(tmp_path: Path) -> None:
    """The ``form_field`` macro of the default theme: a label or a choice from front matter and a
    value a visitor typed are text, never markup; a label given as ``Markup`` stays HTML."""
    from markupsafe import Markup

    renderer = Renderer({"DEFAULT_THEME": "default", "SITE_NAME": "Test", "BASE_URL": "https://x.example"}, Themes(tmp_path))
    env = renderer.env(renderer.theme_for(None))
    loop = env.from_string('{% from "_macros.html" import form_field %}{% for f in fields %}{{ form_field(f, v, e) }}{% endfor %}')
    fields = [
        BUILTIN_FIELDS["email"],
        FieldSpec("size", 'Team <script>alert("size")</script>', "select", True, (("1", "<b>One</b>"), ("2", "Two & more"))),
        FieldSpec("note", "A note", "textarea", max_length=500),
    ]
    html = loop.render(fields=fields, v='"><script>alert(1)</script>', e="Bad <i>value</i>")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "&lt;b&gt;One&lt;/b&gt;" in html and "Two &amp; more" in html and "Bad &lt;i&gt;value&lt;/i&gt;" in html
    consent = {"name": "consent", "label": "I <em>agree</em>", "type": "checkbox", "required": True, "max_length": 1}
    assert "I &lt;em&gt;agree&lt;/em&gt;" in loop.render(fields=[consent], v=None, e=None)
    assert "I <em>agree</em>" in loop.render(fields=[{**consent, "label": Markup("I <em>agree</em>")}], v=None, e=None)


def test_the_public_form_and_the_form_shown_again_write_the_same_empty_fields(tmp_path: Path) -> None:
    """The public page (no ``values``, no ``errors``) writes each field as the form shown again
    with nothing typed and no error does: one loop over ``form_field`` for both."""
    from leadmagnet.render.landing import offer_context
    from leadmagnet.render.renderer import templates_for

    config = {"DEFAULT_THEME": "default", "SITE_NAME": "Test", "BASE_URL": "https://x.example"}
    renderer = Renderer(config, Themes(tmp_path))
    page = sample_pages()["growth-playbook"]
    context = offer_context(config, page, "live", social=renderer.cards.image_for(page.offer))
    public = renderer.offer_html(page, "live")
    again = renderer.render(templates_for(page.offer, "offer"), page.offer, **context, values={}, errors={})
    assert public == again
    assert 'name="email"' in public and "has-error" not in public.split("<form", 1)[1]


def test_a_webinar_page_says_how_soon_it_starts_and_is_rendered_again_when_that_changes(tmp_path: Path) -> None:
    """The "Starts in 3 days" line is worked out from the ``now`` given (an injected clock): the cache
    keys the page by that text, so it is rendered again when the text changes (at most hourly)
    and the outdated page is dropped, not kept beside the new one."""
    from datetime import datetime, timedelta

    from leadmagnet.content.catalog import load_catalog

    renderer = Renderer({"DEFAULT_THEME": "default", "SITE_NAME": "Test", "BASE_URL": "https://x.example"}, Themes(tmp_path))
    catalog = load_catalog(SAMPLES)
    page = catalog.get("q1-product-demo")
    start = datetime.fromisoformat("2029-03-15T16:00:00+01:00")
    renders: list[str] = []
    real = renderer.offer_html

    def counting(*args, **kwargs) -> str:
        renders.append(args[3] if len(args) > 3 else kwargs.get("soon"))
        return real(*args, **kwargs)

    renderer.offer_html = counting  # type: ignore[method-assign]
    three = renderer.offer_page(catalog, page, start - timedelta(days=3, hours=2))
    assert '<p class="starts-in">Starts in 3 days</p>' in three.body.decode()
    assert renderer.offer_page(catalog, page, start - timedelta(days=3, hours=1)) is three  # same text: cached
    two = renderer.offer_page(catalog, page, start - timedelta(days=2))
    assert "Starts in 2 days" in two.body.decode() and two.etag != three.etag
    hours = renderer.offer_page(catalog, page, start - timedelta(hours=5, minutes=30))
    assert "Starts in 5 hours" in hours.body.decode()
    assert "Starts in 4 hours" in renderer.offer_page(catalog, page, start - timedelta(hours=4, minutes=59)).body.decode()
    assert renders == ["Starts in 3 days", "Starts in 2 days", "Starts in 5 hours", "Starts in 4 hours"]
    renderer.offer_page(catalog, page, start - timedelta(days=3, hours=2))
    assert renders[-1] == "Starts in 3 days" and len(renders) == 5  # the outdated page was not kept
    under_way = renderer.offer_page(catalog, page, start + timedelta(minutes=1)).body.decode()
    assert "starts-in" not in under_way  # started: no countdown
    # The static export (offer_html without ``soon``) has no countdown: it would go stale.
    assert "starts-in" not in real(page, "live")
