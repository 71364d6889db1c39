"""The offer index and its tag pages (render/listing.py): covers, webinar dates, a tag filter of
plain links, on the server and in the static export (one page per tag)."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

from click.testing import CliRunner

from leadmagnet.cli import cli
from tests.support.servers import static_server


def card_links(html: str) -> list[str]:
    return re.findall(r'<h2><a href="/([a-z0-9-]+)">', html)


def tag_links(html: str) -> dict[str, bool]:
    """Tag filter links of the page: address -> whether it is marked as the current page."""
    nav = re.search(r'<nav class="tags" aria-label="Filter by tag">(.*?)</nav>', html, re.S)
    assert nav, "no tag filter"
    return {href: bool(current) for href, current in re.findall(r'<a href="([^"]+)"( aria-current="page")?>', nav.group(1))}


def test_index_shows_covers_webinar_dates_and_tag_links(client) -> None:
    html = client.get("/").get_data(as_text=True)
    assert sorted(card_links(html)) == ["growth-playbook", "q1-product-demo", "scaling-content-2026", "seo-checklist"]
    assert '<img class="card-cover" src="/media/assets/growth-playbook-cover.svg" alt="" width="320" height="180"' in html
    assert "Thursday 15 March 2029, 16:00 (Europe/Paris, UTC+01:00)" in html  # in the webinar's own zone
    assert tag_links(html) == {
        "/": True,
        **{f"/tag/{t}": False for t in ("b2b", "content", "demo", "growth", "product", "seo")},
    }
    assert "<script" not in html


def test_a_tag_page_lists_only_offers_with_that_tag(client) -> None:
    response = client.get("/tag/seo")
    assert response.status_code == 200 and "ETag" in response.headers
    html = response.get_data(as_text=True)
    assert card_links(html) == ["seo-checklist"]
    assert "<h1>Free resources about seo</h1>" in html
    assert '<link rel="canonical" href="http://127.0.0.1:5000/tag/seo">' in html
    assert tag_links(html)["/tag/seo"] and not tag_links(html)["/"]
    assert client.get("/tag/seo", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_unknown_tags_and_tags_of_unpublished_offers_are_404(make_app, content_dir: Path) -> None:
    client = make_app().test_client()
    assert client.get("/tag/nothing").status_code == 404
    source = content_dir / "seo-checklist.md"
    source.write_text(source.read_text().replace("stage: mofu", "stage: mofu\ndraft: true"))
    assert client.get("/tag/seo").status_code == 404  # a draft's tag has no page yet
    assert "/tag/seo" not in client.get("/").get_data(as_text=True)
    assert make_app(INDEX_PAGE=False).test_client().get("/tag/growth").status_code == 404


def test_tag_pages_follow_an_edit_without_a_restart(make_app, content_dir: Path) -> None:
    client = make_app().test_client()
    assert card_links(client.get("/tag/growth").get_data(as_text=True)) == ["growth-playbook"]
    source = content_dir / "seo-checklist.md"
    source.write_text(source.read_text().replace("tags: [seo]", "tags: [seo, Growth]"))
    assert sorted(card_links(client.get("/tag/growth").get_data(as_text=True))) == ["growth-playbook", "seo-checklist"]


def test_the_static_export_has_one_page_per_tag_and_its_links_work(content_dir: Path, instance_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--content", str(content_dir), "--instance", str(instance_dir), "build", "--base-url", "https://offers.example.com", str(out)]
    assert CliRunner().invoke(cli, args, catch_exceptions=False).exit_code == 0
    assert sorted(p.name for p in (out / "tag").glob("*.html")) == [
        f"{t}.html" for t in ("b2b", "content", "demo", "growth", "product", "seo")
    ]
    with static_server(out) as url:
        index = urllib.request.urlopen(url + "/").read().decode()
        for href in tag_links(index):
            page = urllib.request.urlopen(url + href).read().decode()  # /tag/seo -> tag/seo.html, as nginx does
            assert tag_links(page)[href]
        seo = urllib.request.urlopen(url + "/tag/seo").read().decode()
    assert card_links(seo) == ["seo-checklist"]
    # A tag no offer has any more leaves the export on the next build.
    source = content_dir / "growth-playbook.md"
    source.write_text(source.read_text().replace("tags: [growth, b2b]", "tags: [growth]"))
    assert CliRunner().invoke(cli, args, catch_exceptions=False).exit_code == 0
    assert not (out / "tag" / "b2b.html").exists() and (out / "tag" / "growth.html").exists()
