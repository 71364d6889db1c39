"""The conversion sections of a landing page: layout, benefits, testimonials, logos, FAQ, proof, author.

Each front-matter key here is optional and renders only when present. The parsers have the
contract's shape (``value, ctx`` in, the converted value out, :class:`ContentError` with one line
per problem) and report every bad item of a list at once, naming the item (``item 2: title is
required``). The contract (``content/contract.py``) lists them in its one table of keys.

Images (a testimonial's photo, a logo, the author's photo) are paths under the content folder,
checked like ``image:``; logos also carry their intrinsic size, so the page reserves their box.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadmagnet.content.images import image_size
from leadmagnet.content.problems import ContentError, did_you_mean, show
from leadmagnet.foundation.brand import WHITE, contrast_problem, normal_colour

LAYOUTS = ("split", "centered", "longform")
LAYOUT_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# The built-in icons of `benefits:` (inline SVG paths in the theme's _icons.html).
ICONS = ("check", "bolt", "chart", "clock", "shield", "star", "book", "users", "target", "gift")
PROOF_MIN = 100
LOGO_HEIGHT = 40  # CSS pixels: every logo of the strip is this tall, its width follows its shape


@dataclass(frozen=True)
class Benefit:
    title: str
    text: str = ""
    icon: str | None = None


@dataclass(frozen=True)
class Testimonial:
    quote: str
    name: str
    role: str = ""
    photo: str | None = None


@dataclass(frozen=True)
class Logo:
    """A "trusted by" logo, drawn ``LOGO_HEIGHT`` pixels tall and ``width`` wide."""

    name: str
    image: str
    width: int = LOGO_HEIGHT
    height: int = LOGO_HEIGHT


@dataclass(frozen=True)
class Question:
    """One FAQ entry; ``a`` is Markdown."""

    q: str
    a: str


@dataclass(frozen=True)
class Author:
    name: str
    role: str = ""
    photo: str | None = None
    bio: str = ""


def layout(value: Any, ctx: Any) -> str:
    if not isinstance(value, str) or not LAYOUT_RE.match(value):
        raise ContentError(f"{show(value)} is not a layout; use one of: {', '.join(LAYOUTS)}")
    if value not in LAYOUTS:
        hint = did_you_mean(value, LAYOUTS)
        if hint:  # a typo of a built-in, not a theme's own layout
            raise ContentError(f"{show(value)} is not a layout{hint}; use one of: {', '.join(LAYOUTS)}")
    return value


def _items(
    value: Any, what: str, keys: tuple[str, ...], required: tuple[str, ...], make: Callable[[dict, list[str], str], Any]
) -> tuple[Any, ...]:
    """Check a list of mappings: only ``keys``, ``required`` ones present as text; ``make`` builds each."""
    if not isinstance(value, list) or not value:
        raise ContentError(f"{show(value)} is not a list of {what} (each with {', '.join(keys)})")
    made, problems = [], []
    for index, item in enumerate(value, start=1):
        label = f"item {index}"
        if not isinstance(item, dict):
            problems.append(f"{label}: {show(item)} is not a mapping with {', '.join(keys)}")
            continue
        found = [
            f"{label}: unknown key {str(k)!r}{did_you_mean(str(k), keys)}; {what} take {', '.join(keys)}"
            for k in sorted(set(item) - set(keys), key=str)
        ]
        for key in keys:
            raw = item.get(key)
            if raw is None:
                if key in required:
                    found.append(f"{label}: {key} is required")
            elif isinstance(raw, bool) or not isinstance(raw, (str, int, float)) or not str(raw).strip():
                found.append(f"{label}: {key} {show(raw)} is not text")
        if not found:
            result = make({k: str(v).strip() for k, v in item.items() if v is not None}, found, label)
            if not found:
                made.append(result)
        problems.extend(found)
    if problems:
        raise ContentError(*problems)
    return tuple(made)


def _photo(raw: str | None, ctx: Any, found: list[str], label: str, key: str = "photo") -> str | None:
    if raw is None:
        return None
    from leadmagnet.content import contract  # the contract imports this module: looked up when used

    try:
        return contract.KEYS["image"].parse(raw, ctx)
    except ContentError as exc:
        found.extend(f"{label}: {key} {message}" for message in exc.messages)
        return None


def benefits(value: Any, ctx: Any) -> tuple[Benefit, ...]:
    def make(item: dict, found: list[str], label: str) -> Benefit:
        icon = item.get("icon")
        if icon is not None and icon not in ICONS:
            found.append(f"{label}: icon {icon!r} is not a built-in icon{did_you_mean(icon, ICONS)}; use one of: {', '.join(ICONS)}")
        return Benefit(item["title"], item.get("text", ""), icon)

    return _items(value, "benefits", ("title", "text", "icon"), ("title",), make)


def testimonials(value: Any, ctx: Any) -> tuple[Testimonial, ...]:
    def make(item: dict, found: list[str], label: str) -> Testimonial:
        return Testimonial(item["quote"], item["name"], item.get("role", ""), _photo(item.get("photo"), ctx, found, label))

    return _items(value, "testimonials", ("quote", "name", "role", "photo"), ("quote", "name"), make)


def logos(value: Any, ctx: Any) -> tuple[Logo, ...]:
    def make(item: dict, found: list[str], label: str) -> Logo:
        image = _photo(item.get("image"), ctx, found, label, "image")
        if image is None:
            return Logo(item["name"], "")
        size = image_size(Path(ctx.content_dir) / image)
        if size is None:
            found.append(f"{label}: image {image!r}: its size cannot be read; use an SVG with width and height (or a viewBox), or a PNG")
            return Logo(item["name"], image)
        width = max(1, round(LOGO_HEIGHT * size[0] / size[1]))
        return Logo(item["name"], image, width, LOGO_HEIGHT)

    return _items(value, "logos", ("name", "image"), ("name", "image"), make)


def faq(value: Any, ctx: Any) -> tuple[Question, ...]:
    return _items(value, "questions", ("q", "a"), ("q", "a"), lambda item, found, label: Question(item["q"], item["a"]))


def proof(value: Any, ctx: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ContentError(f'{show(value)} is not a sentence; write one with {{count}}, such as "Join {{count}} marketers who read it"')
    text = value.strip()
    if "{count}" not in text:
        raise ContentError(f"{show(value)} has no {{count}}; the real number of leads goes there (such as: Join {{count}} readers)")
    if re.search(r"\{(?!count\})[^}]*\}", text):
        raise ContentError(f"{show(value)} has a placeholder other than {{count}}; only {{count}} is filled in")
    return text


def proof_min(value: Any, ctx: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ContentError(f"{show(value)} is not a whole number above zero (the fewest leads the proof line needs to show)")
    return value


def author(value: Any, ctx: Any) -> Author:
    if isinstance(value, str):
        value = {"name": value}

    def make(item: dict, found: list[str], label: str) -> Author:
        return Author(item["name"], item.get("role", ""), _photo(item.get("photo"), ctx, found, "author"), item.get("bio", ""))

    try:
        (made,) = _items([value], "an author", ("name", "role", "photo", "bio"), ("name",), make)
    except ContentError as exc:
        raise ContentError(*(m.replace("item 1: ", "", 1) for m in exc.messages)) from None
    return made


def primary(value: Any, ctx: Any) -> str:
    problem = contrast_problem("primary", str(value), WHITE, "buttons under white text, links")
    if problem:
        raise ContentError(problem.removeprefix("primary "))
    return normal_colour(str(value))


def friendly_count(count: int) -> str:
    """A lead count rounded down to a figure people read at a glance: 1,240 → ``1,200+``.

    Two significant digits, never more than the real count, so it is never made up.
    """
    if count < 10:
        return str(count)
    step = 10 ** (len(str(count)) - 2)
    return f"{count // step * step:,}+"


_BOTH = ("ebook", "webinar")
# The contract's rows for these keys: (name, parser, help, offer types). contract.KEYS lists them.
KEYS: tuple[tuple[str, Callable[[Any, Any], Any], str, tuple[str, ...]], ...] = (
    (
        "layout",
        layout,
        "`split` (pitch left, form right), `centered` (hero, form, pitch) or `longform` (a sales letter: hero with a button "
        "to the form, sections, the form at the end); a theme may add layouts.",
        _BOTH,
    ),
    (
        "benefits",
        benefits,
        "List of `{title, text, icon}`; `icon` is one of the built-in icons (`check`, `bolt`, `chart`, `clock`, `shield`, "
        "`star`, `book`, `users`, `target`, `gift`).",
        _BOTH,
    ),
    (
        "testimonials",
        testimonials,
        "List of `{quote, name, role, photo}`; photo (optional) is an image path under the content folder.",
        _BOTH,
    ),
    ("logos", logos, 'List of `{name, image}`: a "trusted by" strip of logos under the content folder, grey until hovered.', _BOTH),
    ("faq", faq, "List of `{q, a}` (answers in Markdown), shown as expandable questions, with FAQPage structured data.", _BOTH),
    (
        "proof",
        proof,
        'A sentence with `{count}`, such as "Join {count} marketers who read it": the real number of leads of this offer, '
        'rounded down (1,240: "1,200+").',
        _BOTH,
    ),
    ("proof_min", proof_min, "Fewest leads before the `proof` line shows (default 100).", _BOTH),
    ("author", author, "`{name, role, photo, bio}` of the ebook's author; photo is an image path under the content folder.", ("ebook",)),
    ("primary", primary, "Brand colour for this offer only (a campaign), as `#rrggbb`; needs 4.5:1 contrast on white.", _BOTH),
)
