"""Store verbs for webhooks: events queued per endpoint (an outbox), claims, attempts, endpoint health.

An event is queued in the transaction that makes it happen (the submission's, a confirmation's, an
erasure's), one ``webhook_deliveries`` row per endpoint that wants it, so the event exists exactly
when its cause does. The sender claims one due row at a time: the claim moves ``next_attempt_at``
forward by a lease and sets ``status = 'sending'`` and a ``claim`` token. A sender killed mid-way
leaves the row leased; when the lease runs out another pass claims it again (at least once). A row
recorded ``delivered`` is never claimed again, and only the claim that holds a row may record a
failure, so a late failure never overwrites a success.

Endpoints are named by their URL (``[[webhooks]]`` in config.toml); their health (consecutive
failures, a ``Retry-After`` pause, disabled or not) lives in ``webhook_endpoints``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from leadmagnet.store.connection import Verbs

QUEUED, SENDING, DELIVERED, FAILED = "queued", "sending", "delivered", "failed"


class Webhooks(Verbs):
    """The webhook outbox and the health of each endpoint."""

    # -- queuing ----------------------------------------------------------------------------

    def enqueue_webhook(self, *, event_id: str, type: str, contact_id: int | None, body: str, endpoints: Iterable[str], now: str) -> int:
        """Store one event and a delivery row for each of ``endpoints``; returns the event's row id."""
        with self.db.writing() as conn:
            row_id = conn.execute(
                "INSERT INTO webhook_events (event_id, type, contact_id, body, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
                (event_id, type, contact_id, body, now),
            ).fetchone()[0]
            conn.executemany(
                "INSERT INTO webhook_deliveries (event_id, endpoint, next_attempt_at, created_at) VALUES (?, ?, ?, ?)",
                [(row_id, url, now, now) for url in endpoints],
            )
        return int(row_id)

    # -- the sender -------------------------------------------------------------------------

    def claim_webhook(self, *, now: str, lease_until: str, claim: str, endpoints: Iterable[str]) -> dict[str, Any] | None:
        """Claim the earliest due delivery to one of ``endpoints`` (queued, or whose lease ran out).

        Endpoints disabled or paused (``Retry-After``) are skipped. Returns the delivery row with
        its event's ``event_id``, ``type``, ``body`` and ``event_created_at``; None when nothing is due.
        """
        urls = list(endpoints)
        if not urls:
            return None
        marks = ", ".join("?" for _ in urls)
        with self.db.writing() as conn:
            found = conn.execute(
                "UPDATE webhook_deliveries SET status = 'sending', next_attempt_at = ?, claim = ? WHERE id = ("  # noqa: S608 - placeholders only
                " SELECT d.id FROM webhook_deliveries d LEFT JOIN webhook_endpoints e ON e.url = d.endpoint"
                " WHERE d.status IN ('queued', 'sending') AND d.next_attempt_at <= ?"
                f" AND d.endpoint IN ({marks}) AND e.disabled_at IS NULL AND (e.paused_until IS NULL OR e.paused_until <= ?)"
                " ORDER BY d.next_attempt_at, d.id LIMIT 1) RETURNING *",
                (lease_until, claim, now, *urls, now),
            ).fetchone()
            if found is None:
                return None
            row = dict(found)
            event = conn.execute("SELECT event_id, type, body, created_at FROM webhook_events WHERE id = ?", (row["event_id"],)).fetchone()
        row.update(event_row=row["event_id"], event_id=event["event_id"], type=event["type"], body=event["body"])
        row["event_created_at"] = event["created_at"]
        return row

    def webhook_delivered(self, delivery_id: int, *, at: str, code: int) -> bool:
        """Record a delivery's success (whoever holds it: a success is never undone); resets its endpoint's failures."""
        with self.db.writing() as conn:
            done = conn.execute(
                "UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = ?, last_attempt_at = ?,"
                " last_code = ?, last_error = NULL, claim = NULL WHERE id = ? AND status != 'delivered' RETURNING endpoint",
                (at, at, code, delivery_id),
            ).fetchone()
            if done is not None:
                conn.execute(
                    "INSERT INTO webhook_endpoints (url) VALUES (?) ON CONFLICT (url) DO UPDATE SET consecutive_failures = 0, paused_until = NULL",
                    (done[0],),
                )
        return done is not None

    def webhook_failed(self, delivery_id: int, *, claim: str, at: str, code: int | None, error: str, retry_at: str | None) -> bool:
        """Record a failed attempt by the claim that holds the row: queued again for ``retry_at``, or failed for good.

        False, recording nothing, when the row was delivered meanwhile or another claim holds it.
        """
        status = QUEUED if retry_at is not None else FAILED
        with self.db.writing() as conn:
            return (
                conn.execute(
                    "UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, next_attempt_at = coalesce(?, next_attempt_at),"
                    " last_attempt_at = ?, last_code = ?, last_error = ?, claim = NULL WHERE id = ? AND status = 'sending' AND claim = ?",
                    (status, retry_at, at, code, error[:500], delivery_id, claim),
                ).rowcount
                == 1
            )

    def webhook_endpoint_failed(self, url: str, *, at: str, disable_after: int, paused_until: str | None = None) -> dict[str, Any]:
        """Count a failure of ``url``; disable it at ``disable_after`` consecutive failures. Returns its state."""
        with self.db.writing() as conn:
            conn.execute(
                "INSERT INTO webhook_endpoints (url, consecutive_failures, paused_until) VALUES (?, 1, ?)"
                " ON CONFLICT (url) DO UPDATE SET consecutive_failures = webhook_endpoints.consecutive_failures + 1, paused_until = excluded.paused_until",
                (url, paused_until),
            )
            conn.execute(
                "UPDATE webhook_endpoints SET disabled_at = ?, disabled_reason = ? WHERE url = ? AND disabled_at IS NULL"
                " AND ? > 0 AND consecutive_failures >= ?",
                (at, f"{disable_after} consecutive failed attempts", url, disable_after, disable_after),
            )
            return dict(conn.execute("SELECT * FROM webhook_endpoints WHERE url = ?", (url,)).fetchone())

    def disable_webhook_endpoint(self, url: str, *, at: str, reason: str) -> None:
        """Stop delivering to ``url`` (its rows stay queued until it is enabled again)."""
        with self.db.writing() as conn:
            conn.execute(
                "INSERT INTO webhook_endpoints (url, disabled_at, disabled_reason) VALUES (?, ?, ?)"
                " ON CONFLICT (url) DO UPDATE SET disabled_at = excluded.disabled_at, disabled_reason = excluded.disabled_reason",
                (url, at, reason),
            )

    def enable_webhook_endpoint(self, url: str) -> bool:
        """Deliver to ``url`` again, its failure count reset; True when it was disabled."""
        with self.db.writing() as conn:
            return (
                conn.execute(
                    "UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL, consecutive_failures = 0, paused_until = NULL"
                    " WHERE url = ? AND disabled_at IS NOT NULL",
                    (url,),
                ).rowcount
                == 1
            )

    def retry_webhooks(self, url: str, now: str) -> int:
        """Make every undelivered row of ``url`` due now (failed ones queued again) and lift a pause; how many."""
        with self.db.writing() as conn:
            conn.execute("UPDATE webhook_endpoints SET paused_until = NULL WHERE url = ?", (url,))
            return conn.execute(
                "UPDATE webhook_deliveries SET status = 'queued', next_attempt_at = ?, claim = NULL"
                " WHERE endpoint = ? AND status IN ('queued', 'failed')",
                (now, url),
            ).rowcount

    def fail_webhooks_not_in(self, urls: Iterable[str], *, at: str) -> int:
        """Fail for good the undelivered rows of endpoints no longer configured; how many.

        A read first: the sender calls this every pass, and nearly always there is nothing to do.
        """
        kept = set(urls)
        gone = [
            row["endpoint"]
            for row in self.db.rows("SELECT DISTINCT endpoint FROM webhook_deliveries WHERE status IN ('queued', 'sending')")
            if row["endpoint"] not in kept
        ]
        if not gone:
            return 0
        marks = ", ".join("?" for _ in gone)
        with self.db.writing() as conn:
            return conn.execute(
                "UPDATE webhook_deliveries SET status = 'failed', last_error = 'the endpoint is no longer in config.toml',"  # noqa: S608 - placeholders only
                f" last_attempt_at = ?, claim = NULL WHERE status IN ('queued', 'sending') AND endpoint IN ({marks})",
                (at, *gone),
            ).rowcount

    def forget_webhook_events(self, before: str, limit: int = 500) -> int:
        """Delete up to ``limit`` events made before ``before`` that wait for no endpoint any more; how many.

        Their bodies hold personal data: once delivered (or failed for good) they are kept only
        ``WEBHOOK_KEEP_DAYS``, for the admin's list of recent deliveries. A read first (by the
        ``created_at`` index): the sender calls this every pass and must not take the write lock for nothing.
        """
        if self.db.value("SELECT 1 FROM webhook_events WHERE created_at < ? LIMIT 1", (before,)) is None:
            return 0
        with self.db.writing() as conn:
            return conn.execute(
                "DELETE FROM webhook_events WHERE id IN (SELECT e.id FROM webhook_events e WHERE e.created_at < ? AND NOT EXISTS ("
                " SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.status IN ('queued', 'sending')) ORDER BY e.id LIMIT ?)",
                (before, limit),
            ).rowcount

    # -- reading ----------------------------------------------------------------------------

    def webhook_endpoint_states(self) -> dict[str, dict[str, Any]]:
        """Every endpoint's health row, by URL (an endpoint never tried has none)."""
        return {row["url"]: row for row in self.db.rows("SELECT * FROM webhook_endpoints")}

    def webhook_counts(self) -> dict[str, dict[str, int]]:
        """Delivery rows per endpoint and status: ``{url: {"queued": 3, "delivered": 10, ...}}``."""
        counts: dict[str, dict[str, int]] = {}
        for row in self.db.rows("SELECT endpoint, status, count(*) AS n FROM webhook_deliveries GROUP BY endpoint, status"):
            counts.setdefault(row["endpoint"], {})[row["status"]] = row["n"]
        return counts

    def webhook_deliveries(self, url: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """The most recent delivery rows (of one endpoint, or all), newest first, with their event's id and type."""
        where, params = ("WHERE d.endpoint = ?", [url]) if url is not None else ("", [])
        return self.db.rows(
            "SELECT d.*, e.event_id AS webhook_id, e.type, e.created_at AS event_created_at FROM webhook_deliveries d"  # noqa: S608 - fixed text
            f" JOIN webhook_events e ON e.id = d.event_id {where} ORDER BY d.id DESC LIMIT ?",
            (*params, limit),
        )

    def webhook_events(self, contact_id: int | None = None) -> list[dict[str, Any]]:
        """Stored events (all, or one contact's), oldest first."""
        if contact_id is None:
            return self.db.rows("SELECT * FROM webhook_events ORDER BY id")
        return self.db.rows("SELECT * FROM webhook_events WHERE contact_id = ? ORDER BY id", (contact_id,))
