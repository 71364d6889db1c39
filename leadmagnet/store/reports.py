"""Store verbs for export and admin: streaming rows, cursors, users, dashboard, erasure."""

from __future__ import annotations


class ReportVerbs:
    """Mixin of :class:`leadmagnet.store.Store`: exports, admin users, reports, erasure."""
