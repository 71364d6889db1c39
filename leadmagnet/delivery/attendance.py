"""Webinar attendance: marking each registrant attended or no-show from an attendee report.

``leadmagnet attendance OFFER report.csv`` reads the report (:mod:`leadmagnet.leads.attendance`)
and, in one transaction, marks every registrant of the webinar: ``attended`` when the report
lists their address as attending, else ``no-show``. Attending scores (``attended`` points, once per
webinar); a no-show of a webinar with ``replay_url`` is queued the replay email through the
outbox (once: importing the report again queues nothing new), unless they unsubscribed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from leadmagnet.content import webinar
from leadmagnet.content.offer import Offer
from leadmagnet.delivery.emails import Emails
from leadmagnet.delivery.scoring import Scorer
from leadmagnet.leads.attendance import Report
from leadmagnet.store import Store

NO_SHOW_KIND = "no-show"


class AttendanceError(ValueError):
    """An offer whose attendance cannot be recorded (not a webinar, not over yet)."""


@dataclass
class Attendance:
    """What one import did: how many attended, did not, got the replay; addresses not registered."""

    attended: int = 0
    no_shows: int = 0
    replays: int = 0
    not_registered: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{self.attended} attended, {self.no_shows} no-shows"
        text += f", {self.replays} replay emails queued" if self.replays else ""
        if self.not_registered:
            text += f"; {len(self.not_registered)} addresses in the report are not registrants (ignored)"
        return text


def record_attendance(
    store: Store, scorer: Scorer, emails: Emails, offer: Offer, report: Report, now: datetime | None = None
) -> Attendance:
    """Mark every registrant of ``offer`` from ``report``, in one transaction (all or nothing)."""
    now = now or datetime.now(UTC)
    if offer.type != "webinar":
        raise AttendanceError(f"{offer.slug} is an {offer.type}, not a webinar: only a webinar has attendees")
    state = webinar.registration_state(offer, now)
    if state not in ("replay", "ended"):
        ends = offer.ends_at.isoformat() if offer.ends_at else "its end"
        raise AttendanceError(f"{offer.slug} has not ended yet (it ends at {ends}); import its attendee report after that")
    done = Attendance()
    registrants = store.registrants(offer.slug)
    known = {person["email"].lower() for person in registrants}
    done.not_registered = sorted((report.attended | report.absent) - known)
    # One BEGIN IMMEDIATE transaction: a report is imported whole or not at all.
    with store.transaction() as tx:
        for person in registrants:
            if person["email"].lower() in report.attended:
                tx.mark_attendance(person["id"], "attended")
                scorer.attended(tx, person, now)
                done.attended += 1
                continue
            tx.mark_attendance(person["id"], "no-show")
            done.no_shows += 1
            wants_replay = offer.replay_url and person["unsubscribed_at"] is None
            if wants_replay and emails.queue(tx, offer, person, NO_SHOW_KIND, now, registration=state) is not None:
                done.replays += 1
    return done
