"""``build/pages.py``: what an incremental build renders again. The index and tag pages only when
what they show changed, the og cards of kept pages taken from the previous build; the export is
always the one a fresh build would write."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from leadmagnet import build as building
from leadmagnet.build.files import MANIFEST
from leadmagnet.content.catalog import load_catalog
from leadmagnet.foundation import config
from leadmagnet.render.listing import index_context, listing_contexts
from tests.support.cases import PNG, build_content

BASE = "https://offers.example.com"
NOW = datetime(2027, 6, 1, tzinfo=UTC)


def offer(n: int, title: str | None = None, tags: str = "[growth, SEO]", body: str = "The pitch.") -> str:
    return (
        f"---\ntitle: {title or f'Offer {n}'}\ntype: ebook\nfile: files/guide.pdf\ndescription: Number {n}.\n"
        f"image: assets/cover.png\ntags: {tags}\n---\n{body}\n"
    )


def site(tmp_path: Path) -> tuple[Path, dict]:
    content = build_content(tmp_path / "site")
    for n in range(3):
        (content / f"offer-{n}.md").write_text(offer(n, tags="[growth, SEO]" if n else "[growth]"))
    settings = config.resolve({"CONTENT_DIR": str(content), "INSTANCE_DIR": str(tmp_path / "instance"), "BASE_URL": BASE})
    return content, settings


def raw(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != MANIFEST}


def test_index_and_tag_pages_are_rendered_again_only_when_what_they_show_changes(tmp_path: Path) -> None:
    content, settings = site(tmp_path)
    out = tmp_path / "out"

    def rebuild() -> building.BuildReport:
        report = building.build(settings, out, now=NOW)
        fresh = tmp_path / "fresh"  # what a first build writes from the same files
        shutil.rmtree(fresh, ignore_errors=True)
        building.build({**settings, "INSTANCE_DIR": str(tmp_path / "instance-fresh")}, fresh, now=NOW)
        assert raw(out) == raw(fresh)
        return report

    first = rebuild()
    assert first.listings == 3 and {"index.html", "tag/growth.html", "tag/seo.html"} <= set(first.written)

    # A pitch's Markdown: the offer's page only.
    (content / "offer-1.md").write_text(offer(1, body="A better pitch."))
    report = rebuild()
    assert (report.rendered, report.listings) == (1, 0)
    assert {"index.html", "tag/growth.html", "tag/seo.html"} <= set(report.unchanged)

    # A title is on the index and its tag pages.
    (content / "offer-1.md").write_text(offer(1, title="A new title", body="A better pitch."))
    report = rebuild()
    assert (report.rendered, report.listings) == (1, 3)
    assert b"A new title" in (out / "index.html").read_bytes() and b"A new title" in (out / "tag" / "seo.html").read_bytes()

    # A new tag gets its page; a tag no published offer has any more loses it.
    (content / "offer-0.md").write_text(offer(0, tags="[growth, pricing]"))
    assert rebuild().listings == 4 and (out / "tag" / "pricing.html").is_file()
    (content / "offer-0.md").write_text(offer(0, tags="[growth, pricing]").replace("tags:", "draft: true\ntags:"))
    report = rebuild()
    assert report.listings == 3 and "tag/pricing.html" in report.removed and b"Offer 0" not in (out / "index.html").read_bytes()

    # The state an offer shows on the index (ended), without any file changing.
    (content / "offer-2.md").write_text(offer(2).replace("tags:", "expires_at: 2027-07-01T00:00:00Z\ntags:"))
    assert rebuild().listings == 3
    report = building.build(settings, out, now=datetime(2027, 8, 1, tzinfo=UTC))
    assert report.listings == 3 and b"ended" in (out / "index.html").read_bytes()

    # A file the index may show that is not an offer's Markdown (a cover, a logo): made again.
    building.build(settings, out, now=NOW)
    (content / "assets" / "cover.png").write_bytes(PNG + b"\0")
    assert rebuild().listings == 3

    # A kept page deleted from the export is written again.
    (out / "tag" / "seo.html").unlink()
    assert rebuild().listings == 3 and (out / "tag" / "seo.html").is_file()


def test_listing_contexts_are_those_of_index_context_for_every_page(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(Path(__file__).parent.parent / "content", content)
    (content / "spelled.md").write_text(offer(9, tags="[SEO, Growth Hacking, Café, growth-hacking, C++]"))
    (content / "later.md").write_text(offer(8, tags="[Scheduled only]").replace("tags:", "publish_at: 2099-01-01T00:00:00Z\ntags:"))
    offers = load_catalog(content).offers()
    contexts = listing_contexts(offers, NOW, BASE)
    assert len(contexts) > 6 and "scheduled-only" not in contexts
    for tag, context in contexts.items():
        assert context == index_context(offers, NOW, BASE, tag)


def test_kept_pages_keep_their_cards_and_a_card_gone_from_the_export_comes_back(tmp_path: Path) -> None:
    content, settings = site(tmp_path)
    out = tmp_path / "out"
    building.build(settings, out, now=NOW)
    cards = sorted(p.name for p in (out / "og").iterdir())
    assert len(cards) == 3

    (content / "offer-1.md").write_text(offer(1, body="A better pitch."))  # the card shows no pitch
    report = building.build(settings, out, now=NOW)
    assert not [w for w in report.written if w.startswith("og/")]
    assert sorted(p.name for p in (out / "og").iterdir()) == cards

    # Gone from the export and from the instance folder's cache: drawn again and linked.
    (out / "og" / cards[0]).unlink()
    shutil.rmtree(tmp_path / "instance" / "og-cards")
    report = building.build(settings, out, now=NOW)
    assert report.written == [f"og/{cards[0]}"]
    assert sorted(p.name for p in (out / "og").iterdir()) == cards
    assert (out / "og" / cards[0]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_first_build_draws_the_cards_in_its_render_workers(tmp_path: Path, monkeypatch) -> None:
    """Many pages: the forked render workers draw the missing cards of their pages (a first build
    on a new instance draws them all); the export is that of a build in one process."""
    from leadmagnet.build import workers

    content, settings = site(tmp_path)
    for n in range(3, 12):
        (content / f"offer-{n}.md").write_text(offer(n))
    monkeypatch.setattr(workers.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(workers, "PARALLEL_MIN", 1)
    building.build(settings, tmp_path / "parallel", now=NOW)
    assert len(list((tmp_path / "instance" / "og-cards").glob("*.png"))) == 12
    monkeypatch.setattr(workers, "PARALLEL_MIN", 10**9)
    building.build({**settings, "INSTANCE_DIR": str(tmp_path / "instance-serial")}, tmp_path / "serial", now=NOW)
    assert raw(tmp_path / "parallel") == raw(tmp_path / "serial")
    assert len([name for name in raw(tmp_path / "parallel") if name.startswith("og/")]) == 12
