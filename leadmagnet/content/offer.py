"""The content contract: what an offer's front matter may say, in one table.

Every front-matter key is declared once in :data:`KEYS` with the offer types it applies to,
whether it is required, the parser that checks and converts its value, and the help text the
README and ``leadmagnet new`` templates are checked against. :func:`parse_offer` turns one file's
front matter into a frozen :class:`Offer` plus a list of :class:`Problem` (errors and warnings),
reporting every problem instead of stopping at the first.

This module is pure: no Flask, no file system beyond checking that referenced files exist.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TYPES = ("ebook", "webinar")
STAGES = ("tofu", "mofu", "bofu")
FIELD_TYPES = ("text", "email", "tel", "select", "checkbox", "textarea")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
DEFAULT_MAX_LENGTH = 200
DESCRIPTION_WARN = 160
DEFAULT_CTA = {"ebook": "Get the free ebook", "webinar": "Save my seat"}
# Top-level addresses the site itself answers (or may answer): an offer there would be shadowed.
RESERVED_SLUGS = frozenset(
    {"admin", "api", "confirm", "download", "downloads", "healthz", "login", "logout", "media", "robots", "sitemap", "static"}
    | {"beacon", "calendar", "thanks", "unsubscribe", "webinar", "ics"}
    # The static export's own pages: index.html is the site's / and 404.html its error page.
    | {"index", "404"}
)


class ContentError(ValueError):
    """A front-matter value that does not fit the contract; the message says what is expected."""


@dataclass(frozen=True)
class Problem:
    """One finding about one file: ``level`` is ``error`` (not published) or ``warning``."""

    path: str
    key: str | None
    message: str
    level: str = "error"

    def __str__(self) -> str:
        where = f"{self.path}: {self.key}: " if self.key else f"{self.path}: "
        tag = "" if self.level == "error" else "warning: "
        return f"{where}{tag}{self.message}"


@dataclass(frozen=True)
class FieldSpec:
    """One form field of an offer: built-in (``first_name``) or custom."""

    name: str
    label: str
    type: str = "text"
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    max_length: int = DEFAULT_MAX_LENGTH
    autocomplete: str | None = None
    builtin: bool = False


BUILTIN_FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("email", "Work email", "email", True, max_length=254, autocomplete="email", builtin=True),
        FieldSpec("first_name", "First name", "text", False, max_length=100, autocomplete="given-name", builtin=True),
        FieldSpec("last_name", "Last name", "text", False, max_length=100, autocomplete="family-name", builtin=True),
        FieldSpec("company", "Company", "text", False, max_length=200, autocomplete="organization", builtin=True),
        FieldSpec("job_title", "Job title", "text", False, max_length=200, autocomplete="organization-title", builtin=True),
        FieldSpec("phone", "Phone", "tel", False, max_length=40, autocomplete="tel", builtin=True),
        FieldSpec("country", "Country", "text", False, max_length=100, autocomplete="country-name", builtin=True),
    )
}


@dataclass(frozen=True)
class Presenter:
    name: str
    title: str = ""
    photo: str | None = None


@dataclass(frozen=True)
class Offer:
    """A validated offer. Paths (``file``, ``image``, photos) are relative to the content folder."""

    slug: str
    type: str
    title: str
    source: str
    body: str = ""
    description: str = ""
    subtitle: str = ""
    cta: str = ""
    image: str | None = None
    fields: tuple[FieldSpec, ...] = ()
    consent: str | None = None
    thank_you: str = ""
    tags: tuple[str, ...] = ()
    stage: str | None = None
    theme: str | None = None
    draft: bool = False
    publish_at: datetime | None = None
    expires_at: datetime | None = None
    double_opt_in: bool | None = None
    # ebook
    file: str | None = None
    pages: int | None = None
    # webinar
    starts_at: datetime | None = None
    timezone: str | None = None
    duration_minutes: int | None = None
    join_url: str | None = None
    capacity: int | None = None
    replay_url: str | None = None
    presenters: tuple[Presenter, ...] = ()
    mtime: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def ends_at(self) -> datetime | None:
        if self.starts_at is None or self.duration_minutes is None:
            return None
        # In UTC: added to a zone's wall clock, two hours across a DST change would last one or three.
        return (self.starts_at.astimezone(UTC) + timedelta(minutes=self.duration_minutes)).astimezone(self.starts_at.tzinfo)

    @property
    def tz(self) -> ZoneInfo | timezone:
        if self.timezone:
            return ZoneInfo(self.timezone)
        if self.starts_at is not None and self.starts_at.tzinfo is not None:
            return self.starts_at.tzinfo  # type: ignore[return-value]
        return UTC

    def state(self, now: datetime) -> str:
        """``scheduled`` (before publish_at), ``live``, ``started`` (a webinar under way:
        registration closed) or ``ended`` (expired, or webinar over)."""
        if self.publish_at and now < self.publish_at:
            return "scheduled"
        if self.expires_at and now >= self.expires_at:
            return "ended"
        if self.type == "webinar" and self.ends_at and now >= self.ends_at:
            return "ended"
        if self.type == "webinar" and self.starts_at and now >= self.starts_at:
            return "started"
        return "live"

    def is_published(self, now: datetime) -> bool:
        return not self.draft and self.state(now) != "scheduled"

    def public_files(self) -> set[str]:
        files = {p.photo for p in self.presenters if p.photo}
        if self.image:
            files.add(self.image)
        return files


# --- parsers: each takes (value, context) and returns the converted value or raises ContentError.


@dataclass
class Context:
    """What a parser may need besides the value: the content folder and sibling keys."""

    content_dir: Path
    data: dict[str, Any]


def _str(value: Any, ctx: Context) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ContentError(f"{_show(value)} is not text")
    text = str(value).strip()
    if not text:
        raise ContentError("is empty; write some text or remove the key")
    return text


def _type(value: Any, ctx: Context) -> str:
    if value not in TYPES:
        raise ContentError(f"{_show(value)} is not an offer type; use one of: {', '.join(TYPES)}")
    return value


def _slug(value: Any, ctx: Context) -> str:
    if not isinstance(value, str) or not SLUG_RE.match(value):
        raise ContentError(f"{_show(value)} is not a slug; use lower-case letters, digits and single hyphens ([a-z0-9-]+)")
    return value


def _bool(value: Any, ctx: Context) -> bool:
    if not isinstance(value, bool):
        raise ContentError(f"{_show(value)} is not true or false")
    return value


def _positive_int(value: Any, ctx: Context) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ContentError(f"{_show(value)} is not a whole number above zero")
    return value


def _stage(value: Any, ctx: Context) -> str:
    if value not in STAGES:
        raise ContentError(f"{_show(value)} is not a funnel stage; use one of: {', '.join(STAGES)}")
    return value


def _tags(value: Any, ctx: Context) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(t, (str, int)) and str(t).strip() for t in value):
        raise ContentError(f"{_show(value)} is not a list of tags (write tags: [seo, growth])")
    return tuple(dict.fromkeys(str(t).strip() for t in value))


def _content_file(value: Any, ctx: Context, *, image: bool = False) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ContentError(f"{_show(value)} is not a file path under the content folder")
    text = value.strip()
    # PurePosixPath's normal form on strings (every offer has a file or image to check):
    # no empty or "." parts; ".." is refused below.
    parts = [part for part in text.split("/") if part and part != "."]
    rel = "/".join(parts) or "."
    # A drive (C:/...) or absolute path would take the join below out of the content folder on Windows.
    if text.startswith("/") or ".." in parts or os.path.isabs(rel) or os.path.splitdrive(rel)[0]:
        raise ContentError(f"{_show(value)} must be a path inside the content folder (no leading / and no ..)")
    if not os.path.isfile(os.path.join(ctx.content_dir, rel)):
        raise ContentError(f"{_show(value)} does not exist under {ctx.content_dir}; add the file or fix the path")
    if image and PurePosixPath(rel).suffix.lower() not in IMAGE_SUFFIXES:
        raise ContentError(f"{_show(value)} is not an image; use one of: {', '.join(sorted(IMAGE_SUFFIXES))}")
    return rel


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".avif"}


def _image(value: Any, ctx: Context) -> str:
    return _content_file(value, ctx, image=True)


def _url(value: Any, ctx: Context) -> str:
    if not isinstance(value, str) or not re.match(r"^https?://[^\s/$.?#][^\s]*$", value.strip()):
        raise ContentError(f"{_show(value)} is not an http:// or https:// URL")
    return value.strip()


def _timezone(value: Any, ctx: Context) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ContentError(f"{_show(value)} is not an IANA timezone name (such as Europe/Paris or America/New_York)") from None
    return str(value)


def parse_datetime(value: Any, tz_name: str | None, *, require_time: bool) -> datetime:
    """Parse ISO 8601 text into an aware datetime; naive values take ``tz_name`` (else UTC)."""
    expected = "an ISO 8601 date with a UTC offset or timezone" if require_time else "an ISO 8601 date or date-time"
    text = str(value).strip() if isinstance(value, (str, int)) else None
    if not text:
        raise ContentError(f"{_show(value)} is not {expected}")
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise ContentError(f"{_show(value)} is not {expected}") from None
    if require_time and "T" not in text and " " not in text:
        raise ContentError(f"{_show(value)} is not {expected} (a time is needed, such as 2027-03-01T16:00:00+01:00)")
    if parsed.tzinfo is None:
        if require_time and not tz_name:
            raise ContentError(f"{_show(value)} is not {expected} (add an offset such as +01:00, or set timezone:)")
        try:
            tz = ZoneInfo(tz_name) if tz_name else UTC
        except (ZoneInfoNotFoundError, ValueError):
            tz = UTC  # the timezone key reports its own error
        parsed = parsed.replace(tzinfo=tz)
    return parsed


def _when(require_time: bool) -> Callable[[Any, Context], datetime]:
    def parse(value: Any, ctx: Context) -> datetime:
        tz_name = ctx.data.get("timezone") if isinstance(ctx.data.get("timezone"), str) else None
        return parse_datetime(value, tz_name, require_time=require_time)

    return parse


def _fields(value: Any, ctx: Context) -> tuple[FieldSpec, ...]:
    if not isinstance(value, list):
        raise ContentError(f"{_show(value)} is not a list of fields (write fields: [first_name, company])")
    specs: list[FieldSpec] = []
    for index, item in enumerate(value, start=1):
        if isinstance(item, str):
            if item not in BUILTIN_FIELDS:
                hint = _did_you_mean(item, BUILTIN_FIELDS)
                raise ContentError(
                    f"item {index}: {_show(item)} is not a built-in field ({', '.join(BUILTIN_FIELDS)}){hint}; "
                    "a custom field is a mapping with name, label and type"
                )
            specs.append(BUILTIN_FIELDS[item])
        elif isinstance(item, dict):
            specs.append(_custom_field(index, item))
        else:
            raise ContentError(f"item {index}: {_show(item)} is neither a built-in field name nor a mapping")
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ContentError(f"field {', '.join(dupes)} is listed twice")
    if "email" not in names:
        specs.insert(0, BUILTIN_FIELDS["email"])
    return tuple(specs)


FIELD_KEYS = {"name", "label", "type", "required", "choices", "max_length"}


def _custom_field(index: int, item: dict[str, Any]) -> FieldSpec:
    where = f"item {index}"
    unknown = set(item) - FIELD_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise ContentError(f"{where}: unknown key {key!r}{_did_you_mean(key, FIELD_KEYS)}; a field takes {', '.join(sorted(FIELD_KEYS))}")
    name = item.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ContentError(f"{where}: name {_show(name)} must be lower-case letters, digits and underscores, starting with a letter")
    where = f"{where} ({name})"
    if name in BUILTIN_FIELDS:
        raise ContentError(f"{where}: {name} is a built-in field; list it by name only (- {name})")
    if name in RESERVED_FIELD_NAMES:
        raise ContentError(f"{where}: {name} is reserved for leadmagnet's own form fields; choose another name")
    ftype = item.get("type", "text")
    if ftype not in FIELD_TYPES:
        raise ContentError(f"{where}: type {_show(ftype)} is not a field type; use one of: {', '.join(FIELD_TYPES)}")
    label = item.get("label", name.replace("_", " ").capitalize())
    if not isinstance(label, str) or not label.strip():
        raise ContentError(f"{where}: label must be text")
    required = item.get("required", False)
    if not isinstance(required, bool):
        raise ContentError(f"{where}: required {_show(required)} is not true or false")
    max_length = item.get("max_length", 2000 if ftype == "textarea" else DEFAULT_MAX_LENGTH)
    if isinstance(max_length, bool) or not isinstance(max_length, int) or not 1 <= max_length <= 10000:
        raise ContentError(f"{where}: max_length {_show(max_length)} is not a whole number from 1 to 10000")
    choices: tuple[tuple[str, str], ...] = ()
    raw_choices = item.get("choices")
    if ftype == "select":
        if not isinstance(raw_choices, list) or not raw_choices:
            raise ContentError(f"{where}: a select field needs choices: a list of options")
        pairs = []
        for choice in raw_choices:
            if isinstance(choice, dict) and len(choice) == 1:
                ((value, text),) = choice.items()
                pairs.append((str(value), str(text)))
            elif isinstance(choice, (str, int, float)) and not isinstance(choice, bool):
                pairs.append((str(choice), str(choice)))
            else:
                raise ContentError(f"{where}: choice {_show(choice)} is not text (or a one-entry mapping value: label)")
        choices = tuple(pairs)
    elif raw_choices is not None:
        raise ContentError(f"{where}: choices only apply to type: select")
    return FieldSpec(name, label.strip(), ftype, required, choices, max_length)


# A custom field's name must not be one of leadmagnet's own inputs (the consent box, the honeypot,
# the attribution fields) nor a name the form object itself uses: a field called `validate` or
# `meta` would replace it and break every submission. tests/test_offer.py keeps this list in step
# with WTForms (listed here, not imported: the content layer and `leadmagnet build` load no WTForms).
RESERVED_FIELD_NAMES = frozenset(
    {"consent", "website", "form_ts", "referrer", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"}
    | {"cleaned", "data", "errors", "form_errors", "messages", "meta", "populate_obj", "post_process", "process", "spec_names", "validate"}
)


def _presenters(value: Any, ctx: Context) -> tuple[Presenter, ...]:
    if not isinstance(value, list):
        raise ContentError(f"{_show(value)} is not a list of presenters (each with name, title, photo)")
    people = []
    for index, item in enumerate(value, start=1):
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict):
            raise ContentError(f"item {index}: {_show(item)} is not a mapping with name, title and photo")
        unknown = set(item) - {"name", "title", "photo"}
        if unknown:
            key = sorted(unknown)[0]
            raise ContentError(
                f"item {index}: unknown key {key!r}{_did_you_mean(key, {'name', 'title', 'photo'})}; a presenter takes name, title, photo"
            )
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ContentError(f"item {index}: name is required")
        photo = item.get("photo")
        if photo is not None:
            try:
                photo = _image(photo, ctx)
            except ContentError as exc:
                raise ContentError(f"item {index} ({name}): photo {exc}") from None
        people.append(Presenter(name.strip(), str(item.get("title") or "").strip(), photo))
    return tuple(people)


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
        Key("theme", _str, "Theme folder name under `themes/`; default: the site's default theme."),
        Key("draft", _bool, "`true` keeps the offer unpublished (404), though `leadmagnet check` still validates it."),
        Key("publish_at", _when(False), "ISO 8601 date-time before which the offer is not served (404)."),
        Key("expires_at", _when(False), 'ISO 8601 date-time after which the page shows "this offer has ended" (410).'),
        Key("double_opt_in", _bool, "`true`: deliver only after the visitor confirms by email."),
        Key("file", _content_file, "The gated file (PDF, EPUB, ZIP…): a path under the content folder; never public.", ("ebook",), True),
        Key("pages", _positive_int, "Number of pages, shown on the page.", ("ebook",)),
        Key(
            "starts_at",
            _when(True),
            "Start, ISO 8601 with an offset (`2027-03-04T16:00:00+01:00`) or naive with `timezone`.",
            ("webinar",),
            True,
        ),
        Key("timezone", _timezone, "IANA timezone (`Europe/Paris`) in which the time is shown.", ("webinar",)),
        Key("duration_minutes", _positive_int, "Length in minutes.", ("webinar",), True),
        Key("join_url", _url, "Where registrants join; never shown on the public page.", ("webinar",), True),
        Key("capacity", _positive_int, "Seats; registrations beyond it are waitlisted.", ("webinar",)),
        Key("replay_url", _url, "Recording offered (gated) once the webinar has ended.", ("webinar",)),
        Key("presenters", _presenters, "List of `{name, title, photo}`; photo is an image path under the content folder.", ("webinar",)),
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
                Problem(rel, str(key), f"unknown key{_did_you_mean(str(key), KEYS)}; see the list of front-matter keys in the README")
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
            problems.append(Problem(rel, spec.name, str(exc)))
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


def below(text: str, root: str) -> str | None:
    """What follows ``root`` and a separator in ``text``, or None if ``text`` is not below it:
    pathlib's ``relative_to`` on strings, for paths in pathlib's normal form (a prefix is a parent)."""
    if text.startswith(root) and text[len(root) : len(root) + 1] == os.sep:
        return text[len(root) + 1 :]
    return None


def display_path(path: Path, content_dir: Path) -> str:
    """``path`` as problems name it: from the content folder's own name (``content/ebook.md``)."""
    # On strings first: pathlib's relative_to cost a tenth of reading an offer file, and a
    # build reads a thousand.
    text, name = str(path), content_dir.name
    rest = below(text, str(content_dir))
    if name and rest is not None:
        return name + os.sep + rest
    try:
        return str(Path(name) / path.relative_to(content_dir))
    except ValueError:
        return text


def _did_you_mean(word: str, known: Any) -> str:
    import difflib  # only for a misspelt key: not a cost of every start

    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.7)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
