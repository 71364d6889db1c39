"""The funnel: which offer a thank-you page recommends next, and tag pages of the index.

An offer's ``next:`` names the offer its thank-you page recommends. Without it (or when that
offer cannot take sign-ups right now) the default is another published, open offer of the next
funnel stage (``tofu`` → ``mofu`` → ``bofu``) that shares a tag, the one sharing the most tags
first, then by title: the same answer on every machine and every reload.

:func:`next_problems` is what ``leadmagnet check`` says about ``next:`` (it needs every offer,
so it runs when the catalog is assembled, not when one file is parsed): an unknown slug (with a
did-you-mean) and the offer itself are errors; a draft is a warning. None of them unpublishes the
offer: its thank-you page falls back to the default rule (a broken file unpublishes only itself).

Tags become addresses of the index (``/tag/<slug>``) through :func:`tag_slug`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import datetime

from leadmagnet.content.offer import Offer
from leadmagnet.content.problems import Problem, did_you_mean

NEXT_STAGE = {"tofu": "mofu", "mofu": "bofu"}


def takes_sign_ups(offer: Offer, now: datetime) -> bool:
    """True if ``offer`` is published and its form is open at ``now`` (not ended or under way)."""
    return offer.is_published(now) and offer.state(now) == "live"


def next_offer(offers: Mapping[str, Offer], offer: Offer, now: datetime) -> Offer | None:
    """The offer ``offer``'s thank-you page recommends at ``now``, or None.

    ``offers`` maps every slug of the catalog to its offer. The explicit ``next:`` wins when it
    takes sign-ups; otherwise the default rule of this module's docstring applies.
    """
    chosen = offers.get(offer.next) if offer.next else None
    if chosen is not None and chosen.slug != offer.slug and takes_sign_ups(chosen, now):
        return chosen
    stage = NEXT_STAGE.get(offer.stage or "")
    if stage is None or not offer.tags:
        return None
    tags = set(offer.tags)
    candidates = [o for o in offers.values() if o.slug != offer.slug and o.stage == stage and tags & set(o.tags) and takes_sign_ups(o, now)]
    if not candidates:
        return None
    return min(candidates, key=lambda o: (-len(tags & set(o.tags)), o.title.casefold(), o.slug))


def next_problems(offers: Mapping[str, Offer]) -> list[Problem]:
    """What is wrong with each offer's ``next:``, given every offer of the catalog by slug."""
    found = []
    for offer in offers.values():
        if not offer.next:
            continue
        target = offers.get(offer.next)
        fallback = "its thank-you page recommends the default next offer meanwhile"
        if offer.next == offer.slug:
            found.append(Problem(offer.source, "next", f"{offer.next!r} is this offer itself; name another offer's slug, or remove next:"))
        elif target is None:
            hint = did_you_mean(offer.next, set(offers) - {offer.slug})
            found.append(
                Problem(offer.source, "next", f"no offer has the slug {offer.next!r}{hint}; fix the slug or remove next: ({fallback})")
            )
        elif target.draft:
            found.append(
                Problem(
                    offer.source,
                    "next",
                    f"{offer.next!r} ({target.source}) is a draft; publish it or name another offer ({fallback})",
                    "warning",
                )
            )
    return found


@functools.lru_cache(maxsize=4096)
def tag_slug(tag: str) -> str:
    """A tag as it appears in an address: ``Growth Hacking`` → ``growth-hacking``, ``C++`` → ``c``.

    Accents are dropped (``Café`` → ``cafe``); a tag with no letter or digit at all gets ``tag``
    plus a short hex digest of the text, so every tag has a page. Remembered per text: the index
    and its tag pages ask for every tag of every offer (17,000 times for 1,000 offers), and a
    site has a few dozen tags.
    """
    plain = unicodedata.normalize("NFKD", tag).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")
    if slug:
        return slug
    return "tag-" + tag.encode("utf-8").hex()[:12]


def tags_of(offers: Iterable[Offer]) -> list[tuple[str, str, int]]:
    """``(slug, label, number of offers)`` of every tag of ``offers``, sorted by label.

    Tags that differ only in spelling (``SEO``, ``seo``) share a slug and one page, labelled by
    the spelling seen first.
    """
    labels: dict[str, str] = {}
    counts: dict[str, int] = {}
    for offer in offers:
        for slug in dict.fromkeys(tag_slug(t) for t in offer.tags):
            counts[slug] = counts.get(slug, 0) + 1
        for tag in offer.tags:
            labels.setdefault(tag_slug(tag), tag)
    return sorted(((slug, labels[slug], counts[slug]) for slug in counts), key=lambda t: (t[1].casefold(), t[0]))


def with_tag(offers: Iterable[Offer], slug: str) -> list[Offer]:
    """The offers having a tag whose address is ``slug``."""
    return [o for o in offers if any(tag_slug(t) == slug for t in o.tags)]
