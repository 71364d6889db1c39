"""What ``LEADMAGNET_DATABASE`` names: an SQLite file, or a PostgreSQL database by URL.

Three spellings are accepted: a plain path (``instance/leadmagnet.db``), ``sqlite:///path``
(SQLAlchemy's form: ``sqlite:///relative.db``, ``sqlite:////absolute.db``) and
``postgresql://user:password@host:port/database`` (libpq's URL, any of its query parameters such
as ``?sslmode=require``; ``postgres://`` is the same). :func:`normalise` turns the first two into
an absolute path and leaves a PostgreSQL URL as ``postgresql://``, so the store, the CLI and the
build see one spelling each. Anything else with a ``scheme://`` is refused with the forms that work.

A URL may carry a password: :func:`masked` is what every message and log line shows instead.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
MASK = "***"

_FORMS = "a file path, sqlite:///path or postgresql://user:password@host/database"


def backend(value: str) -> str:
    """``"postgresql"`` for a PostgreSQL URL, ``"sqlite"`` for anything else (a path, ``sqlite:///``)."""
    return POSTGRESQL if value.startswith(("postgresql://", "postgres://")) else SQLITE


def normalise(value: str | Path | None, instance_dir: Path) -> str:
    """The setting as the store takes it: an absolute SQLite path or a ``postgresql://`` URL.

    Empty means ``leadmagnet.db`` in the instance folder. Raises ValueError, naming the setting
    and the accepted forms, for a URL of another database (``mysql://``) or a malformed one.
    """
    text = str(value or "").strip()
    if not text:
        return str(instance_dir / "leadmagnet.db")
    if text.startswith("postgres://"):
        text = "postgresql://" + text.removeprefix("postgres://")
    if text.startswith("postgresql://"):
        if not urlsplit(text).path.strip("/"):
            raise ValueError(f"LEADMAGNET_DATABASE: {masked(text)} names no database; write postgresql://user:password@host/DATABASE")
        return text
    if text.startswith("sqlite:"):
        if not text.startswith("sqlite:///") or text == "sqlite:///":
            raise ValueError(
                f"LEADMAGNET_DATABASE: {text!r} is not an SQLite URL; write sqlite:///relative/path.db or sqlite:////absolute/path.db"
            )
        text = text.removeprefix("sqlite:///")
    elif "://" in text:
        scheme = text.split("://", 1)[0]
        raise ValueError(f"LEADMAGNET_DATABASE: {scheme}:// databases are not supported; use {_FORMS}")
    if text == ":memory:":
        return text
    return str(Path(text).expanduser().resolve())


def masked(value: str) -> str:
    """The URL with its password (in the user part or a ``password=`` parameter) replaced by ``***``.

    A path, or a URL without a password, is returned unchanged. Use it wherever the setting is
    shown: a log line or a message must never carry the database password.
    """
    if "://" not in value:
        return value
    parts = urlsplit(value)
    netloc = parts.netloc
    userinfo, at, hosts = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.split(':', 1)[0]}:{MASK}@{hosts}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(key == "password" for key, _ in pairs):
            query = urlencode([(key, MASK if key == "password" else val) for key, val in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def scrubbed(text: str, value: str) -> str:
    """``text`` (an error message, say) with the password of URL ``value`` replaced by ``***``."""
    if "://" not in value:
        return text
    parts = urlsplit(value)
    secrets = {parts.password or ""} | {val for key, val in parse_qsl(parts.query) if key == "password"}
    for secret in {s for s in secrets | {unquote(s) for s in secrets} if s}:
        text = text.replace(secret, MASK)
    return text
