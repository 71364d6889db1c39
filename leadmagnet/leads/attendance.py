"""Reading a webinar platform's attendee report: who attended, by email address.

Zoom, Google Meet and most platforms export a CSV with an email column under some header. The
header row is found, not assumed: a report may open with lines about the meeting, and Zoom's
webinar report has several tables (host, panelists, attendees), each with its own header row.
Every row under a header with an email column counts; a column named ``Attended`` (Zoom's
``Yes``/``No``) says whether that person attended. Recognised email headers are
:data:`EMAIL_HEADERS` (case and spaces do not matter); a file without one still works when one
column holds addresses in most of its rows.

A bad file is refused whole, with its line and column: nothing is marked from half a report.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

EMAIL_HEADERS = (
    "email",
    "e-mail",
    "email address",
    "e-mail address",
    "user email",
    "attendee email",
    "participant email",
    "registrant email",
    "guest email",
)
ATTENDED_HEADERS = ("attended",)
NO = {"no", "n", "false", "0"}
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
MAX_SHOWN = 10


class ReportError(ValueError):
    """An attendee report that cannot be read; the message names the file, the line and the column."""


@dataclass
class Report:
    """Who the report says attended and who it says did not, by lower-case address."""

    path: Path
    attended: set[str] = field(default_factory=set)
    absent: set[str] = field(default_factory=set)
    columns: list[str] = field(default_factory=list)  # the email column's header of each table
    blank: int = 0  # rows with no address (a guest who joined without one)


def _key(header: str) -> str:
    return " ".join(header.replace("\ufeff", "").strip().lower().replace("_", " ").split())


def _decode(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReportError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")  # some exports (Excel's "Unicode text") are UTF-16 with a BOM
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ReportError(f"{path} line {line}: not UTF-8 text; export the report again as CSV (UTF-8)") from None


def read_report(path: Path) -> Report:
    """Read an attendee report; :class:`ReportError` says which line and column is wrong."""
    text = _decode(path)
    try:
        rows = list(csv.reader(text.splitlines()))
    except csv.Error as exc:
        raise ReportError(f"{path}: not a CSV file ({exc})") from None
    report = Report(path)
    email_col: int | None = None
    attended_col: int | None = None
    header = ""
    problems: list[str] = []
    for number, row in enumerate(rows, start=1):
        keys = [_key(cell) for cell in row]
        found = next((i for i, k in enumerate(keys) if k in EMAIL_HEADERS), None)
        if found is not None:  # a header row: a new table starts
            email_col, header = found, row[found].replace("\ufeff", "").strip()
            attended_col = next((i for i, k in enumerate(keys) if k in ATTENDED_HEADERS), None)
            report.columns.append(header)
            continue
        if email_col is None or not any(cell.strip() for cell in row):
            continue
        if len(row) <= email_col:
            # A section title ("Attendee Details") or a short line between tables: not a person.
            if len(row) <= 2:
                continue
            problems.append(f"{path} line {number}: has {len(row)} columns, so no {header!r} column (column {email_col + 1})")
            continue
        _take(report, row[email_col].strip(), row, attended_col, f"{path} line {number}, column {header!r}", problems)
    if not report.columns:
        _guess(path, rows, report, problems)
    if problems:
        more = f" (and {len(problems) - MAX_SHOWN} more)" if len(problems) > MAX_SHOWN else ""
        raise ReportError("\n".join(problems[:MAX_SHOWN]) + more + "\nNothing was imported; fix the file and run the command again.")
    return report


def _take(report: Report, value: str, row: list[str], attended_col: int | None, where: str, problems: list[str]) -> None:
    if not value:
        report.blank += 1
        return
    if not _EMAIL.match(value):
        problems.append(f"{where}: {value!r} is not an email address")
        return
    absent = attended_col is not None and len(row) > attended_col and row[attended_col].strip().lower() in NO
    (report.absent if absent else report.attended).add(value.lower())


def _guess(path: Path, rows: list[list[str]], report: Report, problems: list[str]) -> None:
    """No recognised header: take the column that holds addresses in most rows, or say what to name it."""
    width = max((len(row) for row in rows), default=0)
    best, best_count = None, 0
    for col in range(width):
        count = sum(1 for row in rows if len(row) > col and _EMAIL.match(row[col].strip()))
        if count > best_count:
            best, best_count = col, count
    filled = [row for row in rows if any(cell.strip() for cell in row)]
    if best is None or best_count * 2 < len(filled) - 1:
        first = ", ".join(cell.strip() for cell in (filled[0] if filled else [])) or "nothing"
        raise ReportError(
            f"{path}: no email column (line 1 has: {first}); name the column of addresses Email"
            " (Zoom's Email or User Email and Google Meet's Email are found by themselves)"
        )
    report.columns.append(f"column {best + 1}")
    for number, row in enumerate(rows, start=1):
        value = row[best].strip() if len(row) > best else ""
        if number == 1 and not _EMAIL.match(value):
            continue  # a header row with another name
        _take(report, value, row, None, f"{path} line {number}, column {best + 1}", problems)
