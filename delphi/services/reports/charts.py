"""The report's pictures as SVG (matplotlib, Agg): a diverging stacked bar chart of every statement's ratings by
stakeholder group, and each statement's median and agreement across rounds. Deterministic output (fixed hash salt,
no date, text kept as text); meaning never by colour alone (hatching and labels); each has a text equivalent in the
report (a table of the same numbers)."""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

# Colour-blind-safe (Okabe-Ito) with hatching, so the bands read in greyscale print too.
BANDS = (("disagree", "Disagree", "#D55E00", "////"), ("neutral", "Neutral", "#E8E8E8", ".."),
         ("agree", "Agree", "#0072B2", ""))
ROUND_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
STYLE = {"svg.hashsalt": "delphi-report", "svg.fonttype": "none", "font.family": "DejaVu Sans", "font.size": 9,
         "hatch.linewidth": 0.6}


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def diverging_bars(rows) -> str:
    """``rows``: (label, group name, Cell) per statement x scope, in the order drawn from the top. Disagreement
    extends left of zero, neutral straddles it, agreement extends right; a withheld group gets a label, no bar."""
    with plt.rc_context(STYLE):
        height = 0.8 + 0.24 * max(len(rows), 1)
        figure, axes = plt.subplots(figsize=(8, height))
        for y, (label, group, cell) in enumerate(rows):
            if not cell.shown or cell.n == 0:
                axes.text(0, y, "withheld (small group)" if not cell.shown else "no ratings", ha="center",
                          va="center", fontsize=7)
                continue
            left = -cell.pct_disagree - cell.pct_neutral / 2
            for key, _, colour, hatch in BANDS:
                width = getattr(cell, f"pct_{key}")
                axes.barh(y, width, left=left, color=colour, hatch=hatch, edgecolor="#333333", linewidth=0.4,
                          height=0.8)
                if width >= 12:
                    axes.text(left + width / 2, y, f"{width:.0f}", ha="center", va="center", fontsize=6.5,
                              color="white" if key == "agree" else "black")
                left += width
        axes.set_yticks(range(len(rows)), [f"{label} · {group}" for label, group, _ in rows], fontsize=7)
        axes.invert_yaxis()
        axes.axvline(0, color="#333333", linewidth=0.8)
        axes.set_xlim(-100, 100)
        axes.set_xticks(range(-100, 101, 25), [f"{abs(t)}%" for t in range(-100, 101, 25)])
        axes.set_xlabel("Share of ratings: disagree (left of zero), neutral (centred), agree (right)")
        handles = [Patch(facecolor=c, hatch=h, edgecolor="#333333", label=name)
                   for _, name, c, h in BANDS]
        axes.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
        return _svg(figure)


def across_rounds(rows, rounds: list[int], scale_min: int, scale_max: int) -> str:
    """``rows``: (statement code, [(round, Cell overall), ...]). Two panels: median and % agreement, one marker
    shape per round, joined per statement."""
    with plt.rc_context(STYLE):
        height = 1.0 + 0.22 * max(len(rows), 1)
        figure, (left, right) = plt.subplots(1, 2, figsize=(8, height), sharey=True)
        for axes, attribute in ((left, "median"), (right, "pct_agree")):
            for y, (_, history) in enumerate(rows):
                axes.plot([getattr(cell, attribute) for _, cell in history], [y] * len(history), color="#999999",
                          linewidth=0.8, zorder=1)
            for i, number in enumerate(rounds):  # one scatter per round: a marker shape each
                points = [(getattr(cell, attribute), y) for y, (_, history) in enumerate(rows)
                          for k, cell in history if k == number]
                if points:
                    xs, ys = zip(*points)
                    axes.scatter(xs, ys, marker=ROUND_MARKERS[i % len(ROUND_MARKERS)], s=18, edgecolors="#000000",
                                 facecolors="none" if i % 2 else "#000000", zorder=2)
        left.set_yticks(range(len(rows)), [code for code, _ in rows], fontsize=7)
        left.invert_yaxis()
        left.set_xlim(scale_min - 0.5, scale_max + 0.5)
        left.set_xlabel("Median rating")
        right.set_xlim(-5, 105)
        right.set_xlabel("% agreement")
        for axes in (left, right):
            axes.grid(axis="x", color="#dddddd", linewidth=0.5)
        handles = [Line2D([], [], linestyle="none", marker=ROUND_MARKERS[i % len(ROUND_MARKERS)],
                              color="#000000", markerfacecolor="none" if i % 2 else "#000000",
                              label=f"Round {number}") for i, number in enumerate(rounds)]
        figure.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(rounds) or 1,
                      frameon=False)
        return _svg(figure)
