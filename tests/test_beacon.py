"""POST /beacon counts a view of an exported page in the batched counter; /_ping is constant."""

from __future__ import annotations

import pytest

from leadmagnet.web import services_of
from tests.test_assignment import BROWSER, write_test_offer

pytestmark = pytest.mark.both_backends  # the admin and page-view paths on SQLite and on PostgreSQL


def total_views(store) -> int:
    return sum(row["views"] for row in store.page_views())


def test_beacon_counts_a_published_offer_with_its_source(app, client, store) -> None:
    for _ in range(3):
        response = client.post("/beacon", data={"slug": "growth-playbook", "utm_source": "Newsletter"})
        assert response.status_code == 204 and response.data == b""
        assert response.headers["Cache-Control"] == "no-store"
    assert total_views(store) == 0  # batched: no write on the request path
    assert services_of(app).page_views.flush() == 3
    assert [(r["offer_slug"], r["utm_source"], r["views"]) for r in store.page_views()] == [("growth-playbook", "newsletter", 3)]


def test_beacon_ignores_unknown_unpublished_and_empty_slugs(app, client, store, content_dir) -> None:
    (content_dir / "draft.md").write_text(
        "---\ntitle: Draft\ntype: ebook\nfile: files/growth-playbook.pdf\ndraft: true\n---\nNot yet.\n", encoding="utf-8"
    )
    for data in ({"slug": "no-such-offer"}, {"slug": "draft"}, {}, {"slug": "../etc/passwd"}):
        assert client.post("/beacon", data=data).status_code == 204
    assert client.get("/draft").status_code == 404  # the draft really is unpublished
    services_of(app).page_views.flush()
    assert total_views(store) == 0


def test_beacon_caps_the_source_and_accepts_only_post(app, client, store) -> None:
    client.post("/beacon", data={"slug": "seo-checklist", "utm_source": "x" * 5000})
    services_of(app).page_views.flush()
    (row,) = store.page_views()
    assert 0 < len(row["utm_source"]) <= 200
    assert client.get("/beacon").status_code in (404, 405)


def test_beacon_of_a_variant_page_counts_the_view_with_its_details_and_for_its_variant(content_dir, make_app) -> None:
    write_test_offer(content_dir)
    app = make_app()
    client, services = app.test_client(), services_of(app)
    sent = {
        "slug": "split-guide",
        "utm_source": "news",
        "utm_medium": "email",
        "utm_campaign": "spring",
        "referrer": "https://www.example.org/x",
    }
    for variant in ("b", "b", "a"):
        assert client.post("/beacon", data={**sent, "variant": variant}, headers={"User-Agent": BROWSER}).status_code == 204
    client.post("/beacon", data={"slug": "split-guide", "variant": "z"}, headers={"User-Agent": BROWSER})  # not a variant of the test
    client.post("/beacon", data={"slug": "split-guide", "variant": "b"}, headers={"User-Agent": "Slackbot 1.0"})  # a link previewer
    assert services.page_views.flush() == 5  # every view of the page
    assert services.variant_views.flush() == 3  # the test's: a person's view of one of its variants
    assert {r["variant"]: r["views"] for r in services.store.variant_views("split-guide")} == {"a": 1, "b": 2}
    (offer,) = services.ab.report()["offers"]
    assert [(v["name"], v["views"]) for v in offer["variants"]] == [("a", 1), ("b", 2)]
    details = {
        (r["dimension"], r["value"]): r["views"]
        for r in services.store.query("SELECT dimension, value, sum(views) AS views FROM page_view_details GROUP BY 1, 2")
    }
    assert details[("medium", "email")] == 3 and details[("campaign", "spring")] == 3 and details[("referrer", "example.org")] == 3
    assert [(r["utm_source"], r["views"]) for r in services.store.page_views() if r["utm_source"]] == [("news", 3)]


def test_ping_is_constant_and_uncached(client) -> None:
    response = client.get("/_ping")
    assert response.status_code == 200 and response.data == b"ok"
    assert response.headers["Cache-Control"] == "no-store"
