"""Security headers on every response.

The Content-Security-Policy allows no inline script at all and inline styles only by hash (the
theme's critical CSS, hashed when it is inlined), so injected markup can neither run nor style.
HSTS is sent only over HTTPS, where it means something (behind a reverse proxy, list it in
``LEADMAGNET_TRUSTED_PROXIES`` so that its ``X-Forwarded-Proto`` is believed).

The policy text is built once per set of style hashes, not per request: the hot path of a cached
page only copies a few strings. ``Date`` is left to the HTTP server: werkzeug's conditional
responses add one and gunicorn always adds its own, which made two ``Date`` headers.
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from leadmagnet.services import Services

STATIC_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "DENY"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
HSTS = "max-age=31536000; includeSubDomains"


class Finished(Response):
    """A response its view built complete: security headers added, body compressed for the
    client. The ``after_request`` hooks leave it as it is (the landing page's hot path: each hook
    would otherwise read every header again)."""


def security_headers(services: Services, secure: bool) -> list[tuple[str, str]]:
    """The security headers of a response (HSTS only over HTTPS)."""
    headers = [
        ("Content-Security-Policy", services.csp.get(services.renderer.style_hashes, services.settings["BASE_URL"])),
        *STATIC_HEADERS,
    ]
    if secure:
        headers.append(("Strict-Transport-Security", HSTS))
    return headers


def add_security_headers(response: Response, services: Services) -> Response:
    """Add the security headers to ``response`` (after_request); a view's own values win.

    One pass over the headers finds the names already set (werkzeug's ``setdefault`` would scan
    the list once per header, which showed up in profiles of the landing-page hot path).
    """
    if type(response) is Finished:
        return response
    headers = response.headers
    present = {name.lower() for name, _ in headers}
    for name, value in security_headers(services, request.is_secure):
        if name.lower() not in present:
            headers.add(name, value)
    if "date" in present:
        # The HTTP server (werkzeug or gunicorn) adds the one Date header; werkzeug's
        # make_conditional adds another, which made two under gunicorn.
        headers.remove("Date")
    return response


def register(app: Flask, services: Services) -> None:
    """Add the security headers to every response of ``app``; trust the configured proxies.

    With ``LEADMAGNET_TRUSTED_PROXIES = n`` the last ``n`` entries of ``X-Forwarded-For`` /
    ``-Proto`` / ``-Host`` are believed (werkzeug's ``ProxyFix``): the visitor's address for rate
    limits, and HTTPS for HSTS. Security: with 0 (the default) a client cannot spoof either.
    """
    app.after_request(lambda response: add_security_headers(response, services))
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0 and not isinstance(app.wsgi_app, ProxyFix):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]
