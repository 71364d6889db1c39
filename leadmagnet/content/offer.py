"""An offer as the rest of leadmagnet sees it: a frozen :class:`Offer` and its state in time.

The contract (``content/contract.py``) builds an Offer only from front matter it has checked,
so code above the content layer reads these fields without checking them again. Which page,
form and emails an offer gets follows from :meth:`Offer.state` at one moment ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from leadmagnet.content.fields import FieldSpec
from leadmagnet.content.sections import PROOF_MIN, Author, Benefit, Logo, Question, Testimonial
from leadmagnet.content.sequence import SequenceEmail


@dataclass(frozen=True)
class Presenter:
    """A webinar's presenter; ``photo`` is an image path under the content folder."""

    name: str
    title: str = ""
    photo: str | None = None


@dataclass(frozen=True)
class Variant:
    """An A/B variant of an offer: its short name, its share of visitors and the keys it overrides
    (``(key, value)`` pairs, parsed like the offer's own; ``body`` replaces the pitch's Markdown)."""

    name: str
    weight: float = 1.0
    overrides: tuple[tuple[str, Any], ...] = ()


# The control's name: the offer's own keys are variant "a".
CONTROL = "a"


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
    next: str | None = None
    theme: str | None = None
    draft: bool = False
    publish_at: datetime | None = None
    expires_at: datetime | None = None
    double_opt_in: bool | None = None
    sequence: tuple[SequenceEmail, ...] = ()
    stop_when: tuple[str, ...] = ()
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
    # A/B test (content/variants.py): the control's weight, the other variants, the chosen winner.
    weight: float = 1.0
    variants: tuple[Variant, ...] = ()
    winner: str | None = None
    # the landing page's sections (content/sections.py)
    layout: str = "split"
    benefits: tuple[Benefit, ...] = ()
    testimonials: tuple[Testimonial, ...] = ()
    logos: tuple[Logo, ...] = ()
    faq: tuple[Question, ...] = ()
    proof: str | None = None
    proof_min: int = PROOF_MIN
    author: Author | None = None
    primary: str | None = None
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
        files |= {t.photo for t in self.testimonials if t.photo} | {logo.image for logo in self.logos}
        if self.author is not None and self.author.photo:
            files.add(self.author.photo)
        if self.image:
            files.add(self.image)
        files.update(value for v in self.variants for key, value in v.overrides if key == "image")
        return files

    @property
    def testing(self) -> bool:
        """True while an A/B test runs: variants, and no ``winner`` chosen yet."""
        return bool(self.variants) and self.winner is None

    def weights(self) -> dict[str, float]:
        """Each variant's weight by name, the control (``a``) first."""
        return {CONTROL: self.weight, **{v.name: v.weight for v in self.variants}}

    def as_variant(self, name: str) -> Offer:
        """This offer as variant ``name`` shows it (the control is the offer itself)."""
        for variant in self.variants:
            if variant.name == name:
                return replace(self, **dict(variant.overrides))
        if name != CONTROL:
            raise KeyError(name)
        return self
