"""Store verbs for delivery: seats, double opt-in, downloads, the email outbox."""

from __future__ import annotations


class DeliveryVerbs:
    """Mixin of :class:`leadmagnet.store.Store`: seats, opt-in, downloads, outbox."""
