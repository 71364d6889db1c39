"""Webinars: the registration window, calendar files and the Google Calendar link.

Registration is ``open`` until the webinar starts, ``started`` while it runs (no new
registrations: the room is already live), then ``replay`` when a ``replay_url`` is set (the form
gives the recording, gated like any offer) or ``ended``. Seats are taken in the store
(:meth:`~leadmagnet.store.Store.claim_seat`), inside the submission's transaction.

The ``.ics`` file is built with icalendar: a UID that is stable per registration (re-downloading
updates the same calendar entry instead of adding a second), DTSTART/DTEND in the webinar's own
timezone with its VTIMEZONE, the join link in DESCRIPTION and URL, and a reminder alarm. Only
registrant-only responses call these: the join link never reaches a public page.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from urllib.parse import urlencode, urlsplit

from leadmagnet.content.offer import Offer

ALARM_MINUTES = 15
PRODID = "-//leadmagnet//webinar//EN"


def registration_state(offer: Offer, now: datetime) -> str:
    """``open``, ``started`` (running: closed), ``replay`` (ended, recording offered) or ``ended``."""
    if offer.type != "webinar" or offer.starts_at is None:
        return "open"
    if offer.expires_at is not None and now >= offer.expires_at:
        return "ended"
    if now < offer.starts_at:
        return "open"
    if offer.ends_at is not None and now < offer.ends_at:
        return "started"
    return "replay" if offer.replay_url else "ended"


def uid(offer: Offer, submission_id: int, base_url: str) -> str:
    """The calendar UID of one registration: the same every time its ``.ics`` is made."""
    host = urlsplit(base_url).hostname or "leadmagnet"
    return f"{offer.slug}-{submission_id}@{host}"


def calendar_ics(offer: Offer, submission_id: int, base_url: str, site_name: str, now: datetime | None = None, sequence: int = 0) -> bytes:
    """The ``.ics`` of one registration (registrant-only: it holds the join link).

    ``sequence`` counts the webinar's moves: with the same UID, a higher one tells calendars
    that this file replaces the one they have.
    """
    assert offer.starts_at is not None and offer.ends_at is not None, "a webinar has a start and a duration"
    # Imported here: the renderer and a static build need this module but never an .ics, and
    # icalendar is a tenth of a second of the build command's start-up.
    from icalendar import Alarm, Calendar, Event

    # A named zone goes in with its VTIMEZONE; a bare offset (+01:00) has none to give, so UTC.
    tz = offer.tz if offer.timezone else UTC
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    event = Event()
    event.add("uid", uid(offer, submission_id, base_url))
    event.add("dtstamp", (now or datetime.now(UTC)).astimezone(UTC))
    event.add("sequence", sequence)
    event.add("dtstart", _ics_time(offer.starts_at, tz))
    event.add("dtend", _ics_time(offer.ends_at, tz))
    event.add("summary", offer.title)
    event.add("description", description(offer))
    if offer.join_url:
        event.add("url", offer.join_url)
        event.add("location", offer.join_url)
    event.add("organizer", f"mailto:noreply@{urlsplit(base_url).hostname or 'localhost'}", parameters={"cn": site_name})
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", f"{offer.title} starts in {ALARM_MINUTES} minutes")
    alarm.add("trigger", timedelta(minutes=-ALARM_MINUTES))
    event.add_component(alarm)
    cal.add_component(event)
    if offer.timezone:
        # Only the observances around the event: enough for calendars, and a small file.
        start = offer.starts_at.date()
        cal.add_missing_timezones(first_date=start - timedelta(days=1), last_date=start + timedelta(days=2))
    return cal.to_ical()


def _ics_time(moment: datetime, tz: tzinfo) -> datetime:
    """``moment`` on the zone's clock, or in UTC when that clock shows it twice (the hour repeated
    when summer time ends): a local time with a TZID cannot say which of the two it means."""
    local = moment.astimezone(tz)
    return moment.astimezone(UTC) if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset() else local


def description(offer: Offer) -> str:
    """Calendar entry text: what it is and how to join."""
    lines = [offer.subtitle or offer.description or offer.title]
    if offer.join_url:
        lines += ["", f"Join: {offer.join_url}"]
    if offer.presenters:
        lines += ["", "With " + ", ".join(p.name for p in offer.presenters)]
    return "\n".join(lines)


def google_calendar_url(offer: Offer) -> str:
    """An "add to Google Calendar" link (registrant-only: the details hold the join link)."""
    assert offer.starts_at is not None and offer.ends_at is not None
    fmt = "%Y%m%dT%H%M%SZ"
    dates = f"{offer.starts_at.astimezone(UTC).strftime(fmt)}/{offer.ends_at.astimezone(UTC).strftime(fmt)}"
    params = {"action": "TEMPLATE", "text": offer.title, "dates": dates, "details": description(offer)}
    if offer.timezone:
        params["ctz"] = offer.timezone
    if offer.join_url:
        params["location"] = offer.join_url
    return "https://calendar.google.com/calendar/render?" + urlencode(params)


def utc_offset_label(offer: Offer, when: datetime) -> str:
    """``Europe/Paris, UTC+01:00`` for the given instant."""
    local = when.astimezone(offer.tz)
    raw = local.strftime("%z")
    offset = f"UTC{raw[:3]}:{raw[3:]}" if raw else "UTC"
    zone = offer.timezone or local.tzname() or ""
    return f"{zone}, {offset}" if zone and zone != offset else offset


def starts_in(offer: Offer, now: datetime) -> str | None:
    """How soon a webinar starts, as its page says it: ``Starts in 3 days``, ``Starts tomorrow``,
    ``Starts in 5 hours``, ``Starts in less than an hour``; None once it started (or not a webinar).

    Days are counted between calendar dates in the webinar's own time zone (``timezone:``), the
    zone its date is shown in, so "tomorrow" agrees with the date on the page. The text changes
    at most once an hour; the page cache keys the page by it (see ``Renderer.offer_page``).
    """
    if offer.type != "webinar" or offer.starts_at is None or now >= offer.starts_at:
        return None
    tz = offer.tz
    days = (offer.starts_at.astimezone(tz).date() - now.astimezone(tz).date()).days
    if days >= 2:
        return f"Starts in {days} days"
    if days == 1:
        return "Starts tomorrow"
    hours = int((offer.starts_at - now).total_seconds() // 3600)
    if hours >= 1:
        return f"Starts in {hours} hour{'' if hours == 1 else 's'}"
    return "Starts in less than an hour"
