"""Landing-page views: counted in memory per offer, day and utm_source, written in batches, kept
when a write fails, and written when the process stops normally (a gunicorn worker: tests/test_wsgi.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from leadmagnet.leads import pageviews as views
from leadmagnet.leads.pageviews import MAX_KEYS, OTHER, ViewCounter
from leadmagnet.store import DatabaseError, Store
from leadmagnet.web import services_of
from tests.support.content import ROOT
from tests.support.waiting import wait_until

NOTHING = ("",) * 5  # no source, medium, campaign, referrer or User-Agent


def page_views(store) -> dict[tuple[str, str], int]:
    return {(r["offer_slug"], r["utm_source"]): r["views"] for r in store.page_views()}


def test_each_landing_page_get_counts_once_per_offer_and_source(app, client, store) -> None:
    plain = client.get("/growth-playbook")
    tagged = client.get("/growth-playbook?utm_source=Newsletter")
    assert plain.data == tagged.data  # the page stays the same bytes for every visitor
    client.get("/growth-playbook?utm_source=newsletter")
    client.get("/seo-checklist", headers={"If-None-Match": plain.headers["ETag"]})
    assert client.get("/seo-checklist", headers={"If-None-Match": client.get("/seo-checklist").headers["ETag"]}).status_code == 304
    assert page_views(store) == {}  # nothing written on the request path
    assert services_of(app).page_views.flush() == 6  # three 200s and a 304 of seo-checklist count too
    assert page_views(store) == {("growth-playbook", ""): 1, ("growth-playbook", "newsletter"): 2, ("seo-checklist", ""): 3}


def test_other_requests_are_not_views(app, client, store) -> None:
    client.get("/no-such-offer")
    client.get("/")
    client.get("/robots.txt")
    client.post("/seo-checklist", data={"email": "a@example.com"})
    assert services_of(app).page_views.flush() == 0
    assert page_views(store) == {}


def test_utm_source_is_read_from_the_query_as_request_args_reads_it(app, client, store) -> None:
    client.get("/growth-playbook?utm%5Fsource=Ads&utm_source=second")  # an escaped name; the first value wins
    client.get("/growth-playbook?utm_source=news+letter&x=1")  # "+" is a space
    client.get("/growth-playbook?utm_source=%FFbad")  # an undecodable escape stays percent-encoded
    client.get("/growth-playbook?utm_source=")  # empty: no source
    client.get("/growth-playbook?ref=x")  # no utm_source at all
    assert services_of(app).page_views.flush() == 5
    assert page_views(store) == {
        ("growth-playbook", "ads"): 1,
        ("growth-playbook", "news letter"): 1,
        ("growth-playbook", "%ffbad"): 1,
        ("growth-playbook", ""): 2,
    }


def test_a_raw_undecodable_query_still_serves_and_counts_the_page(app) -> None:
    # A broken client can send raw non-UTF-8 bytes (WSGI hands them over as latin-1 characters).
    response = app.test_client().get("/growth-playbook", environ_overrides={"QUERY_STRING": "utm_source=\xff"})
    assert response.status_code == 200
    assert services_of(app).page_views.flush() == 1


def test_head_requests_and_pages_that_are_not_served_are_not_views(app, client, store) -> None:
    assert client.head("/growth-playbook").status_code == 200
    assert client.get("/growth-playbook/").status_code == 404
    assert client.get("/_ping").status_code == 200
    assert services_of(app).page_views.flush() == 0


def test_the_day_changes_at_utc_midnight(monkeypatch) -> None:
    midnight = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    clock = [midnight - 0.5]
    monkeypatch.setattr(views.time, "time", lambda: clock[0])
    counter = ViewCounter(lambda batch: None, interval=0)
    counter.count("a")
    clock[0] = midnight
    counter.count("a")
    clock[0] = midnight - 10  # a clock stepped back is believed too
    counter.count("a")
    assert counter.pending() == {("a", "2025-12-31", *NOTHING): 2, ("a", "2026-01-01", *NOTHING): 1}


def test_a_failed_write_keeps_the_counts_for_the_next_flush() -> None:
    written: list[dict] = []
    fail = [True]

    def write(batch: dict) -> None:
        if fail[0]:
            raise DatabaseError("attempt to write a readonly database")
        written.append(batch)

    counter = ViewCounter(write, interval=0)
    counter.count("a", "x", day="2026-01-01")
    assert counter.flush() == 0
    counter.count("a", "x", day="2026-01-01")
    fail[0] = False
    assert counter.flush() == 2
    assert written == [{("a", "2026-01-01", "x", "", "", "", ""): 2}]
    assert counter.pending() == {}


def test_invented_sources_cannot_grow_the_batch_without_bound() -> None:
    counter = ViewCounter(lambda batch: None, interval=0)
    for i in range(MAX_KEYS + 10):
        counter.count("a", f"src{i}", day="2026-01-01")
    pending = counter.pending()
    assert len(pending) == MAX_KEYS + 1
    assert pending[("a", "2026-01-01", OTHER, OTHER, OTHER, OTHER, "")] == 10


def test_sources_are_cleaned_and_capped() -> None:
    assert views.clean_source(" News\x00Letter ") == "newsletter"
    assert len(views.clean_source("x" * 500)) == views.SOURCE_CAP


def test_the_timer_writes_batches_in_the_background(make_app) -> None:
    app = make_app(VIEW_FLUSH_SECONDS=0.05)
    store = services_of(app).store
    app.test_client().get("/growth-playbook")
    assert wait_until(lambda: page_views(store), what="the timer wrote the views") == {("growth-playbook", ""): 1}


def test_views_are_written_when_the_process_exits_normally(tmp_path: Path, content_dir: Path) -> None:
    db = tmp_path / "instance" / "leadmagnet.db"
    script = f"""
from leadmagnet.app import create_app
app = create_app({{"CONTENT_DIR": {str(content_dir)!r}, "INSTANCE_DIR": {str(tmp_path / "instance")!r}, "VIEW_FLUSH_SECONDS": 3600}})
c = app.test_client()
for _ in range(3):
    assert c.get("/growth-playbook?utm_source=ads").status_code == 200
"""
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=60)
    assert page_views(Store(db)) == {("growth-playbook", "ads"): 3}
