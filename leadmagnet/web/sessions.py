"""Flask's signed-cookie sessions, opened only for a request that carries a cookie.

Only the admin keeps anything in the session (who is logged in, and Flask-WTF's CSRF token).
Flask's :class:`~flask.sessions.SecureCookieSessionInterface` builds a new signing serializer on
every request, cookie or not (itsdangerous checks it with a JSON round trip), which profiled as a
sixth of a cached landing page's time. This subclass, through the interface Flask documents for
replacing sessions, answers a request without any ``Cookie`` header with the same empty session
Flask would have made, and builds the serializer once per secret key.
"""

from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class CookieSessions(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._serializers: dict[tuple[object, ...], URLSafeTimedSerializer | None] = {}

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if "HTTP_COOKIE" not in request.environ:
            # What Flask returns for a request without the session cookie (or None without a key).
            return self.session_class() if app.secret_key else None
        return super().open_session(app, request)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        key = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self._serializers.get(key)
        if serializer is None:
            serializer = super().get_signing_serializer(app)
            if len(self._serializers) > 8:  # keys rotated many times in one process: start afresh
                self._serializers.clear()
            self._serializers[key] = serializer
        return serializer
