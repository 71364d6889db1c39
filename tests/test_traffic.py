"""Device class and referrer domain: the documented rules, and the store's SQL taking the same steps."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadmagnet.foundation.traffic import clean_value, device_class, referrer_domain
from leadmagnet.store import Store
from leadmagnet.store.rollups import device_sql, referrer_sql

AGENTS = {
    # phones
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1": "phone",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36": "phone",
    "Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0": "phone",
    "Opera/9.80 (J2ME/MIDP; Opera Mini/9.80 (S60; SymbOS; Opera Mobi/23.348; U; en) Presto/2.5.25 Version/10.54": "phone",
    "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0 Mobile Safari/537.36 Edge/15.15063": "phone",
    "BlackBerry9700/5.0.0.351 Profile/MIDP-2.1 Configuration/CLDC-1.1": "phone",
    # tablets
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1": "tablet",
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36": "tablet",
    "Mozilla/5.0 (Android 13; Tablet; rv:121.0) Gecko/121.0 Firefox/121.0": "tablet",
    "Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/120.1 like Chrome/120.0 Safari/537.36": "tablet",
    # desktops (and what the rule knowingly calls a desktop)
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36": "desktop",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15": "desktop",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0": "desktop",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)": "desktop",
    "curl/8.4.0": "desktop",
    "": "",
    "   ": "",
}

REFERRERS = {
    "https://www.google.com/search?q=lead+magnet": "google.com",
    "https://WWW.Example.COM:8443/path": "example.com",
    "http://user:secret@news.ycombinator.com/item?id=1": "news.ycombinator.com",
    "https://t.co/abc#frag": "t.co",
    "android-app://com.google.android.gm/": "com.google.android.gm",
    "example.org/page": "example.org",
    "https://l.facebook.com?u=x": "l.facebook.com",
    "": "",
    "https://" + "a" * 150 + ".com/": "a" * 100,
}


@pytest.mark.parametrize(("agent", "expected"), AGENTS.items())
def test_device_class_follows_the_documented_rule(agent: str, expected: str) -> None:
    assert device_class(agent) == expected


@pytest.mark.parametrize(("referrer", "expected"), REFERRERS.items())
def test_referrer_domain_is_the_host_without_www_user_or_port(referrer: str, expected: str) -> None:
    assert referrer_domain(referrer) == expected


def test_the_stores_sql_gives_what_python_gives(tmp_path: Path) -> None:
    store = Store(tmp_path / "rules.db")
    weird = ["ÉCOLE.example", "mobile", "ANDROID", " https://www.x.io ", "https://x.io?a=//b", "www.", "//", "a@b@c.d:1:2"]
    # The delimiters in every order (the SQL cuts at the earliest of / ? # in one step), blanks.
    weird += ["https://h.io#f/p?q", "https://h.io?q#f/p", "h.io/p?q#f", "u@h.io/p@q", "h.io#u@x", "  ", "?", "#/"]
    for agent in [*AGENTS, *weird, None]:
        [row] = store.query(f"SELECT {device_sql(':x')} AS v", {"x": agent})
        assert row["v"] == device_class(agent), agent
    for referrer in [*REFERRERS, *weird, None]:
        [row] = store.query(f"SELECT {referrer_sql(':x')} AS v", {"x": referrer})
        assert row["v"] == referrer_domain(referrer), referrer


def test_utm_values_are_cleaned_like_the_stores_sql() -> None:
    assert clean_value(" Spring\x00Sale ") == "springsale"
    assert clean_value("ÉTÉ") == "ÉtÉ"  # non-ASCII letters keep their case, as in SQLite's lower()
    assert len(clean_value("x" * 500)) == 100
    assert clean_value(None) == ""
