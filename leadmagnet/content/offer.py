"""An offer as the rest of leadmagnet sees it: a frozen :class:`Offer` and its state in time.

The contract (``content/contract.py``) builds an Offer only from front matter it has checked,
so code above the content layer reads these fields without checking them again. Which page,
form and emails an offer gets follows from :meth:`Offer.state` at one moment ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from leadmagnet.content.fields import FieldSpec
from leadmagnet.content.sections import PROOF_MIN, Author, Benefit, Logo, Question, Testimonial


@dataclass(frozen=True)
class Presenter:
    """A webinar's presenter; ``photo`` is an image path under the content folder."""

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
        return files
