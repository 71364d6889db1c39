"""What a submission is owed, decided once: the plan, the signed links, the thank-you context.

A :class:`Plan` is made from the offer's state at one moment (published? a webinar open, under
way, over with or without a replay? double opt-in?) and everything along the submission's way
reads it: whether the form takes it, the status it is stored with, the seat, which email is
queued and with which template. Nothing asks the webinar's state a second time.

After a valid submission the visitor gets what the offer promised: an ebook's signed download
link, a webinar's joining details with a calendar file, or, once a webinar has ended, its replay.
With double opt-in (the offer's ``double_opt_in:`` or the ``DOUBLE_OPT_IN`` setting) the
submission is ``pending`` and the first email only asks to confirm; the delivery follows the
confirmation, which happens on a POST (mail scanners open every link, so a GET never confirms).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from leadmagnet.content import webinar
from leadmagnet.content.offer import Offer
from leadmagnet.foundation import tokens
from leadmagnet.render.renderer import local_time
from leadmagnet.store import DELIVERED, PENDING, WAITLISTED


@dataclass(frozen=True)
class Plan:
    """What a submission to ``offer`` made at ``now`` gets, from the offer's state read once.

    ``registration`` is the webinar's window (``open``, ``started``, ``replay``, ``ended``;
    always ``open`` for other offers); ``closed`` why the form takes nothing now
    (``unpublished``, ``started``: a webinar under way, ``ended``: and no replay) or None;
    ``opt_in`` whether the first email asks to confirm (double opt-in).
    """

    offer: Offer
    now: datetime
    registration: str
    closed: str | None
    opt_in: bool

    @classmethod
    def make(cls, settings: Mapping[str, Any], offer: Offer, now: datetime) -> Plan:
        registration = webinar.registration_state(offer, now)
        closed = None
        if not offer.is_published(now):
            closed = "unpublished"
        elif registration == "started":
            closed = "started"
        elif offer.state(now) == "ended" and registration != "replay":
            closed = "ended"
        opt_in = bool(settings["DOUBLE_OPT_IN"]) if offer.double_opt_in is None else offer.double_opt_in
        return cls(offer=offer, now=now, registration=registration, closed=closed, opt_in=opt_in)

    @property
    def status(self) -> str:
        """The status the submission is stored with: awaiting confirmation, or delivered."""
        return PENDING if self.opt_in else DELIVERED

    @property
    def takes_seat(self) -> bool:
        """A webinar not over yet: delivering takes a seat (or the waitlist). A double opt-in
        confirmed while the webinar runs still needs a free seat."""
        return self.offer.type == "webinar" and self.registration in ("open", "started")

    @property
    def has_delivery(self) -> bool:
        """Something to send: not a webinar that is over with no recording."""
        return self.registration != "ended"

    @property
    def at(self) -> str:
        """``now`` in the store's timestamp format."""
        return self.now.isoformat(timespec="microseconds")


def submission_data(submission: Mapping[str, Any]) -> dict[str, Any]:
    """The answers a submission stored (its ``data``), email included."""
    raw = submission.get("data") or "{}"
    return json.loads(raw) if isinstance(raw, str) else dict(raw)


def links(settings: Mapping[str, Any], offer: Offer, submission: Mapping[str, Any]) -> dict[str, str]:
    """Signed links of one submission (registrant-only): confirm, and download or calendar.

    Each names the submission by its id and a stamp of its ``created_at`` (``tokens.dump_row``):
    ids come back after an erasure, and a link must never reach the next person's row.
    """
    key, base = settings["SECRET_KEY"], settings["BASE_URL"]
    sid, created = submission["id"], submission["created_at"]
    out = {"confirm_url": f"{base}/confirm/{tokens.dump_row(key, 'confirm', sid, created)}"}
    if offer.type == "ebook":
        out["download_url"] = f"{base}/download/{tokens.dump_row(key, 'download', sid, created)}"
    else:
        out["calendar_url"] = f"{base}/calendar/{tokens.dump_row(key, 'calendar', sid, created)}.ics"
    return out


def unsubscribe_url(settings: Mapping[str, Any], contact: Mapping[str, Any]) -> str:
    """The contact's signed unsubscribe link (never expires), stamped by its ``first_seen``."""
    token = tokens.dump_row(settings["SECRET_KEY"], "unsubscribe", contact["id"], contact["first_seen"])
    return f"{settings['BASE_URL']}/unsubscribe/{token}"


def owed(settings: Mapping[str, Any], offer: Offer, submission: Mapping[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """What the thank-you (or confirmation) page shows this submission: the ``delivery`` context.

    ``state`` is ``pending`` (check your inbox), ``waitlisted`` (the webinar is full),
    ``download``, ``webinar``, ``replay`` or ``ended``. Only registrant-only responses may render
    it: it holds the join link.
    """
    status = submission.get("status") or DELIVERED
    # Spam is answered like a pending opt-in ("check your inbox"): no link, and no email either.
    state = {PENDING: "pending", "spam": "pending", WAITLISTED: "waitlisted"}.get(status)
    out: dict[str, Any] = {"offer": offer, "state": state or ""}
    if state:
        return out
    if offer.type == "ebook":
        out.update(state="download", download_url=links(settings, offer, submission)["download_url"], filename=_filename(offer))
        return out
    if webinar.registration_state(offer, now or datetime.now(UTC)) in ("replay", "ended"):
        out.update(state="replay" if offer.replay_url else "ended", replay_url=offer.replay_url)
        return out
    assert offer.starts_at is not None and offer.ends_at is not None
    out.update(
        state="webinar",
        when=local_time(offer.starts_at, offer),
        starts_at=offer.starts_at,
        ends_at=offer.ends_at,
        offset=webinar.utc_offset_label(offer, offer.starts_at),
        join_url=offer.join_url,
        calendar_url=links(settings, offer, submission)["calendar_url"],
        google_url=webinar.google_calendar_url(offer),
    )
    return out


def _filename(offer: Offer) -> str:
    return (offer.file or "").rsplit("/", 1)[-1]
