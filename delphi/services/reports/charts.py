"""The report's pictures as SVG: a diverging stacked bar chart of every statement's ratings by stakeholder group, and
each statement's median and agreement across rounds. Meaning never by colour alone (hatching and labels); each has a
text equivalent in the report (a table of the same numbers).

The SVG is written directly, not drawn through a plotting library: a study of 200 statements and four groups has
3,000 bars and 1,000 labels, which took matplotlib 9-13 s per report (an artist, a layout and a path each) against
milliseconds here, and the output is deterministic by construction. Text stays text; its widths, to size the
margins, come from the metrics of DejaVu Sans (the font named first, shipped with matplotlib).
"""
from __future__ import annotations

import math
from html import escape

import matplotlib
from flask_babel import gettext
from matplotlib.ft2font import FT2Font

from delphi.protocol import N_

# Colour-blind-safe (Okabe-Ito) with hatching, so the bands read in greyscale print too.
# (key, legend, colour, pattern); the legends are translated where the chart is drawn (``gettext`` is named in full:
# this module uses ``_`` for values it ignores).
BANDS = (("disagree", N_("Disagree"), "#D55E00", "hatch"), ("neutral", N_("Neutral"), "#E8E8E8", "dots"),
         ("agree", N_("Agree"), "#0072B2", ""))
ROUND_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
FONT_FILE = f"{matplotlib.get_data_path()}/fonts/ttf/DejaVuSans.ttf"
FONT = "'DejaVu Sans', Verdana, Arial, sans-serif"
INK, FRAME = "#333333", "#000000"
WIDTH = 576.0  # 8 in, in points
TICK = 3.5


class _Text:
    """Widths of text in DejaVu Sans, in points, from each character's advance, with a tenth more for kerning and
    for the wider fonts a reader's viewer may use instead. Advances are read from the font once per character and
    kept; a character the font lacks counts as a square (1 em)."""

    advances: dict[str, float] = {}  # per point of font size

    def width(self, text: str, size: float) -> float:
        missing = set(text) - self.advances.keys()
        if missing:
            font = FT2Font(FONT_FILE)  # one per call: FT2Font is not thread-safe
            font.set_size(72, 72)  # 72 pt at 72 dpi: advances in 1/64 pt per 72 pt of size
            for char in missing:
                found = font.get_char_index(ord(char)) != 0
                self.advances[char] = font.load_char(ord(char)).horiAdvance / 64 / 72 if found else 1.0
        return 1.1 * size * sum(self.advances[char] for char in text)


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _text(x: float, y: float, text: str, size: float, anchor: str = "middle", fill: str = FRAME) -> str:
    """Text centred vertically on ``y`` (``dy``, which every renderer honours, rather than dominant-baseline)."""
    return (f'<text x="{_num(x)}" y="{_num(y)}" dy="0.35em" font-size="{size}" text-anchor="{anchor}"'
            + (f' fill="{fill}"' if fill != FRAME else "") + f">{escape(text)}</text>")


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str = FRAME, width: float = 0.8) -> str:
    return (f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" stroke="{stroke}" '
            f'stroke-width="{width}"/>')


def _document(width: float, height: float, title: str, defs: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(width)}pt" height="{_num(height)}pt" '
            f'viewBox="0 0 {_num(width)} {_num(height)}" font-family="{FONT}">\n<title>{escape(title)}</title>\n'
            f'<defs>{defs}</defs>\n<rect width="100%" height="100%" fill="#ffffff"/>\n'
            + "\n".join(body) + "\n</svg>\n")


# The bands' fills: a colour, with diagonal hatching for disagreement and dots for neutral.
PATTERNS = (
    '<pattern id="fill-disagree" width="4" height="4" patternUnits="userSpaceOnUse">'
    '<rect width="4" height="4" fill="#D55E00"/><path d="M-1 1L1 -1M0 4L4 0M3 5L5 3" stroke="#333333" '
    'stroke-width="0.6"/></pattern>'
    '<pattern id="fill-neutral" width="4" height="4" patternUnits="userSpaceOnUse">'
    '<rect width="4" height="4" fill="#E8E8E8"/><circle cx="2" cy="2" r="0.55" fill="#333333"/></pattern>'
)


def _fill(key: str) -> str:
    colour, hatch = next((c, h) for k, _, c, h in BANDS if k == key)
    return f"url(#fill-{key})" if hatch else colour


def _legend(entries: list[tuple[str, str]], centre: float, y: float, text: _Text, swatch_width: float) -> list[str]:
    """``entries``: (swatch markup with its left edge at x=0 and centred on y=0, label), laid out in one row."""
    gap, size = 14.0, 9
    widths = [swatch_width + 5 + text.width(label, size) for _, label in entries]
    x = centre - (sum(widths) + gap * (len(entries) - 1)) / 2
    out = []
    for (swatch, label), width in zip(entries, widths):
        out.append(f'<g transform="translate({_num(x)} {_num(y)})">{swatch}</g>')
        out.append(_text(x + swatch_width + 5, y, label, size, anchor="start"))
        x += width + gap
    return out


def diverging_bars(rows) -> str:
    """``rows``: (label, group name, Cell) per statement x scope, in the order drawn from the top. Disagreement
    extends left of zero, neutral straddles it, agreement extends right; a withheld group gets a label, no bar."""
    text = _Text()
    labels = [f"{label} · {group}" for label, group, _ in rows]
    row_height, label_size = 17.28, 7
    left = 6 + max((text.width(s, label_size) for s in labels), default=0) + TICK + 3.5
    top, right = 30.0, WIDTH - 14
    plot_height = row_height * (max(len(rows), 1) + 0.6)
    bottom = top + plot_height
    height = bottom + 40

    def x_of(percent: float) -> float:
        return left + (percent + 100) / 200 * (right - left)

    def y_of(i: int) -> float:
        return top + row_height * (i + 0.8)

    body = []
    for i, (_, _, cell) in enumerate(rows):
        y = y_of(i)
        if not cell.shown or cell.n == 0:
            body.append(_text(x_of(0), y, gettext("withheld (small group)") if not cell.shown
                              else gettext("no ratings"), 7))
            continue
        start = -cell.pct_disagree - cell.pct_neutral / 2
        for key, _, _, _ in BANDS:
            width = getattr(cell, f"pct_{key}")
            x0, x1 = x_of(start), x_of(start + width)
            body.append(f'<rect x="{_num(x0)}" y="{_num(y - 0.4 * row_height)}" width="{_num(x1 - x0)}" '
                        f'height="{_num(0.8 * row_height)}" fill="{_fill(key)}" stroke="{INK}" stroke-width="0.4"/>')
            if width >= 12:
                body.append(_text((x0 + x1) / 2, y, f"{width:.0f}", 6.5,
                                  fill="#ffffff" if key == "agree" else FRAME))
            start += width
    for i, label in enumerate(labels):
        body.append(_line(left - TICK, y_of(i), left, y_of(i)))
        body.append(_text(left - TICK - 3.5, y_of(i), label, label_size, anchor="end"))
    for percent in range(-100, 101, 25):
        body.append(_line(x_of(percent), bottom, x_of(percent), bottom + TICK))
        body.append(_text(x_of(percent), bottom + TICK + 8, f"{abs(percent)}%", 9))
    body.append(_line(x_of(0), top, x_of(0), bottom, INK))
    body.append(f'<rect x="{_num(left)}" y="{_num(top)}" width="{_num(right - left)}" height="{_num(plot_height)}" '
                f'fill="none" stroke="{FRAME}" stroke-width="0.8"/>')
    body.append(_text((left + right) / 2, bottom + TICK + 25,
                      gettext("Share of ratings: disagree (left of zero), neutral (centred), agree (right)"), 9))
    swatches = [(f'<rect x="0" y="-3.5" width="20" height="7" fill="{_fill(key)}" stroke="{INK}" '
                 f'stroke-width="0.4"/>', gettext(name)) for key, name, _, _ in BANDS]
    body.extend(_legend(swatches, (left + right) / 2, 12, text, 20))
    return _document(right + 14, height, gettext("Ratings of every statement by stakeholder group: disagree, neutral "
                                                 "and agree shares"), PATTERNS, body)


def _marker(shape: str, x: float, y: float, r: float = 2.4) -> str:
    """The outline of a marker centred on (x, y), as path data."""
    def polygon(points):
        return "M" + "L".join(f"{_num(x + px * r)} {_num(y + py * r)}" for px, py in points) + "Z"

    if shape == "o":
        return (f"M{_num(x - r)} {_num(y)}a{_num(r)} {_num(r)} 0 1 0 {_num(2 * r)} 0"
                f"a{_num(r)} {_num(r)} 0 1 0 {_num(-2 * r)} 0Z")
    t = 0.35  # half the width of the plus and the cross
    shapes = {
        "s": [(-0.9, -0.9), (0.9, -0.9), (0.9, 0.9), (-0.9, 0.9)],
        "^": [(0, -1.15), (1.05, 0.75), (-1.05, 0.75)],
        "v": [(0, 1.15), (1.05, -0.75), (-1.05, -0.75)],
        "D": [(0, -1.2), (1.0, 0), (0, 1.2), (-1.0, 0)],
        "P": [(-t, -1), (t, -1), (t, -t), (1, -t), (1, t), (t, t), (t, 1), (-t, 1), (-t, t), (-1, t), (-1, -t),
              (-t, -t)],
    }
    if shape == "X":
        cross = [(px * math.cos(math.pi / 4) - py * math.sin(math.pi / 4),
                  px * math.sin(math.pi / 4) + py * math.cos(math.pi / 4)) for px, py in shapes["P"]]
        return polygon(cross)
    return polygon(shapes[shape])


def _marker_style(i: int) -> str:
    """Round markers alternate filled and hollow, so that two rounds at the same place both show."""
    return f'fill="{"none" if i % 2 else FRAME}" stroke="{FRAME}" stroke-width="0.8"'


def _ticks(low: float, high: float) -> list[float]:
    """Round tick values inside (low, high): steps of 1, 2, 5, 10, 20, 25 or 50, at most 8 ticks."""
    span = high - low
    step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100) if span / s <= 8)
    return [k * step for k in range(math.ceil(low / step), math.floor(high / step) + 1)]


def across_rounds(rows, rounds: list[int], scale_min: int, scale_max: int) -> str:
    """``rows``: (statement code, [(round, Cell overall), ...]). Two panels: median and % agreement, one marker
    shape per round, joined per statement."""
    text = _Text()
    row_height, label_size, gap = 15.84, 7, 24.0
    left = 6 + max((text.width(code, label_size) for code, _ in rows), default=0) + TICK + 3.5
    top, right = 30.0, WIDTH - 14
    plot_height = row_height * (max(len(rows), 1) + 0.6)
    bottom = top + plot_height
    panel_width = (right - left - gap) / 2
    panels = (("median", left, (scale_min - 0.5, scale_max + 0.5), gettext("Median rating")),
              ("pct_agree", left + panel_width + gap, (-5.0, 105.0), gettext("Percentage agreeing")))
    shape_of = {number: ROUND_MARKERS[i % len(ROUND_MARKERS)] for i, number in enumerate(rounds)}
    style_of = {number: _marker_style(i) for i, number in enumerate(rounds)}

    def y_of(i: int) -> float:
        return top + row_height * (i + 0.8)

    body = []
    for attribute, x0, (low, high), title in panels:
        def x_of(value: float, x0=x0, low=low, high=high) -> float:
            return x0 + (value - low) / (high - low) * panel_width

        for tick in _ticks(low, high):
            body.append(_line(x_of(tick), top, x_of(tick), bottom, "#dddddd", 0.5))
            body.append(_line(x_of(tick), bottom, x_of(tick), bottom + TICK))
            body.append(_text(x_of(tick), bottom + TICK + 8, f"{tick:g}", 9))
        markers = []
        for i, (_, history) in enumerate(rows):
            points = [(k, getattr(cell, attribute)) for k, cell in history]
            run = []  # consecutive rounds with a figure are joined; a missing figure breaks the line
            for _, value in points + [(None, math.nan)]:
                if value is not None and not math.isnan(value):
                    run.append(f"{_num(x_of(value))} {_num(y_of(i))}")
                    continue
                if len(run) > 1:
                    body.append(f'<path d="M{"L".join(run)}" fill="none" stroke="#999999" stroke-width="0.8"/>')
                run = []
            for k, value in points:
                if value is not None and not math.isnan(value):
                    markers.append(f'<path d="{_marker(shape_of[k], x_of(value), y_of(i))}" {style_of[k]}/>')
        body.extend(markers)
        for i in range(len(rows)):
            body.append(_line(x0 - TICK, y_of(i), x0, y_of(i)))
        body.append(f'<rect x="{_num(x0)}" y="{_num(top)}" width="{_num(panel_width)}" height="{_num(plot_height)}" '
                    f'fill="none" stroke="{FRAME}" stroke-width="0.8"/>')
        body.append(_text(x0 + panel_width / 2, bottom + TICK + 25, title, 9))
    for i, (code, _) in enumerate(rows):
        body.append(_text(left - TICK - 3.5, y_of(i), code, label_size, anchor="end"))
    swatches = [(f'<path d="{_marker(shape_of[k], 3, 0)}" {style_of[k]}/>', gettext("Round %(round)s", round=k))
                for k in rounds]
    body.extend(_legend(swatches, (left + right) / 2, 12, text, 6))
    return _document(right + 14, bottom + 40,
                     gettext("Each statement's median and percentage agreeing across rounds"), "", body)
