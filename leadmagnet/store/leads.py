"""Store verbs for capture: contacts, submissions and page views."""

from __future__ import annotations


class LeadVerbs:
    """Mixin of :class:`leadmagnet.store.Store`: contacts, submissions, page views."""
