"""Schema migrations: a database made by the first migration, with rows in it, upgrades in place."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from leadmagnet.app import create_app
from leadmagnet.store import Store


def first_schema_database(path: Path) -> None:
    """A database as the first version made it: m001 only, with a contact, a submission, views."""
    old = Store(path)
    applied = old.migrate(stop_before="m002_offer_context")
    assert applied == ["m001_capture"]
    old.close()
    # Rows as the first version wrote them: its columns only, so not through today's verbs.
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO contacts (email, first_name, custom, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)",
            ("ada@example.com", "Ada", '{"team": "1"}', "2025-01-01T00:00:00+00:00", "2025-01-01T00:00:00+00:00"),
        )
        conn.execute(
            "INSERT INTO submissions (contact_id, offer_slug, offer_type, data, utm_source, spam, created_at) VALUES (1, ?, ?, ?, ?, 0, ?)",
            ("guide", "ebook", '{"email": "ada@example.com"}', "news", "2025-01-01T00:00:00+00:00"),
        )
        conn.execute("INSERT INTO page_views (offer_slug, day, utm_source, views) VALUES ('guide', '2025-01-01', '', 7)")
    conn.close()


def test_a_first_schema_database_upgrades_in_place_with_nothing_lost(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    first_schema_database(path)
    store = Store(path)
    applied = store.migrate()
    every = Store(tmp_path / "new.db").pending_migrations()
    assert applied == every[1:]
    assert store.schema_version() == every
    contact = store.get_contact_by_email("ada@example.com")
    assert contact["first_name"] == "Ada" and contact["custom"] == '{"team": "1"}'
    [row] = store.submissions()
    assert (row["offer_slug"], row["utm_source"], row["tags"], row["stage"], row["status"]) == ("guide", "news", "[]", None, "ok")
    assert [r["views"] for r in store.page_views()] == [7]
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


def test_a_database_before_link_stamps_upgrades_with_every_row_kept(tmp_path: Path) -> None:
    """m006 only adds store_meta: every row of every table is still there, unchanged."""
    path = tmp_path / "m005.db"
    old = Store(path)
    assert old.migrate(stop_before="m006_link_stamps")[-1] == "m005_outbox_template"
    sub = old.record_submission(offer_slug="guide", offer_type="ebook", email="ada@example.com", fields={"first_name": "Ada"})
    sid, cid = sub["submission"]["id"], sub["contact_id"]
    old.record_download(sid, "2026-01-01T00:00:00.000000+00:00", range_request=True)
    old.enqueue_email(
        submission_id=sid,
        contact_id=cid,
        kind="delivery",
        to_addr="ada@example.com",
        subject="Hi",
        now="2026-01-01T00:00:00+00:00",
        template="download",
    )
    old.unsubscribe(cid, "2026-01-02T00:00:00.000000+00:00")
    old.add_user("boss@example.com", "hash")
    old.save_export_cursor("crm", sid)
    tables = [t for t in old.tables() if not t.startswith("_")]
    before = {t: old.query(f'SELECT * FROM "{t}" ORDER BY rowid') for t in tables}  # noqa: S608
    old.close()

    store = Store(path)
    started = datetime.now(UTC).isoformat(timespec="microseconds")
    assert store.migrate() == [
        "m006_link_stamps",
        "m007_released_spam",
        "m008_sent_message_index",
        "m009_webinar_times",
        "m010_nurture",
        "m011_hooks_webhooks",
        "m012_ab_variants",
        "m013_dashboard_rollups",
        "m014_variant_rollup",
        "m015_submit_rollup_triggers",
        "m016_dashboard_speed",
        "m017_export_contact_summaries",
    ]
    after = {t: store.query(f'SELECT * FROM "{t}" ORDER BY rowid') for t in tables}  # noqa: S608
    assert all(row.pop("released_at") is None for row in after["submissions"])  # m007's new column, empty
    assert all(row.pop("attendance") is None for row in after["submissions"])  # m010's, unknown
    nurture = [(c.pop("score"), c.pop("score_at"), c.pop("lifecycle_stage"), c.pop("sales_qualified_at")) for c in after["contacts"]]
    assert nurture == [(0, None, "subscriber", None)]  # m010's: no score yet
    assert all(row.pop("variant") is None for row in after["submissions"])  # m012's new column, empty
    assert [(row.pop("offer_slug"), row.pop("contact_id")) for row in after["downloads"]] == [("guide", cid)]  # m013's, filled
    assert after == before
    assert "outbox_failed" in {i["name"] for i in store.query("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert set(store.tables()) - set(tables) - {"_leadmagnet_migrations", "_sqlite_migrations"} == {
        "store_meta",
        "webinar_times",
        "score_events",
        "sequence_progress",
        "sequence_versions",
        "webhook_events",
        "webhook_deliveries",
        "webhook_endpoints",
        "variant_views",
        "lead_days",
        "page_view_details",
        "variant_lead_days",
        "offer_people",
        "offer_days",
        "lead_responses",
        "contact_summaries",
    }
    moments = {r["key"]: r["value"] for r in store.query("SELECT * FROM store_meta")}
    assert set(moments) == {"range_downloads_counted_since"}
    assert all(started <= moment <= datetime.now(UTC).isoformat(timespec="microseconds") for moment in moments.values())
    assert store.integrity_check() == "ok" and store.query("PRAGMA foreign_key_check") == []
    assert store.migrate() == []


def test_the_lighter_rollup_triggers_count_as_the_first_ones(tmp_path: Path) -> None:
    """m014 replaces the lead_days triggers: leads counted by m013's, then by m014's (inserted,
    released from spam, erased), give the roll-up that a database made with m014's alone gives."""
    referrers = [None, "", "https://www.google.com/search?q=x", "https://h.io#f/p?q", "u@mail.example:8080/x", "android-app://com.slack/"]

    def fill(store: Store, numbers: range) -> None:
        for i in numbers:
            store.record_submission(
                offer_slug="guide",
                offer_type="ebook",
                email=f"p{i}@example.com",
                fields={},
                meta={"referrer": referrers[i % len(referrers)], "utm_source": "News" if i % 2 else None},
                spam_reason="honeypot" if i in (5, 17) else None,
                now=f"2026-03-0{1 + i % 3}T10:00:00.000000+00:00",
            )

    upgraded = Store(tmp_path / "old.db")
    upgraded.migrate(stop_before="m015_submit_rollup_triggers")
    fill(upgraded, range(0, 12))
    assert upgraded.migrate() == ["m015_submit_rollup_triggers", "m016_dashboard_speed", "m017_export_contact_summaries"]
    fill(upgraded, range(12, 24))
    fresh = Store(tmp_path / "new.db")
    fresh.migrate()
    fill(fresh, range(0, 24))
    for store in (upgraded, fresh):
        assert store.release_spam(6, "ok")["result"] == "released"  # p5's: an update of the counted columns
        assert store.erase_contact("p2@example.com") is not None  # a delete
    roll_up = "SELECT * FROM lead_days ORDER BY offer_slug, day, dimension, value"
    assert upgraded.query(roll_up) == fresh.query(roll_up)
    assert {r["value"] for r in fresh.query(roll_up) if r["dimension"] == "referrer"} == {
        "",
        "google.com",
        "h.io",
        "mail.example",
        "com.slack",
    }
