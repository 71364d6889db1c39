"""Open Graph images: every offer has one of 1200 x 630, drawn when the offer has none that fits.

A link shared on LinkedIn, Slack or X shows the page's ``og:image``; without one (or with a
portrait ebook cover, which they crop) the post is a grey box. An offer's ``image`` is used as
it is when it is a PNG or JPEG of exactly 1200 x 630. Otherwise a card is drawn with Pillow: the
brand colour (an offer's campaign ``primary:`` when it sets one), the logo (a PNG; an SVG logo
cannot be drawn without a browser, so the brand name is written instead), the kind of offer (with
a webinar's date), the title, and a raster cover on the right when the offer has one. The brand is
the one the pages use (:class:`~leadmagnet.foundation.brand.Brand`, read once from the settings).

A card is named by the SHA-256 of everything drawn on it (:meth:`OgCards.key`: text, colour,
logo and cover bytes), stored once in ``instance/og-cards/<key>.png`` and served at
``/og/<slug>.<key>.png`` with a year's cache lifetime: a changed title is a new address, so no
cache anywhere shows a stale card, and nothing is drawn twice. The server draws a card on the
first request of its address; ``leadmagnet build`` draws the missing ones and copies them to
``og/`` in the export.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

from leadmagnet.content.offer import Offer
from leadmagnet.foundation.brand import DEFAULT_PRIMARY, WHITE, Brand, contrast, normal_colour, parse_colour
from leadmagnet.render.seo import SocialImage

if TYPE_CHECKING:
    from PIL import Image, ImageFont

WIDTH, HEIGHT = 1200, 630
# Drawing code changes that alter the picture bump this, so cached cards are drawn again.
CARD_VERSION = "1"
INK = "#1b1b1f"
MARGIN = 72
RASTER = {".png", ".jpg", ".jpeg", ".webp", ".gif"}


def card_colour(brand: Brand, offer: Offer) -> str:
    """The background of ``offer``'s card: its campaign ``primary:`` or the brand's, as ``#rrggbb``.

    The brand is the one the pages use (:meth:`Brand.from_settings`, ``[brand]`` in
    ``config.toml``). A brand colour that does not parse (``check`` reports it) falls back to the
    default theme's blue, as the page's stylesheet keeps the theme's default.
    """
    try:
        return normal_colour(offer.primary or brand.primary)
    except ValueError:
        return DEFAULT_PRIMARY


def text_colour(background: str) -> str:
    """White or ink, whichever contrasts more with ``background``."""
    return WHITE if contrast(background, WHITE) >= contrast(background, INK) else INK


def kicker(offer: Offer) -> str:
    """The line above the title: the kind of offer, and a webinar's date in its own time zone."""
    if offer.type == "webinar" and offer.starts_at is not None:
        local = offer.starts_at.astimezone(offer.tz)
        return f"FREE WEBINAR · {local.day} {local:%B %Y}".upper()
    return "FREE WEBINAR" if offer.type == "webinar" else "FREE EBOOK"


class OgCards:
    """The og:image of each offer: its own image when it fits, else a card drawn once and cached."""

    def __init__(self, cache_dir: Path, content_dir: Path, brand: Brand) -> None:
        """``brand``: the site's brand, the same object the pages use; only a PNG logo is drawn."""
        self.cache_dir = Path(cache_dir)
        self.content_dir = Path(content_dir)
        self.brand = brand
        self.logo = self.content_dir / brand.logo if brand.logo and brand.logo.lower().endswith(".png") else None
        self.drawn = 0  # cards drawn by this object (tests check the cache with it)
        self._lock = threading.Lock()
        # path -> ((mtime, size), sha256 hex, (width, height) or None when not a readable image)
        self._files: dict[str, tuple[tuple[float, int], str, tuple[int, int] | None]] = {}

    # -- choosing ---------------------------------------------------------------------------

    def image_for(self, offer: Offer) -> SocialImage:
        """The og:image of ``offer``: its ``image`` if PNG/JPEG of 1200 x 630, else its card."""
        alt = f"{offer.title}, a free {offer.type}"
        if offer.image and Path(offer.image).suffix.lower() in {".png", ".jpg", ".jpeg"}:
            known = self._file(self.content_dir / offer.image)
            if known is not None and known[2] == (WIDTH, HEIGHT):
                return SocialImage(f"/media/{offer.image}", WIDTH, HEIGHT, alt, generated=False)
        return SocialImage(f"/og/{offer.slug}.{self.key(offer)}.png", WIDTH, HEIGHT, alt, generated=True)

    def key(self, offer: Offer) -> str:
        """The content hash naming ``offer``'s card: changes whenever anything drawn changes."""
        parts = [CARD_VERSION, offer.title, kicker(offer), self.brand.name, card_colour(self.brand, offer)]
        logo = self._file(self.logo) if self.logo else None
        parts.append(logo[1] if logo is not None and logo[2] else "")
        cover = self._cover(offer)
        parts.append(cover[1] if cover is not None else "")
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:24]

    def _cover(self, offer: Offer) -> tuple[tuple[float, int], str, tuple[int, int] | None] | None:
        if not offer.image or Path(offer.image).suffix.lower() not in RASTER:
            return None
        known = self._file(self.content_dir / offer.image)
        return known if known is not None and known[2] else None

    def _file(self, path: Path | None) -> tuple[tuple[float, int], str, tuple[int, int] | None] | None:
        """Digest and pixel size of ``path``, read again only when its mtime or size changed."""
        if path is None:
            return None
        try:
            st = os.stat(path)
        except OSError:
            return None
        stamp = (st.st_mtime, st.st_size)
        known = self._files.get(str(path))
        if known is not None and known[0] == stamp:
            return known
        try:
            data = path.read_bytes()
        except OSError:
            return None
        from PIL import Image, UnidentifiedImageError  # here: a build with its cards drawn needs no Pillow

        try:
            with Image.open(BytesIO(data)) as img:
                size: tuple[int, int] | None = img.size
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            size = None
        known = (stamp, hashlib.sha256(data).hexdigest(), size)
        self._files[str(path)] = known
        return known

    # -- drawing ----------------------------------------------------------------------------

    def card_file(self, offer: Offer) -> Path:
        """The PNG file of ``offer``'s card, drawn now if it is not in the cache yet.

        Threads and processes may draw the same card at once (the build draws on every core,
        gunicorn workers share the folder): each writes a whole file under its own temporary
        name and renames it, so a reader never sees half a PNG and the last rename wins with
        the same bytes.
        """
        return self._drawn(offer, self.key(offer))

    def card(self, offer: Offer) -> tuple[str, str, str] | None:
        """What a static export holds of ``offer``'s card: ``(path in the export, cached PNG file,
        digest for the export's manifest)``, the card drawn now if missing; None when the offer's
        own image is its og:image. The key is worked out once (it hashes what is drawn)."""
        social = self.image_for(offer)
        if not social.generated:
            return None
        key = social.path.rsplit(".", 2)[-2]  # /og/<slug>.<key>.png
        return social.path.lstrip("/"), str(self._drawn(offer, key)), "og:" + key

    def _drawn(self, offer: Offer, key: str) -> Path:
        path = self.cache_dir / f"{key}.png"
        if path.is_file():
            return path
        data = self.draw(offer)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        with self._lock:
            self.drawn += 1
        return path

    def is_cached(self, offer: Offer) -> bool:
        """True if ``offer``'s card is already drawn."""
        return (self.cache_dir / f"{self.key(offer)}.png").is_file()

    def draw(self, offer: Offer) -> bytes:
        """``offer``'s card as PNG bytes (1200 x 630).

        Without a logo or cover the card has two colours and their anti-aliased blends: it is
        drawn as a coverage mask (0 = background, 255 = ink) and saved with a palette running
        from one colour to the other: a third of the bytes of a full-colour PNG.
        """
        from PIL import Image, ImageDraw

        background = card_colour(self.brand, offer)
        ink = text_colour(background)
        cover = self._cover_image(offer)
        logo = self._logo_image()
        flat = cover is None and logo is None
        card = Image.new("L", (WIDTH, HEIGHT), 0) if flat else Image.new("RGB", (WIDTH, HEIGHT), background)
        fill: int | str = 255 if flat else ink
        pen = ImageDraw.Draw(card)
        right = WIDTH - MARGIN
        if cover is not None:
            x = WIDTH - MARGIN - cover.width
            card.paste(cover, (x, (HEIGHT - cover.height) // 2), cover)
            right = x - 48
        top = MARGIN
        if logo is not None:
            card.paste(logo, (MARGIN, top), logo)
            top += logo.height + 40
        elif self.brand.name:
            pen.text((MARGIN, top), self.brand.name, font=_font(36), fill=fill, stroke_width=1, stroke_fill=fill)
            top += 76
        pen.text((MARGIN, top), kicker(offer), font=_font(28), fill=fill)
        top += 64
        width = right - MARGIN
        for size in (68, 58, 48, 40):
            font = _font(size)
            lines = wrap(offer.title, font, width)
            if len(lines) * size * 1.2 <= HEIGHT - MARGIN - top:
                break
        max_lines = max(1, int((HEIGHT - MARGIN - top) // (size * 1.2)))
        if len(lines) > max_lines:
            lines = lines[:max_lines]
            lines[-1] = lines[-1].rstrip(" .,;:") + "…"
        for line in lines:
            pen.text((MARGIN, top), line, font=font, fill=fill, stroke_width=1, stroke_fill=fill)
            top += int(size * 1.2)
        pen.rectangle((0, HEIGHT - 12, WIDTH, HEIGHT), fill=fill)
        if flat:
            card = Image.frombytes("P", card.size, card.tobytes())
            card.putpalette(_palette(background, ink))
        out = BytesIO()
        card.save(out, format="PNG", compress_level=3)  # level 6: twice the time for 15% fewer bytes
        return out.getvalue()

    def _cover_image(self, offer: Offer) -> Image.Image | None:
        if self._cover(offer) is None or offer.image is None:
            return None
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(self.content_dir / offer.image) as img:
                img.load()
                cover = img.convert("RGBA")
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            return None
        cover.thumbnail((400, HEIGHT - 2 * MARGIN))
        return cover

    def _logo_image(self) -> Image.Image | None:
        if self.logo is None:
            return None
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(self.logo) as img:
                img.load()
                logo = img.convert("RGBA")
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            return None
        logo.thumbnail((360, 72))
        return logo


_fonts = threading.local()


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's default font at ``size``, loaded once per thread (a font object is not shared
    between threads: FreeType's faces are not thread-safe)."""
    loaded = getattr(_fonts, "by_size", None)
    if loaded is None:
        loaded = _fonts.by_size = {}
    font = loaded.get(size)
    if font is None:
        from PIL import ImageFont

        font = loaded[size] = ImageFont.load_default(size=size)
    return font


@functools.lru_cache(maxsize=64)
def _palette(start: str, end: str) -> bytes:
    """:func:`blend` as the bytes ``putpalette`` takes, worked out once per pair of colours
    (768 roundings: a sixth of the time a card takes to draw)."""
    return bytes(blend(start, end))


def blend(start: str, end: str) -> list[int]:
    """A palette of 256 colours from ``start`` (index 0) to ``end`` (index 255), as flat RGB."""
    a, b = parse_colour(start), parse_colour(end)
    return [round(a[c] + (b[c] - a[c]) * i / 255) for i in range(256) for c in range(3)]


def wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> list[str]:
    """``text`` in lines no wider than ``width`` pixels (a word longer than that gets a line of its own)."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and font.getlength(candidate) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    if line:
        lines.append(line)
    return lines or [""]
