"""Open Graph cards (render/ogimage.py): every offer page names a 1200 x 630 og:image; without a
fitting image one is drawn as PNG, cached by content hash (server and build), served for a year,
and a new one is drawn when the title changes; drawn with the pages' own brand, and one card per
A/B variant. Through the real app and the real CLI."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

from click.testing import CliRunner
from PIL import Image

from leadmagnet.cli import cli
from leadmagnet.foundation.brand import DEFAULT_PRIMARY
from leadmagnet.leads import assignment
from leadmagnet.render.ogimage import text_colour
from leadmagnet.web import services_of

BASE = "http://127.0.0.1:5000"


def og_meta(html: str, name: str) -> str:
    match = re.search(rf'<meta (?:property|name)="{re.escape(name)}" content="([^"]*)">', html)
    assert match, f"no {name} in the page"
    return match.group(1)


def card_path(client, slug: str) -> str:
    html = client.get(f"/{slug}").get_data(as_text=True)
    url = og_meta(html, "og:image")
    assert url == og_meta(html, "twitter:image") and og_meta(html, "twitter:card") == "summary_large_image"
    assert (og_meta(html, "og:image:width"), og_meta(html, "og:image:height")) == ("1200", "630")
    assert url.startswith(BASE)
    return url[len(BASE) :]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(BytesIO(data)) as img:
        assert img.format == "PNG"
        return img.size


def test_every_sample_page_names_a_card_of_1200_by_630_served_for_a_year(app, instance_dir: Path) -> None:
    client = app.test_client()
    cards = services_of(app).renderer.cards
    for slug in ("growth-playbook", "seo-checklist", "q1-product-demo", "scaling-content-2026"):
        path = card_path(client, slug)
        assert re.fullmatch(rf"/og/{slug}\.[0-9a-f]{{24}}\.png", path)
        response = client.get(path)
        assert response.status_code == 200 and response.mimetype == "image/png"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert png_size(response.get_data()) == (1200, 630)
    assert cards.drawn == 4
    assert len(list((instance_dir / "og-cards").glob("*.png"))) == 4


def test_a_card_is_drawn_once_and_again_only_when_the_title_changes(make_app, content_dir: Path, instance_dir: Path) -> None:
    app = make_app()
    client, cards = app.test_client(), services_of(app).renderer.cards
    first = card_path(client, "seo-checklist")
    body = client.get(first).get_data()
    cached = next((instance_dir / "og-cards").glob("*.png"))
    stamp = cached.stat().st_mtime_ns
    assert client.get(first).get_data() == body and cards.drawn == 1  # the second request reads the cache
    assert client.get(first, headers={"If-None-Match": client.get(first).headers["ETag"]}).status_code == 304
    # A second app on the same instance folder (another worker, a restart) finds it too.
    other = make_app()
    assert other.test_client().get(first).get_data() == body and services_of(other).renderer.cards.drawn == 0
    assert cached.stat().st_mtime_ns == stamp
    source = content_dir / "seo-checklist.md"
    source.write_text(source.read_text().replace("title: The SEO Checklist", "title: The SEO Checklist, second edition"))
    second = card_path(client, "seo-checklist")
    assert second != first
    assert client.get(first).status_code == 404  # an outdated card is not served
    new_body = client.get(second).get_data()
    assert new_body != body and png_size(new_body) == (1200, 630) and cards.drawn == 2


def test_a_fitting_image_is_used_as_it_is_and_a_raster_cover_changes_the_card(make_app, content_dir: Path) -> None:
    Image.new("RGB", (1200, 630), "#336699").save(content_dir / "assets" / "wide.png")
    Image.new("RGB", (600, 800), "#aa3300").save(content_dir / "assets" / "tall.png")
    source = content_dir / "seo-checklist.md"
    text = source.read_text()
    source.write_text(text.replace("image: assets/seo-checklist-cover.svg", "image: assets/wide.png"))
    client = make_app().test_client()
    html = client.get("/seo-checklist").get_data(as_text=True)
    assert og_meta(html, "og:image") == f"{BASE}/media/assets/wide.png"
    assert png_size(client.get("/media/assets/wide.png").get_data()) == (1200, 630)
    source.write_text(text.replace("image: assets/seo-checklist-cover.svg", "image: assets/tall.png"))
    with_cover = card_path(client, "seo-checklist")
    card = client.get(with_cover).get_data()
    with Image.open(BytesIO(card)) as img:
        # The cover sits on the right half; the left is the offer's campaign colour (primary: "#1f6f43").
        assert img.convert("RGB").getpixel((1000, 315)) == (0xAA, 0x33, 0x00)
        assert img.convert("RGB").getpixel((20, 315)) == (0x1F, 0x6F, 0x43)
    Image.new("RGB", (600, 800), "#00aa33").save(content_dir / "assets" / "tall.png")  # the same name, new bytes
    assert card_path(client, "seo-checklist") != with_cover


def test_draft_offers_have_no_card(make_app, content_dir: Path) -> None:
    client = make_app().test_client()
    path = card_path(client, "seo-checklist")
    source = content_dir / "seo-checklist.md"
    source.write_text(source.read_text().replace("stage: mofu", "stage: mofu\ndraft: true"))
    assert client.get(path).status_code == 404
    assert client.get("/og/no-such-offer.0123456789abcdef01234567.png").status_code == 404


def background(client, path: str) -> tuple[int, int, int]:
    """The colour of a card left of its text (its background)."""
    with Image.open(BytesIO(client.get(path).get_data())) as img:
        return img.convert("RGB").getpixel((20, 315))


def test_the_card_has_the_pages_brand_colour_from_config_toml_or_the_offers_own(make_app, instance_dir: Path) -> None:
    instance_dir.mkdir(parents=True, exist_ok=True)
    (instance_dir / "config.toml").write_text('[brand]\nname = "Acme"\nprimary = "#5A189A"\n', encoding="utf-8")
    client = make_app().test_client()
    assert ":root{--brand:#5a189a;" in client.get("/growth-playbook").get_data(as_text=True)  # the page's colour
    assert background(client, card_path(client, "growth-playbook")) == (0x5A, 0x18, 0x9A)  # and its card's
    # An offer's campaign colour (seo-checklist: primary: "#1f6f43") colours its page and its card.
    assert ":root{--brand:#1f6f43;" in client.get("/seo-checklist").get_data(as_text=True)
    assert background(client, card_path(client, "seo-checklist")) == (0x1F, 0x6F, 0x43)
    # A colour that does not parse (check reports it) keeps the default blue, as the page does.
    broken = make_app(BRAND_PRIMARY="blue").test_client()
    assert background(broken, card_path(broken, "growth-playbook")) == (0x0B, 0x57, 0xD0)
    assert text_colour(DEFAULT_PRIMARY) == "#ffffff" and text_colour("#ffcc00") == "#1b1b1f"


def test_each_ab_variant_names_a_card_of_its_own_title_served_and_exported(make_app, content_dir: Path, tmp_path: Path) -> None:
    (content_dir / "split-guide.md").write_text(
        "---\ntitle: The Split Guide\ntype: ebook\ndescription: A guide.\nfile: files/growth-playbook.pdf\n"
        "variants:\n  b:\n    title: The Better Split Guide\n---\nThe pitch.\n",
        encoding="utf-8",
    )
    app = make_app()
    client = app.test_client()
    paths = {}
    for variant in ("a", "b"):
        client.set_cookie(assignment.cookie_name("split-guide"), variant, domain="localhost", path="/split-guide")
        paths[variant] = card_path(client, "split-guide")
        assert png_size(client.get(paths[variant]).get_data()) == (1200, 630)
    assert paths["a"] != paths["b"]
    out = tmp_path / "out"
    args = ["--content", str(content_dir), "--instance", str(tmp_path / "built"), "build", "--base-url", BASE, str(out)]
    assert CliRunner().invoke(cli, args, catch_exceptions=False).exit_code == 0
    for page in ("split-guide.html", "ab/split-guide/b.html"):
        url = og_meta((out / page).read_text(), "og:image")
        assert png_size((out / url.removeprefix(BASE + "/")).read_bytes()) == (1200, 630), page


def test_the_logo_is_drawn_and_keys_the_card(make_app, content_dir: Path) -> None:
    Image.new("RGBA", (300, 60), (255, 0, 0, 255)).save(content_dir / "assets" / "logo.png")
    plain = card_path(make_app().test_client(), "seo-checklist")
    client = make_app(BRAND_LOGO="assets/logo.png").test_client()
    branded = card_path(client, "seo-checklist")
    assert branded != plain
    with Image.open(BytesIO(client.get(branded).get_data())) as img:
        assert img.convert("RGB").getpixel((72 + 10, 72 + 10)) == (255, 0, 0)  # top left, inside the margin


def test_the_build_exports_each_card_once_and_redraws_it_when_the_title_changes(
    content_dir: Path, instance_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = ["--content", str(content_dir), "--instance", str(instance_dir), "build", "--base-url", "https://offers.example.com", str(out)]
    assert CliRunner().invoke(cli, args, catch_exceptions=False).exit_code == 0
    page = (out / "seo-checklist.html").read_text()
    url = og_meta(page, "og:image")
    assert url.startswith("https://offers.example.com/og/seo-checklist.")
    exported = out / url.removeprefix("https://offers.example.com/")
    assert png_size(exported.read_bytes()) == (1200, 630)
    assert not exported.with_name(exported.name + ".gz").exists()  # no twins of a PNG
    cache = instance_dir / "og-cards"
    stamps = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.png")}
    assert len(stamps) == 4
    assert CliRunner().invoke(cli, args, catch_exceptions=False).exit_code == 0
    assert {p.name: p.stat().st_mtime_ns for p in cache.glob("*.png")} == stamps  # nothing drawn again
    source = content_dir / "seo-checklist.md"
    source.write_text(source.read_text().replace("title: The SEO Checklist", "title: The SEO Checklist 2027"))
    assert CliRunner().invoke(cli, args, catch_exceptions=False).exit_code == 0
    new_url = og_meta((out / "seo-checklist.html").read_text(), "og:image")
    assert new_url != url and not exported.exists()  # the old card left the export
    assert (out / new_url.removeprefix("https://offers.example.com/")).is_file()
    assert len(list(cache.glob("*.png"))) == 5
