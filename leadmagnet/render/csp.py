"""The Content-Security-Policy of the site's pages, built from the inline styles the renderer hashed.

No inline script at all, inline styles only by hash (the theme's critical CSS, hashed when it is
inlined): injected markup can neither run nor style. The text is built once per set of style
hashes, not per request.
"""

from __future__ import annotations


def content_security_policy(style_hashes: set[str], base_url: str) -> str:
    """The CSP for ``base_url``: scripts only from files on this site, styles only by hash."""
    styles = " ".join(sorted(style_hashes))
    return "; ".join(
        [
            "default-src 'self'",
            "img-src 'self' data:",
            f"style-src 'self' {styles}".strip(),
            "script-src 'self'",
            # An exported page on another host sends its view beacon to the live server.
            f"connect-src 'self' {base_url}",
            f"form-action 'self' {base_url}",
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "object-src 'none'",
        ]
    )


class PolicyCache:
    """The CSP text, rebuilt only when a new inline style was hashed or the base URL changed.

    ``style_hashes`` only grows (a reset renderer re-adds the same hashes), so its size is a
    cheap version number.
    """

    def __init__(self) -> None:
        self._key: tuple[int, str] | None = None
        self._value = ""

    def get(self, style_hashes: set[str], base_url: str) -> str:
        key = (len(style_hashes), base_url)
        if key != self._key:
            self._value = content_security_policy(set(style_hashes), base_url)
            self._key = key
        return self._value
