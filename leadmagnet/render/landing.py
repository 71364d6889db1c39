"""What a landing page shows besides the offer's own text: the brand, the proof line, the seat
line, the FAQ data, and the page context that gathers them (:func:`offer_context`).

- **Brand** (:class:`BrandView`): the settings' :class:`~leadmagnet.foundation.brand.Brand` with
  what a template needs from the content folder: the logo's intrinsic size (so the header never
  shifts) and whether the self-hosted font is there to preload.
- **Proof** (:class:`CountCache`, :func:`proof_figure`): the real number of leads of an offer,
  rounded down to a friendly figure and hidden below ``proof_min``. The figure is the same for
  every visitor at a moment, so it keys the page cache; the count is read from the store at most
  once per ``PROOF_TTL`` seconds an offer, as the seat count is.
- **Seats** (:class:`Seats`, :func:`seats_shown`): a webinar's seats left once few remain, or full;
  the renderer reads the count (``Renderer.seats``).
- **FAQ** (:func:`faq_json_ld`): schema.org ``FAQPage`` data, safe inside ``<script>``.
- **The page context** (:func:`offer_context`): what the offer templates use beyond the site
  context, shared by the cached page (``Renderer.offer_html``) and the form shown again with its
  errors (``web/capture.py``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from leadmagnet.content import markup
from leadmagnet.content.catalog import Page
from leadmagnet.content.images import image_size
from leadmagnet.content.offer import Offer
from leadmagnet.content.sections import friendly_count
from leadmagnet.foundation.brand import Brand
from leadmagnet.render.seo import JSON_LD_ENCODER, SocialImage, json_ld

# How long an offer's lead count is reused before the store is asked again: the page cache may
# hold the proof line this long, and never longer.
PROOF_TTL = 60.0
LOGO_HEIGHT = 32  # CSS pixels of the header logo
# A webinar's page says how many seats are left once this many or fewer remain (a count of 83
# means nothing to a visitor and would only split the page cache), and that it is full at 0.
# The setting LEADMAGNET_SEATS_LEFT_SHOWN changes it.
SEATS_LEFT_SHOWN = 10


@dataclass(frozen=True)
class BrandView:
    """The brand as templates use it: ``brand.name``, ``logo`` with its box, the links, the font."""

    brand: Brand
    logo_width: int = 0
    logo_height: int = 0
    font_url: str | None = None
    font_type: str = "font/woff2"

    def __getattr__(self, name: str) -> Any:  # brand.name, brand.privacy_url ... straight from Brand
        return getattr(self.brand, name)


def brand_view(brand: Brand, content_dir: str | os.PathLike[str]) -> BrandView:
    """The brand with its logo's box and its font's address, read from the content folder."""
    root = Path(content_dir)
    width = height = 0
    if brand.logo:
        size = image_size(root / brand.logo)
        if size is not None:
            width, height = max(1, round(LOGO_HEIGHT * size[0] / size[1])), LOGO_HEIGHT
        elif (root / brand.logo).is_file():
            width = height = LOGO_HEIGHT
    font_url = None
    if brand.font_file and (root / brand.font_file).is_file():
        font_url = f"/media/{brand.font_file}"
    kind = brand.font_file.rsplit(".", 1)[-1].lower() if brand.font_file else "woff2"
    return BrandView(brand, width, height, font_url, f"font/{kind}")


def brand_problems(brand: Brand, content_dir: str | os.PathLike[str]) -> list[str]:
    """The brand's problems (``Brand.problems``) and its files missing from the content folder."""
    found = brand.problems()
    root = Path(content_dir)
    for key, rel in (("LOGO", brand.logo), ("FONT_FILE", brand.font_file)):
        if rel and not (root / rel).is_file():
            found.append(f"LEADMAGNET_BRAND_{key}: {rel!r} does not exist under {root}; add the file or fix the path")
    return found


def proof_figure(offer: Offer, count: int | None) -> str | None:
    """The friendly figure ``offer``'s proof line shows (``1,200+``), or None: no ``proof:``, an
    unknown count, or fewer leads than ``proof_min``."""
    if not offer.proof or count is None or count < offer.proof_min:
        return None
    return friendly_count(count)


class CountCache:
    """Per-slug counts read at most once per ``ttl`` seconds (on ``clock``), shared by threads.

    While one request reads a stale count, the others keep the old one instead of queueing on
    the database.
    """

    def __init__(self, ttl: float = PROOF_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._known: dict[str, tuple[float, int | None]] = {}
        self._lock = threading.Lock()

    def get(self, slug: str, read: Callable[[str], int | None]) -> int | None:
        now = self.clock()
        with self._lock:
            known = self._known.get(slug)
            stale = known is None or now - known[0] >= self.ttl
            if stale and known is not None:
                self._known[slug] = (now, known[1])
        if stale:
            known = (now, read(slug))
            with self._lock:
                self._known[slug] = known
        return known[1] if known is not None else None

    def forget(self, slug: str) -> None:
        with self._lock:
            self._known.pop(slug, None)


def faq_json_ld(offer: Offer, answers: Mapping[str, str]) -> str | None:
    """schema.org ``FAQPage`` of the offer's questions (``answers``: each question's HTML), or None."""
    if not offer.faq:
        return None
    data = {
        "@context": "https://schema.org",
        "@type": "FAQPage",
        "mainEntity": [
            {"@type": "Question", "name": item.q, "acceptedAnswer": {"@type": "Answer", "text": answers.get(item.q, item.a)}}
            for item in offer.faq
        ],
    }
    text = JSON_LD_ENCODER.encode(data)
    # "</script>" or "<!--" inside a string must not end the script element.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@dataclass(frozen=True)
class Seats:
    """What a webinar's page says about its seats: ``left`` of them (1 to the threshold), or full (0)."""

    left: int

    @property
    def full(self) -> bool:
        return self.left == 0


def seats_shown(capacity: int | None, taken: int | None, threshold: int = SEATS_LEFT_SHOWN) -> Seats | None:
    """The seat state a page shows: None without a cap, an unknown count, or more than
    ``threshold`` seats left (``LEADMAGNET_SEATS_LEFT_SHOWN``); full is always shown."""
    if capacity is None or taken is None:
        return None
    left = max(capacity - taken, 0)
    return Seats(left) if left == 0 or left <= threshold else None


def offer_context(
    config: Mapping[str, Any],
    page: Page,
    state: str,
    seats: Seats | None = None,
    soon: str | None = None,
    social: SocialImage | None = None,
) -> dict[str, Any]:
    """Everything the offer templates use beyond the site context (``seats``: see :func:`seats_shown`;
    ``soon``: "Starts in 3 days"; ``social``: the og:image, see :class:`OgCards`)."""
    offer = page.offer
    base = config["BASE_URL"]
    canonical = f"{base}/{offer.slug}"
    image_url = f"{base}/media/{offer.image}" if offer.image else None
    answers = {item.q: markup.render(item.a).html for item in offer.faq}
    faq = faq_json_ld(offer, answers)
    return {
        "page": page,
        "state": state,
        "seats": seats,
        "starts_in": soon,
        "social": social,
        "social_url": f"{base}{social.path}" if social else None,
        "canonical": canonical,
        "image_url": image_url,
        "json_ld": Markup(json_ld(offer, canonical, image_url, config["SITE_NAME"], state)),  # noqa: S704 - made safe for <script> by json_ld
        "faq_answers": answers,
        "faq_json_ld": Markup(faq) if faq else None,  # noqa: S704 - made safe for <script> by faq_json_ld
    }
