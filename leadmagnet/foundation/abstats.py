"""Statistics for A/B tests that stay honest when the results are read every day ("peeking").

Pure arithmetic on counts (standard library only: no Flask, no SQL), so the report, the
dashboard, the CLI and the simulation tests share one implementation. The method, its
assumptions and the simulated error rates are in ``docs/ab-testing.md``; in short:

- **Per variant**: visitors, conversions, the rate and its 95% Wilson score interval (a
  fixed-sample interval, shown for reading, not used to decide).
- **The decision** is a mixture sequential probability ratio test (mSPRT, Johari et al. 2017,
  "Always valid inference"): for each variant against the control, the statistic
  ``z = (p_b - p_a) / sqrt(p(1-p)(1/n_a + 1/n_b))`` (pooled rate ``p``) gives the mixture
  likelihood ratio ``Λ = sqrt(r/(1+r)) · exp(z² / (2(1+r)))`` with ``r = (1/n_a + 1/n_b) / (2 rho²)``,
  a normal mixture over the effect whose width ``rho`` makes the test sharpest near
  :data:`PLANNED_VISITORS` visitors a variant. ``1/Λ`` is an always-valid p-value: the chance
  that it ever drops below alpha, however often one looks, is at most alpha (Ville's inequality). A
  winner is declared when it does, for alpha split across the variants (Bonferroni).
- **Before any decision**: every variant has :data:`MIN_VISITORS` visitors, and the visitors
  match the weights (sample-ratio mismatch: a chi-square test; p below :data:`SRM_P` blocks the
  decision and says why).
- **Change against the control**: the difference with its always-valid 95% confidence sequence
  (the interval that matches the test: it excludes 0 about when the test decides).

Everything a look needs is O(1) in the number of visitors, so a simulation can look after each one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

ALPHA = 0.05
# No decision before every variant has this many visitors: the normal approximation behind the
# test needs some conversions, and a result from a handful of visitors persuades nobody.
MIN_VISITORS = 100
# The sample-ratio-mismatch check's p-value threshold: a split this unlikely under the weights
# means the traffic is not randomised as configured (a cached page, a redirect, a crawler).
SRM_P = 0.001
# The mixture is tuned to be sharpest around this many visitors a variant (GrowthBook's
# "tuning parameter" N*); its choice changes power a little, never the error guarantee.
PLANNED_VISITORS = 2500
# When the variants look alike, "how many more visitors" is worked out for this relative change.
PLANNING_LIFT = 0.10


@dataclass(frozen=True)
class Arm:
    """One variant's counts: ``weight`` is its configured share (any positive scale)."""

    name: str
    visitors: int
    conversions: int
    weight: float = 1.0

    @property
    def rate(self) -> float | None:
        return self.conversions / self.visitors if self.visitors else None

    def interval(self, z: float = 1.959963984540054) -> tuple[float, float] | None:
        """The 95% Wilson score interval of the rate (None without visitors)."""
        return wilson(self.conversions, self.visitors, z)


@dataclass(frozen=True)
class Comparison:
    """A variant against the control: the difference of rates, its confidence sequence, the p-value."""

    name: str
    difference: float | None
    lift: float | None
    interval: tuple[float, float] | None
    p_value: float
    significant: bool


@dataclass(frozen=True)
class Decision:
    """What the test says now. ``winner`` is None until a variant is significantly better (or worse);
    ``status`` is one of ``winner``, ``waiting`` (below the minimum sample), ``srm``, ``running``."""

    winner: str | None
    status: str
    reason: str
    srm: bool
    srm_p: float | None
    comparisons: tuple[Comparison, ...] = ()
    more_visitors: int | None = None
    alpha: float = ALPHA
    arms: tuple[Arm, ...] = field(default=())


# -- intervals and distributions ---------------------------------------------------------------


def wilson(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float] | None:
    """Wilson score interval for ``successes`` out of ``n`` (good near 0% and with few visitors)."""
    if n <= 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def chi_square_sf(x: float, df: int) -> float:
    """P(X ≥ x) for a chi-square variable with ``df`` degrees of freedom (regularised upper gamma)."""
    if x <= 0:
        return 1.0
    return _upper_gamma(df / 2.0, x / 2.0)


def _upper_gamma(a: float, x: float) -> float:
    """Q(a, x): a series below a+1, Lentz's continued fraction above (Numerical Recipes §6.2)."""
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        k = a
        for _ in range(1000):
            k += 1
            term *= x / k
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        step = d * c
        h *= step
        if abs(step - 1) < 1e-15:
            break
    return min(1.0, math.exp(log_front) * h)


def srm_p_value(arms: Sequence[Arm]) -> float | None:
    """The chi-square goodness-of-fit p-value of the visitors against the weights (None: too few)."""
    total = sum(a.visitors for a in arms)
    weights = sum(a.weight for a in arms)
    if len(arms) < 2 or total == 0 or weights <= 0:
        return None
    expected = [total * a.weight / weights for a in arms]
    if min(expected) < 5:  # the chi-square approximation needs about five expected in each cell
        return None
    statistic = sum((a.visitors - e) ** 2 / e for a, e in zip(arms, expected, strict=True))
    return chi_square_sf(statistic, len(arms) - 1)


# -- the sequential test ----------------------------------------------------------------------


def mixture_rho2(alpha: float = ALPHA, planned: int = PLANNED_VISITORS) -> float:
    """ρ² of the normal mixture, sharpest at ``planned`` visitors a variant (GrowthBook's formula)."""
    log_term = -2 * math.log(alpha)
    return (log_term + math.log(log_term + 1)) / planned


def z_threshold2(n_a: int, n_b: int, alpha: float, rho2: float) -> float:
    """The z² at or above which ``Λ ≥ 1/alpha`` with ``n_a`` and ``n_b`` visitors."""
    r = (1 / n_a + 1 / n_b) / (2 * rho2)
    return (1 + r) * (2 * math.log(1 / alpha) + math.log(1 + 1 / r))


def always_valid_p(control: Arm, variant: Arm, rho2: float) -> float:
    """``min(1, 1/Λ)``: the mSPRT's always-valid p-value for variant against control."""
    n_a, n_b = control.visitors, variant.visitors
    if n_a == 0 or n_b == 0:
        return 1.0
    pooled = (control.conversions + variant.conversions) / (n_a + n_b)
    variance = pooled * (1 - pooled) * (1 / n_a + 1 / n_b)
    if variance <= 0:
        return 1.0
    z2 = (variant.conversions / n_b - control.conversions / n_a) ** 2 / variance
    r = (1 / n_a + 1 / n_b) / (2 * rho2)
    log_lambda = 0.5 * math.log(r / (1 + r)) + z2 / (2 * (1 + r))
    return 1.0 if log_lambda <= 0 else math.exp(-log_lambda)


def crossed(n_a: int, c_a: int, n_b: int, c_b: int, alpha: float, rho2: float) -> bool:
    """Whether the test rejects "no difference" at this look: the O(1) step a simulation repeats."""
    pooled = (c_a + c_b) / (n_a + n_b)
    inverse = 1 / n_a + 1 / n_b
    variance = pooled * (1 - pooled) * inverse
    if variance <= 0:
        return False
    diff = c_b / n_b - c_a / n_a
    r = inverse / (2 * rho2)
    return diff * diff / variance >= (1 + r) * (2 * math.log(1 / alpha) + math.log(1 + 1 / r))


def confidence_sequence(control: Arm, variant: Arm, alpha: float, rho2: float) -> tuple[float, float] | None:
    """The always-valid (1 - alpha) interval for ``rate_b - rate_a`` (unpooled variance)."""
    n_a, n_b = control.visitors, variant.visitors
    if n_a == 0 or n_b == 0:
        return None
    p_a, p_b = control.conversions / n_a, variant.conversions / n_b
    variance = p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b
    r = (1 / n_a + 1 / n_b) / (2 * rho2)
    half = math.sqrt(variance * (1 + r) * (2 * math.log(1 / alpha) + math.log(1 + 1 / r)))
    return p_b - p_a - half, p_b - p_a + half


def visitors_needed(control: Arm, variant: Arm, alpha: float, rho2: float, lift: float) -> int | None:
    """Total visitors (both arms, split as now) at which a true relative ``lift`` over the control's
    current rate would cross the boundary on average; None when it cannot be worked out."""
    p_a = control.rate
    if not p_a or p_a >= 1 or lift == 0:
        return None
    p_b = min(max(p_a * (1 + lift), 1e-9), 1 - 1e-9)
    share_a = control.weight / (control.weight + variant.weight)
    pooled = p_a * share_a + p_b * (1 - share_a)

    def enough(total: int) -> bool:
        n_a, n_b = max(1, round(total * share_a)), max(1, round(total * (1 - share_a)))
        z2 = (p_b - p_a) ** 2 / (pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
        return z2 >= z_threshold2(n_a, n_b, alpha, rho2)

    high = 2 * MIN_VISITORS
    while not enough(high):
        high *= 2
        if high > 10**10:
            return None
    low = high // 2
    while high - low > max(1, high // 200):
        middle = (low + high) // 2
        low, high = (low, middle) if enough(middle) else (middle, high)
    return high


def decide(
    arms: Sequence[Arm],
    *,
    alpha: float = ALPHA,
    min_visitors: int = MIN_VISITORS,
    planned: int = PLANNED_VISITORS,
    srm_threshold: float = SRM_P,
    best_p: dict[str, float] | None = None,
) -> Decision:
    """The decision for ``arms`` (the control first). ``best_p``: the smallest always-valid p-value
    each variant reached at earlier looks (a daily history), since the guarantee covers every look."""
    arms = tuple(arms)
    control, variants = arms[0], arms[1:]
    rho2 = mixture_rho2(alpha, planned)
    per_test = alpha / max(1, len(variants))  # Bonferroni across the variants
    srm_p = srm_p_value(arms)
    srm = srm_p is not None and srm_p < srm_threshold
    # A comparison is significant only where a decision may be made at all.
    ready = not srm and all(a.visitors >= min_visitors for a in arms)
    comparisons = []
    for arm in variants:
        p = min(always_valid_p(control, arm, rho2), (best_p or {}).get(arm.name, 1.0))
        diff = arm.rate - control.rate if arm.rate is not None and control.rate is not None else None
        lift = diff / control.rate if diff is not None and control.rate else None
        cs = confidence_sequence(control, arm, per_test, rho2)
        comparisons.append(Comparison(arm.name, diff, lift, cs, p, ready and p <= per_test and diff is not None))
    base = {"srm": srm, "srm_p": srm_p, "comparisons": tuple(comparisons), "alpha": alpha, "arms": arms}
    if srm:
        split = ", ".join(f"{a.name} {a.visitors}" for a in arms)
        shares = ":".join(f"{a.weight:g}" for a in arms)
        reason = (
            f"no decision: the visitors ({split}) do not match the weights {shares} (sample-ratio mismatch, p = {srm_p:.2g}); "
            "something sends traffic unevenly (a cached page, a redirect, crawlers, a broken link to one variant): fix it and start a new test"
        )
        return Decision(None, "srm", reason, **base)
    short = [a for a in arms if a.visitors < min_visitors]
    if short:
        missing = sum(min_visitors - a.visitors for a in short)
        reason = f"no winner yet: every variant needs {min_visitors} visitors before any decision ({missing} more in all)"
        return Decision(None, "waiting", reason, more_visitors=missing, **base)
    better = [c for c in comparisons if c.significant and c.difference is not None and c.difference > 0]
    if better:
        best = max(better, key=lambda c: c.difference or 0.0)
        arm = next(a for a in variants if a.name == best.name)
        reason = f"{best.name} converts better: {_pct(arm.rate)} vs {_pct(control.rate)} for {control.name}" + _lift_words(best)
        return Decision(best.name, "winner", reason, **base)
    if comparisons and all(c.significant and (c.difference or 0) < 0 for c in comparisons):
        worst = ", ".join(f"{c.name} {_pct(next(a for a in variants if a.name == c.name).rate)}" for c in comparisons)
        reason = f"{control.name} (the control) converts better: {_pct(control.rate)} vs {worst} (always-valid p ≤ {per_test:.3g})"
        return Decision(control.name, "winner", reason, **base)
    needed = _more_visitors(control, variants, comparisons, per_test, rho2)
    if needed is None:
        reason = "no winner yet: the variants convert alike so far"
    else:
        reason = f"no winner yet: about {needed} more visitors needed"
        best = max(comparisons, key=lambda c: abs(c.lift or 0.0))
        if best.lift is None or abs(best.lift) < PLANNING_LIFT:
            reason += f" to detect a {PLANNING_LIFT:.0%} change (the variants look alike so far)"
        else:
            reason += f" if {best.name}'s {best.lift:+.1%} change holds"
    return Decision(None, "running", reason, more_visitors=needed, **base)


def _more_visitors(control: Arm, variants: Sequence[Arm], comparisons: Sequence[Comparison], alpha: float, rho2: float) -> int | None:
    """Visitors still needed (all variants together) for the clearest comparison to decide."""
    best_total = None
    now = sum(a.visitors for a in (control, *variants))
    for arm, comparison in zip(variants, comparisons, strict=True):
        lift = comparison.lift if comparison.lift is not None and abs(comparison.lift) >= PLANNING_LIFT else PLANNING_LIFT
        pair = visitors_needed(control, arm, alpha, rho2, lift)
        if pair is None:
            continue
        share = (control.weight + arm.weight) / sum(a.weight for a in (control, *variants))
        total = math.ceil(pair / share)
        best_total = total if best_total is None else min(best_total, total)
    return None if best_total is None else max(0, best_total - now)


def _pct(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f}%"


def _lift_words(comparison: Comparison) -> str:
    words = f" ({comparison.lift:+.0%}" if comparison.lift is not None else " ("
    if comparison.interval is not None:
        low, high = comparison.interval
        words += f"; the difference is {low * 100:+.1f} to {high * 100:+.1f} points"
    return words + f"; always-valid p = {comparison.p_value:.2g})"
