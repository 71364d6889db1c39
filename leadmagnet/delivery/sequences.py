"""Follow-up sequences: starting, stopping, and queuing each email when it is due.

A sequence starts when a submission is delivered (at once, or when a double opt-in is
confirmed), once per person and offer. The sender's pass (:meth:`Sequences.queue_due`) queues
each due email into the outbox, built from the ``email/sequence.*`` templates of the offer's
theme (so it has the same layout, ``List-Unsubscribe`` and one-click unsubscribe as a delivery
email), and the same pass sends it.

**How an email is identified.** A person's place in a sequence is the delay of the last email
queued to them (``position``); the next email is the first whose delay is longer, due at the
start plus its delay. So, for an edited sequence:

- changing a subject or a body resends nothing: the place is a delay, not a text;
- an email added with a delay shorter than a person's place is not sent to them (they are past
  it); one with a longer delay reaches them, at once if its time has already come;
- a removed email is simply never sent; a changed delay applies to whoever has not reached it;
- moving an email they already had to a delay beyond their place would send it again, so to
  send something later, add a new email.

Due times are worked out from the sequence's delays and kept with each row; when the delays
change (a new fingerprint), every row of that offer is rescheduled before the next pass queues.
A sequence stops when the person unsubscribes (``store.unsubscribe``), is erased (their rows go),
or submits an offer named in ``stop_when:``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from leadmagnet.content import markup
from leadmagnet.content.catalog import CatalogCache
from leadmagnet.content.offer import Offer
from leadmagnet.content.sequence import SequenceEmail, describe
from leadmagnet.delivery import mail
from leadmagnet.delivery.emails import safe_first_name
from leadmagnet.delivery.plan import submission_data, unsubscribe_url
from leadmagnet.render.renderer import Renderer
from leadmagnet.store import Store, Transaction

KIND_PREFIX = "sequence:"
BATCH = 500  # sequence emails queued per offer and pass

log = logging.getLogger(__name__)


def stamp(moment: datetime) -> str:
    """``moment`` in the store's timestamp format (UTC, microseconds)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def fingerprint(offer: Offer) -> str:
    """What the due times depend on: the delays of the offer's emails (not their text)."""
    return hashlib.sha256(",".join(str(email.seconds) for email in offer.sequence).encode()).hexdigest()[:16]


def next_email(offer: Offer, position: int) -> SequenceEmail | None:
    """The first email of the sequence after place ``position`` (a delay in seconds; -1: none sent)."""
    return next((email for email in offer.sequence if email.seconds > position), None)


def due_at(started_at: str, email: SequenceEmail | None) -> str | None:
    """When ``email`` is due for a sequence started at ``started_at`` (None: no email)."""
    if email is None:
        return None
    return stamp(datetime.fromisoformat(started_at) + email.after)


class Sequences:
    """The follow-up sequences of one install: started, stopped and queued here."""

    def __init__(self, settings: Mapping[str, Any], store: Store, catalog_cache: CatalogCache, renderer: Renderer) -> None:
        self.settings = settings
        self.store = store
        self.catalog_cache = catalog_cache
        self.renderer = renderer

    # -- in a submission's transaction ----------------------------------------------------------

    def start(self, tx: Transaction, offer: Offer, submission: Mapping[str, Any], now: datetime) -> bool:
        """Start ``offer``'s sequence for the submission's contact (once per person and offer); not
        for someone who already submitted an offer of its ``stop_when:`` (it would stop at once)."""
        if not offer.sequence:
            return False
        if offer.stop_when and set(offer.stop_when) & set(tx.offers_of(submission["contact_id"])):
            return False
        started = stamp(now)
        return tx.start_sequence(
            contact_id=submission["contact_id"],
            submission_id=submission["id"],
            offer_slug=offer.slug,
            started_at=started,
            next_due_at=due_at(started, offer.sequence[0]),
        )

    def stop_for(self, tx: Transaction, submission: Mapping[str, Any], now: datetime) -> int:
        """Stop the contact's sequences whose offer names the submitted offer in ``stop_when:``."""
        slug = submission["offer_slug"]
        stopping = [offer.slug for offer in self.catalog_cache.get().offers() if slug in offer.stop_when]
        if not stopping:
            return 0
        return tx.stop_sequences(submission["contact_id"], stopping, f"submitted:{slug}", stamp(now))

    # -- the sender's pass ----------------------------------------------------------------------

    def queue_due(self, now: datetime | None = None) -> int:
        """Queue every sequence email due at ``now`` (the sender sends them in the same pass); how many."""
        now = now or datetime.now(UTC)
        queued = 0
        for offer in self.catalog_cache.get().offers():
            if not offer.sequence:
                continue
            self.reschedule(offer)
            # A bounded batch an offer a pass (the next pass takes the rest): a row that cannot be
            # built stays due, and must not keep the pass turning.
            for row in self.store.due_sequence_steps(offer.slug, stamp(now), limit=BATCH):
                try:
                    queued += self._queue_one(offer, row, now)
                except Exception:
                    log.exception("sequence email of %s to submission %s could not be queued; retried next pass", offer.slug, row["id"])
        return queued

    def reschedule(self, offer: Offer) -> bool:
        """Work the due times out again when the sequence's delays changed; True when they had."""
        version = fingerprint(offer)
        if self.store.sequence_version(offer.slug) == version:
            return False  # the usual case, every pass: one read
        due = [(row["id"], due_at(row["started_at"], next_email(offer, row["position"]))) for row in self.store.sequence_rows(offer.slug)]
        self.store.reschedule_sequence(offer.slug, version, due)
        return True

    def _queue_one(self, offer: Offer, row: dict[str, Any], now: datetime) -> int:
        email = next_email(offer, row["position"])
        if email is None:  # rescheduled meanwhile: nothing left
            self.store.reschedule_sequence(offer.slug, fingerprint(offer), [(row["progress_id"], None)])
            return 0
        message = self.build(offer, row, email, now)  # outside the transaction: no write lock while rendering
        following = next_email(offer, email.seconds)
        with self.store.transaction() as tx:
            if not tx.advance_sequence(
                row["progress_id"], position=email.seconds, now=stamp(now), next_due_at=due_at(row["started_at"], following)
            ):
                return 0  # stopped meanwhile (unsubscribed, stop_when), or another sender queued it
            queued = tx.enqueue_email(
                submission_id=row["id"],
                contact_id=row["contact_id"],
                kind=f"{KIND_PREFIX}{email.seconds}",
                to_addr=submission_data(row)["email"],
                subject=email.subject,
                message=message,
                now=stamp(now),
            )
        return 1 if queued is not None else 0

    def build(self, offer: Offer, submission: Mapping[str, Any], email: SequenceEmail, now: datetime) -> bytes:
        """The raw message of one sequence email to one person, from ``email/sequence.*``."""
        contact = self.store.get_contact(submission["contact_id"])
        if contact is None:
            raise LookupError("its contact no longer exists")
        data = submission_data(submission)
        unsubscribe = unsubscribe_url(self.settings, contact)
        context = {
            "body_text": email.body,
            "body_html": markup.render(email.body).html,
            "first_name": safe_first_name(data.get("first_name")),
            "unsubscribe_url": unsubscribe,
        }
        msg = mail.compose(
            self.renderer,
            self.settings,
            offer,
            "sequence",
            to_addr=data["email"],
            subject=email.subject,
            context=context,
            unsubscribe_url=unsubscribe,
        )
        return msg.as_bytes()

    # -- where people are ---------------------------------------------------------------------

    def positions(self, contact_id: int) -> list[dict[str, Any]]:
        """Where a contact is in each of their sequences, worded for people (admin, ``leadmagnet contact``).

        Each: ``offer_slug``, ``status`` (active, finished, stopped), ``sent`` and ``total``
        emails, the ``next`` email's subject and ``next_due_at``, ``stopped_reason``, and the
        raw times.
        """
        catalog = self.catalog_cache.get()
        found = []
        for row in self.store.sequences_of(contact_id):
            page = catalog.get(row["offer_slug"])
            offer = page.offer if page is not None else None
            upcoming = next_email(offer, row["position"]) if offer is not None and row["status"] == "active" else None
            found.append(
                {
                    **row,
                    "total": len(offer.sequence) if offer is not None else None,
                    "next": upcoming.subject if upcoming is not None else None,
                    "next_after": describe(upcoming.after) if upcoming is not None else None,
                    "summary": summary(row, offer, upcoming),
                }
            )
        return found


def summary(row: Mapping[str, Any], offer: Offer | None, upcoming: SequenceEmail | None) -> str:
    """One line: ``2 of 4 sent; next "Subject" at <time>`` / ``finished (4 sent)`` / ``stopped: unsubscribed``."""
    sent = row["sent"]
    if row["status"] == "stopped":
        reason = row["stopped_reason"] or ""
        why = f"submitted {reason.partition(':')[2]}" if reason.startswith("submitted:") else reason
        return f"stopped ({why}) after {sent} sent"
    if offer is None or not offer.sequence:
        return f"{sent} sent; the offer has no sequence now"
    if row["status"] == "finished" or upcoming is None:
        return f"finished ({sent} sent)"
    return f'{sent} of {sent + sum(1 for e in offer.sequence if e.seconds > row["position"])} sent; next "{upcoming.subject}" at {row["next_due_at"]}'
