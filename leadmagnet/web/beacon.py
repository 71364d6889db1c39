"""View beacons from statically exported pages, and the bare ``/_ping`` route.

An exported landing page is served by another web server or a CDN, so leadmagnet never sees the
view. Its ``beacon.js`` posts ``slug`` (and the visitor's ``utm_source``, and the A/B ``variant``
the page shows, counted per variant as the live pages do) here once per view; the
count goes into the same batched page-view counter the live pages use (:mod:`leadmagnet.leads.pageviews`),
so a beacon is a dict update, never a database write on the request path.

The answer is always ``204 No Content``, whatever was sent: a beacon is fire-and-forget, and
telling a scraper which slugs exist would be a leak. Unknown or unpublished slugs are not counted.
The endpoint is cheap enough not to need its own rate limit (nothing is stored per request);
put it behind the same proxy limits as the pages.

``/_ping`` answers a constant ``ok``: the baseline that ``bench/serve.py`` compares a landing
page against, and a liveness probe that touches neither content nor database.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, request

from leadmagnet.leads import assignment
from leadmagnet.leads.pageviews import today
from leadmagnet.web import current_services

bp = Blueprint("beacon", __name__)

# The longest UTM value kept, as in the lead form's hidden fields.
MAX_SOURCE = 200
# The longest referrer or User-Agent read (as the lead form's hidden referrer field).
MAX_REFERRER = 500


@bp.post("/beacon")
def beacon() -> Response:
    """Count a view of an exported page: form field ``slug``; optional ``utm_source``, ``utm_medium``,
    ``utm_campaign`` and ``referrer``."""
    form = request.form
    slug = form.get("slug", "").strip()
    services = current_services()
    page = services.catalog.get(slug) if slug else None
    if page is not None and page.offer.is_published(datetime.now(UTC)):
        services.page_views.count(
            slug,
            form.get("utm_source", "").strip()[:MAX_SOURCE],
            utm_medium=form.get("utm_medium", "").strip()[:MAX_SOURCE],
            utm_campaign=form.get("utm_campaign", "").strip()[:MAX_SOURCE],
            referrer=form.get("referrer", "").strip()[:MAX_REFERRER],
            user_agent=request.headers.get("User-Agent", "")[:MAX_REFERRER],
        )
        variant = form.get("variant", "")
        # Only a variant of a test running now; a crawler's view would skew the split.
        if variant in page.variants and not assignment.is_crawler(request.user_agent.string):
            services.variant_views.add((slug, today(), variant))
    return Response(status=204, headers={"Cache-Control": "no-store"})


@bp.get("/_ping")
def ping() -> Response:
    """A constant answer, for load balancers and as the serving benchmark's baseline."""
    return Response(b"ok", content_type="text/plain; charset=utf-8", headers={"Cache-Control": "no-store"})
