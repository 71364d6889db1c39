"""The services one app instance holds, built whole by :func:`leadmagnet.app.create_app`.

Every long-lived object of an app lives here, typed, made once at start-up: no lazy singletons,
no look-ups by string key. Blueprints reach it with :func:`leadmagnet.web.current_services`, the
CLI with :func:`leadmagnet.web.services_of`. Nothing here imports Flask: the object is plain data,
so the sender, the build and the tests can use its parts without a web framework.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leadmagnet.content.catalog import Catalog, CatalogCache
from leadmagnet.delivery.erasure import Erasure
from leadmagnet.delivery.submissions import BackgroundSender, Deliveries
from leadmagnet.delivery.webhooks import Webhooks
from leadmagnet.experiments.report import ABReports
from leadmagnet.export.exports import Exports
from leadmagnet.leads.pageviews import ViewCounter
from leadmagnet.leads.throttle import Throttle
from leadmagnet.render.compression import CompressedCache
from leadmagnet.render.csp import PolicyCache
from leadmagnet.render.renderer import Renderer
from leadmagnet.render.themes import Themes
from leadmagnet.store import DatabaseError, Store

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Mapping[str, Any]
    catalog_cache: CatalogCache
    store: Store
    themes: Themes
    renderer: Renderer
    throttle: Throttle
    page_views: ViewCounter
    compressed: CompressedCache
    csp: PolicyCache
    exports: Exports
    deliveries: Deliveries
    erasure: Erasure
    webhooks: Webhooks
    # A/B tests: views per variant (batched like page_views) and the report.
    variant_views: ViewCounter
    ab: ABReports
    sender: BackgroundSender | None = field(default=None)

    @property
    def catalog(self) -> Catalog:
        return self.catalog_cache.get()

    @property
    def content_dir(self) -> Path:
        return self.catalog_cache.content_dir

    def seats_taken(self, slug: str) -> int | None:
        """Seats of webinar ``slug`` taken, for the seat line the renderer shows (at most once a
        minute a webinar); None when the database cannot say, and the page then shows no seat line."""
        try:
            return self.store.seats_taken(slug)
        except (DatabaseError, OSError):
            log.exception("could not count the seats of %s; its page shows no seat line", slug)
            return None

    def lead_count(self, slug: str) -> int | None:
        """Leads of offer ``slug``, for its ``proof:`` line (read at most once a minute an offer);
        None when the database cannot say, and the page then shows no proof line."""
        try:
            return self.store.lead_counts(slug).get(slug, 0)
        except (DatabaseError, OSError):
            log.exception("could not count the leads of %s; its page shows no proof line", slug)
            return None

    def close(self) -> None:
        """Stop the sender, write the counted page views, close the databases (tests, shutdown)."""
        if self.sender is not None:
            self.sender.stop()
        self.page_views.close()
        self.variant_views.close()
        self.throttle.close()
        self.store.shutdown()
