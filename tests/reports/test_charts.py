"""The report's charts, written as SVG directly: well-formed, drawn to the figures' scale, withheld groups without a
bar, text escaped and inside the picture, gaps where a round has no figure, and the same picture every time."""
from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

from delphi.services.reports import charts
from delphi.services.reports.findings import Cell

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def bars_of(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.get("stroke-width") == "0.4" and r.get("height") != "7"]


def texts(root: ET.Element) -> list[ET.Element]:
    return list(root.iter(f"{SVG}text"))


def cell(disagree: float, neutral: float, agree: float, n: int = 10, shown: bool = True) -> Cell:
    return Cell("overall", shown, n=n, pct_disagree=disagree, pct_neutral=neutral, pct_agree=agree)


def test_bars_are_drawn_to_scale_around_zero():
    root = parse(charts.diverging_bars([("S1", "All panellists", cell(20.0, 30.0, 50.0))]))
    disagree, neutral, agree = bars_of(root)
    width = [float(b.get("width")) for b in (disagree, neutral, agree)]
    x = [float(b.get("x")) for b in (disagree, neutral, agree)]
    # One percentage point is the same length in every band; the neutral band is centred on zero.
    assert math.isclose(width[0] / 20, width[1] / 30, rel_tol=1e-3) and math.isclose(width[2] / 50, width[1] / 30,
                                                                                       rel_tol=1e-3)
    zero = [ln for ln in root.iter(f"{SVG}line") if ln.get("stroke") == "#333333"][0]
    assert math.isclose(x[1] + width[1] / 2, float(zero.get("x1")), abs_tol=0.02)
    assert math.isclose(x[0] + width[0], x[1], abs_tol=0.02) and math.isclose(x[1] + width[1], x[2], abs_tol=0.02)
    # Hatching and dots for disagreement and neutral, so the bands differ without colour; percentages from 12 up.
    assert disagree.get("fill") == "url(#fill-disagree)" and neutral.get("fill") == "url(#fill-neutral)"
    assert {t.text for t in texts(root)} >= {"20", "30", "50"}


def test_a_withheld_group_gets_a_label_and_no_bar():
    rows = [("S1", "All panellists", cell(10.0, 10.0, 80.0)), ("S1", "Family", cell(0, 0, 0, shown=False)),
            ("S1", "Staff", cell(math.nan, math.nan, math.nan, n=0))]
    root = parse(charts.diverging_bars(rows))
    assert len(bars_of(root)) == 3
    words = [t.text for t in texts(root)]
    assert "withheld (small group)" in words and "no ratings" in words
    assert "10" not in words  # bands under 12% carry no number


def test_labels_are_escaped_and_fit_inside_the_picture():
    long_name = 'Family members & carers <"whānau">, a long name for a stakeholder group'
    svg = charts.diverging_bars([("S1", long_name, cell(10.0, 20.0, 70.0)), ("S2", "Staff", cell(5.0, 5.0, 90.0))])
    root = parse(svg)  # well-formed despite & < > "
    label = next(t for t in texts(root) if t.text.startswith("S1 · "))
    assert label.text == f"S1 · {long_name}"
    # Right-aligned at x: its width at 7 pt fits to the left of x, and the bars start right of it.
    assert float(label.get("x")) - charts._Text().width(label.text, 7) >= 0
    assert min(float(b.get("x")) for b in bars_of(root)) > float(label.get("x"))
    assert float(root.get("viewBox").split()[2]) == charts.WIDTH


def test_the_same_figures_give_the_same_picture():
    rows = [("S1", "All", cell(12.5, 25.0, 62.5)), ("S2", "All", cell(0.0, 0.0, 100.0))]
    assert charts.diverging_bars(rows) == charts.diverging_bars(list(rows))
    history = [("S1", [(1, Cell("overall", True, n=5, median=5.0, pct_agree=40.0))])]
    assert charts.across_rounds(history, [1], 1, 9) == charts.across_rounds(history, [1], 1, 9)


def test_rounds_chart_joins_each_statements_rounds_and_breaks_where_a_round_has_no_figure():
    def overall(median, agree):
        return Cell("overall", True, n=5, median=median, pct_agree=agree)

    rows = [("S1", [(1, overall(5.0, 40.0)), (2, overall(6.0, 55.0)), (3, overall(7.0, 70.0))]),
            ("S2", [(1, overall(3.0, 10.0)), (2, overall(math.nan, math.nan)), (3, overall(4.0, 20.0))])]
    root = parse(charts.across_rounds(rows, [1, 2, 3], 1, 9))
    joins = [p for p in root.iter(f"{SVG}path") if p.get("stroke") == "#999999"]
    markers = [p for p in root.iter(f"{SVG}path") if p.get("stroke") == "#000000"]
    # S1 is joined across its three rounds in each panel; S2, missing round 2, is not joined at all.
    assert len(joins) == 2 and all(p.get("d").count("L") == 2 for p in joins)
    assert len(markers) == 2 * 5 + 3  # five figures in each panel, and one marker per round in the legend
    filled = {p.get("fill") for p in markers}
    assert filled == {"#000000", "none"}  # alternate rounds hollow, so two rounds at one place both show
    assert [t.text for t in texts(root) if t.text.startswith("Round")] == ["Round 1", "Round 2", "Round 3"]
    # The median panel's ticks are the scale's whole points; the other's 0-100.
    ticks = [t.text for t in texts(root) if re.fullmatch(r"\d+", t.text or "")]
    assert ticks[:4] == ["2", "4", "6", "8"] and ticks[-6:] == ["0", "20", "40", "60", "80", "100"]


def test_median_ticks_follow_the_scale():
    assert charts._ticks(0.5, 5.5) == [1, 2, 3, 4, 5]
    assert charts._ticks(-3.5, 3.5) == [-3, -2, -1, 0, 1, 2, 3]
    assert charts._ticks(-0.5, 10.5) == [0, 2, 4, 6, 8, 10]
