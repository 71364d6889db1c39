"""Server-drawn SVG line charts: accessible names, escaped text, broken lines and lone points."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from leadmagnet.render.charts import Series, line_chart, nice_top

SVG = "{http://www.w3.org/2000/svg}"


def test_a_chart_is_an_image_named_by_its_title_and_description() -> None:
    svg = line_chart("c1", "Views <per> day", "10 views & 2 submissions", ["2026-03-01", "2026-03-02"], [Series("Views", [4, 6])])
    root = ET.fromstring(str(svg))  # noqa: S314 - our own output; well-formed only if every text was escaped
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find(f"{SVG}title").text == "Views <per> day" and root.find(f"{SVG}title").get("id") == "c1-title"
    assert root.find(f"{SVG}desc").text == "10 views & 2 submissions"
    [line] = root.iter(f"{SVG}polyline")
    assert len(line.get("points").split()) == 2
    assert "style=" not in str(svg)  # styles come from classes: the CSP allows no style attribute


def test_a_missing_value_breaks_the_line_and_a_lone_value_is_a_dot() -> None:
    svg = line_chart("c2", "Rate", "d", ["a", "b", "c", "d", "e"], [Series("Rate", [0.1, 0.2, None, 0.3, None])], percent=True)
    root = ET.fromstring(str(svg))  # noqa: S314 - our own output
    assert len(list(root.iter(f"{SVG}polyline"))) == 1 and len(list(root.iter(f"{SVG}circle"))) == 1
    assert [t.text for t in root.iter(f"{SVG}text") if t.text and t.text.endswith("%")] == ["0%", "25%", "50%"]


def test_the_axis_ends_at_a_round_number() -> None:
    assert [nice_top(v) for v in (0, 0.07, 3, 7, 12, 240, 2600)] == [1.0, 0.1, 5, 10, 20, 250, 5000]
