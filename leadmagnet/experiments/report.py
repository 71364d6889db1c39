"""The A/B report: each test's counts per variant, rates, the change against the control, the decision.

One function makes it for the CLI (``leadmagnet report [--json]``) and the admin dashboard, from
the store's per-day counts (:meth:`Store.variant_days`) and the offers' variants and weights. The
statistics are :mod:`leadmagnet.foundation.abstats`: the test is looked at as it stood at the end
of every day of the period, and the smallest always-valid p-value a variant reached counts (the
test's guarantee holds over every look, so no look is wasted and none is a false alarm's chance).

The shape (``--json``)::

    {"offers": [{"slug": "guide", "title": "…", "status": "running" | "ended",
                 "variants": [{"name": "a", "weight": 1.0, "share": 0.5, "views": 1200,
                               "submissions": 130, "conversion_rate": 0.108,
                               "interval": [0.091, 0.128], "change": null}, …],
                 "decision": {"winner": "b" | null, "status": "winner" | "running" | "waiting" | "srm" | "ended",
                              "reason": "b converts better: …", "more_visitors": 800, …},
                 "srm": false, "srm_p": 0.41}]}
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import groupby
from typing import Any

from leadmagnet.content.catalog import Catalog
from leadmagnet.content.offer import Offer
from leadmagnet.foundation import abstats
from leadmagnet.store import Store

METHOD = "mSPRT (normal mixture), always-valid p-values looked at daily; Bonferroni across variants; chi-square sample-ratio check"


class ReportError(ValueError):
    """The report cannot be made as asked (an unknown offer, an offer without variants)."""


class ABReports:
    """Makes the A/B report of the offers in the current catalog."""

    def __init__(self, store: Store, catalog: Callable[[], Catalog]) -> None:
        self.store = store
        self.catalog = catalog

    def report(self, offer: str | None = None, since: str | None = None, until: str | None = None) -> dict[str, Any]:
        """Every offer with ``variants:`` (or only ``offer``), over ``since``…``until`` (ISO, ``until`` exclusive)."""
        catalog = self.catalog()
        if offer is not None:
            page = catalog.get(offer)
            if page is None:
                known = ", ".join(sorted(o.slug for o in catalog.offers() if o.variants)) or "none has variants: yet"
                raise ReportError(f"--offer {offer}: no offer has that slug (offers with an A/B test: {known})")
            if not page.offer.variants:
                raise ReportError(f"--offer {offer}: {page.offer.source} has no variants:; add some to start an A/B test (see the README)")
            offers = [page.offer]
        else:
            offers = sorted((o for o in catalog.offers() if o.variants), key=lambda o: o.slug)
        return {
            "since": since,
            "until": until,
            "method": METHOD,
            "offers": [offer_report(o, self.store.variant_days(o.slug, since, until)) for o in offers],
        }


def offer_report(offer: Offer, days: list[dict[str, Any]]) -> dict[str, Any]:
    """One offer's test from its per-day rows (``day``, ``variant``, ``views``, ``submissions``)."""
    weights = offer.weights()
    totals = {name: [0, 0] for name in weights}
    best_p: dict[str, float] = {}
    rho2 = abstats.mixture_rho2()
    arms = _arms(weights, totals)
    for _day, rows in groupby(days, key=lambda row: row["day"]):
        for row in rows:
            if row["variant"] in totals:  # a variant since removed from the file is left out
                totals[row["variant"]][0] += row["views"]
                totals[row["variant"]][1] += row["submissions"]
        arms = _arms(weights, totals)
        p_srm = abstats.srm_p_value(arms)
        if min(a.visitors for a in arms) >= abstats.MIN_VISITORS and (p_srm is None or p_srm >= abstats.SRM_P):
            for arm in arms[1:]:
                best_p[arm.name] = min(best_p.get(arm.name, 1.0), abstats.always_valid_p(arms[0], arm, rho2))
    decision = abstats.decide(arms, best_p=best_p)
    total_weight = sum(weights.values())
    changes = {c.name: c for c in decision.comparisons}
    variants = []
    for arm in arms:
        interval = arm.interval()
        change = changes.get(arm.name)
        variants.append(
            {
                "name": arm.name,
                "weight": arm.weight,
                "share": round(arm.weight / total_weight, 4),
                "views": arm.visitors,
                "submissions": arm.conversions,
                "conversion_rate": arm.rate,
                "interval": list(interval) if interval else None,
                "change": None
                if change is None
                else {
                    "difference": change.difference,
                    "relative": change.lift,
                    "interval": list(change.interval) if change.interval else None,
                    "p_value": change.p_value,
                    "significant": change.significant,
                },
            }
        )
    verdict: dict[str, Any] = {
        "winner": decision.winner,
        "status": decision.status,
        "reason": decision.reason,
        "more_visitors": decision.more_visitors,
        "alpha": decision.alpha,
        "min_visitors": abstats.MIN_VISITORS,
    }
    if offer.winner is not None:
        verdict.update(
            winner=offer.winner,
            status="ended",
            statistics={"winner": decision.winner, "status": decision.status},
            reason=f"ended: everyone sees {offer.winner} (winner: {offer.winner} in {offer.source}); the figures are the test's. "
            f"The statistics said: {decision.reason}",
        )
    return {
        "slug": offer.slug,
        "title": offer.title,
        "source": offer.source,
        "status": "ended" if offer.winner is not None else "running",
        "variants": variants,
        "decision": verdict,
        "srm": decision.srm,
        "srm_p": decision.srm_p,
    }


def _arms(weights: dict[str, float], totals: dict[str, list[int]]) -> tuple[abstats.Arm, ...]:
    return tuple(abstats.Arm(name, totals[name][0], totals[name][1], weight) for name, weight in weights.items())


def table(report: dict[str, Any]) -> str:
    """The report as readable text: one block per offer, a row per variant, the decision in words."""
    if not report["offers"]:
        return "No offer has an A/B test (add variants: to an offer's front matter; see the README)."
    blocks = []
    for entry in report["offers"]:
        lines = [f"{entry['slug']} ({entry['status']}): {entry['title']}"]
        header = f"  {'variant':<8} {'share':>6} {'views':>8} {'subs':>6} {'rate':>7} {'95% interval':>16} {'change':>8}"
        lines.append(header)
        for v in entry["variants"]:
            rate = "–" if v["conversion_rate"] is None else f"{v['conversion_rate'] * 100:.1f}%"
            interval = "–" if v["interval"] is None else f"{v['interval'][0] * 100:.1f}–{v['interval'][1] * 100:.1f}%"
            change = "control" if v["change"] is None else ("–" if v["change"]["relative"] is None else f"{v['change']['relative']:+.1%}")
            lines.append(f"  {v['name']:<8} {v['share']:>6.0%} {v['views']:>8} {v['submissions']:>6} {rate:>7} {interval:>16} {change:>8}")
        lines.append(f"  {entry['decision']['reason']}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
