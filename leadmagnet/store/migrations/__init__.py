"""Versioned schema migrations, applied in order by sqlite-utils' ``Migrations``.

One function per change, never drop-and-recreate: a database made by any earlier version
upgrades in place with nothing lost (``tests/test_migrations.py`` upgrades a database built by
the first migration alone). Add a change by appending a function to the newest module; never
edit an applied one. The modules register their functions on :data:`migrations` when imported,
in the order imported below, which is the order they are applied:

- ``capture``: m001-m009, capture, delivery, the admin and the outbox (issues 2-15);
- ``growth``: m010 on, nurturing, webhooks, A/B tests and the dashboard's roll-ups (issues 16-20).
"""

from __future__ import annotations

from sqlite_utils.migrations import Migrations

migrations = Migrations("leadmagnet")

# Imported for their registrations, after ``migrations`` exists (they import it from here).
from leadmagnet.store.migrations import capture, growth  # noqa: E402, F401

__all__ = ["migrations"]
