"""What search engines and social sites read besides the page itself: JSON-LD, the sitemap,
robots.txt, the Open Graph image's description, and the share links of the thank-you page.

The live server (``/sitemap.xml``, ``/robots.txt``, each offer page's JSON-LD) and the static
export (``leadmagnet build``) write the same text from the same functions. Share links are plain
links to each network's documented share address: no third-party script, no tracking pixel, so
the strict CSP stays and a visitor's browser talks to nobody until they click.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from leadmagnet.content.catalog import Catalog
from leadmagnet.content.offer import Offer

# json.dumps(..., ensure_ascii=False, separators=(",", ":")) makes an encoder per call; one made once
# writes the same text.
JSON_LD_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class SocialImage:
    """An offer's ``og:image``: its URL path on this site, pixel size, alt text, drawn or not."""

    path: str
    width: int
    height: int
    alt: str
    generated: bool = False


def share_links(url: str, title: str) -> list[tuple[str, str]]:
    """``(network, address)`` pairs that share ``url`` (with ``title``), as plain links."""
    text = quote(title, safe="")
    return [
        ("LinkedIn", "https://www.linkedin.com/sharing/share-offsite/?" + urlencode({"url": url})),
        ("X", "https://x.com/intent/post?" + urlencode({"url": url, "text": title})),
        ("Facebook", "https://www.facebook.com/sharer/sharer.php?" + urlencode({"u": url})),
        ("Email", f"mailto:?subject={text}&body={quote(url, safe='')}"),
    ]


def json_ld(offer: Offer, canonical: str, image_url: str | None, site_name: str, state: str) -> str:
    """schema.org JSON-LD: ``Event`` for webinars, ``Book`` for ebooks; safe inside <script>."""
    data: dict[str, Any]
    if offer.type == "webinar":
        data = {
            "@context": "https://schema.org",
            "@type": "Event",
            "name": offer.title,
            "description": offer.description or offer.subtitle or offer.title,
            "startDate": offer.starts_at.isoformat() if offer.starts_at else None,
            "endDate": offer.ends_at.isoformat() if offer.ends_at else None,
            "eventAttendanceMode": "https://schema.org/OnlineEventAttendanceMode",
            "eventStatus": "https://schema.org/EventScheduled",
            # the public page, never the join link
            "location": {"@type": "VirtualLocation", "url": canonical},
            "organizer": {"@type": "Organization", "name": site_name},
            "isAccessibleForFree": True,
            "offers": {
                "@type": "Offer",
                "price": "0",
                "priceCurrency": "USD",
                "url": canonical,
                "availability": "https://schema.org/SoldOut" if state in ("ended", "started") else "https://schema.org/InStock",
            },
            "url": canonical,
        }
        if offer.presenters:
            data["performer"] = [{"@type": "Person", "name": p.name} for p in offer.presenters]
    else:
        data = {
            "@context": "https://schema.org",
            "@type": "Book",
            "name": offer.title,
            "description": offer.description or offer.subtitle or offer.title,
            "bookFormat": "https://schema.org/EBook",
            "isAccessibleForFree": True,
            "publisher": {"@type": "Organization", "name": site_name},
            "url": canonical,
        }
        if offer.pages:
            data["numberOfPages"] = offer.pages
    if image_url:
        data["image"] = image_url
    if offer.tags:
        data["keywords"] = ", ".join(offer.tags)
    text = JSON_LD_ENCODER.encode({k: v for k, v in data.items() if v is not None})
    # "</script>" or "<!--" inside a string must not end the script element.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def sitemap_xml(base_url: str, catalog: Catalog, now: datetime, index_page: bool = True) -> str:
    """The sitemap of every published, unexpired offer (past webinars stay: replay pages)."""
    urls = [f"{base_url}/"] if index_page else []
    entries = [f"  <url><loc>{escape(u, quote=False)}</loc></url>" for u in urls]
    for offer in sorted(catalog.offers(), key=lambda o: o.slug):
        expired = offer.expires_at is not None and now >= offer.expires_at
        if offer.is_published(now) and not expired:
            lastmod = datetime.fromtimestamp(offer.mtime, UTC).strftime("%Y-%m-%d")
            entries.append(f"  <url><loc>{escape(base_url, quote=False)}/{offer.slug}</loc><lastmod>{lastmod}</lastmod></url>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        + "\n".join(entries)
        + "\n</urlset>\n"
    )


def robots_txt(base_url: str) -> str:
    """robots.txt: the admin and the signed download links stay out of search results."""
    return f"User-agent: *\nDisallow: /admin\nDisallow: /download/\nAllow: /\n\nSitemap: {base_url}/sitemap.xml\n"
