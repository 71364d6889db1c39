"""Where a visit came from, as the dashboard groups it: device class, referrer domain, cleaned UTM values.

The same rules serve page views (counted in memory by :mod:`leadmagnet.leads.pageviews`) and
submissions (stored with each row by :mod:`leadmagnet.store.leads`), so a view and the lead it
became land in the same group. They live in the foundation because both the leads room and the
store use them, and rooms on one floor do not import each other.

**Device class** (``phone``, ``tablet``, ``desktop``) is a simple rule on the User-Agent,
case-insensitive, first match wins (:data:`DEVICE_RULES`):

1. ``tablet`` if it names ``ipad``, ``tablet``, ``kindle``, ``silk`` or ``playbook``, or says
   ``android`` without ``mobile`` (Android tablets leave "Mobile" out, as Google asks them to);
2. ``phone`` if it says ``mobi`` (``Mobile``, ``IEMobile``), ``iphone``, ``ipod``, ``android``,
   ``phone``, ``blackberry`` or ``opera mini``;
3. ``desktop`` otherwise; an empty User-Agent is ``""`` (unknown).

It is wrong in known, harmless ways: an iPad on iPadOS 13+ asks for desktop sites and says
"Macintosh", so it counts as a desktop; crawlers count as desktops. A parser library (uap-core's
thousand regular expressions) would name browsers and models we never show, at a cost on every
landing-page view.

**Referrer domain**: the host of the referring URL, lower-cased, without ``www.``, user and port;
``""`` for none (a direct visit, or a browser that sends no referrer).

Both rules are plain string steps on purpose: the store applies them to submissions in SQL
(triggers keep the dashboard's roll-up, see ``m013_dashboard_rollups``), and a test runs both
versions over the same inputs. Letters are lower-cased in ASCII only, as SQLite's ``lower()`` is.
"""

from __future__ import annotations

import functools
import string
import unicodedata

PHONE, TABLET, DESKTOP = "phone", "tablet", "desktop"
DEVICES = (PHONE, TABLET, DESKTOP)

# (class, every one of these, none of these): the first rule that matches wins, else desktop.
DEVICE_RULES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (TABLET, ("ipad",), ()),
    (TABLET, ("tablet",), ()),
    (TABLET, ("kindle",), ()),
    (TABLET, ("silk",), ()),
    (TABLET, ("playbook",), ()),
    (TABLET, ("android",), ("mobile",)),
    (PHONE, ("mobi",), ()),
    (PHONE, ("iphone",), ()),
    (PHONE, ("ipod",), ()),
    (PHONE, ("android",), ()),
    (PHONE, ("phone",), ()),
    (PHONE, ("blackberry",), ()),
    (PHONE, ("opera mini",), ()),
)

# The longest UTM value or referrer domain kept.
VALUE_CAP = 100

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def ascii_lower(text: str) -> str:
    """``text`` with A-Z lower-cased and nothing else changed, as SQLite's ``lower()`` does."""
    return text.translate(_ASCII_LOWER)


@functools.lru_cache(maxsize=4096)
def device_class(user_agent: str | None) -> str:
    """``phone``, ``tablet`` or ``desktop`` for a User-Agent (see the module's rule); ``""`` if empty.

    Cached: a site's visitors share a few hundred User-Agent strings.
    """
    ua = ascii_lower((user_agent or "").strip(" "))
    if not ua:
        return ""
    for kind, every, none in DEVICE_RULES:
        if all(word in ua for word in every) and not any(word in ua for word in none):
            return kind
    return DESKTOP


@functools.lru_cache(maxsize=4096)
def referrer_domain(referrer: str | None) -> str:
    """``https://www.Google.com:443/search?q=x`` -> ``google.com``; ``""`` for none.

    Step by step (the store's SQL takes the same steps): lower-case; keep what follows the
    first ``//``; cut at the first ``/``, ``?`` and ``#``; keep what follows the first ``@``; cut at
    the first ``:``; drop a leading ``www.``; keep 100 characters.
    """
    text = ascii_lower((referrer or "").strip(" "))
    if "//" in text:
        text = text.split("//", 1)[1]
    for stop in "/?#":
        text = text.split(stop, 1)[0]
    text = text.split("@", 1)[1] if "@" in text else text
    text = text.split(":", 1)[0]
    if text.startswith("www."):
        text = text[4:]
    return text[:VALUE_CAP]


@functools.lru_cache(maxsize=4096)
def clean_value(value: str | None) -> str:
    """A UTM value as counted: NFC, printable characters only, trimmed, lower-cased, at most 100 long.

    Cached: a campaign's values come back on every view, and cleaning costs microseconds.
    """
    if not value:
        return ""
    value = unicodedata.normalize("NFC", value)
    value = ascii_lower("".join(ch for ch in value if ch.isprintable()).strip(" "))
    return value[:VALUE_CAP]
