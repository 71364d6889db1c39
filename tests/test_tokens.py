"""Signed links: each purpose has its own salt, tampering fails, expiry keeps the payload."""

from __future__ import annotations

import time

import pytest

from leadmagnet import tokens

KEY = "k" * 64


def test_round_trip_per_purpose() -> None:
    for purpose in tokens.PURPOSES:
        assert tokens.load(KEY, purpose, tokens.dump(KEY, purpose, [42])) == [42]


def test_a_token_for_one_purpose_fails_for_every_other() -> None:
    token = tokens.dump(KEY, "unsubscribe", [7])
    for purpose in set(tokens.PURPOSES) - {"unsubscribe"}:
        with pytest.raises(tokens.BadToken):
            tokens.load(KEY, purpose, token)


def test_tampering_and_other_keys_fail() -> None:
    token = tokens.dump(KEY, "download", [1])
    payload, stamp, sig = token.split(".")
    other = tokens.dump(KEY, "download", [2]).split(".")[0]
    for bad in (f"{other}.{stamp}.{sig}", f"{payload}.{stamp}.{sig[::-1]}", token[:-1], "", "a.b.c"):
        with pytest.raises(tokens.BadToken):
            tokens.load(KEY, "download", bad)
    with pytest.raises(tokens.BadToken):
        tokens.load("another-key", "download", token)


def test_expired_tokens_carry_their_payload_and_are_not_bad_otherwise() -> None:
    old = tokens.dump(KEY, "download", [5], issued_at=time.time() - 100)
    with pytest.raises(tokens.ExpiredToken) as caught:
        tokens.load(KEY, "download", old, max_age=50)
    assert caught.value.payload == [5]
    assert tokens.load(KEY, "download", old, max_age=500) == [5]
    assert tokens.load(KEY, "download", old) == [5]  # no max_age: signature only


def test_unknown_purpose_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown token purpose"):
        tokens.dump(KEY, "reset-password", [1])
