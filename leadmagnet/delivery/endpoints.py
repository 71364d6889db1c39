"""Webhook endpoints as the marketer writes them: ``[[webhooks]]`` tables in ``instance/config.toml``.

Each table has a ``url`` (http or https), a ``secret`` (``whsec_`` and base64, as the Standard
Webhooks specification writes it), the ``events`` it wants, and optional ``offers`` and ``tags``
filters. Everything is checked when the app starts (and by ``leadmagnet webhooks list``): a
problem names the file, the table's number, the key, what is wrong and what to write instead.

``leadmagnet webhooks add URL`` generates a secret and appends a table to the file
(:func:`append_endpoint`), leaving every other line as it was.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

EVENTS = (
    "lead.created",
    "lead.confirmed",
    "download.completed",
    "registration.created",
    "registration.waitlisted",
    "contact.unsubscribed",
    "contact.erased",
)
# Events about a person rather than a submission: the offers/tags filters do not apply to them
# (a receiver that holds a person's data must hear that they left or were erased).
CONTACT_EVENTS = ("contact.unsubscribed", "contact.erased")
KEYS = ("url", "secret", "events", "offers", "tags")
SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret


class EndpointError(ValueError):
    """A ``[[webhooks]]`` table that cannot be used; the message says where and what to write."""


@dataclass(frozen=True)
class Endpoint:
    """One receiver: where, the key it verifies with, and which events it wants."""

    url: str
    secret: str
    events: tuple[str, ...]
    offers: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    @property
    def key(self) -> bytes:
        """The signing key: the secret's base64 part, decoded."""
        return base64.b64decode(self.secret.removeprefix(SECRET_PREFIX))

    def wants(self, event_type: str, offer_slug: str | None = None, offer_tags: tuple[str, ...] = ()) -> bool:
        """Whether this endpoint is owed an event of ``event_type`` about an offer with this slug and tags."""
        if event_type not in self.events:
            return False
        if event_type in CONTACT_EVENTS or offer_slug is None:
            return True
        if self.offers and offer_slug not in self.offers:
            return False
        return not self.tags or bool(set(self.tags) & set(offer_tags))


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` and 32 random bytes in base64 (24 to 64 bytes is the spec's range)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def load_endpoints(settings: Mapping[str, Any]) -> tuple[Endpoint, ...]:
    """The ``[[webhooks]]`` tables of the settings (``WEBHOOKS``), checked; raises :class:`EndpointError`."""
    raw = settings.get("WEBHOOKS")
    where = str(Path(str(settings.get("INSTANCE_DIR") or "instance")) / "config.toml")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise EndpointError(f'{where}: webhooks must be written as [[webhooks]] tables, each with url = "https://…" and secret = "whsec_…"')
    endpoints = [parse_endpoint(f"{where}: [[webhooks]] #{n}", item) for n, item in enumerate(raw, start=1)]
    seen: set[str] = set()
    for n, endpoint in enumerate(endpoints, start=1):
        if endpoint.url in seen:
            raise EndpointError(f"{where}: [[webhooks]] #{n}: url {endpoint.url!r} is already the url of an earlier table; merge the two")
        seen.add(endpoint.url)
    return tuple(endpoints)


def parse_endpoint(where: str, item: Any) -> Endpoint:
    """One ``[[webhooks]]`` table; ``where`` names it in messages (file and table number)."""
    if not isinstance(item, dict):
        raise EndpointError(f"{where}: must be a table with url, secret and events")
    unknown = [key for key in item if key not in KEYS]
    if unknown:
        hint = difflib.get_close_matches(unknown[0], KEYS, n=1)
        also = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise EndpointError(f"{where}: unknown key {unknown[0]!r}{also}; a webhook takes {', '.join(KEYS)}")
    url = item.get("url")
    if not isinstance(url, str) or not url.strip():
        raise EndpointError(f'{where}: needs url = "https://…", the address that receives the events')
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointError(
            f"{where}: url {url!r} is not an http:// or https:// address; write it like https://crm.example.com/hooks/leads"
        )
    if parts.username or parts.password:
        raise EndpointError(f"{where}: url {url!r} carries a user name or password; receivers verify the signature instead, so remove it")
    secret = item.get("secret")
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise EndpointError(f'{where}: needs secret = "whsec_…" (base64 after whsec_); `leadmagnet webhooks add URL` generates one')
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise EndpointError(f"{where}: secret is not base64 after whsec_; generate a new one with `leadmagnet webhooks add URL`") from None
    if not 24 <= len(key) <= 64:
        raise EndpointError(f"{where}: secret decodes to {len(key)} bytes; it must be 24 to 64 (`leadmagnet webhooks add URL` makes 32)")
    events = _strings(where, item, "events", list(EVENTS))
    for event in events:
        if event not in EVENTS:
            hint = difflib.get_close_matches(event, EVENTS, n=1)
            also = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise EndpointError(f"{where}: events: {event!r} is not an event{also}; use any of {', '.join(EVENTS)}")
    if not events:
        raise EndpointError(f"{where}: events is empty; list at least one of {', '.join(EVENTS)} (or leave the key out for all)")
    return Endpoint(
        url=url.strip(),
        secret=secret,
        events=tuple(events),
        offers=tuple(_strings(where, item, "offers", [])),
        tags=tuple(_strings(where, item, "tags", [])),
    )


def _strings(where: str, item: Mapping[str, Any], key: str, default: list[str]) -> list[str]:
    value = item.get(key, default)
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise EndpointError(f'{where}: {key} must be a list of names, like {key} = ["{default[0] if default else "example"}"]')
    return [v.strip() for v in value]


def append_endpoint(config_path: Path, endpoint: Endpoint) -> None:
    """Append ``endpoint`` as a ``[[webhooks]]`` table to ``config_path`` (created if missing).

    The file is only appended to: the marketer's other lines and comments stay as they are.
    Values are written as TOML basic strings (JSON's escaping is valid TOML for them).
    """
    lines = ["", "[[webhooks]]", f"url = {json.dumps(endpoint.url)}", f"secret = {json.dumps(endpoint.secret)}"]
    lines.append("events = [" + ", ".join(json.dumps(e) for e in endpoint.events) + "]")
    if endpoint.offers:
        lines.append("offers = [" + ", ".join(json.dumps(o) for o in endpoint.offers) + "]")
    if endpoint.tags:
        lines.append("tags = [" + ", ".join(json.dumps(t) for t in endpoint.tags) + "]")
    config_path.parent.mkdir(parents=True, exist_ok=True)
    before = config_path.read_text(encoding="utf-8") if config_path.exists() else ""
    text = "\n".join(lines) + "\n"
    if not before or before.endswith("\n\n"):
        text = text.lstrip("\n")
    elif not before.endswith("\n"):
        text = "\n" + text
    with config_path.open("a", encoding="utf-8") as fh:
        fh.write(text)
