"""Dates and time zones in front matter: the parsers of ``starts_at``, ``publish_at``,
``expires_at`` and ``timezone``, and how a moment is named in a message.

Dates stay text until these parse them (the YAML loader drops its timestamp resolver), so a bad
date gets a message naming the part that is wrong (``month 13``, ``day 30 (February 2027 has 28
days)``) instead of a YAML error. ``starts_at`` must be unambiguous (an offset, or naive plus
``timezone``) because a wrong hour loses a webinar's audience; ``publish_at``/``expires_at`` accept
a bare date (midnight). The parsers have the contract's shape (``value, ctx`` in, the converted
value out, :class:`~leadmagnet.content.problems.ContentError` on a problem); the contract
(``content/contract.py``) lists them in its one table of keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from leadmagnet.content.problems import ContentError, did_you_mean, show


def parse_timezone(value: Any, ctx: Any) -> str:
    """``timezone:``: an IANA name (``Europe/Paris``), with a did-you-mean that ignores case."""
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        hint = did_you_mean(str(value), available_timezones(), ignore_case=True) or " (such as Europe/Paris or America/New_York)"
        raise ContentError(f"{show(value)} is not an IANA timezone name{hint}") from None
    return str(value)


# The parts of an ISO 8601 date-time whose range a person can get wrong: checked one by one so
# that the message names the part (`month 13`), not only the format.
_DATE_PARTS = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")


def date_mistake(text: str) -> str | None:
    """What is out of range in ``text`` (``month 13 (a month is 01 to 12)``), or None."""
    import calendar  # only for a broken date: not a cost of every start

    match = _DATE_PARTS.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) if part is not None else None for part in match.groups())
    assert year is not None and month is not None and day is not None
    if not 1 <= month <= 12:
        return f"month {month} (a month is 01 to 12)"
    days = calendar.monthrange(year, month)[1] if year >= 1 else 31
    if not 1 <= day <= days:
        return f"day {day} ({_MONTHS[month - 1]} {year} has {days} days)"
    for name, part, top in (("hour", hour, 23), ("minute", minute, 59), ("second", second, 59)):
        if part is not None and part > top:
            return f"{name} {part} (a{'n' if name == 'hour' else ''} {name} is 00 to {top})"
    return None


def parse_datetime(value: Any, tz_name: str | None, *, require_time: bool) -> datetime:
    """Parse ISO 8601 text into an aware datetime; naive values take ``tz_name`` (else UTC)."""
    expected = "an ISO 8601 date with a UTC offset or timezone" if require_time else "an ISO 8601 date or date-time"
    example = " (such as 2027-03-04T16:00:00+01:00)" if require_time else " (such as 2027-03-04 or 2027-03-04T16:00:00Z)"
    text = str(value).strip() if isinstance(value, (str, int)) else None
    if not text:
        raise ContentError(f"{show(value)} is not {expected}{example}")
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        mistake = date_mistake(text)
        if mistake:
            raise ContentError(f"{show(value)} is not a valid date: {mistake}") from None
        raise ContentError(f"{show(value)} is not {expected}{example}") from None
    if require_time and "T" not in text and " " not in text:
        raise ContentError(f"{show(value)} is not {expected} (a time is needed, such as 2027-03-01T16:00:00+01:00)")
    if parsed.tzinfo is None:
        if require_time and not tz_name:
            raise ContentError(f"{show(value)} is not {expected} (add an offset such as +01:00, or set timezone:)")
        try:
            tz = ZoneInfo(tz_name) if tz_name else UTC
        except (ZoneInfoNotFoundError, ValueError):
            tz = UTC  # the timezone key reports its own error
        parsed = parsed.replace(tzinfo=tz)
    return parsed


def parse_when(require_time: bool) -> Callable[[Any, Any], datetime]:
    """The parser of a date key: ``starts_at`` (``require_time``) or ``publish_at``/``expires_at``;
    a naive value takes the offer's ``timezone:`` (``ctx.data``), else UTC."""

    def parse(value: Any, ctx: Any) -> datetime:
        tz_name = ctx.data.get("timezone") if isinstance(ctx.data.get("timezone"), str) else None
        return parse_datetime(value, tz_name, require_time=require_time)

    return parse


def moment(when: datetime, tz_name: str | None) -> str:
    """``2027-03-04 16:00 Europe/Paris``, or with the UTC offset when no zone is named."""
    if tz_name:
        return f"{when.astimezone(ZoneInfo(tz_name)):%Y-%m-%d %H:%M} {tz_name}"
    raw = when.strftime("%z")
    offset = f"UTC{raw[:3]}:{raw[3:]}" if raw and raw not in ("+0000", "-0000") else "UTC"
    return f"{when:%Y-%m-%d %H:%M} {offset}"
