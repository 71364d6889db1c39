"""Markdown (``leadmagnet.content.markup``): the extensions a pitch may use, and image path resolution."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from leadmagnet.content import markup
from leadmagnet.content.markup import render, resolve_relative
from tests.support.cases import CASES


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


@pytest.fixture(scope="module")
def features() -> str:
    body = (CASES / "markdown-features.md").read_text().split("---\n", 2)[2]
    return render(body).html


def test_tables(features: str) -> None:
    assert "<table>" in features and "<th>Plan</th>" in features and "<td>Free</td>" in features


def test_fenced_code_is_escaped_and_tagged(features: str) -> None:
    assert '<code class="language-python">' in features
    assert "print(&quot;&lt;fenced&gt;&quot;)" in features or 'print("&lt;fenced&gt;")' in features


def test_attribute_lists(features: str) -> None:
    (p,) = [a for t, a in tags(features) if t == "p" and a.get("id") == "intro"]
    assert p["class"] == "lead"


def test_footnotes(features: str) -> None:
    assert 'class="footnote"' in features
    assert "The source of the claim." in features
    assert any(t == "sup" for t, _ in tags(features))


def test_relative_image_becomes_a_media_url_and_is_listed() -> None:
    out = render("![A chart](assets/chart.png)")
    assert out.images == {"assets/chart.png"}
    (img,) = [a for t, a in tags(out.html) if t == "img"]
    assert img["src"] == "/media/assets/chart.png"
    assert img["alt"] == "A chart" and img["loading"] == "lazy"


def test_a_backslash_escape_in_an_image_path_is_resolved_as_the_character() -> None:
    out = render("![x](covers/a\\_b.png)")
    assert out.images == {"covers/a_b.png"}
    assert 'src="/media/covers/a_b.png"' in out.html


def test_relative_image_from_a_file_in_a_subfolder() -> None:
    out = render("![up](../assets/chart.png) ![here](pics/a%20b.png)", base="2027/spring")
    assert out.images == {"2027/assets/chart.png", "2027/spring/pics/a b.png"}
    srcs = [a["src"] for t, a in tags(out.html) if t == "img"]
    assert srcs == ["/media/2027/assets/chart.png", "/media/2027/spring/pics/a%20b.png"]


@pytest.mark.parametrize("src", ["../../etc/passwd.png", "/etc/passwd.png", "https://cdn.example.com/x.png", "data:image/png;base64,AA=="])
def test_images_outside_the_content_folder_are_left_alone_and_not_public(src: str) -> None:
    out = render(f"![x]({src})")
    assert out.images == set()
    (img,) = [a for t, a in tags(out.html) if t == "img"]
    assert img["src"] == src


def test_resolve_relative_strips_query_and_fragment() -> None:
    assert resolve_relative("", "assets/a.png?v=2#top") == "assets/a.png"
    assert resolve_relative("a", "./b/../c.png") == "a/c.png"
    assert resolve_relative("", "..") is None


def test_typography_and_raw_html_are_the_marketer_s_choice() -> None:
    html = render('"Quoted" -- and <span class="x">raw</span>').html
    assert "&ldquo;Quoted&rdquo;" in html and '<span class="x">raw</span>' in html


def test_a_reused_converter_renders_like_a_fresh_one() -> None:
    # Footnotes, stashed HTML, references and images from one pitch must not leak into the next.
    texts = [
        "Notes[^a] and more[^b].\n\n[^a]: 'One' -- first.\n[^b]: \"Two\"...",
        '<div class="box">\n<p>raw *not em*</p>\n</div>\n\nText <span>x</span> y[^n]\n\n[^n]: note',
        "![a](img/x.png) [ref][r] ![up](../u.png)\n\n[r]: https://example.com",
        "[ref][r] and x[^a] ![b](b.png)",
        "plain text, nothing to remember",
        (CASES / "markdown-features.md").read_text().split("---\n", 2)[2],
    ]
    for text in [*texts, *texts[::-1]]:
        rendered = render(text, "")
        md, resolver = markup._build()
        resolver.base, resolver.images = "", set()
        assert (rendered.html, rendered.images) == (md.convert(text), resolver.images)
