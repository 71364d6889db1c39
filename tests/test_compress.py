"""Compression: Accept-Encoding negotiation with q-values, ETag/304 per coding, cached bodies,
and fingerprinted theme files with their year-long Cache-Control, through the app and over HTTP."""

from __future__ import annotations

import gzip
import http.client
import re
from pathlib import Path
from urllib.parse import urlsplit

import brotli
import pytest

from leadmagnet.render.compression import compress, negotiate
from leadmagnet.web import services_of

ROOT = Path(__file__).resolve().parent.parent

PAGE = "/growth-playbook"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "identity"),
        ("", "identity"),
        ("gzip", "gzip"),
        ("br", "br"),
        ("gzip, deflate, br", "br"),  # equal weights: brotli is smaller
        ("br;q=0.5, gzip", "gzip"),
        ("br;q=0, gzip;q=0.1", "gzip"),
        ("gzip;q=0", "identity"),
        ("br;q=0, gzip;q=0", "identity"),
        ("*", "br"),
        ("*;q=0", "identity"),
        ("br;q=0, *", "gzip"),
        ("x-gzip", "gzip"),
        ("GZIP;Q=1", "gzip"),
        ("gzip;q=banana, br;q=0.2", "br"),  # a malformed q-value counts as 0
        ("deflate, identity", "identity"),
    ],
)
def test_negotiate_follows_q_values(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


def get(client, path: str, encoding: str | None = None, **headers: str):
    if encoding is not None:
        headers["Accept-Encoding"] = encoding
    return client.get(path, headers=headers)


def test_page_is_sent_with_brotli_gzip_or_identity_as_asked(client) -> None:
    plain = get(client, PAGE)
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]
    body = plain.data
    assert b"<form" in body

    br = get(client, PAGE, "gzip, br")
    assert br.headers["Content-Encoding"] == "br"
    assert brotli.decompress(br.data) == body
    assert int(br.headers["Content-Length"]) == len(br.data) < len(body)
    assert br.headers["Vary"] == "Accept-Encoding"

    gz = get(client, PAGE, "gzip")
    assert gz.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(gz.data) == body

    refused = get(client, PAGE, "gzip;q=0, br;q=0")
    assert "Content-Encoding" not in refused.headers and refused.data == body


def test_each_coding_has_its_own_etag_and_answers_304(client) -> None:
    plain = get(client, PAGE)
    br = get(client, PAGE, "br")
    gz = get(client, PAGE, "gzip")
    etags = {plain.headers["ETag"], br.headers["ETag"], gz.headers["ETag"]}
    assert len(etags) == 3  # a strong ETag names one exact byte sequence
    assert plain.headers["Cache-Control"] == "public, max-age=300"

    for encoding, etag in ((None, plain.headers["ETag"]), ("br", br.headers["ETag"]), ("gzip", gz.headers["ETag"])):
        again = get(client, PAGE, encoding, **{"If-None-Match": etag})
        assert again.status_code == 304, (encoding, etag)
        assert again.data == b""
        assert again.headers["ETag"] == etag
        assert "Content-Encoding" not in again.headers
        assert "Accept-Encoding" in again.headers["Vary"]

    # A brotli copy is no use to a client that now only takes gzip: full body, gzip ETag.
    switched = get(client, PAGE, "gzip", **{"If-None-Match": br.headers["ETag"]})
    assert switched.status_code == 200
    assert switched.headers["ETag"] == gz.headers["ETag"]
    assert gzip.decompress(switched.data) == plain.data


def test_compressed_page_is_cached_not_recompressed(app, client) -> None:
    cache = services_of(app).compressed
    first = get(client, PAGE, "br")
    size = len(cache)
    assert size >= 1
    second = get(client, PAGE, "br")
    assert second.data == first.data
    assert len(cache) == size  # the second request found the bytes; nothing new was stored
    etag = first.headers["ETag"].strip('"').removesuffix("-br")
    assert cache.get(etag, "br") == first.data


def test_small_and_binary_responses_are_not_compressed(client) -> None:
    ping = get(client, "/_ping", "br, gzip")
    assert ping.data == b"ok" and "Content-Encoding" not in ping.headers
    png = get(client, "/media/assets/ada.png", "br, gzip")
    assert png.status_code == 200 and "Content-Encoding" not in png.headers
    assert png.data.startswith(b"\x89PNG")


def asset_urls(html: str) -> list[str]:
    return re.findall(r'src="(/static/[^"]+)"', html)


def test_fingerprinted_static_files_are_immutable_and_compressed(client) -> None:
    html = get(client, PAGE).get_data(as_text=True)
    urls = asset_urls(html)
    assert urls, "the page links its script through a fingerprinted URL"
    url = urls[0]
    theme, fingerprint, path = re.fullmatch(r"/static/([^/]+)/([0-9a-f]{10})/(.+)", url).groups()
    plain = get(client, url)
    assert plain.status_code == 200
    assert plain.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    br = get(client, url, "br")
    assert br.headers["Content-Encoding"] == "br"
    assert brotli.decompress(br.data) == plain.data
    assert br.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert get(client, url, "br", **{"If-None-Match": br.headers["ETag"]}).status_code == 304

    stale = get(client, f"/static/{theme}/0000000000/{path}")
    assert stale.status_code == 200 and stale.headers["Cache-Control"] == "no-cache"
    assert get(client, f"/static/{theme}/{fingerprint}/no-such-file.js").status_code == 404


def test_fingerprint_changes_when_the_theme_file_changes(make_app, tmp_path) -> None:
    theme = tmp_path / "themes" / "default" / "static"
    theme.mkdir(parents=True)
    (theme / "lead.js").write_text("console.log('one');\n")
    client = make_app().test_client()
    first = asset_urls(get(client, PAGE).get_data(as_text=True))
    (theme / "lead.js").write_text("console.log('two, longer');\n")
    second = asset_urls(get(client, PAGE).get_data(as_text=True))
    lead_first = next(u for u in first if u.endswith("/lead.js"))
    lead_second = next(u for u in second if u.endswith("/lead.js"))
    assert lead_first != lead_second
    assert get(client, lead_second).data == b"console.log('two, longer');\n"


def test_compression_over_real_http(live_server) -> None:
    parts = urlsplit(live_server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", PAGE, headers={"Accept-Encoding": "br;q=1.0, gzip;q=0.8"})
        response = conn.getresponse()
        data = response.read()
        assert response.status == 200
        assert response.getheader("Content-Encoding") == "br"
        assert int(response.getheader("Content-Length")) == len(data)
        assert b"<form" in brotli.decompress(data)
        etag = response.getheader("ETag")
        conn.request("GET", PAGE, headers={"Accept-Encoding": "br", "If-None-Match": etag})
        again = conn.getresponse()
        assert again.status == 304 and again.read() == b""
    finally:
        conn.close()


@pytest.mark.parametrize("size", [0, 1, 511, 8_500, 70_000, 3_000_000])
@pytest.mark.parametrize("best", [False, True])
def test_gzip_bodies_are_standard_gzip_stable_and_as_small_as_zlibs(size: int, best: bool) -> None:
    """The gzip coding (libdeflate) is plain gzip any client reads, the same bytes every time
    (mtime 0: stable twins and ETags), and within 1% of zlib's size at the same level."""
    # A fixed 4,000 bytes of the theme's CSS: how close libdeflate comes to zlib on 3 MB of one
    # text repeated depends on the text's length (a 6 KB period is 2.8% larger at level 6, a 4 KB
    # one 0.6%), so the test must not move whenever the stylesheet grows.
    page = (ROOT / "themes" / "default" / "static" / "critical.css").read_bytes()[:4000] + bytes(range(256))
    data = (page * (size // len(page) + 1))[:size]
    body = compress(data, "gzip", best=best)
    assert gzip.decompress(body) == data
    assert body == compress(data, "gzip", best=best)
    assert body[4:8] == b"\0\0\0\0"  # no timestamp
    assert len(body) <= len(gzip.compress(data, 9 if best else 6, mtime=0)) * 1.01 + 8
