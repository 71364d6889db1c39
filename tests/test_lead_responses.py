"""``lead_responses`` (each lead's first email out) against the raw outbox and submissions, worked
out here in Python, through sends, retries, "Not spam", erasure and the upgrade of a filled database."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadmagnet.store import Store


@pytest.fixture
def db(store_url: str) -> Store:
    store = Store(store_url)
    store.migrate()
    return store


def lead(db: Store, email: str, at: str, spam: str | None = None) -> int:
    made = db.record_submission(offer_slug="guide", offer_type="ebook", email=email, fields={}, meta={}, spam_reason=spam, now=at)
    return made["submission"]["id"]


def email(db: Store, sid: int, kind: str, at: str, ok: bool = True) -> int:
    box = db.enqueue_email(submission_id=sid, contact_id=None, kind=kind, to_addr="x@example.com", subject="s", now=at)
    assert db.mark_attempt(box, at=at, ok=ok, retry_at=None if ok else at)
    return box


def expected(db: Store) -> dict[int, tuple]:
    """Per lead (not spam) with an email sent: offer, time, first ``sent_at``; from the raw rows."""
    leads = {s["id"]: s for s in db.query("SELECT * FROM submissions WHERE spam = 0")}
    found: dict[int, tuple] = {}
    for o in db.query("SELECT submission_id, sent_at FROM outbox WHERE sent_at IS NOT NULL"):
        s = leads.get(o["submission_id"])
        if s is not None:
            was = found.get(s["id"], (None, None, o["sent_at"]))[2]
            found[s["id"]] = (s["offer_slug"], s["created_at"], min(was, o["sent_at"]))
    return found


def rolled(db: Store) -> dict[int, tuple]:
    return {r["submission_id"]: (r["offer_slug"], r["created_at"], r["sent_at"]) for r in db.query("SELECT * FROM lead_responses")}


def at(day: int, minute: int = 0) -> str:
    return f"2026-03-{day:02d}T10:{minute:02d}:00.000000+00:00"


def test_the_roll_up_follows_sends_not_spam_and_erasure(db: Store) -> None:
    ann, bob, cy = (lead(db, f"{who}@example.com", at(1 + i)) for i, who in enumerate(("ann", "bob", "cy")))
    bot = lead(db, "bot@example.com", at(4), spam="honeypot")
    email(db, ann, "delivery", at(1, 5))
    email(db, ann, "reminder", at(1, 50))  # a later email is not the response
    email(db, bob, "delivery", at(2, 9), ok=False)  # not sent yet: no response
    email(db, bot, "delivery", at(4, 2))  # sent to a submission stored as spam: not a lead's
    assert rolled(db) == expected(db) and set(rolled(db)) == {ann}

    bob_box = db.query("SELECT id FROM outbox WHERE submission_id = ?", (bob,))[0]["id"]
    assert db.mark_attempt(bob_box, at=at(2, 30), ok=True)  # the retry went out
    assert db.release_spam(bot, "ok")["result"] == "released"
    email(db, cy, "delivery", at(3, 1))
    assert rolled(db) == expected(db) and set(rolled(db)) == {ann, bob, bot, cy}
    assert sorted(db.response_seconds("guide", "2026-03-01", "2026-04-01")) == [60.0, 120.0, 300.0, 1800.0]
    assert db.response_seconds("guide", "2026-03-01", "2026-04-01", sample=2) == [120.0, 60.0]  # the newest two, newest first

    db.erase_contact("ann@example.com", actor="test")
    db.query("DELETE FROM outbox WHERE submission_id = ?", (cy,))
    db.query("UPDATE submissions SET spam = 1, status = 'spam' WHERE id = ?", (bot,))
    assert rolled(db) == expected(db) and set(rolled(db)) == {bob}


def test_the_upgrade_counts_existing_emails_as_the_triggers_count_new_ones(tmp_path: Path) -> None:
    def fill(store: Store) -> None:
        for i in range(8):
            sid = lead(store, f"p{i}@example.com", at(1 + i % 3, i), spam="honeypot" if i == 5 else None)
            for k in range(i % 3):
                email(store, sid, ("delivery", "reminder")[k], at(1 + i % 3, 10 + i + k), ok=i != 4)

    upgraded = Store(tmp_path / "old.db")
    upgraded.migrate(stop_before="m016_dashboard_speed")
    fill(upgraded)
    assert upgraded.migrate() == ["m016_dashboard_speed", "m017_export_contact_summaries"]
    fresh = Store(tmp_path / "new.db")
    fresh.migrate()
    fill(fresh)
    assert rolled(upgraded) == rolled(fresh) == expected(fresh)
    assert len(rolled(fresh)) == 3  # p1, p2 and p7 (p4's emails failed, p5 is spam, the rest sent none)
