"""Schema migrations: a database made by the first migration, with rows in it, upgrades in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from leadmagnet import create_app
from leadmagnet.store import Store
from leadmagnet.store.migrations import migrations


def first_schema_database(path: Path) -> None:
    """A database as the first version made it: m001 only, with a contact, a submission, views."""
    old = Store(path)
    applied = old.migrate(stop_before="m002_offer_context")
    assert applied == ["m001_capture"]
    with old.transaction() as conn:
        conn.execute(
            "INSERT INTO contacts (email, first_name, custom, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)",
            ("ada@example.com", "Ada", '{"team": "1"}', "2025-01-01T00:00:00+00:00", "2025-01-01T00:00:00+00:00"),
        )
        conn.execute(
            "INSERT INTO submissions (contact_id, offer_slug, offer_type, data, utm_source, spam, created_at) VALUES (1, ?, ?, ?, ?, 0, ?)",
            ("guide", "ebook", '{"email": "ada@example.com"}', "news", "2025-01-01T00:00:00+00:00"),
        )
        conn.execute("INSERT INTO page_views (offer_slug, day, utm_source, views) VALUES ('guide', '2025-01-01', '', 7)")
    old.close()


def test_a_first_schema_database_upgrades_in_place_with_nothing_lost(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    first_schema_database(path)
    store = Store(path)
    applied = store.migrate()
    assert applied == [m.name for m in migrations._migrations][1:]
    assert store.schema_version() == [m.name for m in migrations._migrations]
    contact = store.get_contact_by_email("ada@example.com")
    assert contact["first_name"] == "Ada" and contact["custom"] == '{"team": "1"}'
    [row] = store.query("SELECT * FROM submissions")
    assert (row["offer_slug"], row["utm_source"], row["tags"], row["stage"], row["status"]) == ("guide", "news", "[]", None, "ok")
    assert store.query("SELECT views FROM page_views") == [{"views": 7}]
    assert store.integrity_check() == "ok"
    # the upgraded database takes new submissions, and a second start has nothing to do
    store.record_submission(offer_slug="guide", offer_type="ebook", email="grace@example.com", fields={}, tags=("x",))
    assert store.count_submissions() == 2
    assert store.migrate() == []


def test_the_app_upgrades_an_old_database_on_start(tmp_path: Path, content_dir: Path) -> None:
    path = tmp_path / "instance" / "leadmagnet.db"
    path.parent.mkdir()
    first_schema_database(path)
    app = create_app({"CONTENT_DIR": str(content_dir), "INSTANCE_DIR": str(tmp_path / "instance"), "THEMES_DIR": str(tmp_path / "t")})
    response = app.test_client().post("/seo-checklist", data={"email": "grace@example.com"})
    assert response.status_code == 303
    rows = sqlite3.connect(path).execute("SELECT offer_slug FROM submissions ORDER BY id").fetchall()
    assert rows == [("guide",), ("seo-checklist",)]


def test_a_new_database_gets_every_table(tmp_path: Path) -> None:
    store = Store(tmp_path / "new.db")
    store.migrate()
    assert {"contacts", "submissions", "page_views"} <= set(store.tables())
    columns = {r["name"] for r in store.query("PRAGMA table_info(submissions)")}
    assert {
        "utm_source",
        "referrer",
        "user_agent",
        "ip_marker",
        "spam",
        "spam_reason",
        "consent_text",
        "consent_at",
        "created_at",
    } <= columns
    assert store.query_one("PRAGMA journal_mode")["journal_mode"] == "wal"
