"""Scoring the events of a lead, inside the transaction of each event.

A submission, a confirmed opt-in, a download, a webinar registration and an attendance each add
their points (:class:`~leadmagnet.leads.scoring.ScoringRules`) once per contact and offer, in the
same transaction that records the event, and move the contact's stage forward when the score
reaches a threshold. Under double opt-in a submission is scored when it is confirmed: until then
the address may not be the person's who typed it.

:func:`score_and_stage` is what other parts show of a contact (the admin, the webhook payload).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from leadmagnet.content.offer import Offer
from leadmagnet.leads.scoring import STAGE_LABELS, STAGES, ScoringRules
from leadmagnet.store import Store, Transaction

_RANK = {stage: rank for rank, stage in enumerate(STAGES)}


def score_and_stage(store: Store, contact_id: int) -> dict[str, Any] | None:
    """A contact's ``{"score", "stage", "stage_label", "sales_qualified_at"}`` as stored now; None if
    there is no such contact. ``stage`` is ``subscriber``, ``lead``, ``mql`` or ``sql``."""
    contact = store.get_contact(contact_id)
    if contact is None:
        return None
    return stage_of(contact)


def stage_of(contact: Mapping[str, Any]) -> dict[str, Any]:
    """The score and stage of a contact row (see :func:`score_and_stage`)."""
    stage = contact.get("lifecycle_stage") or "subscriber"
    return {
        "score": int(contact.get("score") or 0),
        "stage": stage,
        "stage_label": STAGE_LABELS.get(stage, stage),
        "sales_qualified_at": contact.get("sales_qualified_at"),
    }


class Scorer:
    """Applies the site's scoring rules to events, in the caller's transaction."""

    def __init__(self, rules: ScoringRules) -> None:
        self.rules = rules

    def delivered(self, tx: Transaction, offer: Offer, submission: Mapping[str, Any], now: datetime) -> None:
        """A submission that now holds what it asked for (or waits on a webinar's waitlist)."""
        contact_id, slug = submission["contact_id"], offer.slug
        self._add(tx, contact_id, f"submission:{slug}", self.rules.submission_event(offer.stage), now, slug)
        if offer.type == "webinar":
            self._add(tx, contact_id, f"registration:{slug}", "webinar_registration", now, slug)
        if any(other != slug for other in tx.offers_of(contact_id)):
            self._add(tx, contact_id, f"further:{slug}", "further_offer", now, slug)

    def confirmed(self, tx: Transaction, submission: Mapping[str, Any], now: datetime) -> None:
        """The contact's first confirmed double opt-in."""
        self._add(tx, submission["contact_id"], "confirmed", "confirmed_opt_in", now, None)

    def downloaded(self, tx: Transaction, submission: Mapping[str, Any], now: datetime) -> None:
        """The first download of an offer's file."""
        self._add(tx, submission["contact_id"], f"download:{submission['offer_slug']}", "download", now, submission["offer_slug"])

    def attended(self, tx: Transaction, submission: Mapping[str, Any], now: datetime) -> None:
        """Attended a webinar."""
        self._add(tx, submission["contact_id"], f"attended:{submission['offer_slug']}", "attended", now, submission["offer_slug"])

    def _add(self, tx: Transaction, contact_id: int, key: str, event: str, now: datetime, slug: str | None) -> None:
        done = tx.add_points(
            contact_id,
            key=key,
            event=event,
            points=self.rules.points(event),
            now=now.astimezone(UTC).isoformat(timespec="microseconds"),
            offer_slug=slug,
            decay_per_day=self.rules.decay_per_day,
        )
        if done is None:
            return
        stage = self.rules.stage_for(done["score"])
        # The stage only moves forward (store.raise_stage): skip the UPDATE when it would not move.
        if _RANK.get(done["stage"], -1) < _RANK[stage]:
            tx.raise_stage(contact_id, stage)
