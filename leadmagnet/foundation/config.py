"""The settings registry: every ``LEADMAGNET_*`` setting, declared once.

Each :class:`Setting` has a name, a default and a help text. The app factory derives its
defaults from this list, ``leadmagnet settings`` prints it, and ``tests/test_docs.py`` checks
that the README documents every entry, so a setting cannot exist without being documented.

Settings are read, later winning over earlier: the defaults below, then ``instance/config.toml``
(or ``instance/config.py``), then environment variables ``LEADMAGNET_<NAME>``, then the
``overrides`` passed to ``create_app`` (tests use these).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadmagnet.foundation import database_url

ENV_PREFIX = "LEADMAGNET"


@dataclass(frozen=True)
class Setting:
    """One configuration setting: its name (without prefix), default and help."""

    name: str
    default: Any
    help: str

    @property
    def env(self) -> str:
        return f"{ENV_PREFIX}_{self.name}"


SETTINGS: list[Setting] = [
    Setting(
        "CONTENT_DIR",
        "content",
        "Folder of offer Markdown files (relative to the working directory). Left unset and missing: the server shows the bundled sample offers.",
    ),
    Setting("THEMES_DIR", "themes", "Folder of site themes; `themes/<name>/` overrides or extends the bundled `default` theme."),
    Setting("INSTANCE_DIR", "instance", "Per-install folder: `config.toml`, the secret key, the database, the outbox. Never committed."),
    Setting("SITE_NAME", "leadmagnet", "Site name shown in page titles, Open Graph tags and email sender names."),
    Setting(
        "BASE_URL",
        "http://127.0.0.1:5000",
        "Public address of the site, used for canonical URLs, the sitemap, absolute links in emails and the form action of statically exported pages.",
    ),
    Setting(
        "SECRET_KEY",
        None,
        "Key that signs download links and admin sessions. Generated into `instance/secret_key` (mode 0600) on first run when unset.",
    ),
    Setting(
        "DATABASE",
        None,
        "The database: an SQLite file's path (or `sqlite:///path`), or `postgresql://user:password@host/database` for several nodes (see Running in production). Default: `leadmagnet.db` in the instance folder.",
    ),
    Setting("INDEX_PAGE", True, "Serve `/` as a list of the published offers. Set to `false` to answer 404 there."),
    Setting("DEFAULT_THEME", "default", "Theme used by offers that do not set `theme:`."),
    Setting(
        "RELOAD_INTERVAL", 1.0, "Seconds between checks for changed content and theme files (0: check on every request; -1: never reload)."
    ),
    Setting("PAGE_MAX_AGE", 300, "Seconds that browsers and CDNs may cache a landing page (`Cache-Control: max-age`)."),
    Setting(
        "SEATS_LEFT_SHOWN",
        10,
        'A webinar page with a `capacity` says "Only N seats left" once this many seats or fewer remain (0: only "full" is shown).',
    ),
    # -- capture (issue 3)
    Setting(
        "RATE_LIMIT",
        "10/minute",
        "Form submissions allowed per visitor address and offer, like `10/minute` or `100 per hour`; `off` disables the limit. Shared by all workers.",
    ),
    Setting(
        "TRUSTED_PROXIES",
        0,
        "Number of reverse proxies in front of leadmagnet whose `X-Forwarded-For` is trusted for the visitor's address (0: use the connection's address).",
    ),
    Setting(
        "IP_MARKER",
        "truncate",
        "What is kept of a visitor's IP address with a submission: `truncate` (IPv4 /24, IPv6 /48), `hash` (salted with the secret key, changing daily) or `none`.",
    ),
    Setting(
        "DUPLICATE_WINDOW",
        600,
        "Seconds during which the same email submitting the same offer again makes no new submission (0: keep every one).",
    ),
    Setting(
        "MIN_FILL_SECONDS",
        2.0,
        "A form filled faster than this (measured in the browser by `lead.js`) is stored as spam. Forms sent without JavaScript are never timed.",
    ),
    Setting("CHECK_DELIVERABILITY", False, "Also check that an email address's domain can receive mail (a DNS look-up per submission)."),
    Setting("MAX_CONTENT_LENGTH", 65536, "Largest form submission accepted, in bytes; larger ones get a 413 page."),
    Setting("VIEW_FLUSH_SECONDS", 10.0, "Seconds between writes of the batched landing-page view counts to the database."),
    # -- delivery (issue 4)
    Setting(
        "DOWNLOAD_TTL", 604800, "Seconds a download or confirmation link stays valid (default 7 days); an expired link offers a fresh one."
    ),
    Setting(
        "DOUBLE_OPT_IN", False, "Ask every visitor to confirm their address by email before delivering (an offer's `double_opt_in:` wins)."
    ),
    Setting("SMTP_HOST", "", "SMTP server for outgoing email. Empty: emails are written as `.eml` files under `instance/outbox/`."),
    Setting("SMTP_PORT", 587, "Port of the SMTP server."),
    Setting("SMTP_USERNAME", "", "SMTP login name (empty: no login)."),
    Setting("SMTP_PASSWORD", "", "SMTP password."),
    Setting("SMTP_STARTTLS", True, "Upgrade the SMTP connection with STARTTLS before logging in."),
    Setting("SMTP_FROM", "leadmagnet@localhost", "Sender address of every email; the site name is the sender name."),
    Setting("MAIL_MAX_ATTEMPTS", 8, "Delivery attempts per email before it is marked failed."),
    Setting("MAIL_RETRY_SECONDS", 60, "Wait before the first retry of a failed email; doubles after each further failure."),
    Setting(
        "SEND_IN_SERVER",
        False,
        "Also run the email sender inside the web server process (instead of `leadmagnet send --watch`); `leadmagnet serve` does unless this is set.",
    ),
    Setting(
        "KEEP_SENT_EMAILS_DAYS",
        30,
        "Days a sent email's full text (links, attachments) is kept; then only its record stays (to, subject, when). 0: keep it forever.",
    ),
    Setting("SEND_INTERVAL", 10.0, "Seconds between outbox checks of `leadmagnet send --watch` and of the in-server sender."),
    Setting(
        "REMINDER_MINUTES", 60, "Minutes before a webinar starts when `leadmagnet send` queues a reminder to each registrant (0: none)."
    ),
    Setting("RESEND_RATE_LIMIT", "3/hour", "Fresh download links a visitor may ask for per submission, from an expired link's page."),
    # -- export and admin (issue 5)
    Setting(
        "ADMIN_LOGIN_LIMIT",
        "5/minute",
        "Admin login attempts allowed per visitor address (and per email), like `5/minute`; `off` disables the limit.",
    ),
    Setting("ADMIN_SESSION_HOURS", 8, "Hours an admin stays logged in without activity before having to log in again."),
    Setting(
        "ADMIN_TIMEZONE",
        "UTC",
        "Time zone the admin shows times in, as an IANA name like `Europe/Paris` or `America/New_York`; the database keeps UTC.",
    ),
    # -- webhooks (issue 18)
    Setting(
        "WEBHOOK_RETRY_SECONDS",
        60.0,
        "Wait before the first retry of a webhook that failed (no answer, 408, 409, 429, 5xx); doubles after each further failure, for up to 3 days.",
    ),
    Setting("WEBHOOK_TIMEOUT", 15.0, "Seconds a webhook receiver has to answer before the attempt counts as failed (and is retried)."),
    Setting(
        "WEBHOOK_DISABLE_AFTER",
        20,
        "Consecutive failed attempts after which a webhook endpoint is disabled (about 3 days of failures at the default retry); 0: never.",
    ),
    Setting(
        "WEBHOOK_KEEP_DAYS",
        30,
        "Days a webhook event's body (personal data) is kept once every endpoint has it or has failed for good; 0: keep it forever.",
    ),
    Setting(
        "WEBHOOK_ALLOW_PRIVATE",
        False,
        "Allow webhooks to loopback, private and link-local addresses (a receiver on the same machine or network). Off: refused after DNS resolution.",
    ),
    # -- brand (issue 16): also written as a [brand] table in config.toml (name = ..., primary = ...)
    Setting("BRAND_NAME", "", "Brand name in the page header and footer (empty: `LEADMAGNET_SITE_NAME`)."),
    Setting("BRAND_LOGO", "", "Logo shown in the header: an SVG or PNG path under the content folder (empty: the name as text)."),
    Setting(
        "BRAND_PRIMARY",
        "#0b57d0",
        "Brand colour of buttons (under white text) and links; needs 4.5:1 contrast on white (`check` refuses less).",
    ),
    Setting("BRAND_ACCENT", "#8a4b00", "Accent colour of kickers, icons and quote marks on white; needs 4.5:1 contrast on white."),
    Setting("BRAND_FONT", "", "CSS font-family list of the pages (default: the system font stack, nothing downloaded)."),
    Setting(
        "BRAND_FONT_FILE",
        "",
        "A self-hosted font file under the content folder (`.woff2`), declared as the first family of `LEADMAGNET_BRAND_FONT`, preloaded, `font-display: swap`.",
    ),
    Setting("BRAND_PRIVACY_URL", "", "Privacy policy link in the footer and next to the form's consent box (empty: none)."),
    Setting("BRAND_IMPRINT_URL", "", "Imprint (legal notice) link in the footer (empty: none)."),
]

_BY_NAME = {s.name: s for s in SETTINGS}

# How a default reads in the README and ``leadmagnet settings`` when its value says too little.
_SHOWN_DEFAULTS = {"SECRET_KEY": "(generated)", "DATABASE": "(instance)/leadmagnet.db", "BRAND_FONT": "(system fonts)"}


def shown_default(setting: Setting) -> str:
    """A setting's default as a person would write it in ``config.toml`` or the environment."""
    if setting.name in _SHOWN_DEFAULTS:
        return _SHOWN_DEFAULTS[setting.name]
    if isinstance(setting.default, bool):
        return "true" if setting.default else "false"
    if setting.default is None:
        return "(unset)"
    return "(empty)" if setting.default == "" else str(setting.default)


def defaults() -> dict[str, Any]:
    """Return every setting's default, keyed by its bare name (``CONTENT_DIR``)."""
    return {s.name: s.default for s in SETTINGS}


def coerce(name: str, value: Any) -> Any:
    """Convert a string from the environment to the type of the setting's default."""
    setting = _BY_NAME.get(name)
    if setting is None or not isinstance(value, str):
        return value
    default = setting.default
    if isinstance(default, bool):
        low = value.strip().lower()
        if low in {"1", "true", "yes", "on"}:
            return True
        if low in {"0", "false", "no", "off"}:
            return False
        raise ValueError(f"{setting.env}: {value!r} is not a boolean (use true or false)")
    if isinstance(default, float):
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"{setting.env}: {value!r} is not a number") from None
    if isinstance(default, int):
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"{setting.env}: {value!r} is not a whole number") from None
    return value


def read_instance_file(instance_dir: Path) -> dict[str, Any]:
    """Read ``config.toml`` (or ``config.py``) from the instance folder, if present.

    Keys may be written as in the environment (``LEADMAGNET_SITE_NAME``), bare (``SITE_NAME``)
    or lower case (``site_name``); tables (such as ``[crm.my-preset]``) are kept as nested dicts.
    """
    toml_path = instance_dir / "config.toml"
    py_path = instance_dir / "config.py"
    raw: dict[str, Any] = {}
    if toml_path.is_file():
        import tomllib  # only for an instance with a config.toml: not a cost of every start

        try:
            raw = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{toml_path}: {exc}") from None
    elif py_path.is_file():
        namespace: dict[str, Any] = {}
        exec(compile(py_path.read_text(encoding="utf-8"), str(py_path), "exec"), namespace)  # noqa: S102 - the site owner's own config file
        raw = {k: v for k, v in namespace.items() if k.isupper()}
    return {normalise_key(k): v for k, v in flatten_brand(raw, toml_path if toml_path.is_file() else py_path).items()}


def flatten_brand(raw: dict[str, Any], source: Path) -> dict[str, Any]:
    """A ``[brand]`` table (``primary = "#0b57d0"``) as the settings it stands for (``BRAND_PRIMARY``)."""
    table = next((raw[k] for k in list(raw) if k.lower() == "brand" and isinstance(raw[k], dict)), None)
    if table is None:
        return raw
    from leadmagnet.foundation.brand import KEYS

    flat = {k: v for k, v in raw.items() if k.lower() != "brand"}
    for key, value in table.items():
        if str(key).lower() not in KEYS:
            raise ValueError(f"{source}: [brand] has no key {key!r}; use one of: {', '.join(KEYS)}")
        flat[f"BRAND_{str(key).upper()}"] = value
    return flat


def normalise_key(key: str) -> str:
    """``leadmagnet_site_name`` / ``LEADMAGNET_SITE_NAME`` / ``site_name`` -> ``SITE_NAME``."""
    key = key.upper()
    prefix = ENV_PREFIX + "_"
    return key[len(prefix) :] if key.startswith(prefix) else key


def from_environ(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Collect ``LEADMAGNET_*`` environment variables, coerced to their settings' types."""
    environ = dict(os.environ if environ is None else environ)
    prefix = ENV_PREFIX + "_"
    return {key[len(prefix) :]: coerce(key[len(prefix) :], value) for key, value in environ.items() if key.startswith(prefix)}


def resolve(overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Merge defaults, the instance file, the environment and overrides into one dict.

    Paths are made absolute against the working directory, because Flask's own instance
    discovery would move a non-editable install's instance folder under ``$PREFIX/var``.
    """
    overrides = {normalise_key(k): v for k, v in (overrides or {}).items()}
    env = from_environ(environ)
    instance_dir = _instance_dir(overrides, env)
    merged = defaults()
    merged.update({k: coerce(k, v) for k, v in read_instance_file(instance_dir).items()})
    merged.update(env)
    merged.update(overrides)
    merged["INSTANCE_DIR"] = str(instance_dir)
    merged["THEMES_DIR"] = str(Path(merged["THEMES_DIR"]).expanduser().resolve())
    merged["CONTENT_DIR"] = str(Path(merged["CONTENT_DIR"]).expanduser().resolve())
    merged["DATABASE"] = database_url.normalise(merged.get("DATABASE"), instance_dir)
    merged["BASE_URL"] = str(merged["BASE_URL"]).rstrip("/")
    return merged


def _instance_dir(overrides: dict[str, Any], env: dict[str, Any]) -> Path:
    return Path(overrides.get("INSTANCE_DIR") or env.get("INSTANCE_DIR") or _BY_NAME["INSTANCE_DIR"].default).expanduser().resolve()


def is_set(name: str, overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> bool:
    """Whether setting ``name`` was given (overrides, environment or instance file), not left at its default."""
    overrides = {normalise_key(k): v for k, v in (overrides or {}).items()}
    env = from_environ(environ)
    return name in overrides or name in env or name in read_instance_file(_instance_dir(overrides, env))


MIN_SECRET_KEY_LENGTH = 32  # characters; a generated key has 64 hex digits


def ensure_secret_key(instance_dir: Path) -> str:
    """Return the install's secret key, creating ``instance/secret_key`` (mode 0600) if needed.

    Workers starting at once race here. The key is written whole to a private temporary file and
    then hard-linked into place (``os.link`` fails if the name exists), so a reader never sees a
    half-written file, and every worker ends up with the one key that won. An empty or short key
    is refused: tokens signed with it could be forged.
    """
    instance_dir.mkdir(parents=True, exist_ok=True)
    path = instance_dir / "secret_key"
    if not path.exists():
        import secrets  # once per install, when the key is made: not a cost of every start
        import tempfile

        fd, tmp = tempfile.mkstemp(prefix=".secret_key.", dir=instance_dir)  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(secrets.token_hex(32) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            with contextlib.suppress(FileExistsError):  # another worker won: use its key
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise ValueError(
            f"{path}: the secret key is empty or shorter than {MIN_SECRET_KEY_LENGTH} characters; "
            "delete the file to have a new one generated (links already sent stop working), or write a long random key into it"
        )
    return key
