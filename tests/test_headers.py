"""Security headers on every response: a strict CSP that hashes the inline critical CSS, nosniff,
Referrer-Policy, frame-ancestors, HSTS only over HTTPS (or a trusted proxy's HTTPS), one Date."""

from __future__ import annotations

import base64
import hashlib
import http.client
import re
from urllib.parse import urlsplit

import pytest

from tests.support.servers import gunicorn, leadmagnet_env

PATHS = [
    "/",
    "/growth-playbook",
    "/media/assets/ada.png",
    "/q1-product-demo",
    "/scaling-content-2026",
    "/no-such-offer",
    "/_ping",
    "/sitemap.xml",
    "/robots.txt",
]


def csp(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in (part.strip() for part in policy.split(";")) if d}


@pytest.mark.parametrize("path", PATHS)
def test_every_response_carries_the_security_headers(client, path: str) -> None:
    response = client.get(path)
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["X-Frame-Options"] == "DENY"
    policy = csp(response)
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in headers  # plain HTTP: HSTS would mean nothing
    assert "Date" not in headers  # the HTTP server adds the one Date header


def test_post_and_error_responses_carry_them_too(client) -> None:
    beacon = client.post("/beacon", data={"slug": "growth-playbook"})
    assert beacon.status_code == 204
    assert beacon.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in beacon.headers
    wrong = client.put("/growth-playbook")
    assert wrong.status_code == 405 and "Content-Security-Policy" in wrong.headers


def test_inline_style_is_allowed_by_its_hash_only(client) -> None:
    response = client.get("/growth-playbook")
    html = response.get_data(as_text=True)
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert styles, "the critical CSS is inlined"
    allowed = csp(response)["style-src"]
    for css in styles:
        digest = "'sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode() + "'"
        assert digest in allowed
    # No inline script runs: every <script> is external or JSON-LD data.
    for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S):
        assert "src=" in attrs or 'type="application/ld+json"' in attrs, attrs
        assert "src=" not in attrs or body == ""
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html), "no inline event handler"


def test_form_action_and_connect_src_allow_the_live_server(make_app) -> None:
    client = make_app(BASE_URL="https://offers.example.com").test_client()
    policy = csp(client.get("/growth-playbook"))
    assert "https://offers.example.com" in policy["form-action"]
    assert "https://offers.example.com" in policy["connect-src"]


def test_hsts_only_over_https(make_app) -> None:
    client = make_app().test_client()
    secure = client.get("/growth-playbook", base_url="https://offers.example.com")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    forged = client.get("/growth-playbook", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in forged.headers  # no trusted proxy: not believed


def test_hsts_behind_a_trusted_proxy(make_app) -> None:
    client = make_app(TRUSTED_PROXIES=1).test_client()
    proxied = client.get("/growth-playbook", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert proxied.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    direct = client.get("/growth-playbook")
    assert "Strict-Transport-Security" not in direct.headers


def test_a_view_can_set_its_own_policy(app) -> None:
    @app.get("/_test-own-policy")
    def own() -> tuple[str, int, dict[str, str]]:
        return "x", 200, {"Content-Security-Policy": "default-src 'none'", "Referrer-Policy": "no-referrer"}

    response = app.test_client().get("/_test-own-policy")
    assert response.headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert response.headers.getlist("Referrer-Policy") == ["no-referrer"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_one_date_header_and_304_under_gunicorn(tmp_path, content_dir) -> None:
    settings = {"CONTENT_DIR": content_dir, "INSTANCE_DIR": tmp_path / "instance"}
    with gunicorn(leadmagnet_env(settings), log=tmp_path / "gunicorn.log") as server:
        parts = urlsplit(server.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        try:
            conn.request("GET", "/growth-playbook", headers={"Accept-Encoding": "gzip"})
            first = conn.getresponse()
            first.read()
            assert first.status == 200
            assert len(first.msg.get_all("Date")) == 1
            assert first.getheader("Content-Encoding") == "gzip"
            assert first.getheader("X-Content-Type-Options") == "nosniff"
            conn.request("GET", "/growth-playbook", headers={"Accept-Encoding": "gzip", "If-None-Match": first.getheader("ETag")})
            second = conn.getresponse()
            assert second.read() == b""
            assert second.status == 304
            assert len(second.msg.get_all("Date")) == 1
        finally:
            conn.close()
