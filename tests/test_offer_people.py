"""The per-offer table's people roll-up (``offer_people``, ``offer_days``) against a count of the raw
rows, worked out here in Python, through downloads, registrations, the waitlist, opt-in, "Not spam",
erasure and the upgrade of a database that has rows already."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from leadmagnet.store import Store

COUNTED_SINCE = "SELECT value FROM store_meta WHERE key = 'range_downloads_counted_since'"


@pytest.fixture
def db(store_url: str) -> Store:
    store = Store(store_url)
    store.migrate()
    return store


def lead(db: Store, email: str, at: str, offer: str = "guide", kind: str = "ebook", status: str = "ok", spam: str | None = None) -> int:
    made = db.record_submission(
        offer_slug=offer, offer_type=kind, email=email, fields={}, meta={}, status=status, spam_reason=spam, now=f"{at}.000000+00:00"
    )
    return made["submission"]["id"]


def expected(db: Store) -> tuple[set[tuple], Counter]:
    """``offer_people`` and ``offer_days`` as they should be, counted in Python from the raw rows."""
    since = db.query(COUNTED_SINCE)[0]["value"]
    firsts: dict[tuple, str] = {}

    def first(key: tuple, at: str) -> None:
        firsts[key] = min(firsts.get(key, at), at)

    days: Counter = Counter()
    for d in db.query(
        "SELECT d.created_at, d.range_request, s.offer_slug, s.contact_id FROM downloads d JOIN submissions s ON s.id = d.submission_id"
    ):
        if not d["range_request"] or d["created_at"] >= since:
            first((d["offer_slug"], "downloaded_by", d["contact_id"]), d["created_at"])
            days[(d["created_at"][:10], d["offer_slug"], "downloads")] += 1
    for s in db.query("SELECT * FROM submissions"):
        if s["offer_type"] == "webinar" and not s["spam"] and s["status"] in ("ok", "waitlisted"):
            first((s["offer_slug"], "registrations" if s["status"] == "ok" else "waitlisted", s["contact_id"]), s["created_at"])
    for (offer, kind, _contact), at in firsts.items():
        days[(at[:10], offer, kind)] += 1
    return {(*key, at) for key, at in firsts.items()}, days


def rolled(db: Store) -> tuple[set[tuple], Counter]:
    people = {(r["offer_slug"], r["kind"], r["contact_id"], r["first_at"]) for r in db.query("SELECT * FROM offer_people")}
    days = db.query("SELECT * FROM offer_days")
    assert all(r["n"] > 0 for r in days), "a day falling to zero is deleted"
    return people, Counter({(r["day"], r["offer_slug"], r["measure"]): r["n"] for r in days})


def test_people_are_counted_once_on_their_first_time_through_every_change(db: Store) -> None:
    ann = lead(db, "ann@example.com", "2026-03-01T10:00:00")
    ann_again = lead(db, "ann@example.com", "2026-03-04T10:00:00")
    bob = lead(db, "bob@example.com", "2026-03-02T10:00:00")
    db.record_download(ann, "2026-03-01T11:00:00.000000+00:00")
    db.record_download(ann_again, "2026-03-04T11:00:00.000000+00:00")  # Ann again: one person, two downloads
    db.record_download(
        bob, "2026-03-03T09:00:00.000000+00:00", range_request=True
    )  # a range, dated before ranges counted (m006): not counted
    db.record_download(bob, "2026-03-02T23:00:00.000000+00:00")  # recorded later, happened earlier: the new first
    seated = lead(db, "cy@example.com", "2026-03-01T12:00:00", offer="demo", kind="webinar")
    lead(db, "cy@example.com", "2026-03-05T12:00:00", offer="demo", kind="webinar")  # seated twice: one person
    lead(db, "cy@example.com", "2026-02-28T12:00:00", offer="demo", kind="webinar")  # recorded later, made earlier: the new first
    waiting = lead(db, "dee@example.com", "2026-03-02T12:00:00", offer="demo", kind="webinar", status="waitlisted")
    pending = lead(db, "eve@example.com", "2026-03-02T13:00:00", offer="demo", kind="webinar", status="pending")
    bot = lead(db, "bot@example.com", "2026-03-02T14:00:00", offer="demo", kind="webinar", spam="honeypot")
    assert rolled(db) == expected(db)
    people = {(p[0], p[1]) for p in rolled(db)[0]}
    assert people == {("guide", "downloaded_by"), ("demo", "registrations"), ("demo", "waitlisted")}

    db.confirm_opt_in(pending, "2026-03-03T00:00:00.000000+00:00")  # pending -> seated
    assert db.seat_next_waitlisted("demo", None)["id"] == waiting  # the waitlist moves up
    assert db.release_spam(bot, "ok")["result"] == "released"  # "Not spam": a registration after all
    assert rolled(db) == expected(db)
    assert not [p for p in rolled(db)[0] if p[1] == "waitlisted"]

    db.erase_contact("ann@example.com", actor="test")  # her downloads go, then her leads
    db.erase_contact("cy@example.com", actor="test")
    assert rolled(db) == expected(db)
    assert {p[2] for p in rolled(db)[0]} == {
        db.get_contact_by_email(e)["id"] for e in ("bob@example.com", "dee@example.com", "eve@example.com", "bot@example.com")
    }
    assert db.get_submission(seated) is None
    db.query("DELETE FROM downloads WHERE submission_id = ?", (bob,))  # the last download of a person gone
    db.query("UPDATE submissions SET spam = 1, status = 'spam' WHERE id = ?", (bot,))  # marked spam after all
    assert rolled(db) == expected(db)
    assert not [p for p in rolled(db)[0] if p[1] == "downloaded_by"]


def test_the_per_offer_table_counts_each_person_in_the_period_of_their_first_time(db: Store) -> None:
    ann = lead(db, "ann@example.com", "2026-01-10T10:00:00")
    bob = lead(db, "bob@example.com", "2026-03-10T10:00:00")
    db.record_download(ann, "2026-01-10T11:00:00.000000+00:00")
    db.record_download(ann, "2026-03-11T11:00:00.000000+00:00")  # Ann comes back in March
    db.record_download(bob, "2026-03-10T11:00:00.000000+00:00")
    for who in ("cy", "cy", "dee"):
        lead(db, f"{who}@example.com", "2026-01-20T10:00:00" if who == "dee" else "2026-03-20T10:00:00", offer="demo", kind="webinar")

    def row(since: str | None, until: str | None, offer: str) -> tuple[int, int, int]:
        [found] = [o for o in db.dashboard(since, until)["offers"] if o["offer"] == offer]
        return found["downloads"], found["downloaded_by"], found["registrations"]

    assert row(None, None, "guide") == (3, 2, 0) and row(None, None, "demo")[2] == 2
    assert row("2026-01-01", "2026-02-01", "guide") == (1, 1, 0)
    assert row("2026-03-01", "2026-04-01", "guide") == (2, 1, 0)  # Ann's return is a download, not a new person
    assert row("2026-03-01", "2026-04-01", "demo")[2] == 1  # Cy, seated twice
    # Bounds inside a day (an admin's time zone): the hours at either end from the rows themselves.
    assert row("2026-03-10T10:30:00+00:00", "2026-03-11T11:00:00+00:00", "guide") == (1, 1, 0)  # Bob's; Ann's at 11:00 is outside
    assert row("2026-03-10T10:30:00+00:00", "2026-03-11T11:00:01+00:00", "guide") == (2, 1, 0)
    assert row("2026-01-10T10:59:00+00:00", "2026-01-10T11:01:00+00:00", "guide") == (1, 1, 0)


def test_the_upgrade_counts_existing_rows_as_the_triggers_count_new_ones(tmp_path: Path) -> None:
    def fill(store: Store) -> None:
        for i in range(12):
            kind = "webinar" if i % 3 == 0 else "ebook"
            sid = lead(
                store,
                f"p{i % 7}@example.com",
                f"2026-03-0{1 + i % 4}T1{i % 10}:00:00",
                offer=f"{kind}-offer",
                kind=kind,
                status=("ok", "waitlisted", "pending")[i % 3] if kind == "webinar" else "ok",
                spam="honeypot" if i == 9 else None,
            )
            for k in range(i % 3):
                store.record_download(sid, f"2026-03-0{2 + k}T0{i % 10}:00:00.000000+00:00", range_request=bool(k))

    upgraded = Store(tmp_path / "old.db")
    upgraded.migrate(stop_before="m016_dashboard_speed")
    fill(upgraded)
    assert upgraded.migrate() == ["m016_dashboard_speed", "m017_export_contact_summaries"]
    fresh = Store(tmp_path / "new.db")
    fresh.migrate()
    fill(fresh)
    assert rolled(upgraded) == rolled(fresh) == expected(fresh)
    assert rolled(fresh)[0] and rolled(fresh)[1]
