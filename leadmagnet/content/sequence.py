"""Follow-up sequences in front matter: delays (``"2 days"``, ``P2D``) and the ``sequence:`` list.

An offer's ``sequence:`` is a list of emails sent after a submission, each ``after:`` a delay
from it, with a ``subject:`` and a Markdown body, inline (``body:``) or in a file under the
content folder (``file:``, read when the offer is read, so editing it reloads the offer).
``stop_when:`` names offers whose submission ends the sequence for that person.

A person's place in a sequence is the delay of the last email they were sent (see
:mod:`leadmagnet.delivery.sequences`), so two emails of one sequence may not share a delay, and
the emails are kept sorted by delay whatever order the file lists them in.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from leadmagnet.content.problems import ContentError, did_you_mean, show

STEP_KEYS = ("after", "subject", "body", "file")
SUBJECT_MAX = 200

_UNITS = {
    "second": 1,
    "seconds": 1,
    "minute": 60,
    "minutes": 60,
    "min": 60,
    "mins": 60,
    "hour": 3600,
    "hours": 3600,
    "h": 3600,
    "day": 86400,
    "days": 86400,
    "d": 86400,
    "week": 604800,
    "weeks": 604800,
    "w": 604800,
}
_WORDS = re.compile(r"\s*(\d+)\s*([a-z]+)\s*,?\s*(?:and\s+)?", re.IGNORECASE)
# ISO 8601 durations without years or months (their length depends on the calendar).
_ISO = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$", re.IGNORECASE)
DURATION_EXAMPLE = 'such as "30 minutes", "2 days", "1 week" or an ISO 8601 duration like P2D or PT30M'


def parse_duration(value: Any) -> timedelta:
    """``"30 minutes"``, ``"2 days 12 hours"``, ``"P2D"``, ``"PT30M"`` -> a :class:`timedelta` (zero or more)."""
    if isinstance(value, bool) or not isinstance(value, str) or not value.strip():
        raise ContentError(f"{show(value)} is not a delay ({DURATION_EXAMPLE})")
    text = value.strip()
    if text[:1] in "Pp":
        match = _ISO.match(text)
        if match is None or text.upper() in ("P", "PT") or text.upper().endswith("T"):
            months = (
                " (months and years have no fixed length: write days or weeks)" if re.search(r"\d+[YM]", text.split("T")[0][1:]) else ""
            )
            raise ContentError(f"{show(value)} is not an ISO 8601 duration such as P2D, PT30M or P1DT12H{months}")
        weeks, days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
        return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    total, at = 0, 0
    for match in _WORDS.finditer(text):
        if match.start() != at:
            break
        unit = _UNITS.get(match.group(2).lower())
        if unit is None:
            hint = did_you_mean(match.group(2).lower(), ("seconds", "minutes", "hours", "days", "weeks"))
            raise ContentError(f"{show(value)}: {match.group(2)!r} is not a unit{hint}; use minutes, hours, days or weeks")
        total += int(match.group(1)) * unit
        at = match.end()
    if at != len(text) or at == 0:
        raise ContentError(f"{show(value)} is not a delay ({DURATION_EXAMPLE})")
    return timedelta(seconds=total)


def describe(delay: timedelta) -> str:
    """A delay as people say it: ``2 days``, ``1 day 6 hours``, ``30 minutes``, ``at once``."""
    seconds = int(delay.total_seconds())
    if seconds == 0:
        return "at once"
    parts = []
    for name, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {name}{'' if count == 1 else 's'}")
    return " ".join(parts)


@dataclass(frozen=True)
class SequenceEmail:
    """One email of a follow-up sequence: sent ``after`` the submission, its Markdown ``body``.

    ``file`` is the body's file under the content folder, when it came from one.
    """

    after: timedelta
    subject: str
    body: str
    file: str | None = None

    @property
    def seconds(self) -> int:
        """The delay in whole seconds: the email's place in the sequence (and its outbox kind)."""
        return int(self.after.total_seconds())


def parse_sequence(value: Any, content_dir: Path, content_file: Callable[[Any], str]) -> tuple[SequenceEmail, ...]:
    """Check a ``sequence:`` list and return its emails sorted by delay; report every problem.

    ``content_file`` checks a ``file:`` value (a path under ``content_dir`` that exists) and
    returns it relative to the content folder.
    """
    if not isinstance(value, list) or not value:
        raise ContentError(
            f"{show(value)} is not a list of emails; write each as - after: 2 days / subject: ... / body: ... (or file: emails/day-2.md)"
        )
    emails: list[SequenceEmail] = []
    problems: list[str] = []
    for index, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            problems.append(f"item {index}: {show(item)} is not a mapping with after, subject and body (or file)")
            continue
        found = [
            f"item {index}: unknown key {str(key)!r}{did_you_mean(str(key), STEP_KEYS)}; an email takes {', '.join(STEP_KEYS)}"
            for key in sorted(set(item) - set(STEP_KEYS), key=str)
        ]
        after = None
        if "after" not in item:
            found.append(f"item {index}: after is required: the delay from the submission, {DURATION_EXAMPLE}")
        else:
            try:
                after = parse_duration(item["after"])
            except ContentError as exc:
                found.extend(f"item {index}: after: {message}" for message in exc.messages)
        subject = item.get("subject")
        if not isinstance(subject, (str, int, float)) or isinstance(subject, bool) or not str(subject).strip():
            found.append(f"item {index}: subject is required: the email's subject line, as text")
        elif "\n" in str(subject).strip() or len(str(subject)) > SUBJECT_MAX:
            found.append(f"item {index}: subject must be one line of at most {SUBJECT_MAX} characters")
        body, file = _body(item, index, content_dir, content_file, found)
        problems.extend(found)
        if not found and after is not None and body is not None:
            emails.append(SequenceEmail(after, str(subject).strip(), body, file))
    emails.sort(key=lambda email: email.after)
    for earlier, later in itertools.pairwise(emails):
        if earlier.after == later.after:
            problems.append(
                f"two emails are sent after {describe(later.after)} ({earlier.subject!r} and {later.subject!r}); give each its own delay"
            )
    if problems:
        raise ContentError(*problems)
    return tuple(emails)


def _body(item: dict, index: int, content_dir: Path, content_file: Callable[[Any], str], found: list[str]) -> tuple[str | None, str | None]:
    """The Markdown of one email (inline ``body`` or ``file``) and its file; a problem in ``found``."""
    if ("body" in item) == ("file" in item):
        found.append(
            f"item {index}: give the email's text as body: (Markdown) or file: (a .md file under the content folder), one of the two"
        )
        return None, None
    if "body" in item:
        body = item["body"]
        if not isinstance(body, str) or not body.strip():
            found.append(f"item {index}: body is empty; write the email's text in Markdown")
            return None, None
        return body.strip() + "\n", None
    try:
        rel = content_file(item["file"])
    except ContentError as exc:
        found.extend(f"item {index}: file: {message}" for message in exc.messages)
        return None, None
    parts = rel.split("/")
    if rel.lower().endswith(".md") and not any(part.startswith(("_", ".")) for part in parts):
        found.append(
            f"item {index}: file: {rel!r} would be read as an offer page (every .md file is one);"
            f" put it in a folder whose name starts with _ (such as _emails/{parts[-1]})"
        )
        return None, None
    try:
        text = (content_dir / rel).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        found.append(f"item {index}: file: {rel!r} cannot be read as UTF-8 text ({exc})")
        return None, None
    if not text.strip():
        found.append(f"item {index}: file: {rel!r} is empty; write the email's text in it")
        return None, None
    return text.strip() + "\n", rel


def parse_stop_when(value: Any, slug_re: re.Pattern[str]) -> tuple[str, ...]:
    """``stop_when:``: one offer slug or a list of them."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise ContentError(f"{show(value)} is not a list of offer slugs (write stop_when: [pricing-demo])")
    bad = [f"{show(item)} is not an offer slug ([a-z0-9-]+)" for item in items if not isinstance(item, str) or not slug_re.match(item)]
    if bad:
        raise ContentError(*bad)
    return tuple(dict.fromkeys(items))
