"""Themes (``leadmagnet.render.themes``): a site theme extending the default, ``default:`` prefixes,
most-specific-first templates, ``theme.toml`` chains, static files and broken themes."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadmagnet.render.themes import ThemeError, Themes
from leadmagnet.web import services_of
from tests.support.cases import build_content


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def set_theme(offer_file: Path, theme: str) -> None:
    text = offer_file.read_text()
    offer_file.write_text(text.replace("\ntype:", f"\ntheme: {theme}\ntype:", 1))


@pytest.fixture
def themes_dir(tmp_path: Path) -> Path:
    return tmp_path / "themes"


def test_site_theme_overrides_one_block_of_default_offer(make_app, content_dir: Path, themes_dir: Path) -> None:
    write(
        themes_dir / "brand" / "templates" / "offer.html",
        '{% extends "default:offer.html" %}\n{% block hero %}<p class="brand-hero">Brand hero</p>{{ super() }}{% endblock %}\n',
    )
    set_theme(content_dir / "growth-playbook.md", "brand")
    client = make_app().test_client()
    themed = client.get("/growth-playbook").get_data(as_text=True)
    assert '<p class="brand-hero">Brand hero</p>' in themed
    assert "<h1>The Growth Playbook</h1>" in themed  # super(): the original block is kept
    assert 'class="lead"' in themed  # every other block comes from the default offer.html
    plain = client.get("/seo-checklist").get_data(as_text=True)  # no theme: the default
    assert "brand-hero" not in plain


def test_a_theme_adds_a_layout_of_its_own_as_the_readme_shows(make_app, content_dir: Path, themes_dir: Path) -> None:
    write(
        themes_dir / "brand" / "templates" / "offer.html",
        '{% extends "default:offer.html" %}\n{% block main %}{% if offer.layout == "magazine" %}'
        '<div class="wrap offer layout-magazine"><section class="cta" id="get">{{ self.cta() }}</section>'
        '<div class="hero">{{ self.hero() }}</div>{{ self.sections() }}</div>{% else %}{{ super() }}{% endif %}{% endblock %}\n',
    )
    source = content_dir / "growth-playbook.md"
    source.write_text(source.read_text().replace("layout: split", "layout: magazine"))
    set_theme(source, "brand")
    set_theme(content_dir / "seo-checklist.md", "brand")
    client = make_app().test_client()
    html = client.get("/growth-playbook").get_data(as_text=True)
    assert 'class="wrap offer layout-magazine"' in html
    # Its own order: the form first, then the hero, then the sections; no pitch.
    assert html.index('class="lead"') < html.index("<h1>The Growth Playbook</h1>") < html.index('class="faq"')
    assert 'class="pitch"' not in html
    # An offer of the same theme with a built-in layout keeps it (super()).
    assert 'layout-longform">' in client.get("/seo-checklist").get_data(as_text=True)


# Other defaults than the default theme's: the page must pass what it always passed ("" for a field).
MACROS = """{% macro form_field(field, value=none, error=none) -%}
<p class="mine" id="f-{{ field.name }}">{{ field.label }}=[{{ value }}]{% if error %} {{ error }}{% endif %}</p>
{%- endmacro %}
{% macro webinar_when(offer) -%}<p class="mine-when">{{ offer.duration_minutes }} minutes</p>{%- endmacro %}
"""


def test_a_theme_that_overrides_only_the_macros_renders_every_field_with_them(make_app, content_dir: Path, themes_dir: Path) -> None:
    write(themes_dir / "brand" / "templates" / "_macros.html", MACROS)
    set_theme(content_dir / "growth-playbook.md", "brand")
    client = make_app().test_client()
    themed = client.get("/growth-playbook").get_data(as_text=True)
    assert '<p class="mine" id="f-email">Work email=[]</p>' in themed
    assert '<p class="mine" id="f-team_size">Size of your marketing team=[]</p>' in themed
    assert '<p class="mine" id="f-consent">I agree to receive the playbook' in themed
    assert 'class="field' not in themed
    # The same fields on an offer of the default theme: its own macro, nothing shared.
    plain = client.get("/seo-checklist").get_data(as_text=True)
    assert 'class="mine"' not in plain and '<div class="field field-email">' in plain
    # The form again after an error: what was typed (escaped) and the message, by the same macro.
    again = client.post("/growth-playbook", data={"email": "not-an-email", "first_name": "<b>Ada"}).get_data(as_text=True)
    assert '<p class="mine" id="f-email">Work email=[not-an-email] An email address must have an @-sign.' in again
    assert '<p class="mine" id="f-first_name">First name=[&lt;b&gt;Ada]</p>' in again


def test_default_theme_setting_applies_to_offers_without_theme(make_app, themes_dir: Path) -> None:
    write(themes_dir / "brand" / "templates" / "offer.html", '{% extends "default:offer.html" %}{% block pitch %}BRAND PITCH{% endblock %}')
    client = make_app(DEFAULT_THEME="brand").test_client()
    assert "BRAND PITCH" in client.get("/seo-checklist").get_data(as_text=True)


def test_templates_are_chosen_most_specific_first(make_app, content_dir: Path, themes_dir: Path) -> None:
    templates = themes_dir / "brand" / "templates"
    write(templates / "offer.html", '{% extends "default:offer.html" %}{% block pitch %}GENERIC{% endblock %}')
    write(templates / "offer-webinar.html", '{% extends "default:offer.html" %}{% block pitch %}BY TYPE{% endblock %}')
    write(templates / "offer-growth-playbook.html", '{% extends "default:offer.html" %}{% block pitch %}BY SLUG{% endblock %}')
    for name in ("growth-playbook", "seo-checklist", "q1-product-demo"):
        set_theme(content_dir / f"{name}.md", "brand")
    client = make_app().test_client()
    assert "BY SLUG" in client.get("/growth-playbook").get_data(as_text=True)
    assert "BY TYPE" in client.get("/q1-product-demo").get_data(as_text=True)
    assert "GENERIC" in client.get("/seo-checklist").get_data(as_text=True)


def test_slug_template_in_the_default_theme_folder_of_the_site(make_app, themes_dir: Path) -> None:
    # A site folder named "default" shadows the bundled default and still falls back to it.
    write(
        themes_dir / "default" / "templates" / "offer-seo-checklist.html",
        '{% extends "default:offer.html" %}{% block pitch %}ONLY SEO{% endblock %}',
    )
    client = make_app().test_client()
    assert "ONLY SEO" in client.get("/seo-checklist").get_data(as_text=True)
    assert "ONLY SEO" not in client.get("/growth-playbook").get_data(as_text=True)


def test_theme_toml_extends_chain(make_app, content_dir: Path, themes_dir: Path) -> None:
    write(themes_dir / "base" / "templates" / "offer.html", '{% extends "default:offer.html" %}{% block pitch %}FROM BASE{% endblock %}')
    write(themes_dir / "base" / "static" / "extra.css", "body{}")
    write(themes_dir / "child" / "theme.toml", 'extends = "base"\n')
    write(themes_dir / "child" / "templates" / "_ended.html", "<p>CHILD ENDED</p>")
    set_theme(content_dir / "growth-playbook.md", "child")
    set_theme(content_dir / "scaling-content-2026.md", "child")
    app = make_app()
    chain = services_of(app).themes.get("child").chain
    assert [p.name for p in chain] == ["child", "base", "default"]
    client = app.test_client()
    assert "FROM BASE" in client.get("/growth-playbook").get_data(as_text=True)  # inherited from the parent
    ended = client.get("/scaling-content-2026").get_data(as_text=True)
    assert "CHILD ENDED" in ended and "FROM BASE" in ended
    theme = services_of(app).themes.get("child")
    assert client.get(f"/static/child/{theme.fingerprint('extra.css')}/extra.css").status_code == 200  # a parent's static file
    assert client.get(f"/static/child/{theme.fingerprint('lead.js')}/lead.js").status_code == 200  # the default's


def test_parent_can_be_named_with_its_prefix(make_app, content_dir: Path, themes_dir: Path) -> None:
    write(
        themes_dir / "base" / "templates" / "offer.html",
        '{% extends "default:offer.html" %}{% block pitch %}BASE [{{ super() }}]{% endblock %}',
    )
    write(themes_dir / "child" / "theme.toml", 'extends = "base"\n')
    write(themes_dir / "child" / "templates" / "offer.html", '{% extends "base:offer.html" %}{% block hero %}CHILD HERO{% endblock %}')
    set_theme(content_dir / "seo-checklist.md", "child")
    html = make_app().test_client().get("/seo-checklist").get_data(as_text=True)
    assert "CHILD HERO" in html and "BASE [" in html and "Launching a landing page" in html


def test_missing_theme_is_a_content_error_and_the_offer_404s(make_app, tmp_path: Path) -> None:
    content = build_content(tmp_path / "cases", "missing-theme", "valid-ebook")
    app = make_app(CONTENT_DIR=str(content))
    catalog = services_of(app).catalog
    (problem,) = catalog.errors
    assert str(problem).startswith("content/missing-theme.md: theme: theme 'no-such-theme' not found")
    assert "available themes: default" in str(problem)
    client = app.test_client()
    assert client.get("/missing-theme").status_code == 404
    assert client.get("/valid-ebook").status_code == 200


def test_extends_loop_and_missing_parent_are_reported(themes_dir: Path) -> None:
    write(themes_dir / "a" / "theme.toml", 'extends = "b"\n')
    write(themes_dir / "b" / "theme.toml", 'extends = "a"\n')
    write(themes_dir / "orphan" / "theme.toml", 'extends = "gone"\n')
    write(themes_dir / "bad" / "theme.toml", "extends = [1]\n")
    themes = Themes(themes_dir)
    assert "extends loops back to 'a'" in str(themes.problem("a"))
    assert "theme 'gone' not found" in str(themes.problem("orphan"))
    assert 'extends must be a theme name such as "default"' in str(themes.problem("bad"))
    assert themes.problem("default") is None


@pytest.mark.parametrize("name", ["../etc", "a/b", ".hidden", ""])
def test_theme_names_cannot_be_paths(themes_dir: Path, name: str) -> None:
    with pytest.raises(ThemeError, match="is not a theme name"):
        Themes(themes_dir).folder(name)


def test_theme_static_files_cannot_escape_the_static_folder(make_app, themes_dir: Path) -> None:
    write(themes_dir / "brand" / "secret.txt", "secret")
    client = make_app().test_client()
    for url in (
        "/static/brand/x/../secret.txt",
        "/static/brand/x/%2e%2e/secret.txt",
        "/static/..%2fbrand/x/lead.js",
        "/static/nope/x/lead.js",
        "/static/default/x/lead.js%00",  # NUL: not a file name, not a 500
        "/static/default/x/" + "a" * 300 + ".js",  # longer than a file name may be
        "/static/default/x/" + "a" * 300 + "/lead.js",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"secret" not in response.data


def test_static_file_with_current_fingerprint_is_immutable(app) -> None:
    client = app.test_client()
    theme = services_of(app).themes.get("default")
    fresh = client.get(f"/static/default/{theme.fingerprint('lead.js')}/lead.js")
    assert fresh.status_code == 200 and "immutable" in fresh.headers["Cache-Control"]
    stale = client.get("/static/default/0000000000/lead.js")
    assert stale.status_code == 200 and stale.headers["Cache-Control"] == "no-cache"
    assert (
        client.get(f"/static/default/{theme.fingerprint('lead.js')}/lead.js", headers={"If-None-Match": fresh.headers["ETag"]}).status_code
        == 304
    )


def test_editing_a_theme_template_shows_on_the_next_request(make_app, content_dir: Path, themes_dir: Path) -> None:
    import os

    template = write(
        themes_dir / "brand" / "templates" / "offer.html", '{% extends "default:offer.html" %}{% block pitch %}ONE{% endblock %}'
    )
    set_theme(content_dir / "seo-checklist.md", "brand")
    client = make_app().test_client()
    assert "ONE" in client.get("/seo-checklist").get_data(as_text=True)
    template.write_text('{% extends "default:offer.html" %}{% block pitch %}TWO{% endblock %}')
    st = template.stat()
    os.utime(template, (st.st_atime, st.st_mtime + 2))
    assert "TWO" in client.get("/seo-checklist").get_data(as_text=True)


def test_missing_default_theme_setting_stops_the_start_with_its_name(make_app) -> None:
    with pytest.raises(ValueError, match=r"^LEADMAGNET_DEFAULT_THEME: theme 'nope' not found .*; available themes: default$"):
        make_app(DEFAULT_THEME="nope")


def test_serve_with_a_missing_default_theme_exits_with_the_message(cli_runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from leadmagnet.cli import cli

    monkeypatch.setenv("LEADMAGNET_DEFAULT_THEME", "nope")
    result = cli_runner.invoke(cli, ["--content", str(tmp_path), "--instance", str(tmp_path / "i"), "serve", "--port", "1"])
    assert result.exit_code != 0
    assert "LEADMAGNET_DEFAULT_THEME: theme 'nope' not found" in result.output
