"""The funnel (content/funnel.py): the offer a thank-you page recommends (``next:`` and the
default rule), what ``check`` says about ``next:``, and the thank-you page that shows it with
its share links, through the real app."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from leadmagnet.cli import cli
from leadmagnet.content.catalog import load_catalog
from leadmagnet.content.funnel import next_offer, tag_slug, tags_of
from tests.support.content import submit, write_ebook, write_webinar

NOW = datetime(2027, 5, 1, 12, 0, tzinfo=UTC)


def ebook(content_dir: Path, slug: str, stage: str | None, tags: list[str], extra: str = "") -> None:
    lines = [f"stage: {stage}"] if stage else []
    if tags:
        lines.append(f"tags: [{', '.join(tags)}]")
    if extra:
        lines.append(extra)
    write_ebook(content_dir, slug, b"%PDF-1.4 test", filename=f"{slug}.pdf", extra="\n".join(lines))


@pytest.fixture
def funnel_dir(tmp_path: Path) -> Path:
    """A content folder of its own: a top-of-funnel ebook and candidates for its next step."""
    folder = tmp_path / "funnel"
    folder.mkdir()
    ebook(folder, "start", "tofu", ["seo", "growth"])
    ebook(folder, "mofu-seo", "mofu", ["seo"])
    ebook(folder, "mofu-both", "mofu", ["seo", "growth"])  # shares two tags: preferred
    ebook(folder, "mofu-other", "mofu", ["email"])  # shares no tag
    ebook(folder, "bofu-seo", "bofu", ["seo"])  # two stages on
    ebook(folder, "tofu-seo", "tofu", ["seo"])  # same stage
    return folder


def offers_in(folder: Path) -> dict:
    catalog = load_catalog(folder, now=NOW)
    return {slug: page.offer for slug, page in catalog.pages.items()}


def test_default_next_is_the_next_stage_sharing_the_most_tags(funnel_dir: Path) -> None:
    offers = offers_in(funnel_dir)
    assert next_offer(offers, offers["start"], NOW).slug == "mofu-both"
    assert next_offer(offers, offers["mofu-seo"], NOW).slug == "bofu-seo"  # mofu -> bofu
    assert next_offer(offers, offers["bofu-seo"], NOW) is None  # the end of the funnel
    assert next_offer(offers, offers["mofu-other"], NOW) is None  # no bofu offer tagged email


def test_default_next_skips_drafts_scheduled_and_ended_offers(funnel_dir: Path) -> None:
    (funnel_dir / "mofu-both.md").write_text((funnel_dir / "mofu-both.md").read_text().replace("---\nThe", "draft: true\n---\nThe"))
    (funnel_dir / "mofu-seo.md").write_text(
        (funnel_dir / "mofu-seo.md").read_text().replace("---\nThe", "publish_at: 2027-06-01\n---\nThe")
    )
    offers = offers_in(funnel_dir)
    assert next_offer(offers, offers["start"], NOW) is None
    assert next_offer(offers, offers["start"], datetime(2027, 6, 2, tzinfo=UTC)).slug == "mofu-seo"
    write_webinar(funnel_dir, "live-soon", NOW + timedelta(days=3), extra="stage: mofu\ntags: [growth]")
    offers = offers_in(funnel_dir)
    assert next_offer(offers, offers["start"], NOW).slug == "live-soon"
    assert next_offer(offers, offers["start"], NOW + timedelta(days=3, minutes=1)) is None  # under way: closed


def test_explicit_next_wins_and_falls_back_when_it_cannot_take_sign_ups(funnel_dir: Path) -> None:
    ebook(funnel_dir, "start", "tofu", ["seo", "growth"], "next: mofu-other")
    offers = offers_in(funnel_dir)
    assert next_offer(offers, offers["start"], NOW).slug == "mofu-other"  # no shared tag needed
    ebook(funnel_dir, "mofu-other", "mofu", ["email"], "expires_at: 2027-04-01")
    offers = offers_in(funnel_dir)
    assert next_offer(offers, offers["start"], NOW).slug == "mofu-both"  # ended: the default rule


def test_check_names_an_unknown_next_with_a_did_you_mean_itself_and_a_draft(funnel_dir: Path, tmp_path: Path) -> None:
    ebook(funnel_dir, "start", "tofu", ["seo"], "next: mofu-bth")
    ebook(funnel_dir, "mofu-seo", "mofu", ["seo"], "next: mofu-seo")
    ebook(funnel_dir, "tofu-seo", "tofu", ["seo"], "next: later")
    ebook(funnel_dir, "later", "mofu", ["seo"], "draft: true")
    result = CliRunner().invoke(cli, ["--content", str(funnel_dir), "--instance", str(tmp_path / "i"), "check"])
    lines = result.output.splitlines()
    assert result.exit_code == 1
    assert any(
        line.startswith("funnel/start.md: next: no offer has the slug 'mofu-bth' (did you mean 'mofu-both'?); fix the slug or remove next:")
        for line in lines
    ), lines
    assert any(line.startswith("funnel/mofu-seo.md: next: 'mofu-seo' is this offer itself") for line in lines), lines
    assert any(line.startswith("funnel/tofu-seo.md: next: warning: 'later' (funnel/later.md) is a draft") for line in lines), lines
    # The offers stay published: a broken next: only changes which offer is recommended.
    offers = offers_in(funnel_dir)
    assert {"start", "mofu-seo", "tofu-seo"} <= set(offers)
    assert next_offer(offers, offers["start"], NOW).slug == "mofu-both"  # the default rule meanwhile
    ebook(funnel_dir, "start", "tofu", ["seo"], "next: Mofu Both")
    worse = CliRunner().invoke(cli, ["--content", str(funnel_dir), "--instance", str(tmp_path / "i"), "check"])
    assert "funnel/start.md: next: 'Mofu Both' is not a slug" in worse.output


def test_tags_get_one_address_each() -> None:
    assert tag_slug("Growth Hacking") == "growth-hacking"
    assert tag_slug("Café") == "cafe"
    assert tag_slug("SEO") == tag_slug("seo") == "seo"
    assert tag_slug("日本").startswith("tag-") and tag_slug("日本") != tag_slug("中国")


def test_tags_of_counts_offers_and_merges_spellings(funnel_dir: Path) -> None:
    ebook(funnel_dir, "shouting", None, ["SEO"])
    tags = tags_of(offers_in(funnel_dir).values())
    assert tags == [("email", "email", 1), ("growth", "growth", 2), ("seo", "seo", 6)]


# -- the thank-you page ---------------------------------------------------------------------


# Every required field of each sample offer.
ANSWERS = {
    "growth-playbook": {"first_name": "Ada", "company": "ACME", "team_size": "1", "consent": "y"},
    "seo-checklist": {"first_name": "Grace", "country": "FR"},
}


def thank_you_page(client, slug: str, email: str = "ada@example.com") -> str:
    response = submit(client, slug, email, **ANSWERS[slug])
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    return page.get_data(as_text=True)


def test_thank_you_page_shows_delivery_then_the_next_offer_then_share_links(make_app, content_dir: Path) -> None:
    text = (content_dir / "growth-playbook.md").read_text()
    (content_dir / "growth-playbook.md").write_text(text.replace("stage: tofu", "stage: tofu\nnext: q1-product-demo", 1))
    client = make_app(RATE_LIMIT="off").test_client()
    html = thank_you_page(client, "growth-playbook")
    delivery, card, share = html.index('class="delivery'), html.index('class="next"'), html.index('class="share"')
    assert delivery < card < share
    card_html = html[card:share]
    assert "Live product demo for marketing teams" in card_html
    assert re.search(r'<a class="button" href="/q1-product-demo"[^>]*>Save my seat</a>', card_html)
    assert "Thursday 15 March 2029, 16:00 (Europe/Paris, UTC+01:00)" in card_html  # the date in the offer's zone
    assert "meet.example" not in card_html  # the next offer's join link is never shown
    links = re.findall(r'<li><a href="([^"]+)" rel="noopener noreferrer">', html[share:])
    assert [urlsplit(u).netloc or urlsplit(u).scheme for u in links] == ["www.linkedin.com", "x.com", "www.facebook.com", "mailto"]
    shared = parse_qs(urlsplit(links[0]).query)["url"][0]
    assert shared == "http://127.0.0.1:5000/growth-playbook"  # the public page, never this thank-you URL
    assert "<script" not in html  # plain links: no third-party (or any) script


def test_thank_you_page_uses_the_default_rule_and_shows_no_card_without_a_match(make_app, content_dir: Path) -> None:
    text = (content_dir / "seo-checklist.md").read_text()
    (content_dir / "seo-checklist.md").write_text(text.replace("tags: [seo]", "tags: [seo, growth]", 1))
    client = make_app(RATE_LIMIT="off").test_client()
    html = thank_you_page(client, "growth-playbook")  # tofu, tags growth and b2b
    assert re.search(r'<a class="button" href="/seo-checklist"[^>]*>', html)
    assert 'class="next"' not in thank_you_page(client, "seo-checklist", "grace@example.com")  # mofu: no bofu offer
