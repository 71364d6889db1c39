"""Store verbs for the dashboard's charts, breakdowns, funnel and response times.

Every figure but one comes from the daily roll-ups (``m013_dashboard_rollups``): ``page_views``
and ``page_view_details`` for views, ``lead_days`` (kept equal to the submissions and downloads
by triggers) for leads. A roll-up row stands for one offer, UTC day and value, so a range costs
the number of days times the values seen, however many submissions they count: the same on a
hundred leads as on a million. The response times read the raw tables, bounded: the newest
:data:`RESPONSE_SAMPLE` submissions of each offer in the range.

Days are UTC days (``YYYY-MM-DD``), as views are counted; ``day_hi`` is exclusive.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from leadmagnet.store.connection import Verbs
from leadmagnet.store.rollups import LEAD_MEASURES

MEASURES = (*LEAD_MEASURES, "downloaded")

# The breakdowns, and where their views are counted (None: views by this are not counted).
DIMENSIONS = ("source", "medium", "campaign", "referrer", "device")
# How many of an offer's newest submissions in a range its response times are read from.
RESPONSE_SAMPLE = 2000

_LAST_DAY = "9999-12-31"


def _offer_filter(offers: tuple[str, ...], column: str = "offer_slug") -> tuple[str, list[Any]]:
    if not offers:
        return "", []
    return f" AND {column} IN ({', '.join('?' for _ in offers)})", list(offers)


class Dashboard(Verbs):
    """The dashboard's figures, read from the roll-ups."""

    def daily_counts(self, day_lo: str | None, day_hi: str | None, offers: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """Per offer and UTC day with anything counted: ``views``, ``submissions`` (leads, not spam),
        ``spam``, ``confirmed``, ``seated``, ``downloaded`` (leads with a download) and ``type``
        (the offer's, None for views alone); ordered by offer, then day."""
        lo, hi = day_lo or "", day_hi or _LAST_DAY
        only, params = _offer_filter(offers)
        found: dict[tuple[str, str], dict[str, Any]] = {}

        def entry(slug: str, day: str) -> dict[str, Any]:
            return found.setdefault((slug, day), {"offer_slug": slug, "day": day, "type": None, "views": 0, **dict.fromkeys(MEASURES, 0)})

        conn = self.db.conn
        for slug, day, views in conn.execute(
            f"SELECT offer_slug, day, sum(views) FROM page_views WHERE day >= ? AND day < ?{only} GROUP BY offer_slug, day",  # noqa: S608
            [lo, hi, *params],
        ):
            entry(slug, day)["views"] = int(views)
        for row in conn.execute(
            f"SELECT offer_slug, day, value, {', '.join(MEASURES)} FROM lead_days"  # noqa: S608
            f" WHERE dimension = 'total' AND day >= ? AND day < ?{only}",
            [lo, hi, *params],
        ):
            e = entry(row["offer_slug"], row["day"])
            e["type"] = row["value"]
            for name in MEASURES:
                e[name] += int(row[name])
        return [found[key] for key in sorted(found)]

    def breakdown(self, dimension: str, day_lo: str | None, day_hi: str | None, offers: tuple[str, ...] = ()) -> dict[str, Any]:
        """Views and leads by one ``dimension`` (:data:`DIMENSIONS`) over a range of UTC days.

        Returns ``rows`` (``value``, ``views``, ``submissions``; the most leads first, ``""`` is
        none: a direct visit, a link without that UTM key, an empty User-Agent) and
        ``unrecorded_views``: views in the range whose value of this dimension is not known
        (counted before the dashboard's upgrade recorded it). The source of every view is known.
        """
        if dimension not in DIMENSIONS:
            raise ValueError(f"unknown breakdown {dimension!r}; use one of: {', '.join(DIMENSIONS)}")
        lo, hi = day_lo or "", day_hi or _LAST_DAY
        only, params = _offer_filter(offers)
        conn = self.db.conn
        rows: dict[str, dict[str, Any]] = {}

        def entry(value: str) -> dict[str, Any]:
            return rows.setdefault(value, {"value": value, "views": 0, "submissions": 0})

        if dimension == "source":
            views_sql = f"SELECT utm_source, sum(views) FROM page_views WHERE day >= ? AND day < ?{only} GROUP BY utm_source"  # noqa: S608
            view_params = [lo, hi, *params]
        else:
            views_sql = (
                "SELECT value, sum(views) FROM page_view_details WHERE dimension = ? AND day >= ? AND day < ?"  # noqa: S608
                f"{only} GROUP BY value"
            )
            view_params = [dimension, lo, hi, *params]
        known = 0
        for value, views in conn.execute(views_sql, view_params):
            entry(value)["views"] = int(views)
            known += int(views)
        for value, subs in conn.execute(
            f"SELECT value, sum(submissions) FROM lead_days WHERE dimension = ? AND day >= ? AND day < ?{only} GROUP BY value",  # noqa: S608
            [dimension, lo, hi, *params],
        ):
            if subs:
                entry(value)["submissions"] = int(subs)
        (total,) = conn.execute(
            f"SELECT coalesce(sum(views), 0) FROM page_views WHERE day >= ? AND day < ?{only}",  # noqa: S608
            [lo, hi, *params],
        ).fetchone()
        ordered = sorted(rows.values(), key=lambda r: (-r["submissions"], -r["views"], r["value"]))
        return {"dimension": dimension, "rows": ordered, "unrecorded_views": int(total) - known}

    def attendance(self, slug: str, since: str | None, until: str | None) -> dict[str, int]:
        """Of webinar ``slug``'s leads made in the range: how many an imported attendee report
        marked ``attended``, and how many it named at all (``reported``: 0 means not known yet).

        Read from the raw table (attendance arrives after the webinar, outside the roll-up), over
        one offer's rows of the range through the ``submissions_offer_created`` index.
        """
        # (PostgreSQL sums no boolean: it counts with a FILTER.)
        attended_sql = (
            "count(*) FILTER (WHERE attendance = 'attended')" if self.db.dialect == "postgresql" else "sum(attendance = 'attended')"
        )
        attended, reported = self.db.conn.execute(
            f"SELECT coalesce({attended_sql}, 0), count(attendance) FROM submissions"  # noqa: S608
            " WHERE offer_slug = ? AND created_at >= ? AND created_at < ? AND spam = 0",
            (slug, since or "", until or "9999"),
        ).fetchone()
        return {"attended": int(attended), "reported": int(reported)}

    def response_seconds(self, slug: str, since: str | None, until: str | None, sample: int = RESPONSE_SAMPLE) -> list[float]:
        """Seconds from each lead of offer ``slug`` to its first email leaving the sender (``sent_at``).

        The newest ``sample`` leads of the range with an email sent, newest first (the
        ``submissions_offer_created`` index, then the outbox's ``(submission_id, kind)``
        index): a busy offer's figure is its recent one, at a bounded cost.
        """
        rows = self.db.conn.execute(
            "SELECT s.created_at, (SELECT min(o.sent_at) FROM outbox o WHERE o.submission_id = s.id AND o.sent_at IS NOT NULL) AS sent"
            " FROM submissions s WHERE s.offer_slug = ? AND s.created_at >= ? AND s.created_at < ? AND s.spam = 0"
            " AND EXISTS (SELECT 1 FROM outbox o WHERE o.submission_id = s.id AND o.sent_at IS NOT NULL)"
            " ORDER BY s.created_at DESC, s.id DESC LIMIT ?",
            (slug, since or "", until or "9999", sample),
        ).fetchall()
        seconds = []
        for made, sent in rows:
            try:
                seconds.append(max(0.0, (datetime.fromisoformat(sent) - datetime.fromisoformat(made)).total_seconds()))
            except (TypeError, ValueError):
                continue  # a time no one wrote by our format: left out rather than guessed
        return seconds
