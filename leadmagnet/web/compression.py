"""Compress every eligible response of the app (brotli or gzip), caching by ETag.

The encoding itself (:func:`leadmagnet.render.compression.compress`) is Flask-free, so the static
export writes the same bytes; this module is the web side: content negotiation on a response.
"""

from __future__ import annotations

from flask import Flask, Request, Response, request

from leadmagnet.render.compression import MIN_SIZE, SUFFIX, CompressedCache, compress, is_compressible, negotiate
from leadmagnet.web.headers import Finished


def compress_response(response: Response, cache: CompressedCache, req: Request) -> Response:
    """Compress ``response`` in place for ``req``, the current request, when that helps (after_request).

    This runs on every request, so it reads and writes raw header strings instead of werkzeug's
    parsed views (``mimetype``, ``vary``, ``get_etag``), which cost more than the cache lookup.
    """
    status = response.status_code
    if status not in (200, 304) or type(response) is Finished:
        return response
    headers = response.headers
    # One pass over the few response headers instead of a scan per lookup.
    seen = {name.lower(): value for name, value in headers}
    if not is_compressible(seen.get("content-type")) or "content-encoding" in seen or "content-range" in seen:
        return response
    vary = seen.get("vary")
    if not vary:
        headers.add("Vary", "Accept-Encoding")
    elif "accept-encoding" not in vary.lower():
        headers["Vary"] = vary + ", Accept-Encoding"
    coding = negotiate(req.environ.get("HTTP_ACCEPT_ENCODING"))
    if coding == "identity" or status == 304:
        return response
    raw_etag = seen.get("etag")
    etag = raw_etag[1:-1] if raw_etag and raw_etag.startswith('"') and raw_etag.endswith('"') and len(raw_etag) > 2 else None
    body = cache.get(etag, coding) if etag else None
    if body is None:
        if response.direct_passthrough:
            # send_file: read the file once; the compressed copy is cached under its ETag.
            response.direct_passthrough = False
        data = response.get_data()
        if len(data) < MIN_SIZE:
            return response
        body = compress(data, coding)
        if etag:
            cache.put(etag, coding, body)
    elif response.direct_passthrough:
        response.response.close()  # the cached copy stands in for the file; release its handle
        response.direct_passthrough = False
    response.set_data(body)
    headers.add("Content-Encoding", coding)
    if "accept-ranges" in seen:
        headers.remove("Accept-Ranges")  # byte ranges would refer to the uncompressed file
    if raw_etag:
        # A strong ETag names exact bytes, so the compressed body gets its own; a weak one
        # (W/"...") only promises equivalent content and can stay as it is.
        new_etag = etag + SUFFIX[coding] if etag else None
        if new_etag:
            headers["ETag"] = f'"{new_etag}"'
        conditional = new_etag and "HTTP_IF_NONE_MATCH" in req.environ and req.method in ("GET", "HEAD")
        if conditional and req.if_none_match.contains_weak(new_etag):
            # The view compared the uncompressed ETag; this is the client's copy of ours.
            response.status_code = 304
            response.set_data(b"")
            for name in ("Content-Length", "Content-Encoding"):
                headers.pop(name, None)
    return response


def register(app: Flask, cache: CompressedCache) -> None:
    """Compress every eligible response of ``app``, caching by ETag in ``cache``."""
    app.after_request(lambda response: compress_response(response, cache, request))
