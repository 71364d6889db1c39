"""The content contract: what an offer's front matter may say, in one table.

Every front-matter key is declared once in :data:`KEYS` with the offer types it applies to,
whether it is required, the parser that checks and converts its value, and the help text the
README and ``leadmagnet new`` templates are checked against. :func:`parse_offer` turns one file's
front matter into a frozen :class:`~leadmagnet.content.offer.Offer` plus a list of
:class:`~leadmagnet.content.problems.Problem` (errors and warnings), reporting every problem
instead of stopping at the first.

A new front-matter key is a parser here (if no existing one fits), a row in :data:`KEYS` and a
field of :class:`~leadmagnet.content.offer.Offer`. Groups of parsers have their own modules:
form fields (``content/fields.py``), dates and time zones (``content/dates.py``), the landing
page's sections (``content/sections.py``), A/B variants (``content/variants.py``).

This module is pure: no Flask, no file system beyond checking that referenced files exist.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from leadmagnet.content import sections
from leadmagnet.content.dates import moment, parse_timezone, parse_when
from leadmagnet.content.fields import BUILTIN_FIELDS, FieldSpec, parse_fields
from leadmagnet.content.offer import Offer, Presenter
from leadmagnet.content.problems import ContentError, Problem, did_you_mean, display_path, show
from leadmagnet.content.sequence import SequenceEmail, parse_sequence, parse_stop_when
from leadmagnet.content.variants import parse_control_weight, parse_variants, parse_winner

TYPES = ("ebook", "webinar")
STAGES = ("tofu", "mofu", "bofu")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".avif"}
DESCRIPTION_WARN = 160
DEFAULT_CTA = {"ebook": "Get the free ebook", "webinar": "Save my seat"}
# Top-level addresses the site itself answers (or may answer): an offer there would be shadowed.
RESERVED_SLUGS = frozenset(
    {"admin", "api", "confirm", "download", "downloads", "healthz", "login", "logout", "media", "robots", "sitemap", "static"}
    | {"beacon", "calendar", "thanks", "unsubscribe", "webinar", "ics"}
    # Open Graph cards (/og/<slug>/<hash>.png) and the index's tag pages (/tag/<tag>).
    | {"og", "tag"}
    # The static export's own pages: index.html is the site's / and 404.html its error page.
    | {"index", "404"}
)


# --- parsers: each takes (value, context) and returns the converted value or raises ContentError.


@dataclass
class Context:
    """What a parser may need besides the value: the content folder and sibling keys."""

    content_dir: Path
    data: dict[str, Any]


def _str(value: Any, ctx: Context) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ContentError(f"{show(value)} is not text")
    text = str(value).strip()
    if not text:
        raise ContentError("is empty; write some text or remove the key")
    return text


def _type(value: Any, ctx: Context) -> str:
    if value not in TYPES:
        raise ContentError(f"{show(value)} is not an offer type; use one of: {', '.join(TYPES)}")
    return value


def _slug(value: Any, ctx: Context) -> str:
    if not isinstance(value, str) or not SLUG_RE.match(value):
        raise ContentError(f"{show(value)} is not a slug; use lower-case letters, digits and single hyphens ([a-z0-9-]+)")
    return value


def _bool(value: Any, ctx: Context) -> bool:
    if not isinstance(value, bool):
        raise ContentError(f"{show(value)} is not true or false")
    return value


def _positive_int(value: Any, ctx: Context) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ContentError(f"{show(value)} is not a whole number above zero")
    return value


def _stage(value: Any, ctx: Context) -> str:
    if value not in STAGES:
        raise ContentError(f"{show(value)} is not a funnel stage; use one of: {', '.join(STAGES)}")
    return value


def _tags(value: Any, ctx: Context) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(t, (str, int)) and str(t).strip() for t in value):
        raise ContentError(f"{show(value)} is not a list of tags (write tags: [seo, growth])")
    return tuple(dict.fromkeys(str(t).strip() for t in value))


def _content_file(value: Any, ctx: Context, *, image: bool = False) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ContentError(f"{show(value)} is not a file path under the content folder")
    text = value.strip()
    # PurePosixPath's normal form on strings (every offer has a file or image to check):
    # no empty or "." parts; ".." is refused below.
    parts = [part for part in text.split("/") if part and part != "."]
    rel = "/".join(parts) or "."
    # A drive (C:/...) or absolute path would take the join below out of the content folder on Windows.
    if text.startswith("/") or ".." in parts or os.path.isabs(rel) or os.path.splitdrive(rel)[0]:
        raise ContentError(f"{show(value)} must be a path inside the content folder (no leading / and no ..)")
    if not os.path.isfile(os.path.join(ctx.content_dir, rel)):
        raise ContentError(f"{show(value)} does not exist under {ctx.content_dir}; add the file or fix the path")
    if image and PurePosixPath(rel).suffix.lower() not in IMAGE_SUFFIXES:
        raise ContentError(f"{show(value)} is not an image; use one of: {', '.join(sorted(IMAGE_SUFFIXES))}")
    return rel


def _image(value: Any, ctx: Context) -> str:
    return _content_file(value, ctx, image=True)


def _url(value: Any, ctx: Context) -> str:
    if not isinstance(value, str) or not re.match(r"^https?://[^\s/$.?#][^\s]*$", value.strip()):
        raise ContentError(f"{show(value)} is not an http:// or https:// URL")
    return value.strip()


def _fields(value: Any, ctx: Context) -> tuple[FieldSpec, ...]:
    return parse_fields(value)


def _presenters(value: Any, ctx: Context) -> tuple[Presenter, ...]:
    if not isinstance(value, list):
        raise ContentError(f"{show(value)} is not a list of presenters (each with name, title, photo)")
    people = []
    problems: list[str] = []
    for index, item in enumerate(value, start=1):
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict):
            problems.append(f"item {index}: {show(item)} is not a mapping with name, title and photo")
            continue
        found = [
            f"item {index}: unknown key {str(key)!r}{did_you_mean(str(key), {'name', 'title', 'photo'})}; a presenter takes name, title, photo"
            for key in sorted(set(item) - {"name", "title", "photo"}, key=str)
        ]
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            found.append(f"item {index}: name is required")
        photo = item.get("photo")
        if photo is not None:
            try:
                photo = _image(photo, ctx)
            except ContentError as exc:
                found.append(f"item {index} ({name}): photo {exc}")
        problems.extend(found)
        if not found:
            assert isinstance(name, str)
            people.append(Presenter(name.strip(), str(item.get("title") or "").strip(), photo))
    if problems:
        raise ContentError(*problems)
    return tuple(people)


def _sequence(value: Any, ctx: Context) -> tuple[SequenceEmail, ...]:
    return parse_sequence(value, ctx.content_dir, lambda path: _content_file(path, ctx))


def _stop_when(value: Any, ctx: Context) -> tuple[str, ...]:
    return parse_stop_when(value, SLUG_RE)


def _variants(value: Any, ctx: Context) -> tuple:
    return parse_variants(value, ctx, KEYS)  # a variant's keys parse as the offer's own


@dataclass(frozen=True)
class Key:
    """One front-matter key: which offer types take it, whether it is required, how it parses."""

    name: str
    parse: Callable[[Any, Context], Any]
    help: str
    types: tuple[str, ...] = TYPES
    required: bool = False


KEYS: dict[str, Key] = {
    k.name: k
    for k in (
        Key("title", _str, "Page title and `<h1>`.", required=True),
        Key("type", _type, "`ebook` or `webinar`.", required=True),
        Key("slug", _slug, "URL path of the page (`[a-z0-9-]+`); default: the file name. Unique across offers."),
        Key("description", _str, "Meta description and social-card text; keep it under 160 characters."),
        Key("subtitle", _str, "Line under the title in the hero."),
        Key("cta", _str, 'Text of the form\'s button. Default: "Get the free ebook" or "Save my seat".'),
        Key("image", _image, "Hero or cover image: a path under the content folder (served publicly)."),
        Key(
            "fields",
            _fields,
            "Form fields: built-in names (`first_name`, `last_name`, `company`, `job_title`, `phone`, `country`) or custom `{name, label, type, required, choices, max_length}`. `email` is always present.",
        ),
        Key("consent", _str, "Text of a required consent checkbox. Absent: no checkbox."),
        Key("thank_you", _str, "Markdown shown on the thank-you page after a submission."),
        Key("tags", _tags, "List of tags, copied to contacts and exports."),
        Key("stage", _stage, "Funnel stage: `tofu`, `mofu` or `bofu`; exported as a lifecycle stage."),
        Key(
            "next",
            _slug,
            "Slug of the offer the thank-you page recommends next. Default: a published offer of the next funnel stage (`tofu` → `mofu` → `bofu`) sharing a tag.",
        ),
        Key("theme", _str, "Theme folder name under `themes/`; default: the site's default theme."),
        Key("draft", _bool, "`true` keeps the offer unpublished (404), though `leadmagnet check` still validates it."),
        Key("publish_at", parse_when(False), "ISO 8601 date-time before which the offer is not served (404)."),
        Key("expires_at", parse_when(False), 'ISO 8601 date-time after which the page shows "this offer has ended" (410).'),
        Key("double_opt_in", _bool, "`true`: deliver only after the visitor confirms by email."),
        Key(
            "sequence",
            _sequence,
            "Follow-up emails after a submission: a list of `{after, subject, body}` (or `file:` instead of `body:`); `after` is a delay like `2 days`, `30 minutes` or `P2D`.",
        ),
        Key("stop_when", _stop_when, "Offer slugs whose submission stops this offer's `sequence:` for that person."),
        Key("file", _content_file, "The gated file (PDF, EPUB, ZIP…): a path under the content folder; never public.", ("ebook",), True),
        Key("pages", _positive_int, "Number of pages, shown on the page.", ("ebook",)),
        Key(
            "starts_at",
            parse_when(True),
            "Start, ISO 8601 with an offset (`2027-03-04T16:00:00+01:00`) or naive with `timezone`.",
            ("webinar",),
            True,
        ),
        Key("timezone", parse_timezone, "IANA timezone (`Europe/Paris`) in which the time is shown.", ("webinar",)),
        Key("duration_minutes", _positive_int, "Length in minutes.", ("webinar",), True),
        Key("join_url", _url, "Where registrants join; never shown on the public page.", ("webinar",), True),
        Key("capacity", _positive_int, "Seats; registrations beyond it are waitlisted.", ("webinar",)),
        Key("replay_url", _url, "Recording offered (gated) once the webinar has ended.", ("webinar",)),
        Key("presenters", _presenters, "List of `{name, title, photo}`; photo is an image path under the content folder.", ("webinar",)),
        Key(
            "variants",
            _variants,
            "A/B test: maps short names (`b`, `c`, …) to the keys each variant overrides (`title`, `subtitle`, `description`, `cta`, `image`, `layout`, `thank_you`, `body`: Markdown replacing the pitch) and its `weight`. The offer itself is variant `a`.",
        ),
        Key("weight", parse_control_weight, "The control's (variant `a`'s) share of visitors in an A/B test; default 1 (an equal split)."),
        Key(
            "winner", parse_winner, "Ends an A/B test: every visitor sees this variant (`a`, `b`, …); the report keeps the test's history."
        ),
        # The landing page's sections (content/sections.py): each renders only when present.
        *(Key(name, parse, text, types) for name, parse, text, types in sections.KEYS),
    )
}
# The required keys, in table order: checked for every offer file.
REQUIRED_KEYS = tuple(spec for spec in KEYS.values() if spec.required)


def parse_offer(path: Path, content_dir: Path, meta: Any, body: str, mtime: float = 0.0) -> tuple[Offer | None, list[Problem]]:
    """Validate one file's front matter; return the offer (None if any error) and every problem."""
    rel = display_path(path, content_dir)
    problems: list[Problem] = []
    if not isinstance(meta, dict):
        return None, [Problem(rel, None, "front matter must be a YAML mapping of key: value lines between --- lines")]
    ctx = Context(content_dir, meta)
    offer_type = meta.get("type")
    values: dict[str, Any] = {}
    for key, raw in meta.items():
        spec = KEYS.get(str(key))
        if spec is None:
            problems.append(
                Problem(rel, str(key), f"unknown key{did_you_mean(str(key), KEYS)}; see the list of front-matter keys in the README")
            )
            continue
        if offer_type in TYPES and offer_type not in spec.types:
            problems.append(Problem(rel, spec.name, f"only applies to {', '.join(spec.types)} offers, not {offer_type}"))
            continue
        if raw is None:
            problems.append(Problem(rel, spec.name, "has no value; give one or remove the key"))
            continue
        try:
            values[spec.name] = spec.parse(raw, ctx)
        except ContentError as exc:
            problems.extend(Problem(rel, spec.name, message) for message in exc.messages)
    for spec in REQUIRED_KEYS:
        applies = offer_type in spec.types if offer_type in TYPES else spec.types == TYPES
        if applies and spec.name not in meta:
            problems.append(Problem(rel, spec.name, f"is required: {spec.help}"))
    slug = values.get("slug") or path.stem
    if "slug" not in meta and not SLUG_RE.match(slug):
        problems.append(Problem(rel, "slug", f"the file name {path.stem!r} is not a valid slug; rename the file or set slug: [a-z0-9-]+"))
    elif slug in RESERVED_SLUGS:
        problems.append(Problem(rel, "slug", f"{slug!r} is used by leadmagnet itself (/{slug}); set another slug: or rename the file"))
    description = values.get("description", "")
    if len(description) > DESCRIPTION_WARN:
        problems.append(
            Problem(rel, "description", f"is {len(description)} characters; search engines cut it at about {DESCRIPTION_WARN}", "warning")
        )
    if not description:
        problems.append(Problem(rel, "description", "is missing; search results and social cards will have no summary", "warning"))
    if values.get("publish_at") and values.get("expires_at") and values["expires_at"] <= values["publish_at"]:
        problems.append(Problem(rel, "expires_at", "is not after publish_at"))
    if any(p.level == "error" for p in problems):
        return None, problems
    values.setdefault("cta", DEFAULT_CTA[values["type"]])
    values.setdefault("fields", (BUILTIN_FIELDS["email"],))
    values["slug"] = slug
    return Offer(source=rel, body=body, mtime=mtime, **values), problems


def dated_warnings(offer: Offer, now: datetime) -> list[Problem]:
    """Warnings that depend on the moment ``now``: an ``expires_at`` already past, or a webinar
    without ``replay_url`` whose start has passed (its page only says it has ended).

    Not part of :func:`parse_offer`, whose result is kept while the file is unchanged: these
    are worked out again each time a catalog is assembled.
    """
    found = []
    if offer.expires_at is not None and offer.expires_at <= now:
        found.append(
            Problem(
                offer.source,
                "expires_at",
                f'{moment(offer.expires_at, offer.timezone)} has passed: the page says "this offer has ended" (410)',
                "warning",
            )
        )
    if offer.type == "webinar" and offer.starts_at is not None and offer.starts_at <= now and not offer.replay_url:
        found.append(
            Problem(
                offer.source,
                "starts_at",
                f"{moment(offer.starts_at, offer.timezone)} has passed and there is no replay_url: "
                "the page says the webinar has ended (add replay_url, or move starts_at)",
                "warning",
            )
        )
    return found
