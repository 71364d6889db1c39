"""Webhooks: events written with what causes them, and the sender's pass that delivers them.

An event is queued by :meth:`Webhooks.emit` inside the caller's transaction (the submission's,
a confirmation's, a download's, an unsubscribe's, an erasure's): the outbox pattern, so an event
exists exactly when what it reports does, and a crash can lose neither. Its body is built then,
in the Standard Webhooks shape (``type``, ``timestamp``, ``data``), and stored as the exact bytes
to send. Only endpoints that want the event get a delivery row; with no ``[[webhooks]]`` nothing
at all is written.

The sender (``leadmagnet send``, or the in-server sender) runs :meth:`Webhooks.send_due` in each
pass: it claims one due delivery at a time with a lease (a sender killed mid-way loses nothing:
the lease runs out and the row is due again), signs it afresh (a new ``webhook-timestamp``, the
same ``webhook-id``), and records the answer:

- 2xx: delivered, never sent again; the endpoint's failure count is reset;
- no answer, a timeout, 408, 409, 429 or 5xx: retried after ``WEBHOOK_RETRY_SECONDS`` doubling
  with each attempt, plus up to 20% jitter, or after ``Retry-After`` when that asks for longer;
  the endpoint then rests for the same doubling wait (one probe, not a flood, while it is down)
  and the rest of this pass skips it. An event not delivered within three days fails for good;
- 410 Gone: that event fails and the endpoint is disabled;
- any other answer (a 4xx, a redirect): that event fails for good.

Every failure counts towards the endpoint's ``WEBHOOK_DISABLE_AFTER`` consecutive failures, at
which it is disabled (the admin says so); its rows stay queued until it is enabled again.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from leadmagnet.content.offer import Offer
from leadmagnet.delivery import webhook_http
from leadmagnet.delivery.endpoints import Endpoint, load_endpoints
from leadmagnet.delivery.scoring import stage_of
from leadmagnet.delivery.webhook_http import Answer
from leadmagnet.store import Store, Transaction

log = logging.getLogger(__name__)

MAX_BODY = 20_000  # bytes: the body stays under about 20 KB (long answers are shortened, see body_of)
RETRY_WINDOW = timedelta(days=3)  # an event not delivered within this fails for good
MAX_WAIT = timedelta(hours=6)  # the longest wait between two attempts (a long Retry-After is capped too)
CONTACT_KEYS = ("id", "email", "first_name", "last_name", "company", "job_title", "phone", "country")
CONTACT_STATE = ("opt_in_status", "opt_in_at", "unsubscribed_at", "first_seen", "last_seen")
ATTRIBUTION_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "referrer")
TEST_EVENT = "webhook.test"


def iso(moment: datetime) -> str:
    """The store's timestamp format (ISO 8601 UTC, microseconds)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def new_event_id() -> str:
    """A ``webhook-id``: unique per event, and the same on each of its retries."""
    return "msg_" + secrets.token_urlsafe(18)


def event_data(
    contact: Mapping[str, Any] | None,
    submission: Mapping[str, Any] | None = None,
    offer: Offer | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``data`` of an event: the contact, the submission (its answers), the offer, the attribution.

    The contact's ``score`` and ``stage`` (``subscriber``, ``lead``, ``mql``, ``sql``) come from its
    row's ``score`` and ``lifecycle_stage`` columns, read the way the admin reads them (:func:`stage_of`).
    """
    data: dict[str, Any] = {}
    if contact is not None:
        person = {key: contact.get(key) for key in CONTACT_KEYS}
        person["custom"] = _json(contact.get("custom"), {})
        person.update({key: contact[key] for key in CONTACT_STATE if key in contact})
        if "score" in contact or "lifecycle_stage" in contact:
            scored = stage_of(contact)
            person.update(score=scored["score"], stage=scored["stage"])
        data["contact"] = person
    if submission is not None:
        answers = _json(submission.get("data"), {})
        answers.pop("email", None)  # the contact's
        data["submission"] = {
            "id": submission.get("id"),
            "status": submission.get("status"),
            "created_at": submission.get("created_at"),
            "confirmed_at": submission.get("confirmed_at"),
            "consent": {"text": submission.get("consent_text"), "at": submission.get("consent_at")},
            "answers": answers,
        }
        data["attribution"] = {key: submission.get(key) for key in ATTRIBUTION_KEYS}
    if offer is not None:
        data["offer"] = {"slug": offer.slug, "title": offer.title, "type": offer.type, "stage": offer.stage, "tags": list(offer.tags)}
    data.update(extra or {})
    return data


def body_of(event_type: str, at: datetime, data: dict[str, Any]) -> str:
    """The JSON body (``type``, ``timestamp``, ``data``), shortened to stay under :data:`MAX_BODY` bytes.

    A form takes up to ``MAX_CONTENT_LENGTH`` of answers, more than a webhook should carry: long
    answers are cut to 500 characters first, then (still too long) the answers and custom fields
    are left out; ``data.truncated`` says so, and the full record is in the admin and the exports.
    """
    stamp = at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")

    def dump(payload: dict[str, Any]) -> str:
        return json.dumps({"type": event_type, "timestamp": stamp, "data": payload}, ensure_ascii=False, separators=(",", ":"))

    body = dump(data)
    if len(body.encode()) <= MAX_BODY:
        return body
    data = json.loads(json.dumps(data))
    for holder in (data.get("submission", {}).get("answers"), data.get("contact", {}).get("custom")):
        for key, value in list((holder or {}).items()):
            if isinstance(value, str) and len(value) > 500:
                holder[key] = value[:500] + "…"
    data["truncated"] = True
    body = dump(data)
    if len(body.encode()) <= MAX_BODY:
        return body
    data.get("submission", {}).pop("answers", None)
    data.get("contact", {}).pop("custom", None)
    return dump(data)


@dataclass
class WebhookReport:
    """What one pass over the webhook outbox did."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0
    disabled: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.delivered or self.retried or self.failed or self.disabled)

    def __str__(self) -> str:
        text = f"{self.delivered} delivered, {self.retried} to retry, {self.failed} failed"
        return text + (f", disabled {', '.join(self.disabled)}" if self.disabled else "")


class Webhooks:
    """The site's webhook endpoints: queuing their events, and delivering them."""

    def __init__(
        self,
        settings: Mapping[str, Any],
        store: Store,
        endpoints: tuple[Endpoint, ...] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.endpoints = load_endpoints(settings) if endpoints is None else endpoints
        self.by_url = {endpoint.url: endpoint for endpoint in self.endpoints}
        self.clock = clock or (lambda: datetime.now(UTC))

    # -- queuing, inside the caller's transaction -------------------------------------------

    def emit(
        self,
        tx: Transaction | Store,
        event_type: str,
        now: datetime,
        *,
        contact_id: int | None,
        submission: Mapping[str, Any] | None = None,
        offer: Offer | None = None,
        extra: Mapping[str, Any] | None = None,
        anonymous: bool = False,
    ) -> str | None:
        """Queue ``event_type`` for every endpoint that wants it, in ``tx``; its ``webhook-id`` (None: nobody wants it).

        The contact is read in the transaction (as it is now: merged answers, score and stage);
        ``anonymous`` leaves it out and stores no contact id (``contact.erased``, which names the
        erased id in ``extra`` only).
        """
        slug = offer.slug if offer is not None else None
        targets = [e.url for e in self.endpoints if e.wants(event_type, slug, offer.tags if offer is not None else ())]
        if not targets:
            return None
        contact = None if anonymous or contact_id is None else tx.get_contact(contact_id)
        body = body_of(event_type, now, event_data(contact, submission, offer, extra))
        event_id = new_event_id()
        tx.enqueue_webhook(
            event_id=event_id, type=event_type, contact_id=None if anonymous else contact_id, body=body, endpoints=targets, now=iso(now)
        )
        return event_id

    # -- the sender -------------------------------------------------------------------------

    @property
    def timeout(self) -> float:
        return float(self.settings.get("WEBHOOK_TIMEOUT") or 15)

    def wait(self, attempts: int) -> timedelta:
        """The wait after ``attempts`` failures (1, 2, ...): ``WEBHOOK_RETRY_SECONDS`` doubling, up to 20% more (jitter)."""
        base = float(self.settings.get("WEBHOOK_RETRY_SECONDS") or 60) * 2 ** min(max(0, attempts - 1), 30)
        return min(timedelta(seconds=base * random.uniform(1.0, 1.2)), MAX_WAIT)

    def send_due(self, now: datetime | None = None, limit: int = 500) -> WebhookReport:
        """Deliver due events, one claimed row at a time; an endpoint that fails is left alone for the rest of the pass."""
        report = WebhookReport()
        report.failed += self.store.fail_webhooks_not_in(self.by_url, at=iso(now or self.clock()))
        days = float(self.settings.get("WEBHOOK_KEEP_DAYS") or 0)
        if days > 0:
            self.store.forget_webhook_events(iso((now or self.clock()) - timedelta(days=days)))
        if not self.endpoints:
            return report
        skip: set[str] = set()
        lease = timedelta(seconds=max(1.0, 3 * self.timeout))
        for _ in range(limit):
            moment = now or self.clock()
            claim = secrets.token_hex(8)
            urls = [url for url in self.by_url if url not in skip]
            row = self.store.claim_webhook(now=iso(moment), lease_until=iso(moment + lease), claim=claim, endpoints=urls)
            if row is None:
                break
            answer = self.attempt(self.by_url[row["endpoint"]], row["event_id"], row["body"].encode())
            if not self.record(row, claim, answer, now or self.clock(), report):
                skip.add(row["endpoint"])
        return report

    def attempt(self, endpoint: Endpoint, event_id: str, body: bytes) -> Answer:
        """One signed POST of ``body`` to ``endpoint`` (a fresh timestamp each attempt)."""
        timestamp = int(time.time())  # the real time: receivers compare it with theirs
        request_headers = webhook_http.headers(endpoint.key, event_id, timestamp, body)
        allow = bool(self.settings.get("WEBHOOK_ALLOW_PRIVATE"))
        return webhook_http.post(endpoint.url, body, request_headers, timeout=self.timeout, allow_private=allow)

    def record(self, row: dict[str, Any], claim: str, answer: Answer, now: datetime, report: WebhookReport) -> bool:
        """Record one attempt of a claimed ``row``; True when it was delivered."""
        url, at = row["endpoint"], iso(now)
        if answer.outcome == "delivered":
            self.store.webhook_delivered(row["id"], at=at, code=answer.code or 200)
            report.delivered += 1
            return True
        error = answer.error or "failed"
        retry_at = None
        if answer.outcome == "retry":
            wait = self.wait(row["attempts"] + 1)
            if answer.retry_after is not None:
                wait = max(wait, min(timedelta(seconds=answer.retry_after), MAX_WAIT))
            if now + wait > datetime.fromisoformat(row["event_created_at"]) + RETRY_WINDOW:
                error = f"{error}; gave up: not delivered within {RETRY_WINDOW.days} days ({row['attempts'] + 1} attempts)"
            else:
                retry_at = iso(now + wait)
        self.store.webhook_failed(row["id"], claim=claim, at=at, code=answer.code, error=error, retry_at=retry_at)
        report.retried += retry_at is not None
        report.failed += retry_at is None
        if answer.outcome == "gone":
            self.store.disable_webhook_endpoint(url, at=at, reason="the receiver answered 410 Gone")
            report.disabled.append(url)
            log.warning("webhook endpoint %s answered 410 Gone: disabled", url)
            return False
        state = self.store.webhook_endpoint_failed(
            url,
            at=at,
            disable_after=int(self.settings.get("WEBHOOK_DISABLE_AFTER") or 0),
            paused_until=self._rest(url, now, answer) if answer.outcome == "retry" else None,
        )
        if state["disabled_at"] == at:
            report.disabled.append(url)
            log.error("webhook endpoint %s disabled after %s consecutive failures", url, state["consecutive_failures"])
        log.warning("webhook %s to %s failed (attempt %s): %s", row["event_id"], url, row["attempts"] + 1, error)
        return False

    def _rest(self, url: str, now: datetime, answer: Answer) -> str:
        """Until when a failing endpoint is left alone: the doubling wait of its failures so far, or its Retry-After."""
        failures = self.store.webhook_endpoint_states().get(url, {}).get("consecutive_failures", 0) + 1
        wait = self.wait(failures)
        if answer.retry_after is not None:
            wait = max(wait, min(timedelta(seconds=answer.retry_after), MAX_WAIT))
        return iso(now + wait)

    # -- the admin's and the command line's actions ------------------------------------------

    def send_test(self, url: str) -> Answer:
        """POST a signed ``webhook.test`` event to ``url`` now and return the answer (nothing is queued)."""
        endpoint = self.by_url[url]
        now = self.clock()
        data = {"message": "A test event from leadmagnet: the signature verifies with this endpoint's secret.", "endpoint": url}
        return self.attempt(endpoint, new_event_id(), body_of(TEST_EVENT, now, data).encode())

    def retry_now(self, url: str) -> tuple[int, bool]:
        """Make every undelivered event of ``url`` due now (failed ones too) and enable it; (how many, was it disabled)."""
        enabled = self.store.enable_webhook_endpoint(url)
        return self.store.retry_webhooks(url, iso(self.clock())), enabled

    def disabled(self) -> list[str]:
        """The URLs of configured endpoints that are disabled (the dashboard warns of them)."""
        states = self.store.webhook_endpoint_states()
        return [url for url in self.by_url if states.get(url, {}).get("disabled_at")]

    def overview(self, recent: int = 20) -> list[dict[str, Any]]:
        """Each configured endpoint with its health, counts by status and most recent deliveries."""
        states, counts = self.store.webhook_endpoint_states(), self.store.webhook_counts()
        return [
            {
                "endpoint": endpoint,
                "state": states.get(endpoint.url, {}),
                "counts": counts.get(endpoint.url, {}),
                "deliveries": self.store.webhook_deliveries(endpoint.url, limit=recent),
            }
            for endpoint in self.endpoints
        ]


def _json(value: Any, default: Any) -> Any:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return default
    return value
