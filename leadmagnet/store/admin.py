"""Store verbs for the admin: its users, the audit log, and the dashboard's figures.

The audit log holds who did what with the contacts, never personal data itself (ids and counts):
an erasure must not leave a copy of the address behind in it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from leadmagnet.store.connection import Verbs, utcnow
from leadmagnet.store.offer_people import DAY_MEASURES
from leadmagnet.store.rollups import RANGE_DOWNLOADS_COUNTED_SINCE, utm_sql

# A lead's utm_source as the roll-up counts it (trimmed, lower-cased, cut), for the partial days.
_SOURCE = utm_sql("utm_source")
# The per-offer table's counts kept by the offer_days roll-up (store/offer_people.py).
PEOPLE_COUNTS = set(DAY_MEASURES)
# PostgreSQL: no planner hints (its planner picks these indexes itself), no sum of a boolean.
_SPAM_SPLIT = {
    "sqlite": "sum(spam = 0), sum(spam != 0)",
    "postgresql": "count(*) FILTER (WHERE spam = 0), count(*) FILTER (WHERE spam != 0)",
}


def _split(lo: str, hi: str) -> list[tuple[tuple[str, str], bool]]:
    """``[lo, hi)`` as ranges of ISO times, each with whether it is whole UTC days (read from the
    roll-up by day) or a part of a day (read from the submissions by time)."""
    first, last = _day_at_or_after(lo), _day_at_or_before(hi)
    if first >= last:
        return [((lo, hi), False)]
    parts = [((first, last), True)]
    if lo < first:
        parts.append(((lo, first), False))
    if hi != "9999" and _utc(last) < _utc(hi):  # not when the period ends at a UTC midnight
        parts.append(((last, hi), False))
    return parts


def _day_at_or_after(moment: str) -> str:
    """The first UTC date whose midnight is at or after ``moment`` (``""``: the beginning)."""
    if not moment:
        return ""
    day = _utc(moment)
    midnight = day.replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight if midnight == day else midnight + timedelta(days=1)).date().isoformat()


def _day_at_or_before(moment: str) -> str:
    """The last UTC date whose midnight is at or before ``moment`` (``9999``: the end)."""
    return "9999" if moment == "9999" else _utc(moment).date().isoformat()


def _utc(moment: str) -> datetime:
    value = datetime.fromisoformat(moment)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Admin(Verbs):
    """Admin users, the audit log, the dashboard and the outbox's health."""

    # -- admin users and audit ---------------------------------------------------------------

    def add_user(self, email: str, password_hash: str) -> int:
        """Create an admin user, or replace the password of an existing one; return its id."""
        with self.db.writing() as conn:
            conn.execute(
                "INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (email) DO UPDATE SET password_hash = excluded.password_hash",
                (email, password_hash, utcnow()),
            )
            user_id = conn.execute("SELECT id FROM users WHERE email = ?", (email,)).fetchone()[0]
            conn.execute(
                "INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)",
                (utcnow(), "cli", "admin_user_set", json.dumps({"user_id": user_id})),
            )
        return int(user_id)

    def get_user(self, *, email: str | None = None, user_id: int | None = None) -> dict[str, Any] | None:
        if email is not None:
            return self.db.row("SELECT * FROM users WHERE email = ?", (email,))
        return self.db.row("SELECT * FROM users WHERE id = ?", (user_id,))

    def audit(self, actor: str | None, action: str, detail: dict[str, Any] | None = None) -> None:
        """Append an audit entry. ``detail`` must hold no personal data (ids and counts only)."""
        with self.db.writing() as conn:
            conn.execute(
                "INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)", (utcnow(), actor, action, json.dumps(detail or {}))
            )

    def audit_entries(self, before_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Audit entries, newest first, ``limit`` at a time (keyset: pass the last id as ``before_id``)."""
        rows = self.db.rows(
            "SELECT * FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?", (before_id if before_id is not None else 2**63 - 1, limit)
        )
        for row in rows:
            try:
                detail = json.loads(row["detail"] or "{}")
            except ValueError:
                detail = {"detail": row["detail"]}
            row["detail"] = detail if isinstance(detail, dict) else {"detail": detail}
        return rows

    # -- dashboard ---------------------------------------------------------------------------

    def dashboard(
        self, since: str | None = None, until: str | None = None, view_days: tuple[str | None, str | None] | None = None
    ) -> dict[str, Any]:
        """Per offer: views, submissions, spam, downloads, registrations, the waitlist, top UTM sources.

        ``since``/``until`` are ISO dates or times (``until`` exclusive); ``view_days`` are the
        dates (``until`` exclusive) for the page views, which are counted per UTC day (default: the
        dates of ``since``/``until``). ``submissions`` and the conversion rate (submissions / views)
        leave spam out, which ``spam`` counts; ``registrations`` are webinar submissions holding a
        seat (not waitlisted, not awaiting opt-in), ``waitlisted`` those waiting for one.
        ``downloaded_by`` counts people (a second download or a resumed one is the same person),
        ``downloads`` every recorded download. People are counted in the period of their first
        time (first download of the offer, first seated or waitlisted registration): someone
        seated in January who registers again in March is one of January's registrations, and
        periods add up (see :mod:`leadmagnet.store.offer_people`).

        Fast at a million submissions, and exact at any bounds: the whole UTC days of the period
        come from the roll-ups (``lead_days``, ``offer_days``), only the hours before its first and
        after its last UTC midnight from the submissions, ``offer_people`` and the downloads.
        """
        lo, hi = since or "", until or "9999"
        day_lo, day_hi = view_days or (since, until)
        offers: dict[str, dict[str, Any]] = {}
        counts = ("views", "submissions", "spam", "downloads", "downloaded_by", "registrations", "waitlisted")

        def entry(slug: str) -> dict[str, Any]:
            return offers.setdefault(slug, {"offer": slug, **dict.fromkeys(counts, 0), "sources": []})

        conn, dialect = self.db.conn, self.db.dialect
        for slug, views in conn.execute(
            "SELECT offer_slug, sum(views) FROM page_views WHERE day >= ? AND day < ? GROUP BY offer_slug",
            ((day_lo or "")[:10], (day_hi or "9999")[:10]),
        ):
            entry(slug)["views"] = int(views)
        sources: dict[tuple[str, str], int] = {}
        for (start, end), rolled in _split(lo, hi):
            if rolled:
                leads = conn.execute(
                    "SELECT offer_slug, value, sum(submissions), sum(spam) FROM lead_days WHERE dimension = 'total'"
                    " AND day >= ? AND day < ? GROUP BY offer_slug, value",
                    (start, end),
                )
                by_source = conn.execute(
                    "SELECT offer_slug, value, sum(submissions) FROM lead_days WHERE dimension = 'source' AND value != ''"
                    " AND day >= ? AND day < ? GROUP BY offer_slug, value",
                    (start, end),
                )
            else:  # less than a day at an end of the period
                leads = conn.execute(
                    f"SELECT offer_slug, offer_type, {_SPAM_SPLIT[dialect]} FROM submissions"  # noqa: S608
                    " WHERE created_at >= ? AND created_at < ? GROUP BY offer_slug, offer_type",
                    (start, end),
                )
                # (PostgreSQL's WHERE cannot name a result column: the expression is written out.)
                source = _SOURCE if dialect == "postgresql" else "v"
                by_source = conn.execute(
                    f"SELECT offer_slug, {_SOURCE} AS v, count(*) FROM submissions WHERE spam = 0 AND created_at >= ? AND created_at < ?"  # noqa: S608
                    f" AND {source} != '' GROUP BY offer_slug, v",
                    (start, end),
                )
            for slug, kind, subs, spam in leads:
                e = entry(slug)
                e["submissions"] += int(subs or 0)
                e["spam"] += int(spam or 0)
                e["type"] = kind
            for slug, source, n in by_source:
                sources[(slug, source)] = sources.get((slug, source), 0) + int(n or 0)
        # People and downloads: whole days from the offer_days roll-up, the hours at either end from
        # offer_people (each person on the time of their first time) and the downloads' own index.
        for (start, end), rolled in _split(lo, hi):
            if rolled:
                people = conn.execute(
                    "SELECT offer_slug, measure, sum(n) FROM offer_days WHERE day >= ? AND day < ? GROUP BY offer_slug, measure",
                    (start, end),
                ).fetchall()
            else:
                people = conn.execute(
                    "SELECT offer_slug, kind, count(*) FROM offer_people WHERE first_at >= ? AND first_at < ? GROUP BY offer_slug, kind",
                    (start, end),
                ).fetchall()
                people += self._partial_downloads(start, end)
            for slug, measure, n in people:
                if n and measure in PEOPLE_COUNTS:
                    entry(slug)[measure] += int(n)
        for (slug, source), n in sorted(sources.items(), key=lambda item: (item[0][0], -item[1], item[0][1])):
            if n and len(entry(slug)["sources"]) < 3:
                entry(slug)["sources"].append((source, n))
        rows = sorted(offers.values(), key=lambda e: e["offer"])
        for e in rows:
            e["conversion"] = e["submissions"] / e["views"] if e["views"] else None
        totals: dict[str, Any] = {k: sum(e[k] for e in rows) for k in counts}
        totals["conversion"] = totals["submissions"] / totals["views"] if totals["views"] else None
        return {"offers": rows, "totals": totals}

    def _partial_downloads(self, start: str, end: str) -> list[tuple[str, str, int]]:
        """``(offer, "downloads", n)``: counted downloads of each offer from ``start`` to ``end`` (less than a day).

        A range is recorded only when it starts at byte 0 since m006; before, every range request
        was recorded (later chunks too), so an older range row does not count. One offer at a time,
        through the ``downloads_by_offer`` index.
        """
        found = []
        for (slug,) in self.db.conn.execute("SELECT DISTINCT offer_slug FROM lead_days WHERE dimension = 'total'").fetchall():
            (n,) = self.db.conn.execute(
                "SELECT count(*) FROM downloads WHERE offer_slug = ? AND created_at >= ? AND created_at < ?"
                " AND (range_request = 0 OR created_at >= (SELECT value FROM store_meta WHERE key = ?))",
                (slug, start, end, RANGE_DOWNLOADS_COUNTED_SINCE),
            ).fetchone()
            found.append((slug, "downloads", int(n)))
        return found

    def email_health(self, stuck_before: str, since: str | None = None, until: str | None = None) -> dict[str, Any]:
        """Emails that need a look: ``failed`` (queued in the period, given up on) with the newest
        ``last_error``, and ``stuck``: due before ``stuck_before`` and still not sent (no sender running).
        """
        conn = self.db.conn
        failed, last_error = conn.execute(  # both served by the outbox_failed index (status, created_at)
            "SELECT count(*), (SELECT last_error FROM outbox WHERE status = 'failed' AND created_at >= ? AND created_at < ?"
            " ORDER BY created_at DESC LIMIT 1) FROM outbox WHERE status = 'failed' AND created_at >= ? AND created_at < ?",
            (since or "", until or "9999") * 2,
        ).fetchone()
        (stuck,) = conn.execute(
            "SELECT count(*) FROM outbox WHERE status IN ('queued', 'sending') AND next_attempt_at < ?", (stuck_before,)
        ).fetchone()
        return {"failed": int(failed), "last_error": last_error, "stuck": int(stuck)}
