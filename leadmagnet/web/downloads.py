"""Registrant-only responses behind signed links: downloads, calendar files, confirm, unsubscribe.

- ``GET /download/<token>`` streams the ebook file (``Content-Disposition`` with its name,
  ``Content-Length``, HTTP Range). Links expire (``DOWNLOAD_TTL``) but are not single-use: mail
  scanners open them first. A tampered token is a 404; an expired one gets a page whose button
  (a POST, rate limited) emails a fresh link to the same address.
- ``GET /calendar/<token>.ics``: the registration's calendar file (it holds the join link).
- ``/confirm/<token>`` and ``/unsubscribe/<token>``: a GET only shows a page with a button; the
  state changes on POST (the button, or an RFC 8058 one-click POST from a mail program).

The token carries a submission (or contact) id and a stamp of that row's creation time; the
file path comes from the offer in the catalog, so no parameter can name a file. A token whose id
now names another row (ids come back after an erasure) is a 404 like a missing row: nothing is
shown, changed or recorded. Every answer here is private and never cached.

A download is recorded when the whole file is sent, or a range starting at byte 0 (a download
manager's first chunk); not a HEAD, a 304 (the browser already has it), or a later chunk.
"""

from __future__ import annotations

import mimetypes
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, abort, current_app, request, send_file
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from leadmagnet.content import webinar
from leadmagnet.content.offer import Offer
from leadmagnet.foundation import tokens
from leadmagnet.store import DELIVERED, PENDING
from leadmagnet.web import current_services

bp = Blueprint("downloads", __name__)


def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _page(template: str, offer: Offer | None, status: int = 200, **context: Any) -> Response:
    html = current_services().renderer.render(template, offer, **context)
    return _private(Response(html, status=status, content_type="text/html; charset=utf-8"))


def _load(purpose: str, token: str, max_age: int | None) -> tokens.RowLink:
    """The row a token names; 404 when it was not made by us for ``purpose``."""
    link = tokens.load_row(current_app.config["SECRET_KEY"], purpose, token, max_age=max_age)
    if link.extra:
        abort(404)
    return link


def _submission_and_offer(link: tokens.RowLink) -> tuple[dict[str, Any], Offer]:
    site = current_services()
    submission = site.store.submission_for_link(link)
    if submission is None or submission["spam"]:
        abort(404)
    page = site.catalog.get(submission["offer_slug"])
    if page is None:
        abort(410)
    return submission, page.offer


def _delivered(purpose: str, token: str, offer_type: str) -> tuple[int, dict[str, Any], Offer]:
    """The delivered submission of an ``offer_type`` offer that a non-expiring token names; else 404."""
    try:
        link = _load(purpose, token, None)
    except tokens.BadToken:
        abort(404)
    submission, offer = _submission_and_offer(link)
    if offer.type != offer_type or submission["status"] != DELIVERED:
        abort(404)
    return submission["id"], submission, offer


def _ttl() -> int:
    return int(current_app.config["DOWNLOAD_TTL"])


@bp.get("/download/<token>")
def download(token: str) -> Response:
    """Stream the gated file of the submission the token names."""
    try:
        link = _load("download", token, _ttl())
    except tokens.ExpiredToken:
        return _page("link_expired.html", None, 410, token=token, sent=False)
    except tokens.BadToken:
        abort(404)
    submission, offer = _submission_and_offer(link)
    if offer.type != "ebook" or not offer.file or submission["status"] != DELIVERED:
        abort(404)
    root = current_services().content_dir.resolve()
    path = (root / offer.file).resolve()
    # Security: the path comes from validated front matter, and must still resolve (symlinks
    # included) inside the content folder.
    if not path.is_relative_to(root) or not path.is_file():
        abort(404)
    try:
        response = send_file(
            path,
            mimetype=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
            as_attachment=True,
            download_name=path.name,
            conditional=True,
            etag=True,
            max_age=0,
        )
    except RequestedRangeNotSatisfiable:
        size = path.stat().st_size
        return _private(Response(status=416, headers={"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"}))
    if request.method == "GET" and _counts(response):  # a HEAD (link checkers) downloads nothing
        current_services().deliveries.record_download(
            offer, submission, range_request=response.status_code == 206
        )  # recorded, scored, its event queued
    return _private(response)


def _counts(response: Response) -> bool:
    """A download to record: the whole file (200), or a part of it that starts at byte 0 (206).

    Not a 304 (the browser already has the file), nor the later parts of a file fetched in
    chunks or resumed: one download is counted once.
    """
    if response.status_code == 200:
        return True
    return response.status_code == 206 and response.content_range.start == 0


@bp.post("/download/<token>/renew")
def renew(token: str) -> Response:
    """Email a fresh download link to the submission's own address (rate limited)."""
    submission_id, submission, offer = _delivered("download", token, "ebook")
    allowed, retry_after = current_services().throttle.hit(f"resend:{submission_id}", current_app.config["RESEND_RATE_LIMIT"])
    if not allowed:
        response = _page(
            "link_expired.html", offer, 429, token=token, sent=False, limited=True, retry_minutes=max(1, (retry_after + 59) // 60)
        )
        response.headers["Retry-After"] = str(retry_after)
        return response
    current_services().deliveries.resend_download(offer, submission)
    return _page("link_expired.html", offer, 200, token=token, sent=True)


@bp.get("/calendar/<token>.ics")
def calendar(token: str) -> Response:
    """The registration's calendar file (no expiry: it is only useful until the webinar)."""
    submission_id, _submission, offer = _delivered("calendar", token, "webinar")
    cfg = current_app.config
    body = webinar.calendar_ics(
        offer, submission_id, cfg["BASE_URL"], cfg["SITE_NAME"], sequence=current_services().store.webinar_sequence(offer.slug)
    )
    response = Response(body, content_type="text/calendar; charset=utf-8; method=PUBLISH")
    response.headers["Content-Disposition"] = f'attachment; filename="{offer.slug}.ics"'
    return _private(response)


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> Response:
    """GET: a page with a "Confirm" button. POST: confirm, then show what the offer promised.

    A contact who unsubscribed after submitting gets the unsubscribed page for GET and POST alike:
    their old link neither opts them in again nor sends the offer.
    """
    try:
        link = _load("confirm", token, _ttl())
    except tokens.ExpiredToken:
        return _page("confirm.html", None, 410, expired=True)
    except tokens.BadToken:
        abort(404)
    submission, offer = _submission_and_offer(link)
    site = current_services()
    if submission["status"] == PENDING and site.store.confirmation_withdrawn(submission):
        # They unsubscribed after asking: this old link neither opts them in again nor sends the
        # offer. The page says where they stand, as the unsubscribe page does.
        return _page("unsubscribe.html", None, token=None, unsubscribed=True, now=datetime.now(UTC))
    if request.method == "POST" and submission["status"] == PENDING:
        submission = site.deliveries.confirm(offer, submission["id"], created_at=submission["created_at"]) or submission
    confirmed = submission["status"] != PENDING
    owed = site.deliveries.owed(offer, submission) if confirmed else None
    return _page("confirm.html", offer, token=token, confirmed=confirmed, delivery=owed)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str) -> Response:
    """GET: a page with an "Unsubscribe" button. POST (the button or RFC 8058 one-click): unsubscribe."""
    try:
        link = _load("unsubscribe", token, None)
    except tokens.BadToken:
        abort(404)
    site = current_services()
    store = site.store
    contact = store.contact_for_link(link)
    if contact is None:
        abort(404)
    if request.method == "POST":
        site.deliveries.unsubscribe(contact)
        contact = store.get_contact(contact["id"]) or contact
    return _page("unsubscribe.html", None, token=token, unsubscribed=contact["unsubscribed_at"] is not None, now=datetime.now(UTC))
