"""Response compression: brotli or gzip, chosen from ``Accept-Encoding``, done once per body.

Landing pages and theme files are the same bytes for every visitor and carry an ``ETag``, so the
compressed bytes are cached under ``(etag, encoding)``: a page is compressed once per version, not
once per request, and the hot path of a cached page stays a dict lookup. Static files are
compressed on first use the same way (``leadmagnet build`` writes ``.gz``/``.br`` twins instead).

A compressed response gets its own ETag (``<etag>-br``, ``<etag>-gz``), because a strong ETag
names one exact sequence of bytes; conditional requests for it are answered 304 here, after the
view has answered for the uncompressed one. ``Vary: Accept-Encoding`` goes on every response
that could have been compressed, so a shared cache never hands brotli to a client without it.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict

import brotli
import deflate

# Smaller bodies gain nothing from compression (the headers dominate).
MIN_SIZE = 512
# Cached compressed bodies, most recently used last; a page version costs two entries at most.
MAX_ENTRIES = 4096
# Brotli quality 5 with a window fitted to the body: for pages, CSS, sitemaps as small as quality 9
# (or smaller) and up to 5 times faster (docs/decisions.md has the figures).
BROTLI_QUALITY = 5
GZIP_LEVEL = 6
SUFFIX = {"br": "-br", "gzip": "-gz"}
COMPRESSIBLE = (
    "text/",
    "application/javascript",
    "application/json",
    "application/xml",
    "application/manifest+json",
    "image/svg+xml",
)
# Preference when the client weighs several codings equally: brotli is smaller.
PREFERENCE = ("br", "gzip")


def parse_accept_encoding(header: str | None) -> dict[str, float]:
    """``"gzip;q=0.5, br"`` -> ``{"gzip": 0.5, "br": 1.0}``; malformed q-values count as 0."""
    weights: dict[str, float] = {}
    for part in (header or "").split(","):
        token, _, params = part.strip().partition(";")
        token = token.strip().lower()
        if not token:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        weights[token] = q
    return weights


@functools.lru_cache(maxsize=256)
def negotiate(header: str | None) -> str:
    """The coding to send: ``"br"``, ``"gzip"`` or ``"identity"`` (RFC 9110 section 12.5.3).

    A coding is acceptable when listed with q > 0, or covered by ``*`` with q > 0; the highest
    q wins, ties go to brotli. ``x-gzip`` counts as gzip. Identity is the fallback even when the
    client refuses it, since sending an unrequested coding would be worse than ignoring ``q=0``.
    """
    weights = parse_accept_encoding(header)
    if "x-gzip" in weights and "gzip" not in weights:
        weights["gzip"] = weights["x-gzip"]
    star = weights.get("*")
    best, best_q = "identity", 0.0
    for coding in PREFERENCE:
        q = weights.get(coding, star if star is not None else 0.0)
        if q > best_q:
            best, best_q = coding, q
    return best


def compress(data: bytes, coding: str, *, best: bool = False) -> bytes:
    """``data`` compressed with ``coding``; ``best`` is for build time (gzip level 9).

    Brotli's window is sized to the data: with the default 4 MiB window, quality 9 spends most of
    its time setting up tables (9 ms for a 10 kB page instead of 0.6 ms, for the same size).
    Quality 11 would save another 10% but takes 30 to 50 times longer, too slow for a thousand pages.
    """
    if coding == "br":
        lgwin = min(22, max(16, (len(data) - 1).bit_length()))
        return brotli.compress(data, quality=BROTLI_QUALITY, lgwin=lgwin, mode=brotli.MODE_TEXT)
    if coding == "gzip":
        # libdeflate (not zlib): it compresses a whole buffer in one call, 2.3 times faster than
        # zlib at level 9 for a 8.5 kB page (0.12 ms instead of 0.28), to 13 more bytes of 3,240.
        # Its header has mtime 0: the same input gives the same bytes, so builds are stable.
        return bytes(deflate.gzip_compress(data, 9 if best else GZIP_LEVEL))
    raise ValueError(f"unknown content coding {coding!r}")


def is_compressible(mimetype: str | None) -> bool:
    """True for text-like types; images, archives and PDFs are already compressed."""
    return bool(mimetype) and mimetype.startswith(COMPRESSIBLE)


class CompressedCache:
    """A bounded, thread-safe map of ``(etag, coding)`` to compressed bytes."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, etag: str, coding: str) -> bytes | None:
        # A plain read: dict lookups are atomic, and recency only matters when the cache is full.
        return self._data.get((etag, coding))

    def put(self, etag: str, coding: str, body: bytes) -> None:
        with self._lock:
            self._data[(etag, coding)] = body
            self._data.move_to_end((etag, coding))
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


def for_client(etag: str, body: bytes, accept_encoding: str | None, cache: CompressedCache) -> tuple[bytes, str, str | None]:
    """The bytes, ETag and ``Content-Encoding`` (None: identity) to send for a cached page.

    For views that already hold their body and its ETag (the landing pages): negotiating here
    lets the view build its response once, with the right ETag to compare ``If-None-Match``
    against, instead of :func:`compress_response` rewriting it afterwards.
    """
    coding = negotiate(accept_encoding)
    if coding == "identity" or len(body) < MIN_SIZE:
        return body, etag, None
    compressed = cache.get(etag, coding)
    if compressed is None:
        compressed = compress(body, coding)
        cache.put(etag, coding, compressed)
    return compressed, etag + SUFFIX[coding], coding
