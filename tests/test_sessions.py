"""The session cookie (web/sessions.py): opened only for a request with a cookie, one signing
serializer per secret key, and the same behaviour as Flask's own sessions otherwise."""

from __future__ import annotations

from leadmagnet.web import services_of
from leadmagnet.web.admin import add_admin
from leadmagnet.web.sessions import CookieSessions

PASSWORD = "correct horse battery staple"


def test_the_app_uses_cookie_sessions(app) -> None:
    assert isinstance(app.session_interface, CookieSessions)


def test_a_request_without_cookies_gets_an_empty_session_and_no_cookie(app, client) -> None:
    response = client.get("/growth-playbook")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")
    with app.test_request_context("/"):
        from flask import request

        session = app.session_interface.open_session(app, request)
        assert session is not None and dict(session) == {} and not session.modified


def test_one_serializer_per_secret_key(app) -> None:
    interface = app.session_interface
    first = interface.get_signing_serializer(app)
    assert first is not None and interface.get_signing_serializer(app) is first
    old_key = app.secret_key
    cookie = first.dumps({"admin_user": 1})
    app.secret_key = "a new key"
    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    try:
        rotated = interface.get_signing_serializer(app)
        assert rotated is not first
        assert rotated.loads(cookie) == {"admin_user": 1}  # the old key still verifies, as a fallback
    finally:
        app.secret_key = old_key
        app.config["SECRET_KEY_FALLBACKS"] = []
    assert interface.get_signing_serializer(app) is first


def test_admin_login_keeps_its_session_across_requests(make_app) -> None:
    app = make_app(WTF_CSRF_ENABLED=False, ADMIN_LOGIN_LIMIT="off")
    add_admin(services_of(app).store, "boss@example.com", PASSWORD)
    client = app.test_client()
    assert client.get("/admin/").status_code in (302, 303)
    response = client.post("/admin/login", data={"email": "boss@example.com", "password": PASSWORD})
    assert response.status_code == 303 and "session=" in response.headers["Set-Cookie"]
    assert client.get("/admin/").status_code == 200
    # A forged cookie is an empty session again: back to the login page.
    client.set_cookie("session", "forged.value.here")
    assert client.get("/admin/").status_code in (302, 303)
