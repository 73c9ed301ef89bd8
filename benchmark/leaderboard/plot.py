"""pareto.png / pareto.svg: F1 against p50 latency, the picture at the top of the README.

Drawn on a bare ``Figure`` (Agg, no pyplot state) with a fixed SVG hash salt and no date in the metadata,
so the same rows give the same bytes and the file can be committed without noise.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from itertools import groupby
from typing import TYPE_CHECKING, Any, TypedDict

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, NullFormatter

from benchmark.leaderboard.collect import Row, pareto_front
from benchmark.leaderboard.view import EMPTY, Section

if TYPE_CHECKING:
    from matplotlib.typing import ColorType, LineStyleType, MarkerType, RcKeyType


class PointStyle(TypedDict):
    """Keyword arguments of ``Axes.scatter`` that draw one point."""

    marker: MarkerType
    s: float
    edgecolors: ColorType
    linewidths: float
    facecolors: ColorType


class LineStyle(TypedDict):
    """Keyword arguments of ``Axes.plot`` and ``Line2D`` that style a line."""

    color: ColorType
    linestyle: LineStyleType
    linewidth: float


# text.parse_math off: model ids are user text, and one like "$\foo$" would be parsed as mathtext (and fail)
RC: dict[RcKeyType, Any] = {"svg.hashsalt": "pip-bench-leaderboard", "svg.fonttype": "path", "font.size": 9, "text.parse_math": False}
PANEL_INCHES = (6.0, 4.2)
MAX_COLUMNS = 2
MINOR_LABEL_DECADES = 3
FRONT_STYLE: LineStyle = {"color": "0.25", "linestyle": "--", "linewidth": 1.0}


def _short(row: Row) -> str:
    """The model's last path component, plus whatever ``name_models`` appended to its id: room is short on a plot."""
    return row.model_id.rstrip("/").rsplit("/", 1)[-1] + row.model_name.removeprefix(row.model_id)


def _milliseconds(value: float, _position: float | None = None) -> str:
    """Plain numbers (``20``, ``1,000``) instead of matplotlib's ``2 x 10^1`` on the log axis."""
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


def _milliseconds_2_5(value: float, _position: float | None = None) -> str:
    mantissa = round(value / 10 ** math.floor(math.log10(value)), 6)
    return _milliseconds(value) if mantissa in (2, 5) else ""


def _point_style(row: Row, colour: str) -> PointStyle:
    """AR hollow, PIP filled: the family is the colour, the mode is the fill."""
    return {"marker": "o", "s": 46, "edgecolors": colour, "linewidths": 1.5, "facecolors": colour if row.mode == "pip" else "white"}


def _panel(ax: Axes, section: Section, colours: dict[str, str]) -> None:
    timed = [(r, r.p50_ms) for r in section.rows if r.p50_ms]  # with their latency: a log axis has no place for 0 ms
    ax.set_title(f"{section.title}\n{section.note}", fontsize=9)
    if not timed:
        ax.text(0.5, 0.5, "no timed runs", ha="center", va="center", transform=ax.transAxes)
        return
    for row, ms in timed:
        ax.scatter([ms], [row.f1], zorder=3, **_point_style(row, colours[row.family]))
    for _, group in groupby(sorted((r for r, _ in timed), key=lambda r: (r.file, r.mode)), key=lambda r: r.file):
        run = list(group)  # the AR modes before pip
        colour = colours[run[-1].family]
        base = next((r for r in run if r.mode == run[-1].speedup_vs), None)  # the fastest AR, which PIP's speedup is over
        if base is not None:
            arrow = {"arrowstyle": "->", "color": colour, "linewidth": 1.2, "shrinkA": 5, "shrinkB": 5}
            ax.annotate("", xy=(run[-1].p50_ms, run[-1].f1), xytext=(base.p50_ms, base.f1), arrowprops=arrow, zorder=2)
        ax.annotate(_short(run[-1]), (run[-1].p50_ms, run[-1].f1), xytext=(5, 4), textcoords="offset points", fontsize=7)
    points = [(ms, r.f1) for r, ms in timed]
    front = [points[i] for i in pareto_front(points)]
    ax.plot([x for x, _ in front], [y for _, y in front], drawstyle="steps-post", zorder=1, **FRONT_STYLE)
    ax.set_xscale("log")
    low, high = min(x for x, _ in points) / 1.6, max(x for x, _ in points) * 1.6  # room for labels, even with one point
    ax.set_xlim(low, high)
    ax.xaxis.set_major_formatter(FuncFormatter(_milliseconds))
    # Over a few decades the 2s and 5s help to read a point off; over more they would collide.
    ax.xaxis.set_minor_formatter(FuncFormatter(_milliseconds_2_5) if math.log10(high / low) <= MINOR_LABEL_DECADES else NullFormatter())
    ax.set_xlabel("p50 latency at batch 1 (ms, log scale)")
    ax.set_ylabel("F1")
    ax.grid(True, which="both", alpha=0.25)


def _legend(fig: Figure, colours: dict[str, str]) -> None:
    handles = [Line2D([], [], marker="o", linestyle="", color=c, label=f) for f, c in colours.items()]
    handles += [
        Line2D([], [], marker="o", linestyle="", markerfacecolor="white", markeredgecolor="0.3", label="AR"),
        Line2D([], [], marker="o", linestyle="", color="0.3", label="PIP"),
        Line2D([], [], label="Pareto front", **FRONT_STYLE),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6), frameon=False)


def render(tables: Sequence[Section], colours: dict[str, str]) -> tuple[bytes, bytes]:
    """The figure as (PNG, SVG) bytes: one panel per dataset, or a "no results" card."""
    with matplotlib.rc_context(RC):
        columns = max(1, min(len(tables), MAX_COLUMNS))
        rows = max(1, math.ceil(len(tables) / columns))
        height = PANEL_INCHES[1] * rows + 0.5 if tables else 1.5  # + the legend row
        fig = Figure(figsize=(PANEL_INCHES[0] * columns, height), layout="constrained")
        axes = list(fig.subplots(rows, columns, squeeze=False).flat)
        if tables:
            for ax, section in zip(axes, tables, strict=False):
                _panel(ax, section, colours)
            for ax in axes[len(tables) :]:
                ax.set_visible(False)
            _legend(fig, colours)
        else:
            axes[0].set_axis_off()
            axes[0].text(0.5, 0.5, EMPTY, ha="center", va="center", fontsize=14, transform=axes[0].transAxes)
        png, svg = io.BytesIO(), io.BytesIO()
        fig.savefig(png, format="png", dpi=150, metadata={"Software": None})
        fig.savefig(svg, format="svg", metadata={"Date": None})
    return png.getvalue(), svg.getvalue()
