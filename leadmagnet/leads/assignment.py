"""Which A/B variant a visitor sees: random by the weights, then sticky through a first-party cookie.

A visitor's first view of an offer under test draws a variant at random with the offer's weights
(:func:`draw`); the answer sets the cookie ``ab-<slug>`` (:func:`cookie_name`), whose value is only
the variant's short name (``b``), scoped to the offer's own path, for :data:`COOKIE_DAYS` days. It
holds no identifier: it cannot tell two visitors who saw ``b`` apart, nor follow anyone to another
page or site. A later view shows the variant the cookie names, as long as the test still has it
(:func:`assign`). A visitor who refuses cookies draws again on each view.

Crawlers and link previewers (:func:`is_crawler`) always get the control and no cookie: search
engines and social cards see the offer's own page, and their views are not counted for the test
(they would skew the split). Pure functions: no Flask, no I/O.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping

from leadmagnet.content.offer import CONTROL

COOKIE_PREFIX = "ab-"
COOKIE_DAYS = 90
# Search engines, social and chat link previewers, SEO tools and HTTP libraries: they get the
# control, the page the offer's canonical URL names. Matched case-insensitively anywhere in the
# User-Agent; an empty User-Agent is a script, not a person.
CRAWLER_RE = re.compile(
    r"bot\b|crawl|spider|slurp|mediapartners|facebookexternalhit|facebookcatalog|meta-externalagent|embedly|"
    r"preview|whatsapp/|slack-imgproxy|quora link|vkshare|google-inspectiontool|lighthouse|ahrefs|semrush|"
    r"curl/|wget/|python-requests|python-urllib|go-http-client|okhttp|java/|libwww|httpclient",
    re.IGNORECASE,
)

_random = random.SystemRandom()


def cookie_name(slug: str) -> str:
    """The cookie that keeps a visitor on one variant of ``slug``."""
    return COOKIE_PREFIX + slug


def is_crawler(user_agent: str | None) -> bool:
    """True for search engines, link previewers and scripts (they get the control, uncounted)."""
    return not user_agent or CRAWLER_RE.search(user_agent) is not None


def draw(weights: Mapping[str, float], rng: random.Random | None = None) -> str:
    """A variant name drawn at random with probability proportional to its weight."""
    names = list(weights)
    return (rng or _random).choices(names, weights=[weights[n] for n in names])[0]


def assign(weights: Mapping[str, float], cookie: str | None, user_agent: str | None) -> tuple[str, bool, bool]:
    """``(variant, new, counted)`` for one view: a crawler gets the control (not new, not counted);
    a visitor whose cookie names a variant of the test keeps it; anyone else draws one (new)."""
    if is_crawler(user_agent):
        return CONTROL, False, False
    if cookie and cookie in weights:
        return cookie, False, True
    return draw(weights), True, True


def split_percentages(weights: Mapping[str, float]) -> list[tuple[str, float]]:
    """Each variant's share in percent (two decimals), in order, for nginx ``split_clients``."""
    total = sum(weights.values())
    return [(name, round(100 * weight / total, 2)) for name, weight in weights.items()]
