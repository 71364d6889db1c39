"""Store verbs for A/B tests: views per variant and day, and submissions per variant and day.

Views of a variant are counted in memory like page views (:mod:`leadmagnet.leads.pageviews`) and
added here in batches (:meth:`Experiments.add_variant_views`); a submission's variant is a column
of ``submissions``, written with the lead, and counted per day in ``variant_lead_days`` by
triggers (``m014_variant_rollup``). The report reads both per day, so it can look at the
test as it stood at the end of each day (the sequential test's history).
"""

from __future__ import annotations

from typing import Any

from leadmagnet.store.connection import Verbs


class Experiments(Verbs):
    """Views and submissions per A/B variant."""

    def add_variant_views(self, counts: dict[tuple[str, str, str], int]) -> None:
        """Add batched view counts keyed by ``(offer_slug, day, variant)``, in one transaction."""
        if not counts:
            return
        with self.db.writing() as conn:
            conn.executemany(
                "INSERT INTO variant_views (offer_slug, day, variant, views) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (offer_slug, day, variant) DO UPDATE SET views = variant_views.views + excluded.views",
                [(slug, day, variant, n) for (slug, day, variant), n in counts.items()],
            )

    def variant_days(self, offer_slug: str, since: str | None = None, until: str | None = None) -> list[dict[str, Any]]:
        """Per UTC day and variant of ``offer_slug``: ``views`` and ``submissions`` (spam left out).

        ``since``/``until`` are ISO dates (``until`` exclusive); both are counted per UTC day, so
        a time is kept by its date part alone. Rows are ordered by day, then variant. The cost is
        the days times the variants, however many leads the test has.
        """
        lo, hi = since or "", until or "9999"
        days: dict[tuple[str, str], dict[str, Any]] = {}

        def entry(day: str, variant: str) -> dict[str, Any]:
            return days.setdefault((day, variant), {"day": day, "variant": variant, "views": 0, "submissions": 0})

        conn = self.db.conn
        for day, variant, views in conn.execute(
            "SELECT day, variant, views FROM variant_views WHERE offer_slug = ? AND day >= ? AND day < ?",
            (offer_slug, lo[:10], hi[:10] if until else hi),
        ):
            entry(day, variant)["views"] += int(views)
        # Leads from their daily roll-up (m014_variant_rollup's triggers keep it equal to the table).
        for day, variant, n in conn.execute(
            "SELECT day, variant, submissions FROM variant_lead_days WHERE offer_slug = ? AND day >= ? AND day < ?",
            (offer_slug, lo[:10], hi[:10] if until else hi),
        ):
            entry(day, variant)["submissions"] += int(n)
        return [days[key] for key in sorted(days)]

    def variant_views(self, offer_slug: str | None = None) -> list[dict[str, Any]]:
        """The daily view counts per variant (``offer_slug``, ``day``, ``variant``, ``views``)."""
        if offer_slug is None:
            return self.db.rows("SELECT offer_slug, day, variant, views FROM variant_views ORDER BY offer_slug, day, variant")
        return self.db.rows(
            "SELECT offer_slug, day, variant, views FROM variant_views WHERE offer_slug = ? ORDER BY day, variant", (offer_slug,)
        )
