"""The offer index and its tag pages: which offers each lists, for the server and the build alike.

``/`` lists every published offer (ended ones marked); ``/tag/<slug>`` only those with that tag
(:func:`~leadmagnet.content.funnel.tag_slug`). Filtering is plain links, so it works without
script and in the static export, which writes ``tag/<slug>.html`` for every tag of a published
offer (a host serving ``$uri.html`` answers ``/tag/<slug>`` from it, as for offer pages).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadmagnet.content.funnel import tag_slug, tags_of, with_tag
from leadmagnet.content.offer import Offer


@dataclass(frozen=True)
class Tag:
    """A tag of the index: its address part, its label as first written, how many offers have it."""

    slug: str
    label: str
    count: int


def index_context(offers: Iterable[Offer], now: datetime, base_url: str, tag: str | None = None) -> dict[str, Any] | None:
    """What ``index.html`` shows at ``now``: every published offer, or those with tag ``tag``.

    None for a tag no published offer has (the page does not exist: 404).
    """
    published = sorted((o for o in offers if o.is_published(now)), key=lambda o: (o.type, o.title))
    tags = [Tag(*t) for t in tags_of(published)]
    if tag is None:
        return {"offers": published, "tags": tags, "tag": None, "canonical": f"{base_url}/", "now": now}
    chosen = next((t for t in tags if t.slug == tag), None)
    if chosen is None:
        return None
    return {"offers": with_tag(published, tag), "tags": tags, "tag": chosen, "canonical": f"{base_url}/tag/{tag}", "now": now}


def listing_contexts(offers: Iterable[Offer], now: datetime, base_url: str) -> dict[str | None, dict[str, Any]]:
    """What the index (key None) and every tag page (key: the tag's slug) show at ``now``.

    The same contexts as :func:`index_context` for each, made in one pass (the static export
    writes them all): the offers are sorted and their tags counted once, not once per page.
    """
    published = sorted((o for o in offers if o.is_published(now)), key=lambda o: (o.type, o.title))
    tags = [Tag(*t) for t in tags_of(published)]
    by_tag: dict[str, list[Offer]] = {t.slug: [] for t in tags}
    for offer in published:
        for slug in dict.fromkeys(tag_slug(t) for t in offer.tags):
            by_tag[slug].append(offer)
    contexts: dict[str | None, dict[str, Any]] = {
        None: {"offers": published, "tags": tags, "tag": None, "canonical": f"{base_url}/", "now": now}
    }
    for t in tags:
        contexts[t.slug] = {"offers": by_tag[t.slug], "tags": tags, "tag": t, "canonical": f"{base_url}/tag/{t.slug}", "now": now}
    return contexts
