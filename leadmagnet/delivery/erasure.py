"""Erasing a person: their rows, the bytes SQLite kept of them, and their files in the instance folder.

``leadmagnet erase`` and the admin's Erase both come here (``services.erasure``). An erasure
request is about the bytes, not the rows, so one erasure:

1. deletes every row that names the person (webhook payloads too), in one transaction, and queues
   the ``contact.erased`` webhook event (an id and a time, no address) in it, with ``secure_delete`` on (what
   the delete frees is zeroed), then truncates the WAL, where the pages as they were before the
   delete would otherwise stay (:meth:`leadmagnet.store.Store.erase_contact`);
2. removes their email files from the outbox folder (``instance/outbox/*.eml``, written when no
   SMTP host is set): those of the person's outbox rows, and any other that is addressed to them
   or names their address (one written before an earlier erasure, a row deleted since);
3. deletes the rate limiter's counters keyed by their address (the admin login form counts per
   typed address), and empties that file's WAL too.

The person's links (thanks, download, calendar, confirm, unsubscribe) name rows that no longer
exist, so they answer 404; a row that later takes an erased id has another stamp (see
:mod:`leadmagnet.foundation.tokens`). Running an erasure again for an address with no contact still
removes files and counters left behind (say, by a version before this one).

What an erasure cannot reach (backups, the SMTP provider, a CRM or a CSV already exported) is
said in the README.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path

from leadmagnet.delivery.mail import eml_id, smtp_address
from leadmagnet.delivery.webhooks import Webhooks
from leadmagnet.store import Store
from leadmagnet.store.privacy import address_pattern, erase_rate_limit_keys
from leadmagnet.store.ratelimits import RateLimits

log = logging.getLogger(__name__)


@dataclass
class Erased:
    """What one erasure removed (counts and file names only: nothing that names the person)."""

    deleted: dict[str, int] = field(default_factory=dict)  # rows per table
    files: list[Path] = field(default_factory=list)  # email files removed from the outbox folder
    rate_limits: int = 0  # rate-limit counters keyed by the address
    wal_emptied: bool = True  # False: a reader held the WAL; the next checkpoint empties it

    def __str__(self) -> str:
        parts = [f"{n} {table}" for table, n in self.deleted.items()]
        if self.files:
            parts.append(f"{len(self.files)} email files")
        if self.rate_limits:
            parts.append(f"{self.rate_limits} rate-limit counters")
        return ", ".join(parts) or "nothing"


class Erasure:
    """Erases a person from the store, the rate limiter's file and the outbox folder."""

    def __init__(self, store: Store, outbox_dir: Path, rate_limits: RateLimits | None = None, webhooks: Webhooks | None = None) -> None:
        self.store = store
        self.outbox_dir = outbox_dir
        self.rate_limits = rate_limits
        self.webhooks = webhooks

    def erase(self, email: str, actor: str | None = None) -> Erased | None:
        """Erase everything of the person at ``email`` (as stored: lower case); None if nothing was found."""
        record = self.store.contact_record(email)
        outbox_ids = {row["id"] for row in record["emails"]} if record is not None else set()
        deleted = self.store.erase_contact(email, actor=actor, then=self._announce) if record is not None else None
        files = self.remove_files(email, outbox_ids)
        counters = erase_rate_limit_keys(self.rate_limits, email) if self.rate_limits is not None else 0
        if deleted is None and not files and not counters:
            return None
        if files or counters:  # counts only: the audit log never names a person
            self.store.audit(actor, "erase_files", {"email_files": len(files), "rate_limits": counters})
        wal_emptied = self.store.checkpoint()
        if not wal_emptied:
            log.warning("erasure: the WAL could not be emptied now (a reader holds it); the next checkpoint empties it")
        return Erased(deleted or {}, files, counters, wal_emptied)

    def _announce(self, contact_id: int) -> None:
        """Queue ``contact.erased`` inside the erasure's transaction: the id and the time, never the address."""
        if self.webhooks is not None:
            now = datetime.now(UTC)
            extra = {"contact": {"id": contact_id}, "erased_at": now.isoformat(timespec="microseconds").replace("+00:00", "Z")}
            self.webhooks.emit(self.store, "contact.erased", now, contact_id=None, extra=extra, anonymous=True)

    def remove_files(self, email: str, outbox_ids: set[int]) -> list[Path]:
        """Remove the outbox folder's email files of rows ``outbox_ids``, and every other one naming ``email``."""
        if not self.outbox_dir.is_dir():
            return []
        patterns = [re.compile(address_pattern(form), re.IGNORECASE) for form in {email, smtp_address(email)}]
        removed = []
        for path in sorted(self.outbox_dir.iterdir()):
            if not path.is_file() or (eml_id(path) not in outbox_ids and not names_address(path.read_bytes(), patterns)):
                continue
            path.unlink(missing_ok=True)
            removed.append(path)
        return removed


def names_address(message: bytes, patterns: list[re.Pattern[str]]) -> bool:
    """True when the raw email ``message`` names the address: in a header (decoded), a text part, or its bytes."""
    texts = [message.decode("utf-8", "replace")]
    try:
        msg = BytesParser(policy=policy.default).parsebytes(message)
        texts += [str(value) for value in msg.values()]
        for part in msg.walk():
            if part.get_content_maintype() == "text":
                texts.append(part.get_content())
    except (LookupError, ValueError, TypeError):  # a damaged file: its raw bytes were searched already
        pass
    return any(pattern.search(text) for pattern in patterns for text in texts)
