"""Exports computed in SQL (store/exporting.py) give the same bytes as the row-by-row Python path did.

``tests/data/export_golden.json`` holds the output of every preset, kind, output and filter below
over one varied database (unicode, quotes, newlines, formula-looking values in every column,
custom answers of every JSON type, select labels per offer, erased, unsubscribed, pending and
spam contacts, several submissions per contact, times in other zones and without one), recorded
with the Python path before the export moved into SQL. Rerecord (only when an export's output is
meant to change) with ``LEADMAGNET_RECORD_GOLDEN=1``.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
from pathlib import Path

import pytest

from leadmagnet.export import formats
from leadmagnet.export import presets as crm
from leadmagnet.export.exports import Exports
from leadmagnet.store.reports import Filters
from leadmagnet.web import services_of

pytestmark = pytest.mark.both_backends  # the same bytes from SQLite's SQL and from PostgreSQL's rows

GOLDEN = Path(__file__).parent / "data" / "export_golden.json"
RECORD = os.environ.get("LEADMAGNET_RECORD_GOLDEN") == "1"

NASTY = ["=1+1", "+SUM(A1:A2)", "-2+3+cmd|' /C calc'!A0", "@SUM(1)", "\tTAB", "\rCR", "+44 20 7946 0958", "-", "-5"]
NASTY += ['Zoë "quoted", comma', "two\nlines", "crlf\r\nend", "日本語テキスト", "x" * 300, "é" * 200, "'already", "", " "]

OFFER = """---
title: {title}
type: ebook
description: An ebook with its own questions.
file: files/guide.pdf
fields:
  - first_name
  - last_name
  - company
  - name: volume
    label: Emails you send each month
    type: select
    choices:
      - small: {small}
      - large: 10,000 or more
  - name: wants_demo
    label: I would like a demo
    type: checkbox
  - name: notes
    label: Anything else?
---
The pitch.
"""

TIMES = {"_at": ("datetime", "date"), "een": ("datetime", "date")}  # first_seen, last_seen
SITE_PRESETS = {
    "everything": {
        "columns": [[f"{name} {fmt}", name, fmt] for name in crm.CONTACT_FIELDS for fmt in ("text", "required", *TIMES.get(name[-3:], ()))]
        + [
            [fmt, "first_seen" if fmt in ("datetime", "date") else "tags" if fmt == "mailchimp_tags" else "email", fmt]
            for fmt in crm.FORMATS
        ]
        + [["Volume label", "custom.volume", "label"], ["Demo yes/no", "custom.wants_demo", "yesno"], ["Notes", "custom.notes"]],
        "clip_bytes": 20,
    },
    "hubspot-plus": {"base": "hubspot", "columns": [["Monthly volume", "custom.volume", "label"]]},
    "subs": {
        "columns": [[f"{name} {fmt}", name, fmt] for name in crm.SUBMISSION_FIELDS for fmt in ("text", *TIMES.get(name[-3:], ()))]
        + [["Country code", "country", "country_code"], ["Company", "company", "required"], ["Tags", "tags", "mailchimp_tags"]]
        + [["Volume", "custom.volume", "label"], ["Demo", "custom.wants_demo", "bool01"]]
    },
}


def at(day: int, rest: str = "09:10:11.123456+00:00") -> str:
    return f"2026-03-{day:02d}T{rest}"


@pytest.fixture
def varied(make_app, content_dir: Path, instance_dir: Path):
    """One database with every kind of row and value an export meets."""
    (content_dir / "files").mkdir(exist_ok=True)
    (content_dir / "files" / "guide.pdf").write_bytes(b"%PDF-1.4\n")
    (content_dir / "qualify.md").write_text(OFFER.format(title="Qualify", small="Under 10,000"), encoding="utf-8")
    (content_dir / "qualify-two.md").write_text(OFFER.format(title="Qualify two", small="=Tiny"), encoding="utf-8")
    instance_dir.mkdir(parents=True, exist_ok=True)
    app = make_app()
    store = services_of(app).store
    answers = [
        {"volume": "small", "wants_demo": True, "notes": '=HYPERLINK("http://x","y")'},
        {"volume": "large", "wants_demo": False, "notes": "Zoë\nline two"},
        {"volume": "unknown-choice", "notes": 7},
        {"volume": "small", "wants_demo": None, "notes": 2.5},
        {"notes": 1e16, "other": ["a", "b"], "nested": {"k": "v"}},
        {"notes": -3, "wants_demo": True},
        {},
    ]
    offers = [
        ("qualify", "ebook", "tofu"),
        ("qualify-two", "ebook", "mofu"),
        ("q1-product-demo", "webinar", "bofu"),
        ("growth-playbook", "ebook", None),
    ]
    n = 0
    for i, value in enumerate(NASTY):
        builtin = dict.fromkeys(("first_name", "last_name", "company", "job_title", "phone", "country"), value)
        if i % 4 == 1:
            builtin["country"] = ["Germany", "uk", "Narnia", "fr"][i % 4]
        if i % 5 == 2:
            builtin = {}
        for k in range(1 + i % 3):
            slug, kind, stage = offers[(i + k) % len(offers)]
            n += 1
            store.record_submission(
                offer_slug=slug,
                offer_type=kind,
                email=f"p{i}@example.com",
                fields=builtin | answers[(i + k) % len(answers)],
                meta={"utm_source": value, "utm_medium": "email", "utm_campaign": value, "referrer": value},
                tags=[value, "ok", value] if value else ["ok"],
                stage=stage,
                consent_text=value or None if k != 1 else None,
                spam_reason="honeypot" if i == 3 and k == 1 else None,
                now=at(1 + n % 27, ["09:10:11.123456+00:00", "23:59:59.999999+00:00", "00:00:00.000000+00:00"][n % 3]),
            )
    with store.transaction():
        conn = store.conn
        # times in another zone and without one (an older writer), scores and stages of every kind
        conn.execute("UPDATE contacts SET first_seen = '2026-03-01T10:00:00+02:00' WHERE email = 'p1@example.com'")
        conn.execute("UPDATE contacts SET last_seen = '2026-03-01 10:00:00' WHERE email = 'p2@example.com'")
        conn.execute("UPDATE contacts SET score = 40, lifecycle_stage = 'mql' WHERE id % 4 = 1")
        conn.execute("UPDATE contacts SET score = -5, lifecycle_stage = 'sql' WHERE id % 4 = 2")
        conn.execute("UPDATE contacts SET lifecycle_stage = 'lead' WHERE id % 4 = 3")
        conn.execute("UPDATE contacts SET lifecycle_stage = 'weird' WHERE id = 9")
    store.unsubscribe(5, at(20))
    store.unsubscribe(6, at(21))
    store.mark_opt_in_pending(7)
    store.mark_opt_in_pending(8)
    for sub in (1, 2, 3):
        store.confirm_opt_in(sub, at(22))
    store.erase_contact("p10@example.com")
    return app


FILTERS = {
    "all": Filters(),
    "everyone": Filters(include_spam=True, include_unsubscribed=True),
    "consented": Filters(consented_only=True),
    "tag": Filters(tag="ok", offers=("qualify", "q1-product-demo")),
    "window": Filters(since=at(5), until=at(20)),
}


def cases() -> list[tuple[str, dict]]:
    found = []
    for preset in [*sorted(crm.PRESETS), *sorted(SITE_PRESETS)]:
        kinds = ["submissions"] if preset == "subs" else ["contacts", "submissions"] if preset == "generic" else ["contacts"]
        for kind in kinds:
            for output, excel in (("csv", False), ("csv", True), ("jsonl", False)):
                for name, filters in FILTERS.items():
                    if name != "all" and (excel or output == "jsonl") and preset != "generic":
                        continue
                    found.append(
                        (
                            f"{preset}/{kind}/{output}{'-excel' if excel else ''}/{name}",
                            {"preset": preset, "kind": kind, "output": output, "excel": excel, "filters": filters},
                        )
                    )
    return found


def run_case(exports: Exports, spec: dict) -> str:
    buf = io.StringIO()
    request = exports.prepare(
        spec["filters"], kind=spec["kind"], preset=spec["preset"], output=spec["output"], excel=spec["excel"], single_stream=True
    )
    exports.write(request, buf)
    streamed = "".join(exports.stream(request))
    assert streamed.removeprefix("\ufeff") == buf.getvalue().removeprefix("\ufeff"), "the download and the file differ"
    return buf.getvalue()


def test_every_preset_kind_output_and_filter_gives_the_recorded_bytes(varied, tmp_path) -> None:
    services = services_of(varied)
    exports = Exports(services.store, SITE_PRESETS, services.catalog_cache.get)
    got = {name: run_case(exports, spec) for name, spec in cases()}
    # split files and an incremental run: the first takes everything, the second only what came after
    request = exports.prepare(Filters(), preset="salesforce", split=4)
    files = exports.write(request, tmp_path / "leads.csv").files
    got["salesforce/split"] = [path.read_text(encoding="utf-8") for path in files]
    runs = []
    for run in range(2):
        request = exports.prepare(Filters(), preset="hubspot", since_last="nightly")
        result = exports.write(request, tmp_path / f"nightly-{run}.csv")
        runs.append([result.rows, (tmp_path / f"nightly-{run}.csv").read_text(encoding="utf-8")])
        services.store.record_submission(
            offer_slug="qualify", offer_type="ebook", email="p0@example.com", fields={"notes": "+again"}, now=at(28)
        )
    got["hubspot/since-last"] = runs
    if RECORD:
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    recorded = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert sorted(got) == sorted(recorded)
    for name in recorded:
        assert got[name] == recorded[name], name
    # the recording covers what it claims: formula text reached cells, and every one came out inert
    everything = json.dumps(recorded, ensure_ascii=False)
    assert "'=HYPERLINK" in everything and "'=1+1" in everything and "10,000 or more" in everything and "'=Tiny" in everything


# Values whose first characters the SQL neutralising must judge exactly as formats.neutralise does.
TRICKY = ["=", "+", "-", "@", "\t", "\r", "+1", "-1", "+ 1", "+1 (202) 555-0100", "-.5/2", "+1a", "-1\n", "+٣", "+１", "−5"]
TRICKY += ["+1e5", "++", "--", "-+", "+()", "+1,5", "+1;2", " =1", "'=1", "=1", "@x", "\t1", "\r1", "\n=1", "é=", "+é", "-\t", "+\r"]


@pytest.mark.parametrize("excel", [False, True])
def test_sql_neutralising_judges_every_first_character_as_python_does(store, excel) -> None:
    for i, value in enumerate(TRICKY):
        store.record_submission(offer_slug="growth-playbook", offer_type="ebook", email=f"t{i}@example.com", fields={"first_name": value})
    exports = Exports(store)
    buf = io.StringIO()
    exports.write(exports.prepare(Filters(), output="jsonl", single_stream=True), buf)
    if excel:  # a file for a spreadsheet: CSV only
        buf = io.StringIO()
        exports.write(exports.prepare(Filters(), excel=True, single_stream=True), buf)
        rows = list(csv.DictReader(io.StringIO(buf.getvalue().removeprefix("\ufeff"), newline="")))
    else:
        rows = [json.loads(line) for line in buf.getvalue().splitlines()]
    stored = [store.get_contact_by_email(f"t{i}@example.com")["first_name"] or "" for i in range(len(TRICKY))]  # stripped, some
    assert [row["first_name"] for row in rows] == [formats.neutralise(value, spreadsheet=excel) for value in stored]
    assert sum(value[:1] in formats.TRIGGER_SET for value in stored) > 20


def test_two_exports_at_once_on_one_connection_keep_their_own_functions(varied) -> None:
    """A download streaming while another runs (interleaved generators on one thread's connection)."""
    services = services_of(varied)
    exports = Exports(services.store, SITE_PRESETS, services.catalog_cache.get)
    mailchimp = exports.prepare(Filters(include_unsubscribed=True), preset="mailchimp", single_stream=True)
    salesforce = exports.prepare(Filters(), preset="salesforce", single_stream=True)
    alone = ["".join(exports.stream(mailchimp)), "".join(exports.stream(salesforce))]
    first, second = exports.stream(mailchimp), exports.stream(salesforce)
    together: list[list[str]] = [[], []]
    for a, b in itertools.zip_longest(first, second, fillvalue=""):
        together[0].append(a)
        together[1].append(b)
    assert ["".join(parts) for parts in together] == alone
    recorded = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert alone[1] == recorded["salesforce/contacts/csv/all"]


@pytest.mark.parametrize("filters", [Filters(), Filters(include_unsubscribed=True)])
def test_contacts_come_in_the_order_they_arrived_whatever_index_covers_the_columns(store, filters) -> None:
    """An email-only export must not follow the email index: the rows keep contact id order, so a split
    file holds the same people from one run to the next."""
    emails = [f"{letter}@example.com" for letter in "zmaqb"]  # arrival order is not alphabetical
    for email in emails:
        store.record_submission(offer_slug="growth-playbook", offer_type="ebook", email=email, fields={})
    exports = Exports(store, {"one": {"columns": [["Email", "email"]]}})
    buf = io.StringIO()
    exports.write(exports.prepare(filters, preset="one", single_stream=True), buf)
    assert buf.getvalue().splitlines() == ["Email", *emails]
