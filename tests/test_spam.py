"""Spam verdicts: the honeypot and the minimum fill time, measured on the visitor's own clock."""

from __future__ import annotations

import pytest

from leadmagnet.leads.spam import verdict


def test_an_empty_honeypot_without_form_ts_is_a_person() -> None:
    assert verdict("", "", 2.0) is None


def test_anything_in_the_honeypot_is_spam_even_when_slow() -> None:
    assert verdict("http://spam.example", "1700000000000-1700000060000", 2.0) == "honeypot"
    assert verdict("  x ", "", 2.0) == "honeypot"


@pytest.mark.parametrize(
    ("form_ts", "expected"),
    [
        ("1700000000000-1700000000400", "too fast: 0.4 s"),
        ("1700000000000-1700000001999", "too fast: 2.0 s"),  # 1.999 s is still under 2 s
        ("1700000000000-1700000002000", None),
        ("1700000000000-1700000030000", None),
        ("1700000005000-1700000000000", "too fast: 0.0 s"),  # submitted before it loaded: forged
        ("yesterday", "malformed form_ts"),
        ("1700000000000-", "malformed form_ts"),
    ],
)
def test_fill_time_from_both_browser_timestamps(form_ts: str, expected: str | None) -> None:
    assert verdict("", form_ts, 2.0) == expected


def test_load_time_alone_is_compared_with_the_server_clock() -> None:
    loaded_ms = 1_700_000_000_000
    assert verdict("", str(loaded_ms), 2.0, now=loaded_ms / 1000 + 0.5) == "too fast: 0.5 s"
    assert verdict("", str(loaded_ms), 2.0, now=loaded_ms / 1000 + 10) is None
    # a visitor whose clock is ahead of ours is not judged
    assert verdict("", str(loaded_ms), 2.0, now=loaded_ms / 1000 - 30) is None


def test_min_fill_zero_turns_the_timer_off() -> None:
    assert verdict("", "1700000000000-1700000000001", 0) is None
