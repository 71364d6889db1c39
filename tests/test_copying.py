"""``leadmagnet db copy --to URL`` (store/copying.py, cli/copying.py): an SQLite install with leads,
downloads, seats, emails, webhooks, scores and page views moved to a real PostgreSQL database,
every row and id kept, the roll-ups not counted twice, a count check per table."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from leadmagnet.cli import cli
from leadmagnet.export.exports import Exports
from leadmagnet.store import Store
from leadmagnet.store.copying import CopyRefused, copy_install
from leadmagnet.store.reports import Filters

NOW = "2026-03-02T10:00:00.000000+00:00"


def fill(store: Store) -> None:
    """An install that has seen a bit of everything: the verbs write it as the app would."""
    store.migrate()
    ids = []
    for n in range(30):
        out = store.record_submission(
            offer_slug="guide" if n % 3 else "demo-day",
            offer_type="ebook" if n % 3 else "webinar",
            email=f"p{n % 25}@example.com",
            fields={"first_name": f"P{n}", "team": "2-5"},
            meta={
                "utm_source": ["news", "ads", ""][n % 3],
                "variant": "ab"[n % 2],
                "referrer": "https://www.x.example/a",
                "user_agent": "Mozilla/5.0 (iPhone)",
            },
            tags=("growth",),
            spam_reason="honeypot" if n == 7 else None,
            now=f"2026-03-0{1 + n % 2}T09:{n:02d}:00.000000+00:00",
        )
        sid, cid = out["submission"]["id"], out["contact_id"]
        ids.append(sid)
        if n % 3 == 0:
            store.claim_seat(sid, "demo-day", 4)
        else:
            store.record_download(sid, NOW)
        oid = store.enqueue_email(
            submission_id=sid,
            contact_id=cid,
            kind="delivery",
            to_addr=f"p{n}@example.com",
            subject="Your guide",
            now=NOW,
            message=b"\x00raw\\ \xff",
        )
        if oid and n % 2:
            store.mark_attempt(oid, at=NOW, ok=True)
        store.add_points(cid, key=f"submit:{sid}", event="submit", points=5, now=NOW, offer_slug="guide")
        store.start_sequence(contact_id=cid, submission_id=sid, offer_slug="guide", started_at=NOW, next_due_at=NOW)
        store.enqueue_webhook(
            event_id=f"evt-{n}",
            type="lead.created",
            contact_id=cid,
            body=json.dumps({"n": n}),
            endpoints=["https://crm.example/h"],
            now=NOW,
        )
    store.add_page_views({("guide", "2026-03-01", "news", "", "", "x.example", "mobile"): 40, ("demo-day", "2026-03-02", ""): 9})
    store.add_variant_views({("guide", "2026-03-01", "a"): 5})
    store.reschedule_sequence("guide", "v1", [])
    store.move_webinar("demo-day", "2026-04-01T15:00:00+00:00", now=NOW)
    store.webhook_endpoint_failed("https://crm.example/h", at=NOW, disable_after=5)
    store.save_export_cursor("crm", ids[-1], as_of=NOW)
    store.add_user("admin@example.com", "hash")
    store.audit("admin@example.com", "export", {"rows": 3})


def table_rows(store: Store, table: str) -> list[dict]:
    return sorted((store.query(f'SELECT * FROM "{table}"')), key=repr)  # noqa: S608


@pytest.fixture
def install(tmp_path: Path) -> Path:
    instance = tmp_path / "instance"
    source = Store(instance / "leadmagnet.db")
    fill(source)
    source.shutdown()
    return instance


def test_db_copy_moves_every_row_and_id_and_the_next_submission_gets_a_fresh_id(install: Path, pg_url: str) -> None:
    result = CliRunner().invoke(cli, ["--instance", str(install), "db", "copy", "--to", pg_url, "--batch", "7"])
    assert result.exit_code == 0, result.output
    assert "ok:" in result.stderr and "DIFFERS" not in result.stdout

    source, target = Store(install / "leadmagnet.db"), Store(pg_url)
    try:
        copied = [t for t in source.tables() if not t.startswith("_")]
        assert {
            "submissions",
            "downloads",
            "outbox",
            "email_attempts",
            "webhook_events",
            "webhook_deliveries",
            "score_events",
            "page_views",
            "page_view_details",
            "variant_views",
            "lead_days",
            "variant_lead_days",
            "users",
            "audit_log",
        } <= set(copied)
        for table in copied:
            rows = table_rows(source, table)
            if table != "store_meta":
                assert rows, f"the fixture left {table} empty: the test would prove nothing there"
            assert table_rows(target, table) == rows, table  # every value, ids and roll-ups included
            assert f"\n{table} " in result.stdout  # the count table names it

        last = source.max_submission_id()
        out = target.record_submission(offer_slug="guide", offer_type="ebook", email="new@example.com", fields={})
        assert out["submission"]["id"] == last + 1
        assert (
            target.query_one(
                "SELECT submissions FROM lead_days WHERE offer_slug = 'guide' AND day = ? AND dimension = 'total'",
                (out["submission"]["created_at"][:10],),
            )["submissions"]
            == 1
        )  # the triggers are back on
        before = source.query_one(
            "SELECT submissions FROM lead_days WHERE offer_slug = 'guide' AND day = '2026-03-01' AND dimension = 'total'"
        )
        after = target.query_one(
            "SELECT submissions FROM lead_days WHERE offer_slug = 'guide' AND day = '2026-03-01' AND dimension = 'total'"
        )
        assert before == after and before["submissions"] > 0  # copied once, not counted again by the triggers
    finally:
        source.shutdown()
        target.shutdown()


def test_a_target_with_rows_is_refused_and_left_as_it_was(install: Path, pg_url: str) -> None:
    target = Store(pg_url)
    target.migrate()
    target.add_user("someone@example.com", "hash")
    target.shutdown()

    result = CliRunner().invoke(cli, ["--instance", str(install), "db", "copy", "--to", pg_url])
    assert result.exit_code == 1
    assert "already has rows (in audit_log, users)" in result.output and "nothing copied" in result.output

    target = Store(pg_url)
    try:
        assert target.query("SELECT email FROM users") == [{"email": "someone@example.com"}]
        assert target.count_submissions(include_spam=True) == 0
    finally:
        target.shutdown()


def test_a_copy_that_fails_half_way_leaves_the_target_empty(install: Path, pg_url: str) -> None:
    source = Store(install / "leadmagnet.db")
    source.conn.execute("UPDATE outbox SET attempts = 'many' WHERE id = 3")  # a value PostgreSQL's INTEGER refuses
    target = Store(pg_url)
    try:
        with pytest.raises(Exception, match="many"):
            copy_install(source, target)
        assert target.count_submissions(include_spam=True) == 0
        assert target.query("SELECT count(*) AS n FROM lead_days") == [{"n": 0}]
        assert target.query("SELECT tgenabled FROM pg_trigger WHERE tgname = 'lead_days_insert'") == [{"tgenabled": "O"}]
    finally:
        source.shutdown()
        target.shutdown()


def test_only_sqlite_to_postgresql(tmp_path: Path, pg_url: str) -> None:
    a, b = Store(tmp_path / "a.db"), Store(tmp_path / "b.db")
    with pytest.raises(CopyRefused, match="postgresql:// URL"):
        copy_install(a, b)
    result = CliRunner().invoke(cli, ["--instance", str(tmp_path / "nothing"), "db", "copy", "--to", pg_url])
    assert result.exit_code == 1 and "no SQLite database at" in result.output


def test_the_count_check_names_a_table_that_lost_a_row(install: Path, pg_url: str) -> None:
    source, target = Store(install / "leadmagnet.db"), Store(pg_url)

    def lose_one(table: str, _rows: int) -> None:
        if table == "audit_log":  # inside the copy's transaction, on its connection: a row goes missing
            target.conn.execute("DELETE FROM audit_log WHERE id = (SELECT min(id) FROM audit_log)")

    try:
        counts = {c.table: c for c in copy_install(source, target, progress=lose_one)}
        assert [t for t, c in counts.items() if not c.ok] == ["audit_log"]
        assert counts["audit_log"].target == counts["audit_log"].source - 1
        assert counts["submissions"].source == counts["submissions"].target == 30
    finally:
        source.shutdown()
        target.shutdown()


@pytest.mark.parametrize(("kind", "preset"), [("contacts", "hubspot"), ("submissions", "generic")])
def test_the_copy_exports_the_same_bytes_as_the_original(install: Path, pg_url: str, kind: str, preset: str) -> None:
    source, target = Store(install / "leadmagnet.db"), Store(pg_url)
    try:
        copy_install(source, target)
        files = []
        for store in (source, target):
            exports = Exports(store)
            out = io.StringIO()
            exports.write(exports.prepare(Filters(include_spam=True), kind=kind, preset=preset, single_stream=True), out)
            files.append(out.getvalue())
        assert files[0].count("\n") > 20
        assert files[1] == files[0]
    finally:
        source.shutdown()
        target.shutdown()
