"""CSV lines written by SQLite (store/export_lines.py) are the bytes ``csv.writer`` writes from the cells.

The reference is the export's other form of the same rows, one column per cell
(``ExportQuery.chunks``) through ``csv.writer``: every preset, for an importer and for a
spreadsheet, over stored values that need quoting, neutralising and clipping, and characters a
line could mistake for its own separators (U+001E, U+001F, U+00FF, whose UTF-8 holds no 0xFF).
"""

from __future__ import annotations

import csv
import io
import itertools

import pytest

from leadmagnet.export import presets as crm
from leadmagnet.export.cells import cells_of
from leadmagnet.export.exports import Exports
from leadmagnet.export.writer import ExportError, ExportRequest, with_answers
from leadmagnet.store.export_cells import finished
from leadmagnet.store.export_lines import MAX_ARGS, CsvLines, StoredTextError
from leadmagnet.store.exporting import Cell
from leadmagnet.store.reports import Filters

VALUES = ["Acme, Inc.", 'say "hi"', "two\nlines", "cr\rhere", "=1+1", "+44 20 7946 0958", "-5", "\x1fsep\x1e", "ÿþ", "😀,", "", " x "]
VALUES += ["+1,5", "-\t", "@x", "\tTAB", "é" * 200, "'=1"]


@pytest.fixture
def tricky(store):
    for i, value in enumerate(VALUES):
        fields = {"first_name": value, "last_name": VALUES[-1 - i], "company": value[::-1], "phone": value, "country": "Germany"}
        fields |= {"notes": value, "volume": i}
        store.record_submission(
            offer_slug="growth-playbook", offer_type="ebook", email=f"t{i}@example.com", fields=fields, tags=(value, "x"), stage="tofu"
        )
        if i % 3 == 0:  # several offers and tag lists: Python's cells
            store.record_submission(offer_slug="seo-checklist", offer_type="ebook", email=f"t{i}@example.com", fields={}, tags=("y", value))
    store.conn.execute("UPDATE contacts SET opt_in_at = '2026-01-01 10:00:00+02:00' WHERE email = 't1@example.com'")  # another zone
    for i, score in enumerate([-5, -1e-05, 2.5e20, "=1,2", ""]):  # what a number column can hold in SQLite
        store.conn.execute("UPDATE contacts SET score = ? WHERE email = ?", (score, f"t{i + 3}@example.com"))
    return store


def as_csv(chunks) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for chunk in chunks:
        writer.writerows(chunk)
    return buffer.getvalue()


def lines_and_cells(found, cells, **options) -> tuple[str, str]:
    chunks, text = found.csv_chunks(cells, size=4, **options)
    return b"".join(text(chunk) for chunk in chunks).decode("utf-8"), as_csv(found.chunks(cells, **options))


@pytest.mark.parametrize("kind", ["contacts", "submissions"])
@pytest.mark.parametrize("name", ["generic", "hubspot", "mailchimp", "salesforce"])
@pytest.mark.parametrize("spreadsheet", [False, True])
def test_lines_are_the_bytes_csv_writer_writes_from_the_cells(tricky, kind, name, spreadsheet) -> None:
    if kind == "submissions" and name != "generic":
        pytest.skip("the CRM presets are for contacts")
    found = tricky.export_query(kind, Filters(include_unsubscribed=True))
    preset = with_answers(crm.get_preset(name, kind), found.custom_fields, ExportRequest(kind=kind), None)
    lines, cells = lines_and_cells(found, cells_of(preset), spreadsheet=spreadsheet, clip=preset.clip or (7 if spreadsheet else 0))
    assert lines == cells
    assert lines.count("\r\n") >= len(VALUES)
    assert '"Acme, I' in lines  # quoted by Python: a stored field's comma


def test_the_cursor_column_comes_after_the_line(tricky) -> None:
    found = tricky.export_query("contacts", Filters(after_id=2))
    chunks, text = found.csv_chunks([Cell("email"), Cell("first_name")], cursor=True)
    rows = [row for chunk in chunks for row in chunk]
    assert [row[-1] for row in rows] == sorted(row[-1] for row in rows) and all(isinstance(row[-1], int) for row in rows)
    assert text(rows).startswith(b"t1@example.com,")


def test_a_line_of_more_cells_than_a_function_takes_arguments(tricky) -> None:
    cells = [Cell(field) for _ in range(MAX_ARGS // 4 + 10) for field in ("email", "first_name", "phone", "company")]
    assert len(cells) > MAX_ARGS + 27
    found = tricky.export_query("contacts", Filters())
    lines, reference = lines_and_cells(found, cells)
    assert lines == reference


def test_one_column_is_written_by_csv_writer(tricky) -> None:
    """csv.writer quotes a lone empty cell (""): a line of one cell would not."""
    assert tricky.export_query("contacts", Filters()).csv_chunks([Cell("job_title")]) is None


@pytest.mark.parametrize(
    "stored",
    [
        b"S\xf8ren M\xfcller",
        b"\xffnote",
        b"caf\xe9",
        b"S\xf8ren",
        b"Fran\xe7ois \xfb",
        b"\xfenote",
        b"end\xfe",
        b"Berg\xfe\xfara",
        b"Thor\xfe\xf8rn",
        b"a\xfe\xfbb",
        b"J\xfdri",
        b"\xfe\xfd",
        b"\xfe\xfa\xa3",
        b"\xfe\xf8\xf8",
        b"x\xfe\xf8\xf9y",
        b"\xfe\xfd\xfd",
        b"\xc3\xfd\xfe\xa9\xf8",
        b"\xc3\xfd\xfe\xfd\xa9",
        b"\xe2\x82\xf8",
    ],
    ids=[
        "latin-1",
        "0xff",
        "lone-byte",
        "lone-0xf8-reads-as-an-escape",
        "lone-0xfb",
        "lone-0xfe",
        "0xfe-before-separator",
        "thorn-u-acute",
        "thorn-o-slash",
        "thorn-u-circumflex",
        "lone-0xfd",
        "escape-without-its-char",
        "thorn-u-acute-then-a-continuation-byte",
        "thorn-then-two-escape-chars",
        "thorn-then-a-comma-and-a-quote",
        "thorn-y-acute-y-acute-vanished",
        "a-lead-byte-taking-0xfd",
        "a-lead-byte-taking-0xfd-then-a-pair",
        "0xf8-ending-a-stored-character",
    ],
)
@pytest.mark.parametrize("escapes", [False, True], ids=["no-escapes", "escapes-in-the-chunk"])
def test_a_value_another_program_wrote_in_another_encoding_stops_the_export_naming_the_row(store, tmp_path, stored, escapes) -> None:
    """Reading such a value into Python raised before the lines moved into SQL; it still must, with a clear
    message, and the file already there stays whole (a 0xFF byte would otherwise read as a separator, a
    lone 0xF8 as a comma). ``escapes``: another row's tags cell holds a comma, written as an escape."""
    for i in range(3):
        store.record_submission(offer_slug="growth-playbook", offer_type="ebook", email=f"p{i}@example.com", fields={"first_name": "Ann"})
    if escapes:  # a tags cell holding a comma: a finished cell, its comma and quotes escaped in the line
        store.record_submission(offer_slug="seo-checklist", offer_type="ebook", email="p0@example.com", fields={}, tags=("a,b", "c"))
    with store.transaction():  # the sqlite3 shell of someone whose terminal speaks Latin-1
        store.conn.execute("UPDATE contacts SET first_name = CAST(? AS TEXT) WHERE email = 'p1@example.com'", (stored,))
    out = tmp_path / "leads.csv"
    out.write_text("yesterday's export\n", encoding="utf-8")
    exports = Exports(store)
    with pytest.raises(ExportError, match=r"not UTF-8 text, in the row that starts 'p1@example\.com'.*sqlite3 shell"):
        exports.write(exports.prepare(Filters()), out)
    assert out.read_text(encoding="utf-8") == "yesterday's export\n"


def test_every_short_stored_byte_string_is_written_as_csv_writer_would_or_stops_the_export() -> None:
    """Every stored value of 1 to 3 bytes over the bytes a line gives a meaning (separator, escapes,
    UTF-8 lead and continuation bytes, , " CR LF), in a chunk with or without escapes elsewhere and
    with or without a cell to quote: either it is UTF-8 text and the line is what ``csv.writer``
    writes, or the export stops naming its row. The one exception, documented in export_lines, is
    the Latin-1 "þý" then one of "øùúû", which reads as an escape."""
    alphabet = [bytes([b]) for b in (0xF8, 0xF9, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE, 0xFF, 0x80, 0xA0, 0xBF, 0xC3, 0xE0, 0xE3)]
    alphabet += [b",", b'"', b"\r", b"\n", b"a"]
    accepted = [b"\xfe\xfd" + bytes([c]) for c in b"\xf8\xf9\xfa\xfb"]
    wrong = []
    for escapes, quoting in itertools.product((False, True), repeat=2):
        tag = finished("a,b, c") if escapes else b""
        company = "A, B" if quoting else ""
        lines = CsvLines([0, 1, 2], 4)
        for stored in (b"".join(combo) for n in (1, 2, 3) for combo in itertools.product(alphabet, repeat=n)):
            chunk = [(b"p0\xffAnn\xff\xff" + tag,), (b"p1\xff" + stored + b"\xff\xff",), (b"p2\xffAnn\xff" + company.encode() + b"\xff",)]
            try:
                written = lines(chunk)
            except StoredTextError as exc:
                if "'p1'" not in str(exc):
                    wrong.append((stored, escapes, quoting, "stopped without naming the row"))
                continue
            try:
                text = stored.decode("utf-8")
            except UnicodeDecodeError:
                if not any(sequence in stored for sequence in accepted):
                    wrong.append((stored, escapes, quoting, "written although not text"))
                continue
            expected = io.StringIO()
            csv.writer(expected, lineterminator="\r\n").writerows(
                [["p0", "Ann", "", "a,b, c" if escapes else ""], ["p1", text, "", ""], ["p2", "Ann", company, ""]]
            )
            if written.decode("utf-8") != expected.getvalue():
                wrong.append((stored, escapes, quoting, "differs from csv.writer"))
    assert not wrong, wrong[:20]
