"""The emails about a submission: queuing them, and building each message when it is sent.

Queuing writes only a small outbox row (address, subject, template) in the caller's transaction:
the sender builds the message later (templates, ``.ics``: ~15 ms), so a submission holds the
write lock for microseconds. A message is built from ``email/<template>.*`` of the offer's theme.

Emails never echo what a visitor typed, except the first name with markup and URLs stripped
(spammers put their ads in name fields to have them mailed out by confirmation emails).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from leadmagnet.content import webinar
from leadmagnet.content.offer import Offer
from leadmagnet.delivery import mail
from leadmagnet.delivery.mail import Attachment
from leadmagnet.delivery.plan import links, owed, submission_data, unsubscribe_url
from leadmagnet.render.renderer import Renderer, local_time
from leadmagnet.store import WAITLISTED, Store, Transaction

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


def template_for(offer: Offer, kind: str, status: str | None, registration: str = "open") -> tuple[str, str]:
    """``(template, subject)`` of an email of ``kind`` about ``offer``.

    ``status`` is the submission's (a waitlisted registration gets the waitlist email) and
    ``registration`` the webinar's window when the email is queued (a replay after the end).
    """
    if kind == "confirm":
        return "confirm", f"Please confirm your email to get {offer.title}"
    if kind.startswith("reminder"):
        return "reminder", f"Starting soon: {offer.title}"
    if kind == "promoted":  # off the waitlist: the registration email, with its own subject
        return "registered", f"A seat opened up: you're registered for {offer.title}"
    if kind.startswith("rescheduled:"):
        return "rescheduled", f"New time: {offer.title}"
    if kind == "no-show":  # registered, did not attend (leadmagnet attendance): the recording
        return "replay", f"Sorry we missed you: the recording of {offer.title}"
    if offer.type == "ebook":
        return "download", f"Your copy of {offer.title}"
    if status == WAITLISTED:
        return "waitlist", f"You're on the waitlist for {offer.title}"
    if registration in ("replay", "ended"):
        return "replay", f"The recording of {offer.title}"
    return "registered", f"You're registered: {offer.title}"


class Emails:
    """Queues the emails a submission is owed, and builds their messages for the sender."""

    def __init__(self, settings: Mapping[str, Any], store: Store, renderer: Renderer) -> None:
        self.settings = settings
        self.store = store
        self.renderer = renderer

    def queue(
        self, tx: Transaction, offer: Offer, submission: Mapping[str, Any], kind: str, now: datetime, registration: str = "open"
    ) -> int | None:
        """Queue one email in ``tx``; None if this submission already has one of ``kind``."""
        template, subject = template_for(offer, kind, submission.get("status"), registration)
        return tx.enqueue_email(
            submission_id=submission["id"],
            contact_id=submission["contact_id"],
            kind=kind,
            to_addr=submission_data(submission)["email"],
            subject=subject,
            template=template,
            now=now.isoformat(timespec="microseconds"),
        )

    def build(self, offer: Offer, submission: Mapping[str, Any], template: str, subject: str, now: datetime) -> bytes:
        """The raw message of one email about one submission, from ``email/<template>.*``."""
        cfg = self.settings
        data = submission_data(submission)
        context = owed(cfg, offer, submission, now) if template not in ("confirm", "waitlist") else {"state": template}
        context.update(links(cfg, offer, submission))
        contact = self.store.get_contact(submission["contact_id"])
        if contact is None:
            raise LookupError("its contact no longer exists")
        context["unsubscribe_url"] = unsubscribe_url(cfg, contact)
        context["first_name"] = safe_first_name(data.get("first_name"))
        attachments: tuple[Attachment, ...] = ()
        if template in ("registered", "reminder", "rescheduled") and offer.type == "webinar":
            context.setdefault("when", local_time(offer.starts_at, offer) if offer.starts_at else "")
            context.setdefault("join_url", offer.join_url)
            context.setdefault("google_url", webinar.google_calendar_url(offer))
            sequence = self.store.webinar_sequence(offer.slug)
            ics = webinar.calendar_ics(offer, submission["id"], cfg["BASE_URL"], cfg["SITE_NAME"], now, sequence)
            attachments = (Attachment(f"{offer.slug}.ics", ics, "text", "calendar", {"method": "PUBLISH"}),)
        msg = mail.compose(
            self.renderer,
            cfg,
            offer,
            template,
            to_addr=data["email"],
            subject=subject,
            context=context,
            unsubscribe_url=context["unsubscribe_url"],
            attachments=attachments,
        )
        return msg.as_bytes()
