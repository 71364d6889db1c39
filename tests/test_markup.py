"""Markdown (``leadmagnet.content.markup``): the extensions a pitch may use, and image path resolution."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from xml.etree.ElementTree import Element

import pytest
from markdown import Markdown
from markdown.extensions.smarty import SubstituteTextPattern
from markdown.inlinepatterns import HtmlInlineProcessor, InlineProcessor
from markdown.treeprocessors import Treeprocessor

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


# The plain-text skip: text nodes no inline pattern can match are wrapped in AtomicString so that
# both inline passes (Python-Markdown's and smarty's) skip them. Same output as stock, or off.

REPO = CASES.parents[1]
CORPUS = sorted([*(REPO / "content").rglob("*.md"), *CASES.rglob("*.md")])

# Every inline construct our extensions know, and some near misses.
INLINE = [
    "*em* and _em_",
    "**strong** and __strong__",
    "***both*** and **_mixed_** and *__other__*",
    "snake_case_name and 2*3*4 and a * b",
    "`code` and ``co`de`` and `` ` `` and \\`not code\\`",
    '[a link](https://example.com/a_b "its title")',
    "[a link with *em*](/path) and [empty]()",
    '![an image](pics/chart.png "Chart") and ![up](../u.png)',
    "[full][ref], [collapsed][], [ref] and ![image ref][ref] and ![ref]",
    "[unknown ref][nowhere] and [not a link]",
    "a footnote[^note] and another[^2]",
    "<https://example.com/x?a=1&b=2> and <mail@example.com>",
    '<span class="x">raw *inline*</span> and <!-- a comment --> and <br/>',
    "&amp; &copy; &#169; &#xA9; and a bare & and AT&T",
    '\\*not em\\* and \\_not em\\_ and \\\\ and \\[x\\] and \\<b\\> and \\"q\\"',
    "a line ending in two spaces  \nand the next one",
    "\"double quotes\" and 'single quotes' and it's the '90s",
    '"\'nested\'" and \'"other"\' and "quote at end"',
    "en -- dash, em --- dash, a-b-c and ---- four",
    "wait... and more.... and ..",
    "a link then a quote: [x](y)'s and *em*\"s",
    "placeholders: <b>bold</b>'s \"text\" and `code`'s",
    "{ braces } and {: .not-attr} mid-line",
    "plain words, nothing to do here",
    "unicode – — … « » ‘ ’ “ ” and emoji 🙂",
]
BLOCKS = [
    "{x}\n",
    "# {x}\n",
    "## {x} {{: #h .c }}\n",
    "{x}\n{{: .lead #p }}\n",
    "- {x}\n- plain item\n    - nested {x}\n",
    "1. {x}\n2. two\n",
    "> {x}\n>\n> plain quote\n",
    "| a | {x} |\n|---|:---:|\n| {x} | plain cell |\n| `x|y` | *z* |\n",
    '```python\nprint("{x}")\n```\n\nafter the fence {x}\n',
    "    indented {x}\n\nthen {x}\n",
    '<div class="box">\n{x}\n</div>\n\n{x}\n',
    "Term {x}\n\n---\n\n***\n",
]
REFS = "\n\n[ref]: https://example.com/ref \"Ref\"\n[^note]: A 'note' -- with *em*.\n[^2]: Plain note.\n"


def generated(pairs: bool = True) -> list[str]:
    """Each construct in each block, and (``pairs``) each two constructs side by side."""
    docs = [block.format(x=x) + REFS for block in BLOCKS for x in INLINE]
    if pairs:
        docs += [f"{a} {b}\n\n{b}\n{a}" + REFS for i, a in enumerate(INLINE) for b in INLINE[i:]]
    return docs


def stock() -> Markdown:
    md, resolver = markup._build(skip=False)
    resolver.base, resolver.images = "2027/spring", set()
    return md


def test_the_plain_text_skip_is_on_for_our_extensions() -> None:
    md, _resolver = markup._build()
    assert "leadmagnet_plain_text" in md.treeprocessors and "leadmagnet_plain_text_smarty" in md.treeprocessors
    md, _resolver = markup._converter()
    assert "leadmagnet_plain_text" in md.treeprocessors
    assert markup.skip_plain_text(stock())


@pytest.mark.parametrize("source", ["corpus", "generated"])
def test_the_skip_renders_exactly_like_stock_markdown(source: str) -> None:
    if source == "corpus":
        texts = [p.read_text(encoding="utf-8") for p in CORPUS]
        assert len(texts) >= 20
        texts += [t.split("---\n", 2)[-1] for t in texts]  # the whole file and the pitch alone
    else:
        texts = generated()
    reference = stock()
    differ = []
    for text in texts:
        rendered = render(text, "2027/spring")
        expected = reference.reset().convert(text)
        if rendered.html != expected:
            differ.append(text)
    assert differ == []


def test_the_comparison_fails_when_the_skip_is_wrong() -> None:
    # The comparison above has teeth: a skip that forgets a trigger renders differently.
    broken = stock()
    broken.treeprocessors.register(markup._SkipSmarty(broken, "`", []), "broken_skip", 30)
    reference = stock()
    texts = generated(pairs=False)
    assert sum(broken.reset().convert(t) != reference.reset().convert(t) for t in texts) > len(texts) // 2


class Shout(InlineProcessor):
    def handleMatch(self, m: re.Match[str], data: str) -> tuple[Element, int, int]:  # type: ignore[override]
        el = Element("strong")
        el.text = m.group(1).upper()
        return el, m.start(0), m.end(0)


def add_shout(md: Markdown) -> None:
    md.inlinePatterns.register(Shout(r"%%(\w+)%%", md), "shout", 70)


def change_html(md: Markdown) -> None:
    md.inlinePatterns.register(HtmlInlineProcessor(r"(<(\/?[a-z]+)>)", md), "html", 90)


def add_smarty_pattern(md: Markdown) -> None:
    md.treeprocessors["smarty"].inlinePatterns.register(SubstituteTextPattern(r"\(c\)", ("&copy;",), md), "copyright", 5)


def add_treeprocessor(md: Markdown) -> None:
    md.treeprocessors.register(Treeprocessor(md), "other", 22)


@pytest.mark.parametrize("change", [add_shout, change_html, add_smarty_pattern, add_treeprocessor])
def test_the_skip_stays_off_for_patterns_it_was_not_written_for(change: Callable[[Markdown], None]) -> None:
    md = stock()
    change(md)
    assert not markup.skip_plain_text(md)
    assert "leadmagnet_plain_text" not in md.treeprocessors and "leadmagnet_plain_text_smarty" not in md.treeprocessors
    if change is add_shout:
        assert md.convert("a plain %%loud%% word") == "<p>a plain <strong>LOUD</strong> word</p>"


def test_html_is_less_pretty_printed_and_renders_as_stock_markdown_does() -> None:
    # Python-Markdown's prettify pass is off (a quarter of a pitch's time, mostly for newlines
    # between nested block tags, which no browser shows); what a browser or attr_list sees stays:
    # a newline after each top-level block and each <br>, code blocks ending with one newline.
    html = render("Text\n\n    code line\n\n    more code\n\n\n\nAfter  \nbreak\n\n- a\n\n- b\n").html
    assert (
        html
        == "<p>Text</p>\n<pre><code>code line\n\nmore code\n</code></pre>\n<p>After<br>\nbreak</p>\n<ul><li><p>a</p></li><li><p>b</p></li></ul>"
    )
    assert "prettify" not in markup._converter()[0].treeprocessors
    stock = Markdown(extensions=markup.EXTENSIONS, output_format="html")
    for source in (
        "a  \n{.big}",  # attr_list reads {...} at the start of a line: the paragraph's class
        "Use code  \n{SAVE20} at checkout",  # not an attribute list: the text stays
        '<iframe src="a"></iframe>\n\n<iframe src="b"></iframe>',  # inline embeds keep the space between them
    ):
        assert render(source).html == stock.reset().convert(source), source
