"""Gated downloads over real HTTP: headers, Range requests, recorded downloads, tampered and
expired links (with the fresh-link button, rate limited), and traversal attempts.
"""

from __future__ import annotations

import http.client
import re
import time
from urllib.parse import urlsplit

import pytest

from leadmagnet.foundation import tokens
from leadmagnet.web import services_of
from tests.support.content import submit, write_ebook
from tests.support.servers import start_live_server

pytestmark = pytest.mark.both_backends

DATA = bytes(range(256)) * 40  # 10240 bytes, every byte value
SLUG = "guide"


@pytest.fixture
def ebook_app(make_app, content_dir):
    write_ebook(content_dir, SLUG, DATA, filename="field-guide.pdf")
    return make_app(RATE_LIMIT="off")


@pytest.fixture
def server(ebook_app):
    live = start_live_server(ebook_app)
    try:
        yield live
    finally:
        live.stop()


def _download_path(app) -> str:
    client = app.test_client()
    response = submit(client, SLUG, "reader@example.com", first_name="Rea")
    assert response.status_code == 303
    thanks = client.get(response.headers["Location"]).get_data(as_text=True)
    [url] = re.findall(r'href="([^"]*/download/[^"]+)"', thanks)
    return urlsplit(url).path


def _get(server, path: str, headers: dict | None = None, method: str = "GET") -> tuple[int, dict, bytes]:
    host = urlsplit(server.url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_download_streams_the_file_with_its_name_type_and_length(ebook_app, server) -> None:
    path = _download_path(ebook_app)
    status, headers, body = _get(server, path)
    assert status == 200
    assert body == DATA
    assert headers["content-type"] == "application/pdf"
    assert headers["content-disposition"] == "attachment; filename=field-guide.pdf"
    assert headers["content-length"] == str(len(DATA))
    assert headers["accept-ranges"] == "bytes"
    assert "no-store" in headers["cache-control"] and headers["x-robots-tag"].startswith("noindex")


def test_links_are_not_single_use_and_every_download_is_recorded(ebook_app, server) -> None:
    path = _download_path(ebook_app)
    for _ in range(3):  # a mail scanner, then the person, then again
        assert _get(server, path)[0] == 200
    _get(server, path, {"Range": "bytes=0-9"})
    store = services_of(ebook_app).store
    [sid] = [r["id"] for r in store.submissions()]
    rows = store.downloads_of(sid)
    assert len(rows) == 4 and [r["range_request"] for r in rows] == [0, 0, 0, 1]


def test_single_range(ebook_app, server) -> None:
    status, headers, body = _get(server, _download_path(ebook_app), {"Range": "bytes=100-199"})
    assert status == 206
    assert body == DATA[100:200]
    assert headers["content-range"] == f"bytes 100-199/{len(DATA)}"
    assert headers["content-length"] == "100"


def test_open_ended_and_suffix_ranges(ebook_app, server) -> None:
    path = _download_path(ebook_app)
    status, headers, body = _get(server, path, {"Range": "bytes=-500"})
    assert status == 206 and body == DATA[-500:]
    assert headers["content-range"] == f"bytes {len(DATA) - 500}-{len(DATA) - 1}/{len(DATA)}"
    status, headers, body = _get(server, path, {"Range": "bytes=10000-"})
    assert status == 206 and body == DATA[10000:]


def test_unsatisfiable_range_is_416_with_the_size(ebook_app, server) -> None:
    status, headers, body = _get(server, _download_path(ebook_app), {"Range": f"bytes={len(DATA) + 10}-"})
    assert status == 416
    assert headers["content-range"] == f"bytes */{len(DATA)}"
    assert body == b""


def test_tampered_tokens_are_404(ebook_app, server) -> None:
    path = _download_path(ebook_app)
    token = path.rsplit("/", 1)[1]
    payload, stamp, sig = token.split(".")
    forged_payload = tokens.dump("not-our-secret", "download", [2]).split(".")[0]
    for bad in (
        f"{payload}.{stamp}.{'B' if sig[0] == 'A' else 'A'}{sig[1:]}",  # signature changed (the first character: every bit counts)
        f"{forged_payload}.{stamp}.{sig}",  # payload swapped
        tokens.dump("not-our-secret", "download", [1]),  # signed with another key
        tokens.dump(ebook_app.config["SECRET_KEY"], "unsubscribe", [1]),  # our key, another purpose
        token[:-5],
        "x",
    ):
        assert _get(server, f"/download/{bad}")[0] == 404, bad


def test_expired_link_offers_a_fresh_one_by_post_rate_limited(make_app, content_dir) -> None:
    write_ebook(content_dir, SLUG, DATA)
    app = make_app(RATE_LIMIT="off", DOWNLOAD_TTL=3600, RESEND_RATE_LIMIT="2/hour")
    client = app.test_client()
    assert submit(client, SLUG, "reader@example.com").status_code == 303
    store = services_of(app).store
    [row] = store.submissions()
    old = tokens.dump_row(app.config["SECRET_KEY"], "download", row["id"], row["created_at"], issued_at=time.time() - 7200)

    expired = client.get(f"/download/{old}")
    html = expired.get_data(as_text=True)
    assert expired.status_code == 410
    assert "This link has expired" in html and f'action="/download/{old}/renew"' in html and 'method="post"' in html
    assert len(store.outbox()) == 1  # the GET sent nothing

    sent = client.post(f"/download/{old}/renew")
    assert sent.status_code == 200 and "A fresh link is on its way" in sent.get_data(as_text=True)
    services_of(app).deliveries.send_once()  # no SMTP configured: written as .eml files
    rows = store.outbox()
    assert len(rows) == 2 and rows[1]["to_addr"] == "reader@example.com" and rows[1]["kind"].startswith("resend:")
    fresh = re.search(rb"/download/([A-Za-z0-9_.-]+)", rows[1]["message"]).group(1).decode()
    assert client.get(f"/download/{fresh}").data == DATA

    assert client.post(f"/download/{old}/renew").status_code == 200
    limited = client.post(f"/download/{old}/renew")
    assert limited.status_code == 429 and "Retry-After" in limited.headers
    assert len(store.outbox()) == 3
    # a tampered token cannot ask for anything
    assert client.post(f"/download/{old[:-3]}abc/renew").status_code == 404


def test_traversal_attempts_reach_nothing(ebook_app, server, content_dir) -> None:
    (content_dir / "secret.txt").write_text("top secret")
    key = ebook_app.config["SECRET_KEY"]
    attempts = [
        "/download/../files/field-guide.pdf",
        "/download/..%2f..%2fguide.md",
        "/download/%2e%2e/%2e%2e/etc/passwd",
        "/download/" + tokens.dump(key, "download", ["../secret.txt"]),
        "/download/" + tokens.dump(key, "download", {"file": "../../etc/passwd"}),
        "/download/" + tokens.dump(key, "download", [999]),
        "/media/files/field-guide.pdf",
        "/media/guide.md",
        "/media/..%2fsecret.txt",
        "/files/field-guide.pdf",
        "/content/files/field-guide.pdf",
        "/calendar/..%2f..%2fsecret.txt.ics",
    ]
    for path in attempts:
        status, _headers, body = _get(server, path)
        assert status in (400, 404), (path, status)
        assert DATA[:64] not in body and b"top secret" not in body and b"root:" not in body


def test_pending_and_spam_submissions_get_no_file(make_app, content_dir) -> None:
    write_ebook(content_dir, SLUG, DATA, extra="double_opt_in: true")
    app = make_app(RATE_LIMIT="off")
    client = app.test_client()
    submit(client, SLUG, "pending@example.com")
    store = services_of(app).store
    [row] = store.submissions()
    token = tokens.dump_row(app.config["SECRET_KEY"], "download", row["id"], row["created_at"])
    assert client.get(f"/download/{token}").status_code == 404


def test_head_requests_are_answered_but_not_counted(ebook_app, server) -> None:
    path = _download_path(ebook_app)
    status, headers, body = _get(server, path, method="HEAD")
    assert status == 200 and body == b"" and headers["content-length"] == str(len(DATA))
    store = services_of(ebook_app).store
    [sid] = [r["id"] for r in store.submissions()]
    assert store.downloads_of(sid) == []


def test_a_304_and_the_later_chunks_of_a_file_are_not_counted(ebook_app, server) -> None:
    path = _download_path(ebook_app)
    status, headers, _body = _get(server, path)
    assert status == 200
    # The browser already has the file: a conditional GET answered 304 downloads nothing.
    assert _get(server, path, {"If-None-Match": headers["etag"]})[0] == 304
    assert _get(server, path, {"If-Modified-Since": headers["last-modified"]})[0] == 304
    # A download manager fetching in parts: the first part (from byte 0) counts, the rest do not.
    assert _get(server, path, {"Range": "bytes=0-4095"})[0] == 206
    assert _get(server, path, {"Range": "bytes=4096-8191"})[0] == 206
    assert _get(server, path, {"Range": "bytes=8192-"})[0] == 206
    assert _get(server, path, {"Range": "bytes=-100"})[0] == 206  # a suffix: the end of the file
    assert _get(server, path, {"Range": f"bytes={len(DATA) + 1}-"})[0] == 416
    # A resumed or repeated part is no new download either.
    assert _get(server, path, {"Range": "bytes=4096-8191"})[0] == 206
    store = services_of(ebook_app).store
    [sid] = [r["id"] for r in store.submissions()]
    assert [r["range_request"] for r in store.downloads_of(sid)] == [0, 1]
    assert store.dashboard()["totals"]["downloads"] == 2
