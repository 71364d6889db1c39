"""Signed links: each purpose has its own salt, tampering fails, expiry keeps the payload."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from leadmagnet.foundation import tokens

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


# -- links to a row: id and stamp ----------------------------------------------------------------

CREATED = "2026-03-01T10:00:00.123456+00:00"


def test_a_row_link_carries_the_id_and_a_short_stamp_of_the_creation_time() -> None:
    token = tokens.dump_row(KEY, "download", 7, CREATED)
    assert tokens.load(KEY, "download", token) == [7, tokens.row_stamp(CREATED)]
    link = tokens.load_row(KEY, "download", token)
    assert (link.id, link.stamp, link.extra) == (7, tokens.row_stamp(CREATED), ())
    assert len(link.stamp) == tokens.STAMP_LENGTH and CREATED not in token
    assert tokens.load_row(KEY, "thanks", tokens.dump_row(KEY, "thanks", 7, CREATED, "inbox")).extra == ("inbox",)


def test_a_stamped_link_names_only_the_row_it_was_made_for() -> None:
    link = tokens.load_row(KEY, "unsubscribe", tokens.dump_row(KEY, "unsubscribe", 1, CREATED))
    assert link.names(CREATED)
    assert not link.names("2026-03-01T10:00:00.123457+00:00")  # same id, a later row
    # even one created before the link was signed: a stamp is not a time window
    assert not link.names("2020-01-01T00:00:00+00:00")


def test_links_from_before_stamps_name_only_rows_that_existed_when_they_were_signed() -> None:
    signed = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC).timestamp()
    for payload, extra in ((3, ()), ([3], ()), ([3, "inbox"], ("inbox",))):
        link = tokens.load_row(KEY, "thanks", tokens.dump(KEY, "thanks", payload, issued_at=signed))
        assert (link.id, link.stamp, link.extra, link.signed) == (3, None, extra, signed)
        assert link.names("2026-06-01T11:59:59.999999+00:00")
        assert link.names("2025-01-01T00:00:00+00:00")  # a time written without microseconds
        # signing times are whole seconds: a row written in that second is the link's own
        assert link.names("2026-06-01T12:00:00.999999+00:00")
        # a row created after the link was signed took the id of an erased one (before or after
        # the upgrade alike): never the link's
        assert not link.names("2026-06-01T12:00:01+00:00")
        assert not link.names("2026-06-02T00:00:00+00:00")
        assert not link.names("not a time")


def test_a_row_link_payload_must_start_with_an_integer_id() -> None:
    for payload in ([], ["1"], [True], True, None, {"id": 1}, [1.5], "1", [0], [-1], [2**63], [[1]]):
        with pytest.raises(tokens.BadToken):
            tokens.load_row(KEY, "download", tokens.dump(KEY, "download", payload))


def test_an_expired_row_link_is_expired_not_bad() -> None:
    old = tokens.dump_row(KEY, "confirm", 4, CREATED, issued_at=time.time() - 100)
    with pytest.raises(tokens.ExpiredToken):
        tokens.load_row(KEY, "confirm", old, max_age=50)


def test_short_payloads_are_signed_as_itsdangerous_signs_them_and_either_form_loads() -> None:
    from itsdangerous import URLSafeTimedSerializer

    plain = URLSafeTimedSerializer(KEY, salt="leadmagnet.thanks")
    created = "2026-01-01T00:00:00.000000+00:00"
    ours = tokens.dump_row(KEY, "thanks", 12, created, "inbox")
    theirs = plain.dumps([12, tokens.row_stamp(created), "inbox"])
    assert ours.split(".")[0] == theirs.split(".")[0]  # the same payload bytes (the time part may differ)
    # A payload zlib does shorten: itsdangerous' compressed form ("." first) loads, and ours too.
    long = ["x" * 200]
    assert plain.dumps(long).startswith(".")
    assert tokens.load(KEY, "thanks", plain.dumps(long)) == long
    assert tokens.load(KEY, "thanks", tokens.dump(KEY, "thanks", long)) == long
    assert tokens.load_row(KEY, "thanks", theirs).extra == ("inbox",)
