"""The ``[campaigns]`` table of ``instance/config.toml``: what each campaign cost, for cost per lead.

::

    [campaigns]
    spring-launch = { spend = 1200, currency = "EUR" }
    "black friday" = { spend = 350.50, currency = "USD" }

A key is a ``utm_campaign`` value as the dashboard counts it (compared lower-cased, as views and
leads are counted); ``spend`` is what the campaign cost over its whole life, a number of at most
two decimals; ``currency`` an ISO 4217 code. Amounts are :class:`~decimal.Decimal` so 0.1 + 0.2
is 0.3 on an invoice. A malformed table raises :class:`CampaignError` naming the key and what to
write instead; the dashboard shows it and goes on without costs, the rest of the site never
depends on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import pycountry

from leadmagnet.foundation.traffic import clean_value

WHERE = "instance/config.toml [campaigns]"
EXAMPLE = 'spring-launch = { spend = 1200, currency = "EUR" }'


class CampaignError(ValueError):
    """The ``[campaigns]`` table cannot be read; the message says which key and what to write."""


@dataclass(frozen=True)
class Campaign:
    name: str
    spend: Decimal
    currency: str


def parse_campaigns(raw: Any) -> dict[str, Campaign]:
    """The campaigns by their counted ``utm_campaign`` value; ``{}`` when the table is absent.

    Every problem is collected, so one read of the message fixes them all.
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise CampaignError(f"{WHERE} must be a table of campaigns, one line each, such as: {EXAMPLE}")
    found: dict[str, Campaign] = {}
    problems: list[str] = []
    for name, entry in raw.items():
        try:
            campaign = _campaign(str(name), entry)
        except CampaignError as exc:
            problems.append(str(exc))
            continue
        if campaign.name in found:
            problems.append(f"{WHERE}: {name!r} and another key are the same campaign once lower-cased; keep one")
            continue
        found[campaign.name] = campaign
    if problems:
        raise CampaignError("\n".join(problems))
    return found


def _campaign(name: str, entry: Any) -> Campaign:
    key = clean_value(name)
    where = f"{WHERE} {name!r}"
    if not key:
        raise CampaignError(f"{WHERE}: a campaign's name cannot be empty")
    if not isinstance(entry, dict):
        raise CampaignError(f"{where}: write spend and currency as a table, such as: {EXAMPLE}")
    unknown = sorted(set(entry) - {"spend", "currency"})
    if unknown:
        raise CampaignError(f"{where}: unknown key {unknown[0]!r}; a campaign takes spend and currency")
    if "spend" not in entry or "currency" not in entry:
        missing = "spend" if "spend" not in entry else "currency"
        raise CampaignError(f"{where}: {missing} is missing, as in: {EXAMPLE}")
    spend = entry["spend"]
    if isinstance(spend, bool) or not isinstance(spend, int | float | str):
        raise CampaignError(f"{where}: spend must be a number such as 1200 or 350.50, not {spend!r}")
    try:
        amount = Decimal(str(spend).strip())
    except InvalidOperation:
        raise CampaignError(f"{where}: spend must be a number such as 1200 or 350.50, not {spend!r}") from None
    if not amount.is_finite() or amount < 0:
        raise CampaignError(f"{where}: spend must be zero or more, not {spend!r}")
    if amount != amount.quantize(Decimal("0.01")):
        raise CampaignError(f"{where}: spend has more than two decimals ({spend!r}); write it to the cent")
    currency = entry["currency"]
    code = currency.strip().upper() if isinstance(currency, str) else ""
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise CampaignError(f"{where}: currency {currency!r} is not an ISO 4217 code; write one such as EUR, USD or GBP")
    return Campaign(name=key, spend=amount, currency=code)


def cost_per_lead(campaign: Campaign, leads: int) -> Decimal | None:
    """The campaign's spend divided by its leads, to the cent (None without a lead)."""
    if leads <= 0:
        return None
    return (campaign.spend / leads).quantize(Decimal("0.01"))
