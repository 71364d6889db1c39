"""The site's brand, set once: name, logo, colours, font, privacy and imprint links.

Read from the ``BRAND_*`` settings (``[brand]`` in ``instance/config.toml``, or
``LEADMAGNET_BRAND_*``). Colours are checked for WCAG AA contrast (4.5:1 for text) against the
background they are used on, because a brand colour that fails it makes the button text and the
links unreadable for many visitors: ``primary`` is the button background under white text and
the link colour on white; ``accent`` colours small text and icons on white. An offer may override
``primary:`` for a campaign; the content contract checks it with :func:`contrast_problem`.

The colours reach the page as a small generated stylesheet of CSS custom properties, inlined in a
``<style>`` whose hash the Content-Security-Policy allows (see ``render/renderer.py``). Pure
functions and plain data: nothing here reads a file or renders a template.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

WHITE = "#ffffff"
AA_TEXT = 4.5
DEFAULT_PRIMARY = "#0b57d0"
DEFAULT_ACCENT = "#8a4b00"
SYSTEM_FONT = 'system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif'
FONT_SUFFIXES = {".woff2": "woff2", ".woff": "woff", ".ttf": "truetype", ".otf": "opentype"}
IMAGE_SUFFIXES = (".svg", ".png")
_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
# A CSS font-family list: names, quotes, commas, spaces, hyphens. Nothing that could end the rule.
_FONT_LIST = re.compile(r"^[A-Za-z0-9 ,\"'_-]+$")
# The brand keys, as written in config.toml's [brand] table; each is the setting BRAND_<KEY>.
KEYS = ("name", "logo", "primary", "accent", "font", "font_file", "privacy_url", "imprint_url")


def parse_colour(text: str) -> tuple[int, int, int]:
    """``#0b57d0`` or ``#fff`` as an (r, g, b) tuple; ValueError for anything else."""
    if not isinstance(text, str) or not _HEX.match(text.strip()):
        raise ValueError(f"{text!r} is not a colour; write it as #rrggbb (such as #0b57d0)")
    digits = text.strip()[1:]
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def normal_colour(text: str) -> str:
    """The colour in the one form the stylesheet uses: ``#rrggbb``, lower case."""
    r, g, b = parse_colour(text)
    return f"#{r:02x}{g:02x}{b:02x}"


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a colour, 0 (black) to 1 (white)."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in parse_colour(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two colours, 1 to 21."""
    a, b = sorted((luminance(first), luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def contrast_problem(name: str, colour: str, background: str = WHITE, use: str = "text") -> str | None:
    """What is wrong with ``colour`` (its syntax, or its contrast on ``background``), or None.

    The message names the pair and the ratio: ``primary #7fb3ff on #ffffff: contrast 2.05:1,
    below the 4.5:1 WCAG AA needs for text; use a darker colour``.
    """
    try:
        ratio = contrast(colour, background)
    except ValueError as exc:
        return f"{name} {exc}"
    if ratio < AA_TEXT:
        darker = "darker" if luminance(background) > 0.5 else "lighter"
        return (
            f"{name} {normal_colour(colour)} on {background} ({use}): contrast {ratio:.2f}:1, below the "
            f"{AA_TEXT}:1 WCAG AA needs for text; use a {darker} colour"
        )
    return None


def shade(colour: str, amount: float = 0.18) -> str:
    """``colour`` mixed with ``amount`` of black (the button's hover state)."""
    r, g, b = (round(v * (1 - amount)) for v in parse_colour(colour))
    return f"#{r:02x}{g:02x}{b:02x}"


@dataclass(frozen=True)
class Brand:
    """The brand as the settings give it. Paths (``logo``, ``font_file``) are under the content folder."""

    name: str
    logo: str | None = None
    primary: str = DEFAULT_PRIMARY
    accent: str = DEFAULT_ACCENT
    font: str = SYSTEM_FONT
    font_file: str | None = None
    privacy_url: str = ""
    imprint_url: str = ""

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Brand:
        def text(key: str) -> str:
            value = settings.get(f"BRAND_{key.upper()}")
            return str(value).strip() if value is not None else ""

        return cls(
            name=text("name") or str(settings.get("SITE_NAME") or ""),
            logo=text("logo").lstrip("/") or None,
            primary=text("primary") or DEFAULT_PRIMARY,
            accent=text("accent") or DEFAULT_ACCENT,
            font=text("font") or SYSTEM_FONT,
            font_file=text("font_file").lstrip("/") or None,
            privacy_url=text("privacy_url"),
            imprint_url=text("imprint_url"),
        )

    @property
    def files(self) -> frozenset[str]:
        """The brand's files under the content folder, public like an offer's cover."""
        return frozenset(f for f in (self.logo, self.font_file) if f)

    @property
    def family(self) -> str:
        """The first family of ``font``, the name a self-hosted font file is declared under."""
        return self.font.split(",")[0].strip().strip("\"'")

    def problems(self) -> list[str]:
        """Every problem of the brand settings, each naming the setting (empty: all good).

        The files' existence is checked by the caller, which knows the content folder.
        """
        found = []
        for key, use in (("primary", "buttons under white text, links"), ("accent", "small text and icons")):
            problem = contrast_problem(f"LEADMAGNET_BRAND_{key.upper()}:", getattr(self, key), WHITE, use)
            if problem:
                found.append(problem)
        if not _FONT_LIST.match(self.font):
            found.append(f"LEADMAGNET_BRAND_FONT: {self.font!r} is not a CSS font-family list (such as: Inter, system-ui, sans-serif)")
        if self.logo and not self.logo.lower().endswith(IMAGE_SUFFIXES):
            found.append(f"LEADMAGNET_BRAND_LOGO: {self.logo!r} is not an SVG or PNG file")
        if self.font_file and not self.font_file.lower().endswith(tuple(FONT_SUFFIXES)):
            found.append(f"LEADMAGNET_BRAND_FONT_FILE: {self.font_file!r} is not a font file ({', '.join(FONT_SUFFIXES)})")
        for key in ("privacy_url", "imprint_url"):
            value = getattr(self, key)
            if value and not re.match(r"^(https?://|/)\S*$", value):
                found.append(f"LEADMAGNET_BRAND_{key.upper()}: {value!r} is not an http(s):// URL or a path starting with /")
        return found

    def stylesheet(self, primary: str | None = None) -> str:
        """The brand's CSS: custom properties for the colours, the font and its ``@font-face``.

        ``primary``: an offer's own primary colour for a campaign. Colours that do not parse
        keep the theme's defaults (``check`` reports them).
        """
        rules = []
        main = primary or self.primary
        props = []
        for name, value in (("--brand", main), ("--accent", self.accent)):
            try:
                props.append(f"{name}:{normal_colour(value)}")
                if name == "--brand":
                    props.append(f"--brand-dark:{shade(value)}")
            except ValueError:
                continue
        font_ok = bool(_FONT_LIST.match(self.font))
        if self.font_file and font_ok:
            kind = FONT_SUFFIXES.get("." + self.font_file.rsplit(".", 1)[-1].lower(), "woff2")
            rules.append(f'@font-face{{font-family:"{self.family}";src:url(/media/{self.font_file}) format("{kind}");font-display:swap}}')
        if font_ok and self.font != SYSTEM_FONT:
            props.append(f"font-family:{self.font}")
        rules.insert(0, ":root{" + ";".join(props) + "}")
        return "".join(rules)
