"""What a submission is owed, and the emails that carry it.

After a valid submission the visitor gets what the offer promised: an ebook's signed download
link, a webinar's joining details with a calendar file, or, once a webinar has ended, its replay.
With double opt-in (the offer's ``double_opt_in:`` or the ``DOUBLE_OPT_IN`` setting) the
submission is ``pending`` and the first email only asks to confirm; the delivery follows the
confirmation, which happens on a POST (mail scanners open every link, so a GET never confirms).

The capture view calls :func:`plan_submission` and passes its ``within`` to
``record_submission``: the seat and the outbox row are written in the submission's own
transaction, so a lead never exists without its email, nor an email without its lead.

Emails never echo what a visitor typed, except the first name with markup and URLs stripped
(spammers put their ads in name fields to have them mailed out by confirmation emails).
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask

from leadmagnet.content import webinar
from leadmagnet.content.offer import Offer
from leadmagnet.delivery import mail
from leadmagnet.delivery.mail import Attachment
from leadmagnet.foundation import tokens
from leadmagnet.render.renderer import local_time
from leadmagnet.store import Store
from leadmagnet.store.outbox import DELIVERED, PENDING, WAITLISTED, WithinTransaction

log = logging.getLogger(__name__)

FIRST_NAME_MAX = 40
_TAG_RE = re.compile(r"<[^>]*>?")
_URL_RE = re.compile(r"(?i)\b(?:[a-z][a-z0-9+.-]*://|www\.)\S*|\b\S+\.(?:[a-z]{2,}|xn--[a-z0-9-]+)(?:/\S*)?\b|\S*@\S*")
_NAME_JUNK_RE = re.compile(r"[<>{}\[\]\\/|`*_#=~^$%]")


def safe_first_name(value: Any) -> str:
    """The first name as emails may show it: no markup, no URLs or addresses, short, one line."""
    if not isinstance(value, str):
        return ""
    text = _TAG_RE.sub(" ", value)
    text = _URL_RE.sub(" ", text)
    text = _NAME_JUNK_RE.sub(" ", text)
    text = " ".join(text.split())
    return text[:FIRST_NAME_MAX].strip(" .,:;!?-")


def needs_opt_in(cfg: dict[str, Any], offer: Offer) -> bool:
    """Double opt-in applies: the offer's own choice, else the site setting."""
    return bool(cfg["DOUBLE_OPT_IN"]) if offer.double_opt_in is None else offer.double_opt_in


def _data(submission: dict[str, Any]) -> dict[str, Any]:
    raw = submission.get("data") or "{}"
    return json.loads(raw) if isinstance(raw, str) else dict(raw)


# -- links -----------------------------------------------------------------------------------


def links(cfg: dict[str, Any], offer: Offer, submission: dict[str, Any]) -> dict[str, str]:
    """Signed links of one submission (registrant-only): confirm, and download or calendar.

    Each names the submission by its id and a stamp of its ``created_at`` (``tokens.dump_row``):
    ids come back after an erasure, and a link must never reach the next person's row.
    """
    key, base = cfg["SECRET_KEY"], cfg["BASE_URL"]
    sid, created = submission["id"], submission["created_at"]
    out = {"confirm_url": f"{base}/confirm/{tokens.dump_row(key, 'confirm', sid, created)}"}
    if offer.type == "ebook":
        out["download_url"] = f"{base}/download/{tokens.dump_row(key, 'download', sid, created)}"
    else:
        out["calendar_url"] = f"{base}/calendar/{tokens.dump_row(key, 'calendar', sid, created)}.ics"
    return out


def unsubscribe_url(cfg: dict[str, Any], contact: dict[str, Any]) -> str:
    """The contact's signed unsubscribe link (never expires), stamped by its ``first_seen``."""
    token = tokens.dump_row(cfg["SECRET_KEY"], "unsubscribe", contact["id"], contact["first_seen"])
    return f"{cfg['BASE_URL']}/unsubscribe/{token}"


def owed(cfg: dict[str, Any], offer: Offer, submission: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """What the thank-you (or confirmation) page shows this submission: the ``delivery`` context.

    ``state`` is ``pending`` (check your inbox), ``waitlisted`` (the webinar is full),
    ``download``, ``webinar`` or ``replay``. Only registrant-only responses may render it: it holds
    the join link.
    """
    now = now or datetime.now(UTC)
    status = submission.get("status") or DELIVERED
    # Spam is answered like a pending opt-in ("check your inbox"): no link, and no email either.
    state = {PENDING: "pending", "spam": "pending", WAITLISTED: "waitlisted"}.get(status)
    out: dict[str, Any] = {"offer": offer, "state": state or ""}
    if state:
        return out
    if offer.type == "ebook":
        out.update(state="download", download_url=links(cfg, offer, submission)["download_url"], filename=_filename(offer))
        return out
    if webinar.registration_state(offer, now) in ("replay", "ended"):
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
        calendar_url=links(cfg, offer, submission)["calendar_url"],
        google_url=webinar.google_calendar_url(offer),
    )
    return out


def _filename(offer: Offer) -> str:
    return (offer.file or "").rsplit("/", 1)[-1]


# -- queuing emails --------------------------------------------------------------------------


def closed(offer: Offer, now: datetime) -> str | None:
    """Why ``offer`` takes no submission at ``now`` (``unpublished``, ``started``: a webinar under
    way, ``ended``: and no replay), or None when it does. The form and the admin's "Not spam" ask."""
    if not offer.is_published(now):
        return "unpublished"
    registration = webinar.registration_state(offer, now)
    if registration == "started":
        return "started"
    if offer.state(now) == "ended" and registration != "replay":
        return "ended"
    return None


def plan_submission(app: Flask, offer: Offer, now: datetime | None = None) -> tuple[str, WithinTransaction]:
    """``(status, within)`` for ``record_submission`` of a submission to ``offer``.

    ``within`` runs inside the submission's transaction: it takes a webinar seat (or waitlists
    the registration) and queues the confirmation or delivery email.
    """
    now = now or datetime.now(UTC)
    pending = needs_opt_in(app.config, offer)

    def within(conn: sqlite3.Connection, submission: dict[str, Any]) -> None:
        if pending:
            app.extensions["leadmagnet"].store.mark_opt_in_pending_in(conn, submission["contact_id"])
            queue_email_in(app, conn, offer, submission, "confirm", now)
        else:
            deliver_in(app, conn, offer, submission, now)

    return (PENDING if pending else DELIVERED), within


def deliver_in(app: Flask, conn: sqlite3.Connection, offer: Offer, submission: dict[str, Any], now: datetime) -> None:
    """Take a seat (webinars still open) and queue the delivery email, in the caller's transaction."""
    store: Store = app.extensions["leadmagnet"].store
    state = webinar.registration_state(offer, now) if offer.type == "webinar" else "open"
    if offer.type == "webinar" and state in ("open", "started"):
        # Started too: a double opt-in confirmed during the webinar still needs a free seat.
        seated = store.claim_seat_in(conn, submission["id"], offer.slug, offer.capacity)
        submission["status"] = DELIVERED if seated else WAITLISTED
    if state == "ended":  # over, with no recording: there is nothing to send
        return
    queue_email_in(app, conn, offer, submission, "delivery", now)


def template_for(offer: Offer, kind: str, submission: dict[str, Any], now: datetime) -> tuple[str, str]:
    """``(template, subject)`` of an email of ``kind`` about ``offer``."""
    if kind == "confirm":
        return "confirm", f"Please confirm your email to get {offer.title}"
    if kind.startswith("reminder"):
        return "reminder", f"Starting soon: {offer.title}"
    if kind == "promoted":  # off the waitlist: the registration email, with its own subject
        return "registered", f"A seat opened up: you're registered for {offer.title}"
    if kind.startswith("rescheduled:"):
        return "rescheduled", f"New time: {offer.title}"
    if offer.type == "ebook":
        return "download", f"Your copy of {offer.title}"
    if submission.get("status") == WAITLISTED:
        return "waitlist", f"You're on the waitlist for {offer.title}"
    if webinar.registration_state(offer, now) in ("replay", "ended"):
        return "replay", f"The recording of {offer.title}"
    return "registered", f"You're registered: {offer.title}"


def build_email(app: Flask, offer: Offer, submission: dict[str, Any], template: str, subject: str, now: datetime) -> bytes:
    """The raw message of one email about one submission, from ``email/<template>.*``."""
    cfg = app.config
    data = _data(submission)
    context = owed(cfg, offer, submission, now) if template not in ("confirm", "waitlist") else {"state": template}
    context.update(links(cfg, offer, submission))
    contact = app.extensions["leadmagnet"].store.get_contact(submission["contact_id"])
    if contact is None:
        raise LookupError("its contact no longer exists")
    context["unsubscribe_url"] = unsubscribe_url(cfg, contact)
    context["first_name"] = safe_first_name(data.get("first_name"))
    attachments: tuple[Attachment, ...] = ()
    if template in ("registered", "reminder", "rescheduled") and offer.type == "webinar":
        context.setdefault("when", local_time(offer.starts_at, offer) if offer.starts_at else "")
        context.setdefault("join_url", offer.join_url)
        context.setdefault("google_url", webinar.google_calendar_url(offer))
        sequence = app.extensions["leadmagnet"].store.webinar_sequence(offer.slug)
        ics = webinar.calendar_ics(offer, submission["id"], cfg["BASE_URL"], cfg["SITE_NAME"], now, sequence)
        attachments = (Attachment(f"{offer.slug}.ics", ics, "text", "calendar", {"method": "PUBLISH"}),)
    msg = mail.compose(
        app,
        offer,
        template,
        to_addr=data["email"],
        subject=subject,
        context=context,
        unsubscribe_url=context["unsubscribe_url"],
        attachments=attachments,
    )
    return msg.as_bytes()


def queue_email_in(app: Flask, conn: sqlite3.Connection, offer: Offer, submission: dict[str, Any], kind: str, now: datetime) -> int | None:
    """Queue one email in the caller's transaction; None if this submission already has one of ``kind``.

    Only a small row is written here (address, subject, template): the sender builds the message
    (templates, .ics: ~15 ms) later, so the submission's write lock is held for microseconds.
    """
    store: Store = app.extensions["leadmagnet"].store
    template, subject = template_for(offer, kind, submission, now)
    return store.enqueue_email_in(
        conn,
        submission_id=submission["id"],
        contact_id=submission["contact_id"],
        kind=kind,
        to_addr=_data(submission)["email"],
        subject=subject,
        template=template,
        now=now.isoformat(timespec="microseconds"),
    )


def render_queued(app: Flask, row: dict[str, Any], now: datetime | None = None) -> bytes:
    """Build the message of an outbox row queued with a template (called by the sender)."""
    site = app.extensions["leadmagnet"]
    submission = site.store.get_submission(row["submission_id"]) if row["submission_id"] else None
    if submission is None:
        raise LookupError("its submission no longer exists")
    page = site.catalog.get(submission["offer_slug"])
    if page is None:
        raise LookupError(f"offer {submission['offer_slug']!r} is no longer in the content folder")
    return build_email(app, page.offer, submission, row["template"], row["subject"], now or datetime.now(UTC))


def confirm(
    app: Flask, offer: Offer, submission_id: int, now: datetime | None = None, created_at: str | None = None
) -> dict[str, Any] | None:
    """Confirm a double opt-in submission (a POST): deliver it; None if it does not exist.

    ``created_at`` (the row its link was checked against) makes sure it is still that row.
    Nothing happens for a contact who unsubscribed after submitting (``store.confirm_opt_in``).
    """
    now = now or datetime.now(UTC)
    store: Store = app.extensions["leadmagnet"].store
    return store.confirm_opt_in(
        submission_id,
        now.isoformat(timespec="microseconds"),
        within=lambda conn, submission: deliver_in(app, conn, offer, submission, now),
        created_at=created_at,
    )


def resend_download(app: Flask, offer: Offer, submission: dict[str, Any], now: datetime | None = None) -> int | None:
    """Queue a fresh download link to the submission's address (from an expired link's page)."""
    now = now or datetime.now(UTC)
    store: Store = app.extensions["leadmagnet"].store
    template, subject = template_for(offer, "delivery", submission, now)
    return store.enqueue_email(
        submission_id=submission["id"],
        contact_id=submission["contact_id"],
        kind=f"resend:{now.isoformat(timespec='microseconds')}",
        to_addr=_data(submission)["email"],
        subject=subject,
        template=template,
        now=now.isoformat(timespec="microseconds"),
    )


# -- the sender ------------------------------------------------------------------------------


def queue_reminders(app: Flask, now: datetime | None = None) -> int:
    """Queue one reminder per seated registrant of each webinar starting within ``REMINDER_MINUTES``."""
    minutes = int(app.config["REMINDER_MINUTES"])
    if minutes <= 0:
        return 0
    now = now or datetime.now(UTC)
    site = app.extensions["leadmagnet"]
    queued = 0
    for offer in site.catalog.offers():
        if offer.type != "webinar" or offer.starts_at is None:
            continue
        if not offer.starts_at.astimezone(UTC) - timedelta(minutes=minutes) <= now < offer.starts_at:
            continue
        kind = f"reminder:{offer.starts_at.astimezone(UTC).isoformat()}"  # a moved webinar is reminded of again
        for submission in site.store.reminder_due(offer.slug, kind):
            with site.store.transaction() as conn:
                if queue_email_in(app, conn, offer, submission, kind, now) is not None:
                    queued += 1
    return queued


def promote_waitlists(app: Flask, now: datetime | None = None) -> int:
    """Give the seats a raised capacity freed to the waitlist, earliest first, and email each person."""
    now = now or datetime.now(UTC)
    site = app.extensions["leadmagnet"]
    promoted = 0
    for offer in site.catalog.offers():
        if not _upcoming(offer, now):
            continue

        def queue(conn: sqlite3.Connection, submission: dict[str, Any], offer: Offer = offer) -> None:
            queue_email_in(app, conn, offer, submission, "promoted", now)

        promoted += site.store.promote_waitlisted(offer.slug, offer.capacity, queue)
    return promoted


def announce_reschedules(app: Flask, now: datetime | None = None) -> int:
    """Email every seated registrant of a webinar whose ``starts_at`` changed since they were told."""
    now = now or datetime.now(UTC)
    site = app.extensions["leadmagnet"]
    queued = 0
    for offer in site.catalog.offers():
        if not _upcoming(offer, now):
            continue
        assert offer.starts_at is not None

        def queue(conn: sqlite3.Connection, submission: dict[str, Any], offer: Offer = offer) -> None:
            nonlocal queued
            # One email a move: the kind names the move, so moving back to an earlier time is news too.
            if queue_email_in(app, conn, offer, submission, f"rescheduled:{submission['sequence']}", now) is not None:
                queued += 1

        site.store.announce_time(offer.slug, offer.starts_at.astimezone(UTC).isoformat(), queue, now.astimezone(UTC).isoformat())
    return queued


def _step(step: Callable[[Flask, datetime | None], int], app: Flask, now: datetime | None) -> int:
    """Run one step of the sender's pass; a failure is logged and counts as nothing done."""
    try:
        return step(app, now)
    except Exception:
        log.exception("the sender's %s step failed; the pass goes on", step.__name__)
        return 0


def _upcoming(offer: Offer, now: datetime) -> bool:
    """A published webinar that has not started: its seats and its time can still change."""
    return offer.type == "webinar" and offer.is_published(now) and webinar.registration_state(offer, now) == "open"


def send_once(app: Flask, now: datetime | None = None) -> mail.SendReport:
    """One pass of ``leadmagnet send``: seat waitlisted people where seats were added, tell
    registrants of a moved webinar, queue due reminders, deliver every due email, then drop the
    bytes of emails sent longer ago than ``KEEP_SENT_EMAILS_DAYS`` (a batch a pass)."""
    store = app.extensions["leadmagnet"].store
    with app.app_context():
        # Each step on its own: a failing one (a locked database, say) must not keep the queued
        # emails from going out in this pass.
        rescheduled = _step(announce_reschedules, app, now)  # first: whoever is seated next is told the new time anyway
        promoted = _step(promote_waitlists, app, now)
        reminders = _step(queue_reminders, app, now)
        report = mail.send_due(store, app.config, now, render=lambda row: render_queued(app, row, now))
    report.reminders, report.promoted, report.rescheduled = reminders, promoted, rescheduled
    days = float(app.config.get("KEEP_SENT_EMAILS_DAYS") or 0)
    if days > 0:
        before = (now or datetime.now(UTC)) - timedelta(days=days)
        report.trimmed = store.forget_sent_messages(before.isoformat(timespec="microseconds"))
    return report


def run_sender(app: Flask, watch: bool = False, on_pass: Callable[[mail.SendReport], None] | None = None) -> mail.SendReport:
    """``leadmagnet send``: one :func:`send_once` pass, or (``watch``) one every ``SEND_INTERVAL`` seconds, forever."""
    interval = float(app.config["SEND_INTERVAL"])
    while True:
        report = send_once(app)
        if on_pass is not None:
            on_pass(report)
        if not watch:
            return report
        time.sleep(interval)


def start_background_sender(app: Flask) -> mail.BackgroundSender:
    """Run :func:`send_once` every ``SEND_INTERVAL`` seconds in this process (``SEND_IN_SERVER``)."""
    sender = mail.BackgroundSender(lambda: send_once(app), float(app.config["SEND_INTERVAL"]))
    app.extensions["leadmagnet"].extras["sender"] = sender
    return sender.start()
