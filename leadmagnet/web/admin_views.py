"""What the admin pages show, made readable, and the filters they read from the query string.

The store keeps ISO 8601 UTC times, offer slugs and answers as the form cleaned them
(``uses_sequencer: True``, ``team_size: "2-5"``). People read ``3 Dec 2026, 11:32`` in the zone
of ``LEADMAGNET_ADMIN_TIMEZONE``, the offer's title, and each answer under its question's label
with the label of the choice picked (the offer's :class:`~leadmagnet.content.fields.FieldSpec`).
:class:`Readable` does that for the templates, which get one as ``show``.
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import Response, abort, request

from leadmagnet.content.catalog import Catalog
from leadmagnet.content.fields import BUILTIN_FIELDS, FieldSpec
from leadmagnet.store.reports import Filters

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# A lead's status, as the leads list words it (first that applies).
SPAM, UNSUBSCRIBED, WAITLISTED, PENDING_OPT_IN, LEAD = "spam", "unsubscribed", "waitlisted", "pending opt-in", "lead"


def admin_zone(name: str) -> tzinfo:
    """The time zone ``name`` (an IANA name); ValueError naming the setting, with a did-you-mean."""
    if name.strip().upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(name.strip(), sorted(available_timezones()), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise ValueError(
            f"LEADMAGNET_ADMIN_TIMEZONE: {name!r} is not a time zone (use an IANA name like Europe/Paris or America/New_York){hint}"
        ) from None


def readable_time(value: str | datetime | None, zone: tzinfo) -> str:
    """``2026-12-03T10:32:05.123456+00:00`` -> ``3 Dec 2026, 11:32`` in ``zone``; naive times are UTC."""
    if not value:
        return "–"
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(zone)
    return f"{local.day} {MONTHS[local.month - 1]} {local.year}, {local:%H:%M}"


def answer_text(value: Any, spec: FieldSpec | None) -> str:
    """One answer as a person reads it: a checkbox as Yes/No, a choice by its label."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if spec is not None and spec.type == "checkbox":
        return "Yes" if str(value).strip().lower() in {"1", "true", "y", "yes", "on"} else "No"
    if spec is not None and spec.choices:
        return dict(spec.choices).get(str(value), str(value))
    return str(value)


def _question(name: str, spec: FieldSpec | None) -> str:
    """The field's label, followed by a colon unless it already ends like a question."""
    label = spec.label if spec is not None and spec.label else name.replace("_", " ").capitalize()
    return label if label.endswith(("?", ":")) else f"{label}:"


@dataclass(frozen=True)
class Readable:
    """Times, offers and answers for the admin's templates (``show.when(...)``, ``show.offer(...)``)."""

    zone: tzinfo
    zone_name: str
    catalog: Catalog

    def when(self, value: str | datetime | None) -> str:
        return readable_time(value, self.zone)

    def offer(self, slug: str | None) -> str:
        """The offer's title; its slug when the offer is gone from the content folder."""
        page = self.catalog.get(slug or "")
        return page.offer.title if page is not None else (slug or "–")

    def offers(self) -> list[tuple[str, str]]:
        """``(slug, title)`` of every offer, by title (the filters' choices)."""
        return sorted(((slug, page.offer.title) for slug, page in self.catalog.pages.items()), key=lambda p: (p[1].lower(), p[0]))

    def specs(self, slug: str | None) -> dict[str, FieldSpec]:
        """The fields of offer ``slug`` by name; other offers' fields fill in for a question it dropped."""
        found: dict[str, FieldSpec] = dict(BUILTIN_FIELDS)
        for page in self.catalog.pages.values():
            found.update({s.name: s for s in page.offer.fields if not s.builtin})
        page = self.catalog.get(slug or "")
        if page is not None:
            found.update({s.name: s for s in page.offer.fields})
        return found

    def status(self, submission: Mapping[str, Any], contact: Mapping[str, Any] | None) -> str:
        return lead_status(submission, contact)

    def answers(self, data: Mapping[str, Any] | None, slug: str | None = None, custom_only: bool = True) -> list[tuple[str, str]]:
        """``(question, answer)`` for each answer in ``data``, in the offer's field order.

        ``custom_only`` leaves out the built-in fields (the contact's own columns); the email is
        never repeated. Blank answers are left out.
        """
        specs = self.specs(slug)
        page = self.catalog.get(slug or "")
        order = {s.name: i for i, s in enumerate(page.offer.fields)} if page is not None else {}
        shown = []
        for name in sorted(data or {}, key=lambda n: (order.get(n, len(order)), n)):
            value = (data or {})[name]
            spec = specs.get(name)
            if name == "email" or (custom_only and name in BUILTIN_FIELDS) or value is None or value == "":
                continue
            shown.append((_question(name, spec), answer_text(value, spec)))
        return shown


def lead_status(submission: Mapping[str, Any], contact: Mapping[str, Any] | None) -> str:
    """What a submission is now: spam, unsubscribed (its contact left), waitlisted, pending opt-in, or a lead."""
    if submission.get("spam"):
        return SPAM
    if contact is not None and contact.get("unsubscribed_at"):
        return UNSUBSCRIBED
    if submission.get("status") == "waitlisted":
        return WAITLISTED
    if submission.get("status") == "pending":
        return PENDING_OPT_IN
    return LEAD


# -- filters from the query string ------------------------------------------------------------

FILTER_ARGS = ("offer", "tag", "since", "until", "q", "include_spam", "include_unsubscribed", "consented_only", "sort")


def day_arg(name: str) -> str | None:
    """A YYYY-MM-DD query parameter as an ISO date, or None; a bad value is a 400 naming it."""
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date().isoformat()
    except ValueError:
        abort(Response(f"{name}: {value!r} is not a date; use YYYY-MM-DD.", status=400, content_type="text/plain; charset=utf-8"))


def period_args(zone: tzinfo) -> tuple[str | None, str | None, tuple[str | None, str | None]]:
    """``since``/``until`` as UTC times bounding whole days in ``zone`` (``until`` inclusive for
    people, so exclusive from the next midnight), and the dates themselves (``until`` the day after)."""
    since, until = day_arg("since"), day_arg("until")
    try:
        after = (datetime.fromisoformat(until) + timedelta(days=1)).date().isoformat() if until else None
        return _midnight(since, zone), _midnight(after, zone), (since, after)
    except OverflowError:  # year 1 east of UTC, or 9999-12-31: outside what a time can hold
        message = "since/until: use a date between 0002-01-01 and 9999-12-30 (YYYY-MM-DD)."
        abort(Response(message, status=400, content_type="text/plain; charset=utf-8"))


def _midnight(day: str | None, zone: tzinfo) -> str | None:
    """Midnight of ``day`` in ``zone`` as a UTC time in the store's format (comparable as text)."""
    if day is None:
        return None
    local = datetime.fromisoformat(day).replace(tzinfo=zone)
    return local.astimezone(UTC).isoformat(timespec="microseconds")


def filters_from_args(zone: tzinfo, for_export: bool = False) -> Filters:
    """The shared leads/export filters: ``offer`` (repeatable), ``tag``, ``since``, ``until``, ``q``…

    The days are whole days in ``zone`` (the admin's). Exports leave unsubscribed contacts out
    unless asked (as the CLI does); the leads list shows all.
    """
    since, until, _days = period_args(zone)
    return Filters(
        offers=tuple(o for o in request.args.getlist("offer") if o),
        tag=(request.args.get("tag") or "").strip() or None,
        since=since,
        until=until,
        search=(request.args.get("q") or "").strip()[:200] or None,
        include_spam=request.args.get("include_spam") == "1",
        include_unsubscribed=request.args.get("include_unsubscribed") == "1" or not for_export,
        consented_only=request.args.get("consented_only") == "1",
    )


def login_limit_keys(secret: str, ip: str | None, typed_email: str | None) -> tuple[str, str]:
    """The rate-limit keys of one login attempt: the network, and the typed address by a keyed
    hash (as capture counts networks), so ratelimit.db never holds an address."""
    typed = (typed_email or "").strip().lower()
    return f"admin-login-ip:{ip}", "admin-login-email:" + hmac.new(secret.encode(), typed.encode(), hashlib.sha256).hexdigest()[:20]
