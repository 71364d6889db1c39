"""Landing pages answered straight from WSGI, before Flask builds a request.

A published landing page without an A/B test is the same cached bytes for every visitor: its
answer needs the path, three request headers and the page cache, not a request object, URL
routing, an app context or response hooks, which cost a bare Flask route more than the page
itself (issue 20: profiled per request in docs/decisions.md "Speed against bare baselines").
:class:`LandingPages` wraps the app's WSGI callable the documented way (``app.wsgi_app = ...``)
and answers ``GET``/``HEAD /<slug>`` with :func:`leadmagnet.web.pages.plain_offer`, the same
function the Flask view uses, so both give the same status, headers, body and counted view.
Everything else goes to Flask unchanged: other paths, A/B tests (a cookie to set), pages that
do not exist or are not published (the 404 page), and any error (Flask's error handling).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from leadmagnet.services import Services
from leadmagnet.web.pages import plain_offer

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
STATUS_LINES = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}


class LandingPages:
    """WSGI middleware: plain landing pages from the page cache; the rest to ``wsgi_app``.

    ``reserved``: the single-segment paths the app routes itself (``/healthz``, ``/robots.txt``...),
    never taken for an offer's slug here, as Flask's routing would not either.
    """

    def __init__(self, wsgi_app: WSGIApp, services: Services, reserved: Iterable[str]) -> None:
        self.wsgi_app = wsgi_app
        self.services = services
        self.reserved = frozenset(reserved)
        # PostgreSQL: a seat count or proof line read here took a pooled connection; give it back.
        self.pooled = services.store.backend == "postgresql"

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        if method == "GET" or method == "HEAD":
            path = environ.get("PATH_INFO") or ""
            slug = path[1:]
            if slug and path[0] == "/" and "/" not in slug and slug not in self.reserved:
                try:
                    answered = plain_offer(self.services, slug, environ)
                except Exception:  # Flask answers it again, with its error handling and the 500 page
                    log.exception("landing page %s: answering through Flask instead", slug)
                    answered = None
                finally:
                    if self.pooled:  # as the app's teardown does for Flask's requests (app.py)
                        self.services.store.close()
                if answered is not None:
                    status, headers, body = answered
                    if status == 304:
                        start_response(STATUS_LINES[status], headers)
                        return []
                    headers.append(("Content-Length", str(len(body))))
                    start_response(STATUS_LINES[status], headers)
                    return [] if method == "HEAD" else [body]
        return self.wsgi_app(environ, start_response)
