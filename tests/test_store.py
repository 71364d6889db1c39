"""The store's capture verbs against real SQLite files: one transaction per submission,
duplicates, spam that never renames a contact, custom fields, page views, and concurrent writers."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path

import pytest

from leadmagnet.foundation import tokens
from leadmagnet.store import Store


@pytest.fixture
def db(store_url: str) -> Store:
    store = Store(store_url)
    store.migrate()
    return store


def submit(store: Store, email: str = "ada@example.com", **kwargs) -> dict:
    params = {"offer_slug": "guide", "offer_type": "ebook", "email": email, "fields": {"first_name": "Ada"}}
    params.update(kwargs)
    return store.record_submission(**params)


def test_a_submission_creates_the_contact_and_keeps_every_value(db: Store) -> None:
    out = submit(
        db,
        fields={"first_name": "Ada", "company": "", "team": "2-5"},
        meta={"utm_source": "news", "referrer": "https://x.example/", "user_agent": "UA", "ip_marker": "203.0.113.0/24"},
        tags=("growth",),
        stage="tofu",
        consent_text="I agree.",
    )
    assert out["result"] == "created"
    row = db.get_submission(out["submission"]["id"])
    assert json.loads(row["data"]) == {"email": "ada@example.com", "first_name": "Ada", "company": "", "team": "2-5"}
    assert (row["utm_source"], row["referrer"], row["user_agent"], row["ip_marker"]) == (
        "news",
        "https://x.example/",
        "UA",
        "203.0.113.0/24",
    )
    assert row["utm_medium"] is None and row["consent_text"] == "I agree." and row["consent_at"] == row["created_at"]
    assert row["created_at"].endswith("+00:00")
    contact = db.get_contact(out["contact_id"])
    assert contact["first_name"] == "Ada" and contact["company"] is None and json.loads(contact["custom"]) == {"team": "2-5"}


def test_latest_non_empty_values_win_and_custom_fields_merge(db: Store) -> None:
    submit(db, fields={"first_name": "Ada", "company": "Old", "team": "1"}, offer_slug="a")
    submit(db, fields={"first_name": "", "company": "New", "role": "cto"}, offer_slug="b")
    contact = db.get_contact_by_email("ada@example.com")
    assert (contact["first_name"], contact["company"]) == ("Ada", "New")
    assert json.loads(contact["custom"]) == {"team": "1", "role": "cto"}
    assert contact["last_seen"] > contact["first_seen"]


def test_duplicates_within_the_window_return_the_first_submission(db: Store) -> None:
    first = submit(db, dedupe_seconds=600, now="2026-01-01T10:00:00.000000+00:00")
    again = submit(db, dedupe_seconds=600, now="2026-01-01T10:09:59.000000+00:00")
    later = submit(db, dedupe_seconds=600, now="2026-01-01T10:20:00.000000+00:00")
    assert again["result"] == "duplicate" and again["submission"]["id"] == first["submission"]["id"]
    assert later["result"] == "created"
    assert db.count_submissions() == 2


def test_spam_is_stored_but_never_renames_a_contact_nor_counts_as_a_lead(db: Store) -> None:
    submit(db)
    spam = submit(db, fields={"first_name": "Bot"}, spam_reason="honeypot")
    assert spam["submission"]["spam"] == 1 and spam["submission"]["status"] == "spam"
    assert db.get_contact_by_email("ada@example.com")["first_name"] == "Ada"
    assert db.count_submissions() == 1 and db.count_submissions(include_spam=True) == 2
    bot_only = submit(db, email="bot@example.com", fields={"first_name": "Bot"}, spam_reason="too fast: 0.1 s")
    assert db.get_contact(bot_only["contact_id"])["first_name"] is None


def webinar_registration(tx, email: str, capacity: int | None = 1) -> dict:
    """What delivery writes for a webinar registration: the lead, its seat, its email."""
    out = tx.record_submission(offer_slug="live", offer_type="webinar", email=email, fields={})
    sid = out["submission"]["id"]
    seated = tx.claim_seat(sid, "live", capacity)
    tx.enqueue_email(
        submission_id=sid,
        contact_id=out["contact_id"],
        kind="delivery",
        to_addr=email,
        subject="You're registered",
        template="registered" if seated else "waitlist",
        now=Store.now(),
    )
    return out


def test_a_failure_inside_a_transaction_rolls_back_the_lead_its_seat_and_its_email(db: Store) -> None:
    with pytest.raises(RuntimeError, match="template exploded"), db.transaction() as tx:
        webinar_registration(tx, "grace@example.com")
        raise RuntimeError("the email template exploded")
    assert db.get_contact_by_email("grace@example.com") is None
    assert db.count_submissions(include_spam=True) == 0
    assert db.seats_taken("live") == 0 and db.outbox() == []
    # The one seat is still free: the next person gets it, with their email.
    with db.transaction() as tx:
        webinar_registration(tx, "ada@example.com")
    assert db.count_by_status("live") == {"ok": 1}
    assert [(row["to_addr"], row["template"]) for row in db.outbox()] == [("ada@example.com", "registered")]


def test_a_transaction_is_seen_whole_by_others_only_once_it_commits(tmp_path: Path) -> None:
    path = tmp_path / "lm.db"
    db, other = Store(path), Store(path)  # two connections, as two gunicorn workers have
    db.migrate()
    with db.transaction() as tx:
        webinar_registration(tx, "ada@example.com")
        assert db.count_submissions() == 1 and len(db.outbox()) == 1  # the transaction sees its own writes
        assert other.count_submissions() == 0 and other.outbox() == []  # nobody else does yet
    assert other.count_submissions() == 1 and other.seats_taken("live") == 1 and len(other.outbox()) == 1


def test_a_verb_called_inside_a_transaction_joins_it(db: Store) -> None:
    cid = submit(db)["contact_id"]
    with pytest.raises(RuntimeError), db.transaction() as tx:
        webinar_registration(tx, "grace@example.com")
        assert db.unsubscribe(cid, Store.now())  # would be a transaction of its own if called alone
        raise RuntimeError("boom")
    assert db.get_contact(cid)["unsubscribed_at"] is None  # rolled back with the block
    assert db.get_contact_by_email("grace@example.com") is None and db.outbox() == []


def test_page_views_add_up(db: Store) -> None:
    db.add_page_views({("guide", "2026-01-01", ""): 3, ("guide", "2026-01-01", "ads"): 1})
    db.add_page_views({("guide", "2026-01-01", ""): 2})
    rows = {r["utm_source"]: r["views"] for r in db.page_views("guide")}
    assert rows == {"": 5, "ads": 1}


def test_concurrent_writers_lose_nothing_and_never_see_a_locked_database(tmp_path: Path) -> None:
    path = tmp_path / "lm.db"
    Store(path).migrate()
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        store = Store(path)  # a store per thread, as each gunicorn worker has its own
        try:
            for i in range(40):
                submit(store, email=f"w{n}-{i}@example.com", offer_slug=f"o{i % 3}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    check = Store(path)
    assert check.count_submissions() == 320
    assert check.integrity_check() == "ok"


# -- links: a row by its id and stamp --------------------------------------------------------------


def test_a_link_finds_its_row_and_not_a_later_row_that_reuses_the_id(db: Store) -> None:
    first = submit(db, "first@example.com")
    link = tokens.row_link([first["submission"]["id"], tokens.row_stamp(first["submission"]["created_at"])])
    contact_link = tokens.row_link([first["contact_id"], tokens.row_stamp(db.get_contact(first["contact_id"])["first_seen"])])
    assert db.submission_for_link(link)["id"] == first["submission"]["id"]
    assert db.contact_for_link(contact_link)["email"] == "first@example.com"
    submit(db, "first@example.com")  # a later submission: first_seen, and so the contact's stamp, stay
    assert db.contact_for_link(contact_link) is not None
    db.erase_contact("first@example.com")
    later = submit(db, "later@example.com")
    assert db.submission_for_link(link) is None and db.contact_for_link(contact_link) is None
    if db.backend == "postgresql":  # identity columns never hand an id out twice: no later row can take it
        assert later["submission"]["id"] > link.id and later["contact_id"] > contact_link.id
        return
    assert later["submission"]["id"] == link.id and later["contact_id"] == contact_link.id  # SQLite reuses freed rowids
    # and a bare id (a link from before stamps) signed before the later row existed: refused as well
    signed_before = datetime.fromisoformat(later["submission"]["created_at"]).timestamp() - 1
    assert db.submission_for_link(tokens.row_link([link.id], signed_before)) is None
    assert db.submission_for_link(tokens.row_link([link.id], signed_before + 2))["id"] == link.id  # signed after: its own


def test_a_write_checked_against_one_row_never_lands_on_another(db: Store) -> None:
    out = submit(db, status="pending")
    sid, cid = out["submission"]["id"], out["contact_id"]
    assert db.confirm_opt_in(sid, "2030-01-01T00:00:00+00:00", created_at="1999-01-01T00:00:00+00:00") is None
    assert db.get_submission(sid)["status"] == "pending"
    assert db.unsubscribe(cid, "2030-01-01T00:00:00+00:00", first_seen="1999-01-01T00:00:00+00:00") is False
    assert db.get_contact(cid)["unsubscribed_at"] is None


def test_an_unsubscribed_contact_is_not_opted_in_again_by_an_older_submission(db: Store) -> None:
    old = submit(db, status="pending", now="2026-01-01T00:00:00.000000+00:00")
    cid = old["contact_id"]
    db.unsubscribe(cid, "2026-01-02T00:00:00.000000+00:00")
    out = db.confirm_opt_in(old["submission"]["id"], "2026-01-03T00:00:00.000000+00:00")
    assert out["result"] == "withdrawn" and out["submission"]["status"] == "pending" and db.confirmation_withdrawn(out["submission"])
    assert db.get_contact(cid)["opt_in_status"] == "unsubscribed"
    # Asking again after unsubscribing: that request is delivered, the contact stays unsubscribed.
    again = submit(db, status="pending", now="2026-01-04T00:00:00.000000+00:00")
    assert not db.confirmation_withdrawn(again["submission"])
    out = db.confirm_opt_in(again["submission"]["id"], "2026-01-05T00:00:00.000000+00:00")
    assert out["result"] == "confirmed" and out["submission"]["status"] == "ok"
    assert db.confirm_opt_in(again["submission"]["id"], "2026-01-06T00:00:00.000000+00:00")["result"] == "unchanged"  # once
    contact = db.get_contact(cid)
    assert contact["opt_in_status"] == "unsubscribed" and contact["unsubscribed_at"] == "2026-01-02T00:00:00.000000+00:00"


def test_the_dashboard_counts_whole_downloads_and_ranges_from_byte_0_not_older_range_rows(db: Store) -> None:
    sid = submit(db)["submission"]["id"]
    since = db.query_one("SELECT value FROM store_meta WHERE key = 'range_downloads_counted_since'")["value"]
    # Rows of versions before m006: every range request was recorded, and none counted.
    db.record_download(sid, "2026-01-01T00:00:00.000000+00:00")
    db.record_download(sid, "2026-01-01T00:00:01.000000+00:00", range_request=True)
    assert since > "2026-01-01T00:00:01"
    db.record_download(sid, Store.now())
    db.record_download(sid, Store.now(), range_request=True)  # since m006: only a range from byte 0 is recorded
    assert db.dashboard()["totals"]["downloads"] == 3


def test_a_blank_custom_answer_keeps_the_contacts_latest_real_answer(store) -> None:
    def answer(**fields) -> None:
        store.record_submission(offer_slug=f"o{len(store.submissions())}", offer_type="ebook", email="ann@example.com", fields=fields)

    answer(team_size="6+", wants_demo=True)
    answer(team_size="", wants_demo=False)  # a later form left the text empty and the box unticked
    [contact] = store.contacts()
    assert json.loads(contact["custom"]) == {"team_size": "6+", "wants_demo": False}


def test_a_commit_that_fails_rolls_back_so_the_next_write_commits_on_its_own(tmp_path) -> None:
    """In rollback-journal mode (a file system without WAL) a reader makes COMMIT fail with
    SQLITE_BUSY and SQLite keeps the transaction open: it must be rolled back, not joined by
    every later write of the thread (which would then answer 'saved' and never commit)."""
    import sqlite3

    path = tmp_path / "leads.db"
    db = Store(path)
    db.migrate()
    db.conn.execute("PRAGMA journal_mode = DELETE")
    db.conn.execute("PRAGMA busy_timeout = 100")
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM contacts").fetchall()  # holds SHARED until its COMMIT
    with pytest.raises(sqlite3.OperationalError):
        db.record_submission(offer_slug="g", offer_type="ebook", email="a@example.com", fields={})
    assert not db.conn.in_transaction
    reader.execute("COMMIT")
    assert db.record_submission(offer_slug="g", offer_type="ebook", email="b@example.com", fields={})["result"] == "created"
    assert not db.conn.in_transaction
    other = sqlite3.connect(path)
    assert other.execute("SELECT email FROM contacts").fetchall() == [("b@example.com",)]
    other.close()
    reader.close()
    db.close()


def test_a_query_that_returns_no_rows_reads_as_none(db: Store) -> None:
    """``query``/``query_one`` run a statement without rows (a test's DELETE) alike on both backends."""
    submit(db)
    assert db.query("DELETE FROM downloads WHERE submission_id = ?", (1,)) == []
    assert db.query_one("UPDATE contacts SET company = ? WHERE id = ?", ("Initech", 1)) is None
    assert db.get_contact(1)["company"] == "Initech"
