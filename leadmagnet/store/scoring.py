"""Store verbs for lead scores and lifecycle stages.

The rules (how many points an event is worth, the stage a score reaches) are not here: they are
:mod:`leadmagnet.leads.scoring`'s, and the caller passes their results in. The store keeps the
score and stage on the contact and each scored event once in ``score_events`` (by its ``key``,
such as ``download:growth-playbook``), updated in the transaction of the event itself.

Decay (``decay_per_day``) takes whole days off a score: from ``score_at``, the time of its last
change, each full day without a scored event takes that many points (never below zero). The
stage never moves back: lifecycle stages are a path (HubSpot refuses to move a contact back).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from leadmagnet.store.connection import Verbs

STAGES = ("subscriber", "lead", "mql", "sql")
RANK = {stage: rank for rank, stage in enumerate(STAGES)}


def _decayed(score: int, score_at: str | None, now: str, per_day: int) -> tuple[int, str | None]:
    """``score`` after the whole days since ``score_at``, and the time those days end at."""
    if per_day <= 0 or not score_at or score <= 0:
        return score, score_at
    start = datetime.fromisoformat(score_at)
    days = math.floor((datetime.fromisoformat(now) - start) / timedelta(days=1))
    if days <= 0:
        return score, score_at
    return max(0, score - per_day * days), (start + timedelta(days=days)).isoformat(timespec="microseconds")


class Scoring(Verbs):
    """Scores, stages and the scored events of each contact."""

    def add_points(
        self, contact_id: int, *, key: str, event: str, points: int, now: str, offer_slug: str | None = None, decay_per_day: int = 0
    ) -> dict[str, Any] | None:
        """Count event ``key`` for a contact once: its points are added to the score (after any
        decay due). Returns ``{"score", "stage"}`` as they are now, or None when the event was
        counted before (nothing changes) or the contact does not exist."""
        with self.db.writing() as conn:
            contact = conn.execute("SELECT score, score_at, lifecycle_stage FROM contacts WHERE id = ?", (contact_id,)).fetchone()
            if contact is None:
                return None
            added = conn.execute(
                "INSERT INTO score_events (contact_id, key, event, offer_slug, points, created_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (contact_id, key) DO NOTHING",
                (contact_id, key, event, offer_slug, points, now),
            ).rowcount
            if not added:
                return None
            score, _until = _decayed(contact["score"], contact["score_at"], now, decay_per_day)
            score += points
            conn.execute("UPDATE contacts SET score = ?, score_at = ? WHERE id = ?", (score, now, contact_id))
        return {"score": score, "stage": contact["lifecycle_stage"]}

    def raise_stage(self, contact_id: int, stage: str) -> bool:
        """Move a contact's stage forward to ``stage`` (never back); True when it moved."""
        if stage not in RANK:
            raise ValueError(f"unknown lifecycle stage {stage!r}; use one of: {', '.join(STAGES)}")
        ranks = " ".join(f"WHEN '{name}' THEN {rank}" for name, rank in RANK.items())
        with self.db.writing() as conn:
            return (
                conn.execute(
                    f"UPDATE contacts SET lifecycle_stage = ? WHERE id = ? AND (CASE lifecycle_stage {ranks} ELSE -1 END) < ?",  # noqa: S608 - our names
                    (stage, contact_id, RANK[stage]),
                ).rowcount
                == 1
            )

    def mark_sales_qualified(self, contact_id: int, now: str) -> bool:
        """A marketer marks a contact sales-qualified (SQL); False when there is no such contact."""
        with self.db.writing() as conn:
            return (
                conn.execute(
                    "UPDATE contacts SET lifecycle_stage = 'sql', sales_qualified_at = COALESCE(sales_qualified_at, ?) WHERE id = ?",
                    (now, contact_id),
                ).rowcount
                == 1
            )

    def decay_scores(self, per_day: int, now: str, limit: int = 5000) -> int:
        """Take ``per_day`` points off each score for each whole day since its last change; how many
        contacts changed (at most ``limit`` a call, in one short transaction)."""
        if per_day <= 0:
            return 0
        cutoff = (datetime.fromisoformat(now) - timedelta(days=1)).isoformat(timespec="microseconds")
        with self.db.writing() as conn:
            rows = conn.execute(
                "SELECT id, score, score_at FROM contacts WHERE score > 0 AND score_at IS NOT NULL AND score_at <= ? LIMIT ?",
                (cutoff, limit),
            ).fetchall()
            changes = [(*_decayed(row["score"], row["score_at"], now, per_day), row["id"]) for row in rows]
            conn.executemany("UPDATE contacts SET score = ?, score_at = ? WHERE id = ?", changes)
        return len(changes)

    def score_events_of(self, contact_id: int) -> list[dict[str, Any]]:
        """A contact's scored events, oldest first."""
        return self.db.rows(
            "SELECT event, offer_slug, points, created_at FROM score_events WHERE contact_id = ? ORDER BY id", (contact_id,)
        )

    def offers_of(self, contact_id: int) -> list[str]:
        """The offers a contact has submitted (not as spam), first submitted first."""
        rows = self.db.rows(
            "SELECT offer_slug FROM submissions WHERE contact_id = ? AND spam = 0 GROUP BY offer_slug ORDER BY min(id)", (contact_id,)
        )
        return [row["offer_slug"] for row in rows]
