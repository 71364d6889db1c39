"""The [campaigns] table of config.toml: spend and currency per utm_campaign, and clear messages."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from leadmagnet.foundation import config
from leadmagnet.foundation.campaigns import Campaign, CampaignError, cost_per_lead, parse_campaigns


def test_a_campaigns_table_from_config_toml(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[campaigns]\nspring-launch = { spend = 1200, currency = "EUR" }\n"Black Friday" = { spend = 350.50, currency = "usd" }\n',
        encoding="utf-8",
    )
    raw = config.resolve({"INSTANCE_DIR": str(tmp_path)}, environ={})["CAMPAIGNS"]
    assert parse_campaigns(raw) == {
        "spring-launch": Campaign("spring-launch", Decimal("1200"), "EUR"),
        "black friday": Campaign("black friday", Decimal("350.5"), "USD"),
    }
    assert parse_campaigns(None) == {}


def test_cost_per_lead_is_rounded_to_the_cent() -> None:
    campaign = Campaign("x", Decimal("100"), "EUR")
    assert cost_per_lead(campaign, 3) == Decimal("33.33")
    assert cost_per_lead(campaign, 0) is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (["spring"], "instance/config.toml [campaigns] must be a table of campaigns"),
        ({"spring": 100}, "instance/config.toml [campaigns] 'spring': write spend and currency as a table"),
        ({"spring": {"spend": 1}}, "'spring': currency is missing"),
        ({"spring": {"currency": "EUR"}}, "'spring': spend is missing"),
        ({"spring": {"spend": "a lot", "currency": "EUR"}}, "'spring': spend must be a number such as 1200 or 350.50, not 'a lot'"),
        ({"spring": {"spend": True, "currency": "EUR"}}, "spend must be a number"),
        ({"spring": {"spend": -5, "currency": "EUR"}}, "'spring': spend must be zero or more"),
        ({"spring": {"spend": 1.234, "currency": "EUR"}}, "'spring': spend has more than two decimals"),
        ({"spring": {"spend": 1, "currency": "EURO"}}, "'spring': currency 'EURO' is not an ISO 4217 code"),
        ({"spring": {"spend": 1, "currency": "EUR", "budget": 3}}, "'spring': unknown key 'budget'"),
        ({"Spring": {"spend": 1, "currency": "EUR"}, "spring": {"spend": 2, "currency": "EUR"}}, "are the same campaign once lower-cased"),
    ],
)
def test_a_malformed_table_says_which_key_and_what_to_write(raw, message: str) -> None:
    with pytest.raises(CampaignError) as caught:
        parse_campaigns(raw)
    assert message in str(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(CampaignError) as caught:
        parse_campaigns({"a": {"spend": "x", "currency": "EUR"}, "b": {"spend": 1, "currency": "ZZZ"}})
    assert str(caught.value).count("\n") == 1 and "'a'" in str(caught.value) and "'b'" in str(caught.value)
