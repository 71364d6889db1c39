"""The A/B keys of the contract (``content/variants.py``): each variant's page, its public media,
and every mistake reported with the file, the variant, the key and what to write."""

from __future__ import annotations

from pathlib import Path

from leadmagnet.cli import cli
from leadmagnet.content.catalog import load_catalog
from leadmagnet.leads import assignment
from tests.support.cases import build_content


def test_each_variant_gets_its_own_page_with_the_control_first(tmp_path: Path) -> None:
    catalog = load_catalog(build_content(tmp_path, "variants"))
    page = catalog.get("variants")
    assert page.variant == "a" and list(page.variants) == ["a", "b", "c"] and page.variants["a"] is page
    assert page.offer.weights() == {"a": 2.0, "b": 1.0, "c": 1.0}
    b, c = page.variants["b"], page.variants["c"]
    assert (b.offer.title, b.offer.cta, b.offer.image) == ("Another headline", "Send it to me", "assets/cover.png")
    assert "shorter pitch" in b.body_html and "The control" in page.body_html
    assert c.offer.title == page.offer.title and c.offer.subtitle == "A third try" and c.body_html == page.body_html
    # Media a variant shows are public like the control's; nothing else is.
    assert {"assets/cover.png", "assets/chart.png"} <= catalog.public_files


def test_winner_makes_the_page_the_winners_with_no_test_running(tmp_path: Path) -> None:
    content = build_content(tmp_path, "variants")
    source = content / "variants.md"
    source.write_text(source.read_text().replace("weight: 2\n", "weight: 2\nwinner: b\n"))
    page = load_catalog(content).get("variants")
    assert page.variant is None and page.variants == {} and page.offer.title == "Another headline"
    assert not page.offer.testing and page.offer.winner == "b"


def test_a_variant_may_test_another_layout(content_dir: Path, make_app, cli_runner) -> None:
    (content_dir / "layouts.md").write_text(
        "---\ntitle: Two layouts\ntype: ebook\ndescription: One pitch, two layouts.\nfile: files/growth-playbook.pdf\nlayout: split\n"
        "variants:\n  b:\n    layout: longform\n---\nThe pitch.\n",
        encoding="utf-8",
    )
    assert cli_runner.invoke(cli, ["--content", str(content_dir), "check", "--strict"]).exit_code == 0
    client = make_app().test_client()
    for variant, layout in (("a", "split"), ("b", "longform")):
        client.set_cookie(assignment.cookie_name("layouts"), variant, domain="localhost", path="/layouts")
        html = client.get("/layouts", headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"}).get_data(as_text=True)
        assert f"layout-{layout}" in html and f'<input type="hidden" name="variant" value="{variant}">' in html


def test_check_names_the_file_variant_key_and_what_to_write(tmp_path: Path, cli_runner) -> None:
    content = build_content(tmp_path, "variants-broken", "valid-ebook")
    (content / "more.md").write_text(
        "---\ntitle: More\ntype: ebook\nfile: files/guide.pdf\nweight: 3\nvariants:\n  a:\n    title: x\n  B-2:\n    title: y\n"
        "  d: just text\n  e:\n    image: assets/missing.png\n    layout: centred\n---\nx\n"
    )
    (content / "lonely.md").write_text("---\ntitle: Lonely\ntype: ebook\nfile: files/guide.pdf\nweight: 2\nwinner: b\n---\nx\n")
    result = cli_runner.invoke(cli, ["--content", str(content), "check"])
    assert result.exit_code == 1
    out = result.output
    for expected in (
        "content/variants-broken.md: winner: 'c' is not a variant of this offer; use one of: a, b",
        "content/variants-broken.md: variants: b.titel: a variant cannot set this (did you mean 'title'?); it may set title,",
        "content/variants-broken.md: variants: b.weight: 0 is not a number above zero (write weight: 1;",
        "content/more.md: variants: a: is the control, the offer's own keys; name the other variants b, c",
        "content/more.md: variants: B-2: is not a variant name; use a short name of lower-case letters and digits",
        "content/more.md: variants: d: 'just text' is not a mapping of the keys it changes",
        "content/more.md: variants: e.image: 'assets/missing.png' does not exist under",
        "content/more.md: variants: e.layout: 'centred' is not a layout (did you mean 'centered'?)",
        "content/lonely.md: weight: is the control's share of an A/B test and does nothing without variants:",
        "content/lonely.md: winner: ends an A/B test, but there are no variants:",
    ):
        assert expected in out, (expected, out)
    assert "1 offer OK" in out or "1 offers OK" in out
