"""The dashboard's charts, breakdowns, funnel and costs, shaped for its template and its CSV downloads.

The figures come from the store's roll-up verbs (:mod:`leadmagnet.store.dashboard`), counted by
UTC day, so the range is a range of UTC dates (``since`` to ``until``, both included). Each table
of the page is also a CSV download (:func:`csv_table`): the same rows, every cell made inert for
spreadsheets by the export's :func:`~leadmagnet.export.formats.neutralise`.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from leadmagnet.export.formats import neutralise
from leadmagnet.foundation.campaigns import Campaign, CampaignError, cost_per_lead, parse_campaigns
from leadmagnet.render.charts import Series, line_chart
from leadmagnet.services import Services
from leadmagnet.store import Store
from leadmagnet.store.dashboard import DIMENSIONS, RESPONSE_SAMPLE

# A breakdown's heading, and how it words the empty value.
BREAKDOWNS = {
    "source": ("utm_source", "(none)"),
    "medium": ("utm_medium", "(none)"),
    "campaign": ("utm_campaign", "(none)"),
    "referrer": ("Referrer domain", "(direct or not sent)"),
    "device": ("Device", "(unknown)"),
}
# The tables a CSV can be downloaded of: the daily numbers, each breakdown, the funnel.
TABLES = ("daily", *DIMENSIONS, "funnel")
# The most days a chart (and its daily table) shows: a longer period shows its last ones; the
# breakdowns and the funnel still cover the whole period.
MAX_CHART_DAYS = 731


def rate(part: int, whole: int) -> float | None:
    """``part / whole``, or None when there is no whole to divide by."""
    return part / whole if whole else None


def percent_text(value: float | None) -> str:
    """A rate as the page writes it (``12.5%``; an en dash for none), as the template's ``pct`` does: the
    day-by-day tables print it per row, where a template macro call per row was most of the page's time."""
    return "–" if value is None else f"{value * 100:.1f}%"


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (``share`` between 0 and 1) of ``values``; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def day_span(first: str | None, after: str | None, counted: Iterable[str]) -> list[str]:
    """Every UTC date of the range: from ``first`` (or the first day counted) to the day before
    ``after`` (or the last day counted, or today), at most :data:`MAX_CHART_DAYS` (the last ones)."""
    seen = sorted(counted)
    if not seen and not (first and after):
        return []
    start = date.fromisoformat(first or seen[0])
    end = date.fromisoformat(after) - timedelta(days=1) if after else max(date.fromisoformat(seen[-1]), datetime.now(UTC).date())
    if end < start:
        return []
    start = max(start, end - timedelta(days=MAX_CHART_DAYS - 1))
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


@dataclass
class Scope:
    """The charts and daily table of one offer, or of every offer (``slug`` None)."""

    slug: str | None
    title: str
    days: list[dict[str, Any]]
    totals: dict[str, Any]
    charts: list[Any] = field(default_factory=list)


def _scope(slug: str | None, title: str, span: list[str], counts: dict[str, dict[str, int]]) -> Scope:
    days = []
    for day in span:
        c = counts.get(day, {})
        views, subs = c.get("views", 0), c.get("submissions", 0)
        conversion = rate(subs, views)
        days.append(
            {"day": day, "views": views, "submissions": subs, "conversion": conversion, "conversion_text": percent_text(conversion)}
        )
    views = sum(d["views"] for d in days)
    subs = sum(d["submissions"] for d in days)
    totals = {"views": views, "submissions": subs, "conversion": rate(subs, views)}
    scope = Scope(slug, title, days, totals)
    if span:
        ident = f"chart-{slug or 'all'}"
        where = f"{span[0]} to {span[-1]}"
        conv = "no views" if totals["conversion"] is None else f"{totals['conversion'] * 100:.1f}% overall"
        best = max(days, key=lambda d: d["submissions"])
        scope.charts = [
            line_chart(
                f"{ident}-views",
                f"{title}: views per day",
                f"{views} views from {where}; the most on {max(days, key=lambda d: d['views'])['day']}.",
                span,
                [Series("Views", [d["views"] for d in days])],
            ),
            line_chart(
                f"{ident}-submissions",
                f"{title}: submissions per day",
                f"{subs} submissions from {where}; the most on {best['day']} ({best['submissions']}).",
                span,
                [Series("Submissions", [d["submissions"] for d in days])],
            ),
            line_chart(
                f"{ident}-conversion",
                f"{title}: conversion rate per day",
                f"Submissions per view each day from {where}: {conv}. Days without views have no rate.",
                span,
                [Series("Conversion", [d["conversion"] for d in days])],
                percent=True,
            ),
        ]
    return scope


def scopes(rows: list[dict[str, Any]], day_lo: str | None, day_hi: str | None, offer_title: Any) -> list[Scope]:
    """Every offer in total first, then each offer with anything counted in the range, by title.

    ``rows`` are the store's :meth:`~leadmagnet.store.Store.daily_counts` of the range.
    """
    span = day_span(day_lo, day_hi, (r["day"] for r in rows))
    total: dict[str, dict[str, int]] = {}
    per_offer: dict[str, dict[str, dict[str, int]]] = {}
    for r in rows:
        for target in (total.setdefault(r["day"], {}), per_offer.setdefault(r["offer_slug"], {}).setdefault(r["day"], {})):
            target["views"] = target.get("views", 0) + r["views"]
            target["submissions"] = target.get("submissions", 0) + r["submissions"]
    found = [_scope(None, "All offers", span, total)]
    for slug in sorted(per_offer, key=lambda s: (str(offer_title(s)).lower(), s)):
        found.append(_scope(slug, str(offer_title(slug)), span, per_offer[slug]))
    return found


def breakdowns(store: Store, day_lo: str | None, day_hi: str | None, campaigns: dict[str, Campaign]) -> list[dict[str, Any]]:
    """Each breakdown with its rows' conversion; the campaigns' with their spend and cost per lead."""
    found = []
    for dimension in DIMENSIONS:
        data = store.breakdown(dimension, day_lo, day_hi)
        heading, empty = BREAKDOWNS[dimension]
        rows = []
        for r in data["rows"]:
            row = {**r, "label": r["value"] or empty, "conversion": rate(r["submissions"], r["views"])}
            if dimension == "campaign":
                campaign = campaigns.get(r["value"])
                row["spend"] = campaign.spend if campaign else None
                row["currency"] = campaign.currency if campaign else None
                row["cost_per_lead"] = cost_per_lead(campaign, r["submissions"]) if campaign else None
            rows.append(row)
        if dimension == "campaign":  # a campaign that paid and brought nothing in the range is worth seeing
            shown = {r["value"] for r in rows}
            for name, campaign in sorted(campaigns.items()):
                if name not in shown:
                    rows.append(
                        {"value": name, "label": name, "views": 0, "submissions": 0, "conversion": None, "spend": campaign.spend}
                        | {"currency": campaign.currency, "cost_per_lead": None}
                    )
        found.append({"dimension": dimension, "heading": heading, "rows": rows, "unrecorded_views": data["unrecorded_views"]})
    return found


def funnel(store: Store, rows: list[dict[str, Any]], day_lo: str | None, day_hi: str | None, offer_type: Any) -> list[dict[str, Any]]:
    """Per offer: views → submissions → confirmed → delivered, and the response time (median, p95).

    Delivered is downloaded for an ebook (at least once) and seated for a webinar; a webinar's
    ``attended`` is counted once an attendee report names its leads (None until then).
    """
    per: dict[str, dict[str, Any]] = {}
    counted = ("views", "submissions", "confirmed", "seated", "downloaded")
    for r in rows:
        e = per.setdefault(r["offer_slug"], {"offer": r["offer_slug"], "type": None, **dict.fromkeys(counted, 0)})
        e["type"] = r["type"] or e["type"]
        for name in counted:
            e[name] += r[name]
    found = []
    for slug in sorted(per):
        e = per[slug]
        e["type"] = offer_type(slug) or e["type"]  # as the content says now, else as stored
        webinar = e["type"] == "webinar"
        e["delivered"] = e["seated"] if webinar else e["downloaded"]
        e["delivered_as"] = "seated" if webinar else "downloaded"
        e["conversion"] = rate(e["submissions"], e["views"])
        known = store.attendance(slug, day_lo, day_hi) if webinar and e["submissions"] else None
        e["attended"] = known["attended"] if known and known["reported"] else None
        seconds = store.response_seconds(slug, day_lo, day_hi) if e["submissions"] else []
        e["responses"] = len(seconds)
        e["response_median"] = percentile(seconds, 0.5)
        e["response_p95"] = percentile(seconds, 0.95)
        found.append(e)
    return found


def build(services: Services, day_lo: str | None, day_hi: str | None) -> dict[str, Any]:
    """Everything the dashboard's charts, breakdowns and funnel show, for UTC days ``day_lo`` to
    ``day_hi`` (exclusive): ``scopes``, ``breakdowns``, ``funnel``, ``campaigns_error`` (a malformed
    ``[campaigns]`` table's message, or None)."""
    store, catalog = services.store, services.catalog
    campaigns, problem = campaign_settings(services.settings.get("CAMPAIGNS"))

    def title(slug: str) -> str:
        page = catalog.get(slug)
        return page.offer.title if page is not None else slug

    def kind(slug: str) -> str | None:
        page = catalog.get(slug)
        return page.offer.type if page is not None else None

    rows = store.daily_counts(day_lo, day_hi)
    return {
        "scopes": scopes(rows, day_lo, day_hi, title),
        "breakdowns": breakdowns(store, day_lo, day_hi, campaigns),
        "funnel": funnel(store, rows, day_lo, day_hi, kind),
        "campaigns_error": problem,
        "tables": TABLES,
        "response_sample": RESPONSE_SAMPLE,
    }


def campaign_settings(raw: Any) -> tuple[dict[str, Campaign], str | None]:
    """The parsed ``[campaigns]`` table, or none and the message saying what to fix."""
    try:
        return parse_campaigns(raw), None
    except CampaignError as exc:
        return {}, str(exc)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return neutralise(str(value), spreadsheet=True)


def csv_table(table: str, context: dict[str, Any]) -> str:
    """One table of the dashboard as CSV text (``table`` from :data:`TABLES`), header first."""
    out = io.StringIO()
    writer = csv.writer(out)
    if table == "daily":
        writer.writerow(["offer", "day", "views", "submissions", "conversion"])
        for scope in context["scopes"]:
            for d in scope.days:
                writer.writerow([_cell(scope.slug or "(all offers)"), d["day"], d["views"], d["submissions"], _cell(d["conversion"])])
    elif table == "funnel":
        writer.writerow(
            [
                "offer",
                "type",
                "views",
                "submissions",
                "confirmed",
                "delivered",
                "delivered_as",
                "attended",
                "response_median_s",
                "response_p95_s",
            ]
        )
        for f in context["funnel"]:
            counts = [f["views"], f["submissions"], f["confirmed"], f["delivered"], f["delivered_as"], _cell(f["attended"])]
            writer.writerow([_cell(f["offer"]), f["type"] or "", *counts, _cell(f["response_median"]), _cell(f["response_p95"])])
    else:
        [data] = [b for b in context["breakdowns"] if b["dimension"] == table]
        header = [data["dimension"], "views", "submissions", "conversion"]
        if table == "campaign":
            header += ["spend", "currency", "cost_per_lead"]
        writer.writerow(header)
        for r in data["rows"]:
            cells = [_cell(r["value"]), r["views"], r["submissions"], _cell(r["conversion"])]
            if table == "campaign":
                cells += [_cell(r["spend"]), r["currency"] or "", _cell(r["cost_per_lead"])]
            writer.writerow(cells)
    return out.getvalue()
