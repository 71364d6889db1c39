"""Themed error pages (400, 401, 403, 404, 405, 410, 413, 429, 500, 503 and any other status) with the right status codes.

Each page links back to the offers. Error pages are rendered with the default theme so that a
broken offer theme cannot break the error page too.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException, InternalServerError

from leadmagnet.store import not_text_message
from leadmagnet.web import current_services

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Bad request", "Your browser sent something we could not read. Go back, check the form and try again."),
    401: ("Please sign in", "This page needs you to sign in first."),
    403: ("Not allowed", "You are not allowed to do that. If you followed a link, ask whoever sent it for a new one."),
    404: ("Page not found", "This page does not exist, or the offer is not published."),
    405: ("Method not allowed", "This address does not accept that kind of request."),
    410: ("This offer has ended", "This offer is no longer available."),
    413: ("Too much data", "The form you sent was too large. Shorten your answers and try again."),
    429: ("Too many requests", "You have sent too many requests. Please wait a moment and try again."),
    500: ("Something went wrong", "An error on our side stopped this page. It has been logged; please try again in a moment."),
    503: ("Temporarily unavailable", "We could not save your request just now. Nothing was lost: please try again in a minute."),
}


def render_error(status: int, title: str | None = None, message: str | None = None) -> Response:
    """A themed error page; falls back to plain text if even the theme cannot render."""
    default_title, default_message = MESSAGES.get(status, ("Error", "Something went wrong."))
    try:
        html = current_services().renderer.render(
            "error.html", status=status, title=title or default_title, message=message or default_message
        )
    except Exception:
        log.exception("error page for %s failed to render", status)
        html = f"<!doctype html><title>{status}</title><p>{default_title}. <a href='/'>Back to the offers</a></p>"
    response = Response(html, status=status, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


def handle_http(exc: HTTPException) -> Response:
    if exc.code is None or exc.code < 400:
        return exc.get_response()
    # A status without our own wording keeps werkzeug's name and description, which are clear too.
    known = exc.code in MESSAGES
    response = render_error(exc.code, title=None if known else exc.name, message=None if known else exc.description)
    for key in ("Retry-After", "Allow"):
        original = exc.get_response().headers.get(key)
        if original:
            response.headers[key] = original
    return response


def handle_unexpected(exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path, exc_info=exc)
    # An admin page that met a value another program stored as non-text says which and what to
    # do, to a signed-in admin only (the message shows the stored value; the login page is in the
    # admin blueprint too, and a visitor gets the general page).
    problem = not_text_message(exc) if request.blueprint == "admin" and g.get("admin") is not None else None
    if problem is not None:
        return render_error(500, title="A stored value is not text", message=problem)
    return render_error(500)


def register(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(InternalServerError, handle_http)
    app.register_error_handler(Exception, handle_unexpected)
