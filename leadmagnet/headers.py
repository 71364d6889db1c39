"""Security headers on every response.

The Content-Security-Policy allows no inline script at all and inline styles only by hash (the
theme's critical CSS, hashed when it is inlined), so injected markup can neither run nor style.
HSTS is sent only over HTTPS, where it means something.
"""

from __future__ import annotations

import base64
import hashlib

from flask import Flask, Response, current_app, request


def style_hash(css: str) -> str:
    """The CSP source expression for an inline ``<style>`` with exactly this text."""
    digest = hashlib.sha256(css.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


def content_security_policy(style_hashes: set[str], base_url: str) -> str:
    styles = " ".join(sorted(style_hashes))
    return "; ".join(
        [
            "default-src 'self'",
            "img-src 'self' data:",
            f"style-src 'self' {styles}".strip(),
            "script-src 'self'",
            "connect-src 'self'",
            f"form-action 'self' {base_url}",
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "object-src 'none'",
        ]
    )


def add_security_headers(response: Response) -> Response:
    site = current_app.extensions["leadmagnet"]
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(site.renderer.style_hashes, current_app.config["BASE_URL"]))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def register(app: Flask) -> None:
    app.after_request(add_security_headers)
