"""A/B tests in the static export: each variant's page, and nginx snippets that split at the edge.

For every published offer under test, ``<slug>.html`` stays the control (what a server without
the snippets, a crawler and the canonical URL show) and each other variant is written to
``ab/<slug>/<name>.html``; every one of them has the variant's name in its form and its beacon,
so submissions and views are attributed to the variant shown.

Two nginx snippets come with them (only when some offer is under test):

- ``nginx-ab-http.conf``, for the ``http {}`` block: a ``split_clients`` per offer that draws the
  variant by the weights from a hash of the visitor's address and browser (cookieless: no cookie
  is set or read, so the same address and browser see the same variant), and a ``map`` that gives
  crawlers and link previewers the control;
- ``nginx-ab-server.conf``, for the ``server {}`` block: a ``location`` per offer serving that
  variant's file at the offer's own URL, ``Cache-Control: private`` so no CDN in front caches one
  variant for everyone.
"""

from __future__ import annotations

from datetime import datetime

from leadmagnet.content.catalog import Page
from leadmagnet.content.offer import CONTROL
from leadmagnet.leads.assignment import split_percentages
from leadmagnet.render.renderer import Renderer

# The crawler test of leads/assignment.py in nginx's regular-expression syntax (case-insensitive).
CRAWLERS = (
    "bot\\b|crawl|spider|slurp|mediapartners|facebookexternalhit|facebookcatalog|meta-externalagent|embedly|preview|"
    "whatsapp/|slack-imgproxy|quora link|vkshare|google-inspectiontool|lighthouse|ahrefs|semrush|curl/|wget/|"
    "python-requests|python-urllib|go-http-client|okhttp|java/|libwww|httpclient"
)


def variant_path(slug: str, name: str) -> str:
    """Where variant ``name`` of ``slug`` is written in the export (the control is ``<slug>.html``)."""
    return f"{slug}.html" if name == CONTROL else f"ab/{slug}/{name}.html"


def tested(published: list[Page], now: datetime) -> list[Page]:
    """The published pages under an A/B test now that the export has (an expired offer is left out)."""
    return [p for p in published if p.variants and not (p.offer.expires_at is not None and now >= p.offer.expires_at)]


def ab_files(renderer: Renderer, published: list[Page], now: datetime) -> dict[str, bytes]:
    """Each variant's page (the control's is written with the other offer pages) and the snippets."""
    files: dict[str, bytes] = {}
    pages = tested(published, now)
    for page in pages:
        state = page.offer.state(now)
        for name, shown in page.variants.items():
            if name != CONTROL:
                files[variant_path(page.offer.slug, name)] = renderer.offer_html(shown, state).encode("utf-8")
    if pages:
        max_age = int(renderer.config.get("PAGE_MAX_AGE") or 0)
        files["nginx-ab-http.conf"] = http_snippet(pages).encode()
        files["nginx-ab-server.conf"] = server_snippet(pages, max_age).encode()
    return files


def _var(slug: str) -> str:
    return slug.replace("-", "_")


def http_snippet(pages: list[Page]) -> str:
    """The ``http {}`` part: the crawler map, and per offer the split and the file it picks."""
    lines = [
        "# leadmagnet A/B tests: include this file inside nginx's http { } block (written by `leadmagnet build`).",
        "# Variants are drawn by the offer's weights from a hash of the visitor's address and browser:",
        "# no cookie; the same address and browser keep seeing the same variant. Crawlers get the control.",
        "map $http_user_agent $leadmagnet_crawler {",
        "    default 0;",
        '    "" 1;',
        f'    "~*({CRAWLERS})" 1;',
        "}",
    ]
    for page in pages:
        slug, var = page.offer.slug, _var(page.offer.slug)
        lines.append("")
        lines.append(f'split_clients "${{remote_addr}}${{http_user_agent}}{slug}" $leadmagnet_ab_{var} {{')
        shares = split_percentages(page.offer.weights())
        for index, (name, percent) in enumerate(shares):
            share = "*" if index == len(shares) - 1 else f"{percent:g}%"
            lines.append(f"    {share:<8} {name};")
        lines.append("}")
        lines.append(f'map "$leadmagnet_crawler$leadmagnet_ab_{var}" $leadmagnet_page_{var} {{')
        lines.append(f"    default /{variant_path(slug, CONTROL)};")
        for name in page.variants:
            if name != CONTROL:
                lines.append(f"    0{name} /{variant_path(slug, name)};")
        lines.append("}")
    return "\n".join(lines) + "\n"


def server_snippet(pages: list[Page], max_age: int) -> str:
    """The ``server {}`` part: each tested offer's URL serves the file its visitor's variant names."""
    lines = [
        "# leadmagnet A/B tests: include this file inside the site's server { } block, before the",
        "# usual `location / { try_files $uri $uri.html =404; }` (written by `leadmagnet build`).",
        "# The page differs by visitor, so only the browser may cache it (no CDN, no shared cache).",
        "# nginx ignores the server's add_header lines in a location with its own: repeat your",
        "# security headers (Content-Security-Policy...) in each location below.",
    ]
    for page in pages:
        slug, var = page.offer.slug, _var(page.offer.slug)
        lines += [
            f"location = /{slug} {{",
            f'    add_header Cache-Control "private, max-age={max_age}" always;',
            '    add_header Vary "User-Agent" always;',
            f"    try_files $leadmagnet_page_{var} =404;",
            "}",
        ]
    return "\n".join(lines) + "\n"
