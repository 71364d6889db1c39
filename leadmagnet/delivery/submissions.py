"""Deliveries: what each submission gets, decided once and written in one transaction; and the sender.

A submission flows one way: the capture view reads and validates the form, asks :meth:`Deliveries.plan`
for the offer's state (computed once), and :meth:`Deliveries.record` writes the lead, its seat and its
first email in one transaction before the visitor is answered. A lead never exists without its
email, nor an email without its lead. Confirming a double opt-in, an admin's "Not spam" and a
fresh download link follow the same way.

The sender's pass (``leadmagnet send``, or a thread of the server with ``SEND_IN_SERVER``) seats
waitlisted people where seats were added, tells registrants of a moved webinar, queues reminders,
builds and delivers every due email, and drops the bytes of old sent ones.

Nothing here knows the web framework or the database driver: the settings, the store's verbs, the
catalog and the renderer are all it is given.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from leadmagnet.content.catalog import CatalogCache
from leadmagnet.content.offer import Offer
from leadmagnet.content.webinar import registration_state
from leadmagnet.delivery import mail
from leadmagnet.delivery.attendance import Attendance, record_attendance
from leadmagnet.delivery.emails import Emails
from leadmagnet.delivery.plan import Plan, owed
from leadmagnet.delivery.scoring import Scorer
from leadmagnet.delivery.sequences import Sequences
from leadmagnet.delivery.webhooks import Webhooks
from leadmagnet.leads.attendance import Report
from leadmagnet.leads.scoring import ScoringRules
from leadmagnet.render.renderer import Renderer
from leadmagnet.store import DELIVERED, WAITLISTED, Store, Transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recorded:
    """A submission as stored: ``result`` is ``created`` or ``duplicate`` (the earlier one's row);
    ``inbox_only``: its thank-you page may only say "check your inbox" (see :meth:`Deliveries.record`)."""

    result: str
    submission: dict[str, Any]
    inbox_only: bool


class Deliveries:
    """What submissions are owed, and the sender that sends it, for one install."""

    def __init__(
        self, settings: Mapping[str, Any], store: Store, catalog_cache: CatalogCache, renderer: Renderer, webhooks: Webhooks | None = None
    ) -> None:
        self.settings = settings
        self.store = store
        self.catalog_cache = catalog_cache
        self.emails = Emails(settings, store, renderer)
        # A bad [scoring] table stops the start with its message (ScoringError, a ValueError).
        self.scorer = Scorer(ScoringRules.from_config(settings.get("SCORING")))
        self.sequences = Sequences(settings, store, catalog_cache, renderer)
        self._decayed_at: datetime | None = None
        self.webhooks = webhooks if webhooks is not None else Webhooks(settings, store)

    # -- a submission -----------------------------------------------------------------------

    def plan(self, offer: Offer, now: datetime | None = None) -> Plan:
        """What a submission to ``offer`` gets at ``now``: the offer's state, read once (see :class:`Plan`)."""
        return Plan.make(self.settings, offer, now or datetime.now(UTC))

    def record(
        self,
        plan: Plan,
        *,
        email: str,
        fields: dict[str, Any],
        meta: dict[str, Any],
        consented: bool,
        spam_reason: str | None = None,
    ) -> Recorded:
        """Store a valid submission with what ``plan`` says it is owed, in one transaction.

        The lead, its seat (or waitlist place) and its confirmation or delivery email are
        committed together; spam is stored marked and owed nothing. A repeat within
        ``DUPLICATE_WINDOW`` stores nothing and returns the first submission; under double opt-in
        its thank-you page may only say "check your inbox": whoever types a confirmed address
        again must not see its owner's links (without opt-in anyone gets a link for any address).
        """
        offer = plan.offer
        # One BEGIN IMMEDIATE transaction: the store commits the lead with its seat and email,
        # or none of them; the caller answers the visitor only once this returns.
        with self.store.transaction() as tx:
            outcome = tx.record_submission(
                offer_slug=offer.slug,
                offer_type=offer.type,
                email=email,
                fields=fields,
                meta=meta,
                tags=offer.tags,
                stage=offer.stage,
                consent_text=offer.consent if consented else None,
                spam_reason=spam_reason,
                dedupe_seconds=int(self.settings.get("DUPLICATE_WINDOW") or 0),
                status=plan.status,
            )
            if outcome["result"] == "created" and spam_reason is None:
                self._owe(tx, plan, outcome["submission"])
        duplicate = outcome["result"] == "duplicate"
        return Recorded(outcome["result"], outcome["submission"], inbox_only=duplicate and plan.opt_in)

    def release(self, plan: Plan, submission_id: int) -> dict[str, Any] | None:
        """An admin's "Not spam": make a spam submission a lead owed what ``plan`` says, in one
        transaction. Returns ``store.release_spam``'s ``{"result", "submission", "of"}`` (None: not spam)."""
        dedupe = int(self.settings.get("DUPLICATE_WINDOW") or 0)
        with self.store.transaction() as tx:
            done = tx.release_spam(submission_id, plan.status, dedupe_seconds=dedupe)
            if done is not None and done["result"] == "released":
                self._owe(tx, plan, done["submission"])
        return done

    def confirm(
        self, offer: Offer, submission_id: int, created_at: str | None = None, now: datetime | None = None
    ) -> dict[str, Any] | None:
        """Confirm a double opt-in submission (a POST): deliver it; None if it does not exist.

        ``created_at`` (the row its link was checked against) makes sure it is still that row.
        Confirming twice delivers once; a contact who unsubscribed after submitting has withdrawn
        it, and nothing happens (``store.confirm_opt_in``). Returns the submission as it is now.
        """
        plan = self.plan(offer, now)
        with self.store.transaction() as tx:
            done = tx.confirm_opt_in(submission_id, plan.at, created_at=created_at)
            if done is not None and done["result"] == "confirmed":
                self.scorer.confirmed(tx, done["submission"], plan.now)
                self._deliver(tx, plan, done["submission"], event="lead.confirmed")  # scores the submission, then queues the event
        return done["submission"] if done is not None else None

    def record_attendance(self, offer: Offer, report: Report, now: datetime | None = None) -> Attendance:
        """``leadmagnet attendance``: mark the webinar's registrants from an attendee report (see delivery/attendance.py)."""
        return record_attendance(self.store, self.scorer, self.emails, offer, report, now)

    def resend_download(self, offer: Offer, submission: dict[str, Any], now: datetime | None = None) -> int | None:
        """Queue a fresh download link to the submission's address (from an expired link's page)."""
        now = now or datetime.now(UTC)
        with self.store.transaction() as tx:
            return self.emails.queue(tx, offer, submission, f"resend:{now.isoformat(timespec='microseconds')}", now)

    def record_download(self, offer: Offer, submission: dict[str, Any], range_request: bool = False, now: datetime | None = None) -> int:
        """Record one download of the submission's file, score it and queue its ``download.completed``
        event, in one transaction; how many downloads it has now."""
        now = now or datetime.now(UTC)
        with self.store.transaction() as tx:
            count = tx.record_download(
                submission["id"], now.astimezone(UTC).isoformat(timespec="microseconds"), range_request=range_request
            )
            self.scorer.downloaded(tx, submission, now)  # before the event: its payload carries the new score
            extra = {"download": {"count": count, "file": (offer.file or "").rsplit("/", 1)[-1]}}
            self.webhooks.emit(
                tx, "download.completed", now, contact_id=submission["contact_id"], submission=submission, offer=offer, extra=extra
            )
        return count

    def unsubscribe(self, contact: dict[str, Any], now: datetime | None = None) -> bool:
        """Unsubscribe the contact (a link's POST) with its ``contact.unsubscribed`` event, in one transaction.

        The event is sent the first time only; False when the id no longer names this contact.
        """
        now = now or datetime.now(UTC)
        with self.store.transaction() as tx:
            before = tx.get_contact(contact["id"])
            if not tx.unsubscribe(contact["id"], now.isoformat(timespec="microseconds"), first_seen=contact["first_seen"]):
                return False
            if before is not None and before["unsubscribed_at"] is None:
                self.webhooks.emit(tx, "contact.unsubscribed", now, contact_id=contact["id"])
        return True

    def owed(self, offer: Offer, submission: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
        """What the thank-you or confirmation page shows this submission (registrant-only)."""
        return owed(self.settings, offer, submission, now)

    def _owe(self, tx: Transaction, plan: Plan, submission: dict[str, Any]) -> None:
        """A new lead's due, in its transaction: the confirmation email, or the delivery itself (which
        scores it first), then its ``lead.created`` event, which carries the score. Submitting an
        offer named in another offer's ``stop_when:`` stops that offer's sequence."""
        if plan.opt_in:
            tx.mark_opt_in_pending(submission["contact_id"])
            self.emails.queue(tx, plan.offer, submission, "confirm", plan.now)
            self.webhooks.emit(tx, "lead.created", plan.now, contact_id=submission["contact_id"], submission=submission, offer=plan.offer)
        else:
            self._deliver(tx, plan, submission, event="lead.created")
        self.sequences.stop_for(tx, submission, plan.now)

    def _deliver(self, tx: Transaction, plan: Plan, submission: dict[str, Any], event: str) -> None:
        """Take a seat (a webinar not over yet), score the submission, queue its events (``event``:
        ``lead.created``, or ``lead.confirmed`` for a confirmed double opt-in, then a webinar's
        registration event: after the seat and the score, so that they carry them), the delivery
        email, and start the offer's follow-up sequence, in ``tx``."""
        if plan.takes_seat:
            seated = tx.claim_seat(submission["id"], plan.offer.slug, plan.offer.capacity)
            submission["status"] = DELIVERED if seated else WAITLISTED
        self.scorer.delivered(tx, plan.offer, submission, plan.now)
        self.webhooks.emit(tx, event, plan.now, contact_id=submission["contact_id"], submission=submission, offer=plan.offer)
        if plan.offer.type == "webinar":
            kind = "registration.waitlisted" if submission.get("status") == WAITLISTED else "registration.created"
            extra = {"registration": {"state": plan.registration}}
            self.webhooks.emit(
                tx, kind, plan.now, contact_id=submission["contact_id"], submission=submission, offer=plan.offer, extra=extra
            )
        if plan.has_delivery:  # over, with no recording: there is nothing to send
            self.emails.queue(tx, plan.offer, submission, "delivery", plan.now, plan.registration)
        self.sequences.start(tx, plan.offer, submission, plan.now)

    # -- the sender -------------------------------------------------------------------------

    def send_once(self, now: datetime | None = None) -> mail.SendReport:
        """One pass of ``leadmagnet send``: seat waitlisted people where seats were added, tell
        registrants of a moved webinar, queue due reminders, deliver every due email, then drop the
        bytes of emails sent longer ago than ``KEEP_SENT_EMAILS_DAYS`` (a batch a pass)."""
        # Each step on its own: a failing one (a locked database, say) must not keep the queued
        # emails from going out in this pass.
        rescheduled = self._step(self.announce_reschedules, now)  # first: whoever is seated next is told the new time anyway
        promoted = self._step(self.promote_waitlists, now)
        reminders = self._step(self.queue_reminders, now)
        sequenced = self._step(self.sequences.queue_due, now)
        self._step(self.decay_scores, now)
        report = mail.send_due(self.store, self.settings, now, render=lambda row: self.render_queued(row, now))
        report.reminders, report.promoted, report.rescheduled, report.sequenced = reminders, promoted, rescheduled, sequenced
        try:  # after the emails: a slow receiver must not hold them up
            report.webhooks = self.webhooks.send_due(now)
        except Exception:
            log.exception("the sender's webhooks step failed; the pass goes on")
        days = float(self.settings.get("KEEP_SENT_EMAILS_DAYS") or 0)
        if days > 0:
            before = (now or datetime.now(UTC)) - timedelta(days=days)
            report.trimmed = self.store.forget_sent_messages(before.isoformat(timespec="microseconds"))
        return report

    def run_sender(
        self,
        watch: bool = False,
        on_pass: Callable[[mail.SendReport], None] | None = None,
        stop: threading.Event | None = None,
    ) -> mail.SendReport:
        """``leadmagnet send``: one :meth:`send_once` pass, or (``watch``) one every ``SEND_INTERVAL``
        seconds until ``stop`` is set; a pass under way when it is set finishes first (no email is cut off)."""
        interval = float(self.settings["SEND_INTERVAL"])
        stop = stop or threading.Event()
        while True:
            report = self.send_once()
            if on_pass is not None:
                on_pass(report)
            if not watch or stop.wait(interval):
                return report

    def start_background_sender(self) -> BackgroundSender:
        """Run :meth:`send_once` every ``SEND_INTERVAL`` seconds in a thread of this process (``SEND_IN_SERVER``)."""
        return BackgroundSender(self.send_once, float(self.settings["SEND_INTERVAL"])).start()

    def render_queued(self, row: dict[str, Any], now: datetime | None = None) -> bytes:
        """Build the message of an outbox row queued with a template (called by the sender)."""
        submission = self.store.get_submission(row["submission_id"]) if row["submission_id"] else None
        # The row's address is the submission's: another address means the id now names a later
        # person's submission (an erasure freed it), whose data must not go to this row's address.
        if submission is None or json.loads(submission["data"]).get("email") != row["to_addr"]:
            raise LookupError("its submission no longer exists")
        page = self.catalog_cache.get().get(submission["offer_slug"])
        if page is None:
            raise LookupError(f"offer {submission['offer_slug']!r} is no longer in the content folder")
        return self.emails.build(page.offer, submission, row["template"], row["subject"], now or datetime.now(UTC))

    def announce_reschedules(self, now: datetime | None = None) -> int:
        """Email every seated registrant of a webinar whose ``starts_at`` changed since they were told."""
        now = now or datetime.now(UTC)
        queued = 0
        for offer in self._upcoming_webinars(now):
            assert offer.starts_at is not None
            starts_at = offer.starts_at.astimezone(UTC).isoformat()
            if self.store.webinar_start(offer.slug) == starts_at:
                continue  # the usual case, every pass: a read, no write lock
            with self.store.transaction() as tx:
                for person in tx.move_webinar(offer.slug, starts_at, now.astimezone(UTC).isoformat()):
                    # One email a move: the kind names the move, so moving back to an earlier time is news too.
                    if self.emails.queue(tx, offer, person, f"rescheduled:{person['sequence']}", now) is not None:
                        queued += 1
        return queued

    def promote_waitlists(self, now: datetime | None = None) -> int:
        """Give the seats a raised capacity freed to the waitlist, earliest first, and email each person.

        One short transaction a person: the seat and the news are written together.
        """
        now = now or datetime.now(UTC)
        promoted = 0
        for offer in self._upcoming_webinars(now):
            while True:
                with self.store.transaction() as tx:
                    person = tx.seat_next_waitlisted(offer.slug, offer.capacity)
                    if person is None:
                        break
                    self.emails.queue(tx, offer, person, "promoted", now)
                    extra = {"registration": {"state": "open", "from_waitlist": True}}
                    self.webhooks.emit(
                        tx, "registration.created", now, contact_id=person["contact_id"], submission=person, offer=offer, extra=extra
                    )
                    promoted += 1
        return promoted

    def queue_reminders(self, now: datetime | None = None) -> int:
        """Queue one reminder per seated registrant of each webinar starting within ``REMINDER_MINUTES``."""
        minutes = int(self.settings["REMINDER_MINUTES"])
        if minutes <= 0:
            return 0
        now = now or datetime.now(UTC)
        queued = 0
        for offer in self.catalog_cache.get().offers():
            if offer.type != "webinar" or offer.starts_at is None:
                continue
            if not offer.starts_at.astimezone(UTC) - timedelta(minutes=minutes) <= now < offer.starts_at:
                continue
            kind = f"reminder:{offer.starts_at.astimezone(UTC).isoformat()}"  # a moved webinar is reminded of again
            for submission in self.store.reminder_due(offer.slug, kind):
                with self.store.transaction() as tx:
                    if self.emails.queue(tx, offer, submission, kind, now) is not None:
                        queued += 1
        return queued

    def decay_scores(self, now: datetime | None = None) -> int:
        """Take the day's decay off scores (``decay_per_day``), at most once an hour a process."""
        now = now or datetime.now(UTC)
        if not self.scorer.rules.decay_per_day or (self._decayed_at is not None and now - self._decayed_at < timedelta(hours=1)):
            return 0
        changed = self.store.decay_scores(self.scorer.rules.decay_per_day, now.astimezone(UTC).isoformat(timespec="microseconds"))
        self._decayed_at = now
        return changed

    def _upcoming_webinars(self, now: datetime) -> list[Offer]:
        """Published webinars that have not started: their seats and their time can still change."""
        offers = self.catalog_cache.get().offers()
        return [
            offer for offer in offers if offer.type == "webinar" and offer.is_published(now) and registration_state(offer, now) == "open"
        ]

    @staticmethod
    def _step(step: Callable[[datetime | None], int], now: datetime | None) -> int:
        """Run one step of the sender's pass; a failure is logged and counts as nothing done."""
        try:
            return step(now)
        except Exception:
            log.exception("the sender's %s step failed; the pass goes on", step.__name__)
            return 0


class BackgroundSender:
    """Runs a send pass every ``interval`` seconds in a daemon thread until :meth:`stop`."""

    def __init__(self, run_once: Callable[[], Any], interval: float) -> None:
        self.run_once = run_once
        self.interval = max(0.1, interval)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="leadmagnet-sender", daemon=True)

    def start(self) -> BackgroundSender:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to stop after its current pass, and wait for it (up to ``timeout`` seconds)."""
        self._stop.set()
        self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # keep sending later: one bad pass must not stop the thread
                log.exception("email sender pass failed")
            self._stop.wait(self.interval)
