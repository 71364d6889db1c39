"""Exports: RFC 4180 CSV and JSON Lines, injection-safe in every preset, filters, incremental runs
(a crash mid-write included), split files, and the `leadmagnet export` command."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from leadmagnet.cli import cli
from leadmagnet.export import formats
from leadmagnet.export import presets as crm
from leadmagnet.export import writer as export
from leadmagnet.store import PENDING, utcnow
from leadmagnet.store.exporting import Cell
from leadmagnet.store.reports import Filters
from leadmagnet.web import services_of

pytestmark = pytest.mark.both_backends

PAYLOADS = ["=1+1", "+SUM(A1:A2)", "-2+3+cmd|' /C calc'!A0", "@SUM(1)", "\tTAB", "\rCR", '=HYPERLINK("http://x","y")']
TEXT_FIELDS = ("first_name", "last_name", "company", "job_title", "phone", "country")
META_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "referrer")


def add(store, email, offer="growth-playbook", kind="ebook", fields=None, **kw):
    return store.record_submission(offer_slug=offer, offer_type=kind, email=email, fields=fields or {}, **kw)


def run(store, **kw) -> str:
    buf = io.StringIO()
    kw.setdefault("split", 0)
    export.export(store, export.ExportRequest(**kw), buf)
    return buf.getvalue()


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.removeprefix(export.BOM), newline="")))


def invoke(cli_runner, instance_dir, content_dir, database, *args, **kw):
    kw["env"] = {"LEADMAGNET_DATABASE": database}  # the app's store, on either backend
    return cli_runner.invoke(cli, ["--instance", str(instance_dir), "--content", str(content_dir), "export", *args], **kw)


# -- injection -------------------------------------------------------------------------------


@pytest.fixture
def poisoned(store):
    for i, payload in enumerate(PAYLOADS):
        add(
            store,
            f"p{i}@example.com",
            fields=dict.fromkeys(TEXT_FIELDS, payload) | {"notes": payload, "wants_demo": True},  # notes: a custom text field
            meta=dict.fromkeys(META_FIELDS, payload),
            tags=[payload, "ok"],
            consent_text=payload,
        )
    return store


# Every format with every kind of row it exports (the CRM formats are contacts imports).
FORMAT_KINDS = [(preset, "contacts") for preset in sorted(crm.PRESETS)] + [("generic", "submissions")]


@pytest.mark.parametrize(("preset", "kind"), FORMAT_KINDS)
@pytest.mark.parametrize("output", ["csv", "jsonl"])
def test_injection_payloads_come_out_inert(poisoned, preset, kind, output) -> None:
    text = run(poisoned, preset=preset, kind=kind, output=output)
    rows = csv_rows(text) if output == "csv" else [json.loads(line) for line in text.splitlines()]
    assert len(rows) == len(PAYLOADS)
    cells = [value for row in rows for value in row.values()]
    assert cells, "no cells at all"
    dangerous = [c for c in cells if c.startswith(formats.FORMULA_TRIGGERS)]
    assert dangerous == []
    # and the payload is still there, made inert, wherever the preset shows names
    assert any(c.startswith("'=") for c in cells)
    # a custom answer too, in every preset: the HYPERLINK payload reaches the CRM inert
    assert [row["custom.notes"] for row in rows] == ["'" + p if p[0] in formats.FORMULA_TRIGGERS else p for p in PAYLOADS]


# -- CSV format ------------------------------------------------------------------------------


def test_phone_numbers_as_typed_for_importers_and_as_text_for_excel(store) -> None:
    add(store, "p@example.com", fields={"phone": "+1-202-555-0100"})
    assert csv_rows(run(store))[0]["phone"] == "+1-202-555-0100"
    assert csv_rows(run(store, excel=True).lstrip("\ufeff"))[0]["phone"] == "'+1-202-555-0100"  # Excel would show -856
    assert json.loads(run(store, output="jsonl", excel=True))["phone"] == "+1-202-555-0100"  # JSON is for programs


def test_csv_is_rfc4180_utf8_with_optional_bom(store) -> None:
    add(store, "q@example.com", fields={"company": 'Ünïcode, "Quoted"\nand two lines', "first_name": "Zoë"})
    text = run(store)
    assert text.startswith("email,")
    assert "\r\n" in text and text.count("\n") == text.count("\r\n") + 1  # CRLF record ends; the embedded newline stays LF
    assert '"Ünïcode, ""Quoted""\nand two lines"' in text
    row = csv_rows(text)[0]
    assert row["company"] == 'Ünïcode, "Quoted"\nand two lines' and row["first_name"] == "Zoë"
    excel = run(store, excel=True)
    assert excel.startswith("\ufeffemail,") and excel.encode("utf-8")[:3] == b"\xef\xbb\xbf"


def test_jsonl_round_trip_matches_csv(store) -> None:
    custom = {"plan": "pro", "demo": True, "notes": 'Zoë, "quoted"\nline'}
    add(store, "a@example.com", fields={"first_name": "Ann", "company": "A, B\nC", **custom}, tags=["x", "y"], consent_text="yes")
    add(store, "b@example.com", offer="q1-product-demo", kind="webinar", fields={"last_name": "Émile"}, meta={"utm_source": "news"})
    for kind in ("contacts", "submissions"):
        lines = run(store, kind=kind, output="jsonl").splitlines()
        decoded = [json.loads(line) for line in lines]
        assert decoded == csv_rows(run(store, kind=kind))
        assert all(json.dumps(d, ensure_ascii=False) == line for d, line in zip(decoded, lines, strict=True))
    subs = [json.loads(line) for line in run(store, kind="submissions", output="jsonl").splitlines()]
    assert [s["email"] for s in subs] == ["a@example.com", "b@example.com"]
    assert subs[1]["utm_source"] == "news" and subs[1]["last_name"] == "Émile"
    # custom answers: flat "custom.NAME" keys, the same cells as the CSV; an unanswered field is empty
    assert [(s["custom.demo"], s["custom.notes"], s["custom.plan"]) for s in subs] == [("true", custom["notes"], "pro"), ("", "", "")]
    assert list(subs[0])[-3:] == ["custom.demo", "custom.notes", "custom.plan"]


def test_custom_answers_without_a_catalog_have_a_column_per_answered_field(store) -> None:
    """The store alone knows the fields people answered: one column each, select answers as values."""
    add(store, "a@example.com", fields={"team_size": "2-5", "newsletter": False})
    add(store, "b@example.com", offer="q1-product-demo", kind="webinar", fields={"question": "When?"})
    add(store, "a@example.com", offer="q1-product-demo", kind="webinar", fields={"question": "Replay?", "newsletter": True})
    add(store, "spam@example.com", fields={"bot_field": "x"}, spam_reason="honeypot")
    subs = csv_rows(run(store, kind="submissions"))
    assert [h for h in subs[0] if h.startswith("custom.")] == ["custom.newsletter", "custom.question", "custom.team_size"]
    assert [(r["custom.newsletter"], r["custom.question"], r["custom.team_size"]) for r in subs] == [
        ("false", "", "2-5"),
        ("", "When?", ""),
        ("true", "Replay?", ""),
    ]
    contacts = {r["email"]: r for r in csv_rows(run(store))}
    assert (contacts["a@example.com"]["custom.newsletter"], contacts["a@example.com"]["custom.team_size"]) == ("true", "2-5")  # latest
    assert contacts["b@example.com"]["custom.team_size"] == ""
    with_spam = csv_rows(run(store, kind="submissions", filters=Filters(include_spam=True)))
    assert with_spam[-1]["custom.bot_field"] == "x"
    assert "custom.question" not in csv_rows(run(store, kind="submissions", filters=Filters(offers=("growth-playbook",))))[0]


# -- filters ---------------------------------------------------------------------------------


@pytest.fixture
def mixed(store):
    add(store, "ebook@example.com", tags=["ebook"], now="2026-01-10T10:00:00.000000+00:00", consent_text="ok")
    add(store, "webinar@example.com", offer="q1-product-demo", kind="webinar", tags=["webinar"], now="2026-02-10T10:00:00.000000+00:00")
    add(store, "spam@example.com", spam_reason="honeypot", now="2026-02-11T10:00:00.000000+00:00")
    add(store, "gone@example.com", now="2026-02-12T10:00:00.000000+00:00", consent_text="ok")
    store.unsubscribe(store.get_contact_by_email("gone@example.com")["id"], "2026-02-13T00:00:00+00:00")
    return store


def emails(store, **filters) -> list[str]:
    return [r["email"] for r in csv_rows(run(store, filters=Filters(**filters)))]


def test_filters(mixed) -> None:
    assert emails(mixed) == ["ebook@example.com", "webinar@example.com"]  # no spam, no unsubscribed
    assert emails(mixed, include_spam=True) == ["ebook@example.com", "webinar@example.com", "spam@example.com"]
    assert emails(mixed, include_unsubscribed=True) == ["ebook@example.com", "webinar@example.com", "gone@example.com"]
    assert emails(mixed, offers=("q1-product-demo",)) == ["webinar@example.com"]
    assert emails(mixed, offers=("q1-product-demo", "growth-playbook")) == ["ebook@example.com", "webinar@example.com"]
    assert emails(mixed, tag="ebook") == ["ebook@example.com"]
    assert emails(mixed, since="2026-02-01T00:00:00+00:00") == ["webinar@example.com"]
    assert emails(mixed, until="2026-02-01T00:00:00+00:00") == ["ebook@example.com"]
    assert emails(mixed, consented_only=True) == ["ebook@example.com"]
    assert emails(mixed, consented_only=True, include_unsubscribed=True) == ["ebook@example.com"]  # withdrawn consent is not consent


def test_cli_filters_and_kinds(mixed, cli_runner, instance_dir, content_dir, database) -> None:
    result = invoke(
        cli_runner, instance_dir, content_dir, database, "--offer", "growth-playbook", "--offer", "q1-product-demo", "--since", "2026-02-01"
    )
    assert result.exit_code == 0, result.output
    assert [r["email"] for r in csv_rows(result.stdout)] == ["webinar@example.com"]
    result = invoke(cli_runner, instance_dir, content_dir, database, "--submissions", "--jsonl", "--include-spam", "--include-unsubscribed")
    assert [json.loads(line)["email"] for line in result.stdout.splitlines()] == [
        "ebook@example.com",
        "webinar@example.com",
        "spam@example.com",
        "gone@example.com",
    ]
    result = invoke(cli_runner, instance_dir, content_dir, database, "--tag", "webinar", "--consented-only")
    assert result.exit_code == 0 and csv_rows(result.stdout) == []


def test_cli_bad_input_names_the_option(mixed, cli_runner, instance_dir, content_dir, database, tmp_path) -> None:
    result = invoke(cli_runner, instance_dir, content_dir, database, "--since", "last week")
    assert result.exit_code != 0 and "--since" in result.output and "ISO 8601" in result.output
    result = invoke(cli_runner, instance_dir, content_dir, database, "-f", "zoho")
    assert result.exit_code != 0 and "unknown export format 'zoho'" in result.output and "hubspot" in result.output
    result = invoke(cli_runner, instance_dir, content_dir, database, "--split", "1")
    assert result.exit_code != 0 and "-o FILE" in result.output


# -- files, split, incremental ---------------------------------------------------------------


def test_split_writes_numbered_files_each_with_a_header(store, tmp_path) -> None:
    tmp_path = tmp_path / "out"
    for i in range(5):
        add(store, f"s{i}@example.com", fields={"last_name": f"L{i}"})
    tmp_path.mkdir()
    for stale in ("leads-004.csv", "leads-005.csv"):  # from an earlier, longer export
        (tmp_path / stale).write_text("old rows\n")
    result = export.export(store, export.ExportRequest(preset="salesforce", split=2), tmp_path / "leads.csv")
    assert [p.name for p in result.files] == ["leads-001.csv", "leads-002.csv", "leads-003.csv"]
    parts = [csv_rows(p.read_text(encoding="utf-8")) for p in result.files]
    assert [len(p) for p in parts] == [2, 2, 1]
    assert [r["Email"] for p in parts for r in p] == [f"s{i}@example.com" for i in range(5)]
    assert sorted(os.listdir(tmp_path)) == ["leads-001.csv", "leads-002.csv", "leads-003.csv"]


def test_incremental_exports_each_row_once_across_runs(store, tmp_path) -> None:
    add(store, "a@example.com")
    add(store, "b@example.com")
    first = export.export(store, export.ExportRequest(kind="submissions", since_last="crm"), tmp_path / "1.csv")
    assert first.rows == 2
    add(store, "c@example.com")
    add(store, "a@example.com", offer="q1-product-demo", kind="webinar")
    second = export.export(store, export.ExportRequest(kind="submissions", since_last="crm"), tmp_path / "2.csv")
    third = export.export(store, export.ExportRequest(kind="submissions", since_last="crm"), tmp_path / "3.csv")
    got = [[(r["email"], r["offer_slug"]) for r in csv_rows((tmp_path / f"{n}.csv").read_text())] for n in (1, 2, 3)]
    assert got == [
        [("a@example.com", "growth-playbook"), ("b@example.com", "growth-playbook")],
        [("c@example.com", "growth-playbook"), ("a@example.com", "q1-product-demo")],
        [],
    ]
    assert (second.rows, third.rows) == (2, 0)
    # contacts mode: a contact comes back (updated) only when it has something new
    export.export(store, export.ExportRequest(since_last="contacts"), tmp_path / "c1.csv")
    add(store, "b@example.com", offer="q1-product-demo", kind="webinar")
    export.export(store, export.ExportRequest(since_last="contacts"), tmp_path / "c2.csv")
    again = csv_rows((tmp_path / "c2.csv").read_text())
    assert [(r["email"], r["offers"]) for r in again] == [("b@example.com", "growth-playbook, q1-product-demo")]


def test_crash_mid_write_leaves_no_file_and_no_cursor_then_rerun_is_complete(store, tmp_path) -> None:
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    for i in range(10):
        add(store, f"r{i}@example.com")
    target = tmp_path / "out.csv"
    target.write_text("the previous export\n")

    def crash(n: int) -> None:  # called after each chunk of rows written (a split file's share at most)
        if n >= 6:
            raise RuntimeError("disk unplugged")

    with pytest.raises(RuntimeError):
        export.export(store, export.ExportRequest(kind="submissions", since_last="nightly"), target, on_row=crash)
    assert target.read_text() == "the previous export\n"  # untouched: no half file
    assert os.listdir(tmp_path) == ["out.csv"]  # no temporary file left behind
    assert store.get_export_cursor("nightly") == 0

    with pytest.raises(RuntimeError):  # a split export crashing in its second file
        export.export(store, export.ExportRequest(kind="submissions", since_last="nightly", split=4), target, on_row=crash)
    assert os.listdir(tmp_path) == ["out.csv"]

    export.export(store, export.ExportRequest(kind="submissions", since_last="nightly"), target)
    for i in range(10, 13):
        add(store, f"r{i}@example.com")
    export.export(store, export.ExportRequest(kind="submissions", since_last="nightly"), tmp_path / "next.csv")
    seen = [r["email"] for name in ("out.csv", "next.csv") for r in csv_rows((tmp_path / name).read_text())]
    assert seen == [f"r{i}@example.com" for i in range(13)]  # none skipped, none repeated


def test_killed_export_process_moves_no_cursor(make_app, instance_dir, content_dir, database, tmp_path) -> None:
    """A real `leadmagnet export` killed with SIGKILL while writing: the next run still has every row."""
    app = make_app()
    store = services_of(app).store
    # Enough rows to fill the pipe (~64 KiB), so the child blocks mid-export until we kill it.
    for i in range(1500):
        add(store, f"k{i:05d}@example.com", fields={"company": "x" * 60})
    store.close()
    cmd = [sys.executable, "-m", "leadmagnet.cli", "--instance", str(instance_dir), "--content", str(content_dir)]
    cmd += ["export", "--submissions", "--since-last", "pipe"]
    env = {**os.environ, "LEADMAGNET_DATABASE": database}
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    try:
        head = child.stdout.read(4096)
        assert head.startswith(b"submission_id,")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert store.get_export_cursor("pipe") == 0
    done = subprocess.run(cmd, capture_output=True, timeout=120, check=True, env=env)
    rows = csv_rows(done.stdout.decode())
    assert [r["email"] for r in rows] == [f"k{i:05d}@example.com" for i in range(1500)]
    assert store.get_export_cursor("pipe") == 1500
    again = subprocess.run(cmd, capture_output=True, timeout=120, check=True, env=env)
    assert csv_rows(again.stdout.decode()) == []


def test_cli_writes_file_and_reports_count(mixed, cli_runner, instance_dir, content_dir, database, tmp_path) -> None:
    out = tmp_path / "hub.csv"
    result = invoke(cli_runner, instance_dir, content_dir, database, "-f", "hubspot", "-o", str(out), "--since-last", "hub")
    assert result.exit_code == 0, result.output
    assert "exported 2 contacts" in result.stderr
    assert "Exporting" not in result.stderr and "\x1b[" not in result.stderr  # no progress bar when not on a terminal
    assert [r["Email"] for r in csv_rows(out.read_text())] == ["ebook@example.com", "webinar@example.com"]
    result = invoke(cli_runner, instance_dir, content_dir, database, "-f", "hubspot", "-o", str(out), "--since-last", "hub")
    assert "exported 0 contacts" in result.stderr
    assert csv_rows(out.read_text()) == []


def test_export_streams_rows_from_a_cursor(store) -> None:
    """Rows come in chunks from one cursor: the generator is lazy (nothing is materialised up front)."""
    for i in range(3):
        add(store, f"g{i}@example.com")
    chunks = store.export_query("contacts", Filters()).chunks([Cell("email")], size=2)
    assert not isinstance(chunks, list)
    assert next(chunks) == [("g0@example.com",), ("g1@example.com",)]
    add(store, "late@example.com")  # committed after the export started: the next run has it
    assert list(chunks) == [[("g2@example.com",)]]
    assert store.backend == "postgresql" or Path(store.path).exists()


@pytest.mark.parametrize("kind", ["contacts", "submissions"])
def test_incremental_consented_export_picks_up_a_contact_who_confirms_later(store, kind) -> None:
    """Pending double opt-in is left out of --consented-only; once confirmed, the next run has it."""
    with store.transaction() as tx:
        pending = tx.record_submission(
            offer_slug="growth-playbook", offer_type="ebook", email="a@example.com", fields={}, consent_text="yes", status=PENDING
        )
        tx.mark_opt_in_pending(pending["contact_id"])
    add(store, "b@example.com", consent_text="yes")

    def emails() -> list[str]:
        return [r["email"] for r in csv_rows(run(store, kind=kind, filters=Filters(consented_only=True), since_last="mc"))]

    assert emails() == ["b@example.com"]
    assert store.confirm_opt_in(pending["submission"]["id"], utcnow()) is not None
    assert emails() == ["a@example.com"]
    assert emails() == []  # and not repeated afterwards
