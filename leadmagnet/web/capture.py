"""The capture blueprint: the landing page's form is posted here, and the thank-you page.

``POST /<slug>`` reads the form strictly (invalid UTF-8 or a malformed body: 400; too large: 413),
applies the rate limit (429 with ``Retry-After``), validates the offer's WTForms form and either
re-renders the landing page with a message per field (422) or stores the submission and answers
Post/Redirect/Get (303) to ``GET /<slug>/thanks/<token>``, a signed link to that submission. A
duplicate (same email and offer within ``LEADMAGNET_DUPLICATE_WINDOW``) goes to the first
submission's thank-you page. Spam gets the same 303 (bots learn nothing) and is stored marked.
If the database cannot be written the visitor gets a 503 asking to try again.

Landing-page views are counted by the landing-page view itself (:mod:`leadmagnet.web.pages`), not by
a hook here: an ``after_request`` hook ran on every request of the site to count one route.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import json
import logging
import re
import threading
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flask import Blueprint, Response, abort, current_app, request
from werkzeug.datastructures import MultiDict

from leadmagnet.content.funnel import next_offer
from leadmagnet.content.webinar import starts_in
from leadmagnet.foundation import tokens
from leadmagnet.leads import assignment, forms, spam
from leadmagnet.render.landing import offer_context
from leadmagnet.render.renderer import templates_for
from leadmagnet.render.seo import share_links
from leadmagnet.store import DatabaseError
from leadmagnet.web import current_services
from leadmagnet.web.errors import render_error
from leadmagnet.web.headers import Finished, security_headers

log = logging.getLogger(__name__)

bp = Blueprint("capture", __name__)

MAX_FIELDS = 100  # more pairs than any form has: a malformed or hostile body (400)
_write_lock = threading.Lock()
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")  # "%zz" or a trailing "%": not form encoding
UA_CAP = 500
UTM_FIELDS = forms.UTM_FIELDS
INBOX_ONLY = "inbox"  # a thank-you token for a repeat under double opt-in: "check your inbox", no links


# -- reading the request ------------------------------------------------------------------------


def read_form() -> MultiDict:
    """The posted fields, decoded strictly; aborts 400 on anything a browser would not send.

    werkzeug's own parser keeps undecodable ``%FF`` escapes as literal text; a form from a real
    page is UTF-8 (``<meta charset=utf-8>``), so anything else is a broken client: 400, not a
    stored mojibake. ``MAX_CONTENT_LENGTH`` is enforced by werkzeug while reading (413).
    """
    mimetype = request.mimetype
    if mimetype == "application/x-www-form-urlencoded":
        body = request.get_data(cache=False)
        try:
            text = body.decode("ascii")
            if _BAD_ESCAPE.search(text):
                abort(400)
            pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict", max_num_fields=MAX_FIELDS)
        except (UnicodeDecodeError, ValueError):
            abort(400)
        return MultiDict(pairs)
    if mimetype == "multipart/form-data" and request.mimetype_params.get("boundary"):
        form = request.form
        if len(form) > MAX_FIELDS or any("\ufffd" in v for v in form.values()):
            abort(400)
        return form
    abort(400)


def client_ip() -> str:
    """The visitor's address (``headers`` installs ProxyFix for ``LEADMAGNET_TRUSTED_PROXIES``)."""
    return request.remote_addr or ""


def ip_marker(ip: str, mode: str, secret: str, day: str) -> str | None:
    """What is stored of an address: ``truncate`` (IPv4 /24, IPv6 /48), ``hash`` (salted, daily) or ``none``.

    The hash is an HMAC keyed with the secret key and the UTC day, so it groups one day's
    submissions from one address without being reversible by trying all 2^32 IPv4 addresses.
    """
    mode = (mode or "none").strip().lower()
    if mode == "none" or not ip:
        return None
    if mode == "hash":
        return hmac.new(secret.encode(), f"{day}|{ip}".encode(), hashlib.sha256).hexdigest()[:16]
    return truncated(ip)


@functools.lru_cache(maxsize=4096)
def truncated(ip: str) -> str | None:
    """``ip``'s network (IPv4 /24, IPv6 /48); None if it is not an address. Cached: a busy site's
    visitors come from a few thousand networks, and parsing both objects was a twentieth of a post."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def attribution(hidden: dict[str, str], slug: str) -> dict[str, str]:
    """UTM values and referrer from the hidden fields; UTMs of the landing URL when they are empty.

    A referrer that is the offer's own landing page is dropped: after a form shown again (422,
    429, 503) the browser's ``document.referrer`` is the page itself, and the page's script keeps
    the first load's referrer in the hidden field instead (``data-again`` on the form); this
    catches a page that still had an older script, or a reload.

    Without JavaScript the hidden fields stay empty, but the browser's ``Referer`` of the POST is
    the landing page's own URL (same origin, so ``strict-origin-when-cross-origin`` keeps its query),
    which carries the campaign's ``utm_*`` parameters.
    """
    meta = {name: hidden.get(name, "") for name in (*UTM_FIELDS, "referrer")}
    if meta["referrer"] and is_landing_page(meta["referrer"], slug):
        meta["referrer"] = ""  # the page itself (a re-shown form, a reload): not where the visitor came from
    if not any(meta[name] for name in UTM_FIELDS) and request.referrer:
        try:
            landing = urlsplit(request.referrer)
        except ValueError:  # "http://[oops/...": a malformed header costs the attribution, never the lead
            return meta
        if landing.netloc == request.host:
            query = dict(parse_qsl(landing.query, keep_blank_values=False, errors="replace"))
            for name in UTM_FIELDS:
                meta[name] = forms.clean_text(query.get(name, ""))[: forms.HIDDEN_FIELDS[name]]
    return meta


def is_landing_page(referrer: str, slug: str) -> bool:
    """Whether ``referrer`` is ``slug``'s landing page on this site or its static export (``BASE_URL``)."""
    try:
        url = urlsplit(referrer)
    except ValueError:
        return False
    hosts = {request.host, urlsplit(current_app.config["BASE_URL"]).netloc}
    path = url.path.removesuffix("/index.html").removesuffix(".html").rstrip("/")
    return url.netloc in hosts and path.endswith(f"/{slug}")


# -- views --------------------------------------------------------------------------------------


@bp.post("/<slug>")
def submit(slug: str) -> Response:
    """Validate and store one submission; 303 to the thank-you page, or 422 with the errors.

    One way through: the offer's state is read once (the plan), the form read and validated,
    the plan committed with the lead in one transaction, and the visitor answered.
    """
    site = current_services()
    page = site.catalog.get(slug)
    if page is None:
        abort(404)
    offer = page.offer
    plan = site.deliveries.plan(offer)
    if plan.closed == "unpublished":
        abort(404)
    if plan.closed == "started":
        return render_error(410, title="Registration has closed", message="This webinar has already started, so registration is closed.")
    if plan.closed == "ended":  # an ended webinar's form gives its replay when it has one
        abort(410)
    cfg = current_app.config
    secret = cfg["SECRET_KEY"]
    ip = client_ip()

    raw = read_form()
    page = page.shown(shown_variant(page, raw.get("variant")))  # a form shown again is the variant the visitor saw
    # The limit is per address and offer; the key holds a keyed hash, not the address itself.
    # Colleagues behind one office address share it: whoever is held back gets the form again
    # with what they typed, and sends it once the wait is over.
    ip_key = hmac.new(secret.encode(), ip.encode(), hashlib.sha256).hexdigest()[:20]
    allowed, retry_after = site.throttle.hit(f"capture:{slug}:{ip_key}", cfg.get("RATE_LIMIT"))
    if not allowed:
        values, hidden = forms.clean_input(offer, raw)
        hidden = {**hidden, **attribution(hidden, offer.slug)}  # carried by the form shown again, as below
        notice = f"Too many sign-ups from your network just now. Nothing was saved yet: please wait {retry_after} seconds, then send the form again."
        return again(page, {**values, **hidden}, 429, notice=notice, retry_after=retry_after)

    form, hidden = forms.validate(offer, raw, bool(cfg.get("CHECK_DELIVERABILITY")))
    # Read once, and carried by a form shown again (422, 503): without JavaScript the campaign
    # comes from the Referer, and the corrected form is posted from a page whose address has none.
    hidden = {**hidden, **attribution(hidden, offer.slug)}
    if form.errors:
        return invalid(page, form, hidden)

    fields = form.cleaned()
    consented = bool(fields.pop("consent", False))
    email = fields["email"]
    reason = spam.verdict(hidden.get("website", ""), hidden.get("form_ts", ""), float(cfg.get("MIN_FILL_SECONDS") or 0))
    meta: dict[str, Any] = {name: hidden[name] for name in (*UTM_FIELDS, "referrer")}
    meta["user_agent"] = forms.clean_text(request.headers.get("User-Agent", ""))[:UA_CAP]
    meta["variant"] = page.variant
    meta["ip_marker"] = ip_marker(ip, str(cfg.get("IP_MARKER", "truncate")), secret, plan.now.date().isoformat())
    try:
        # The lead, its seat and its email are one transaction, and record() returns only after
        # COMMIT: the 303 below means the lead is on disk. SQLite has one writer at a time;
        # threads of this worker queue on a lock (woken at once, in turn) instead of SQLite's
        # busy handler, which sleeps and polls and starves some writers.
        with _write_lock:
            recorded = site.deliveries.record(plan, email=email, fields=fields, meta=meta, consented=consented, spam_reason=reason)
    except DatabaseError:
        log.exception("could not store a submission to %s (database unwritable?)", offer.slug)
        notice = "We could not save your details just now. Nothing was lost: please send the form again in a minute."
        return again(page, typed(form, hidden), 503, notice=notice, retry_after=60)
    submission = recorded.submission
    if offer.capacity is not None:
        site.renderer.seats_changed(offer.slug)  # its page shows the new seat count on the next view
    if reason:
        log.info("submission %s to %s stored as spam: %s", submission["id"], offer.slug, reason)
    # A repeat of a confirmed address under double opt-in: "check your inbox" only, no links.
    extra = (INBOX_ONLY,) if recorded.inbox_only else ()
    # Privacy: the token names the row by id *and* its created_at stamp; an erased row's id is
    # handed out again, and its old thank-you link must not show the next person's page.
    token = tokens.dump_row(secret, "thanks", submission["id"], submission["created_at"], *extra)
    return see_other(site, f"/{offer.slug}/thanks/{token}")


def see_other(site: Any, location: str) -> Response:
    """The 303 to ``location`` (a path of ours, ASCII: a slug and a token), built complete.

    Flask's ``redirect`` writes an HTML body nobody reads after a POST and re-quotes the URL;
    the security headers are added here, so the ``after_request`` hook passes it by (``Finished``).
    """
    return Finished(status=303, headers=[("Location", location), *security_headers(site, request.is_secure)])


def shown_variant(page: Any, posted: str | None) -> str | None:
    """The A/B variant a submission came from: the form's hidden field (no cookie or script
    needed), else the visitor's cookie; None when no test runs or neither names a variant."""
    if not page.variants:
        return None
    for name in (posted, request.cookies.get(assignment.cookie_name(page.offer.slug))):
        if name and name in page.variants:
            return name
    return None


def invalid(page: Any, form: forms.LeadForm, hidden: dict[str, str]) -> Response:
    """The landing page again, with what the visitor typed, a message per field and a summary."""
    return again(page, typed(form, hidden), 422, errors=form.messages())


def typed(form: forms.LeadForm, hidden: dict[str, str]) -> dict[str, Any]:
    """What the visitor typed into the form's fields, and the hidden attribution fields."""
    return {**{name: form[name].raw_data[0] if form[name].raw_data else "" for name in form.spec_names}, **hidden}


def again(
    page: Any, values: dict[str, Any], status: int, errors: dict[str, str] | None = None, notice: str = "", retry_after: int | None = None
) -> Response:
    """The landing page again with ``values`` filled in: a message per field (``errors``) or one
    ``notice`` for the whole form (too many sign-ups, the database unavailable). Nothing typed is lost.
    """
    site = current_services()
    offer = page.offer
    values = {k: v for k, v in values.items() if k != "website"}  # the honeypot stays empty
    now = datetime.now(UTC)
    state = offer.state(now)
    seats = site.renderer.seats(offer, state, site.seats_taken)
    soon = starts_in(offer, now) if state == "live" else None
    context = offer_context(current_app.config, page, state, seats, soon, site.renderer.cards.image_for(offer))
    context["proof"] = site.renderer.proof(offer, state, site.lead_count)  # the page as it was, proof line included
    html = site.renderer.render(
        templates_for(offer, "offer"), offer, **context, values=values, errors=errors or {}, notice=notice, noindex=True
    )
    response = Response(html, status=status, content_type="text/html; charset=utf-8")
    # Per visitor: never cached anywhere.
    response.headers["Cache-Control"] = "no-store"
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.get("/<slug>/thanks/<token>")
def thanks(slug: str, token: str) -> Response:
    """The offer's thank-you page for one submission (a signed link, so ids cannot be guessed)."""
    site = current_services()
    page = site.catalog.get(slug)
    if page is None:
        abort(404)
    try:
        link = tokens.load_row(current_app.config["SECRET_KEY"], "thanks", token)
    except tokens.BadToken:
        abort(404)
    if link.extra not in ((), (INBOX_ONLY,)):
        abort(404)
    inbox_only = link.extra == (INBOX_ONLY,)
    try:
        # None as well when the id now names a later submission (an erased row's id reused).
        submission = site.store.submission_for_link(link)
    except DatabaseError:
        log.exception("could not read submission %s", link.id)
        return render_error(503)
    if submission is None or submission["offer_slug"] != slug:
        abort(404)
    submission["fields"] = json.loads(submission["data"])
    owed = {"offer": page.offer, "state": "pending"} if inbox_only else site.deliveries.owed(page.offer, submission)
    template = ["full.html"] if owed["state"] == "waitlisted" else templates_for(page.offer, "thank_you")
    page = page.shown(submission.get("variant"))  # an A/B variant may have its own thank_you
    # The next step of the funnel and share links of the offer's public page (never this URL).
    offers = {slug: p.offer for slug, p in site.catalog.pages.items()}
    html = site.renderer.render(
        template,
        page.offer,
        page=page,
        submission=submission,
        thank_you_html=page.thank_you_html,
        delivery=owed,
        next_offer=next_offer(offers, page.offer, datetime.now(UTC)),
        share_links=share_links(f"{current_app.config['BASE_URL']}/{page.offer.slug}", page.offer.title),
    )
    response = Response(html, content_type="text/html; charset=utf-8")
    # Per visitor (it may show their address and, later, their download link): never cached.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
