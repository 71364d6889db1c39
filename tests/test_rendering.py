"""The renderer (``leadmagnet.rendering``) on its own, without an app: what it remembers per theme
and how a theme reload replaces it."""

from __future__ import annotations

from pathlib import Path

from leadmagnet.rendering import Renderer, style_hash
from leadmagnet.themes import Themes


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
