"""Line charts as inline SVG, drawn on the server: the dashboard's trends without JavaScript.

A chart is an ``<svg role="img">`` named by its ``<title>`` and described by its ``<desc>``
(``aria-labelledby`` both), so a screen reader announces what it shows and its totals; the
numbers themselves sit in a table under a ``<details>`` beside it (the template's job). Colours
and line styles come from classes the admin's stylesheet sets (``series-0``, ``series-1``), so a
theme restyles them and the strict CSP (styles by hash only) holds: no ``style`` attribute.

No chart library: a few lines, two gridlines and some labels are a hundred lines of SVG text,
and the library would be JavaScript in the browser or a large dependency on the server.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 36  # room for the labels of the axes


@dataclass(frozen=True)
class Series:
    """One line: its name (in the legend) and one value per day (None: nothing to show that day)."""

    name: str
    values: Sequence[float | None]


def nice_top(value: float) -> float:
    """The round number at or above ``value`` that the y axis ends at (1, 2, 2.5, 5 or 10 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _label(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.1f}%".replace(".0%", "%")
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def line_chart(chart_id: str, title: str, description: str, days: Sequence[str], series: Sequence[Series], percent: bool = False) -> Markup:
    """An accessible SVG line chart of ``series`` over ``days`` (``YYYY-MM-DD``).

    ``percent`` labels the y axis as percentages of values between 0 and 1. A day's value of
    None breaks its line (a conversion rate with no views), a lone point is drawn as a dot.
    """
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    values = [v for s in series for v in s.values if v is not None]
    top = nice_top(max(values, default=0.0))
    n = len(days)

    def x(i: int) -> float:
        return LEFT + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    def y(v: float) -> float:
        return TOP + plot_h * (1 - v / top)

    ident = escape(chart_id)
    parts = [
        f'<svg class="chart" id="{ident}" role="img" aria-labelledby="{ident}-title {ident}-desc"'
        f' viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
        '<g class="axes" aria-hidden="true">',
    ]
    for fraction in (0, 0.5, 1):
        gy = y(top * fraction)
        parts.append(f'<line class="grid" x1="{LEFT}" y1="{gy:.1f}" x2="{WIDTH - RIGHT}" y2="{gy:.1f}"/>')
        parts.append(
            f'<text class="tick" x="{LEFT - 6}" y="{gy + 4:.1f}" text-anchor="end">{escape(_label(top * fraction, percent))}</text>'
        )
    shown = sorted({0, n // 2, n - 1}) if n else []
    for i in shown:
        anchor = "start" if i == 0 and n > 1 else "end" if i == n - 1 and n > 1 else "middle"
        parts.append(f'<text class="tick" x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="{anchor}">{escape(days[i])}</text>')
    parts.append("</g>")
    for k, line in enumerate(series):
        parts.append(f'<g class="series series-{k % 4}" aria-hidden="true">')
        for run in _runs(line.values):
            if len(run) == 1:
                i, v = run[0]
                parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3"/>')
            else:
                points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in run)
                parts.append(f'<polyline fill="none" points="{points}"/>')
        parts.append("</g>")
    legend_x = LEFT
    for k, line in enumerate(series):
        parts.append(
            f'<g class="legend series-{k % 4}" aria-hidden="true"><line x1="{legend_x}" y1="{HEIGHT - 6}" x2="{legend_x + 18}" y2="{HEIGHT - 6}"/>'
            f'<text x="{legend_x + 22}" y="{HEIGHT - 2}">{escape(line.name)}</text></g>'
        )
        legend_x += 30 + 8 * len(line.name)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every piece of text above went through escape()


def _runs(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """The unbroken stretches of ``values`` (split where a value is None), with their indexes."""
    runs: list[list[tuple[int, float]]] = []
    current: list[tuple[int, float]] = []
    for i, v in enumerate(values):
        if v is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((i, float(v)))
    if current:
        runs.append(current)
    return runs
