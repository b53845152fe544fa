"""Indicator charts as PNG bytes: matplotlib's object API (Figure + Agg canvas), never pyplot.

Why no pyplot: pyplot keeps global state (current figure, a GUI backend) that is neither
thread-safe nor needed; a Figure drawn on FigureCanvasAgg is a plain object, safe in a worker
process and garbage-collected with it. Everything a chart needs arrives in a ChartData, a small
picklable value, so `render_png` runs the same in-process (console, CLI, tests) or in the bot's
process pool.

Readability on a phone: an 8x5 inch figure at 120 dpi (960x600 px), large fonts, few ticks,
the Okabe-Ito palette (distinguishable with every common colour-vision deficiency).
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from handlers.core.i18n import DEFAULT_LANGUAGE, number
from handlers.core.markup import plain

if TYPE_CHECKING:  # matplotlib is imported where it draws: in the pool's workers, not the bot
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

#: Okabe & Ito (2008), "Color Universal Design": colour-blind-safe categorical palette.
OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
WIDTH_IN, HEIGHT_IN, DPI = 8.0, 5.0, 120
#: The plot's lower edge (a share of the height), and the space kept under the x labels (px).
BOTTOM, EDGE_PX = 0.17, 4.0
MAX_TICKS = 12
#: Beyond this many periods the values are drawn as one filled area instead of bars.
MAX_BARS = 62


@dataclass(frozen=True)
class ChartData:
    """Everything drawn, already worded in the reader's language (the worker knows no catalog).

    kind "bars": one series drawn as bars, with an optional running total as a line on a
    second axis. kind "lines": one line per series (the year-against-year view).
    """

    title: str
    subtitle: str
    labels: tuple[str, ...]
    series: tuple[tuple[str, tuple[float, ...]], ...]
    value_label: str
    kind: Literal["bars", "lines"] = "bars"
    total: tuple[float, ...] | None = None
    total_label: str = ""
    decimals: int = 0
    language: str = DEFAULT_LANGUAGE  # the axes' number separators
    #: The series whose last value covers only part of its period (the running month): the
    #: line to it is dashed and its point hollow, so that a drop there is not read as a fall.
    partial_series: str | None = None


@dataclass(frozen=True)
class CardData:
    """The synthesis card: the dashboard's five figures at a date, as a picture."""

    title: str
    subtitle: str
    rows: tuple[tuple[str, str], ...]
    #: under each figure, its change against the same date a year before
    changes: tuple[str, ...] = ()


def _formatter(language: str, decimals: int) -> FuncFormatter:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _pos: number(language, value, decimals))


def _locator(decimals: int) -> MaxNLocator:
    """Whole ticks for counts: '2,5 utilisateurs' would read as '2' once formatted."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(5, integer=decimals == 0)


def _top(values: Iterable[float]) -> float:
    """Headroom above the highest value, so that the legend never hides a bar."""
    highest = max(values, default=0.0)
    return highest * 1.3 if highest > 0 else 1.0


def _tick_positions(count: int) -> list[int]:
    step = max(1, -(-count // MAX_TICKS))
    return list(range(0, count, step))


def _to_png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    # zlib level 1: a tenth of the render time saved for a file ~15 % larger (still < 100 kB)
    _canvas(figure).print_png(buffer, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def _new_figure() -> Figure:
    """Fixed margins rather than a layout engine: constrained layout doubles the render time."""
    import matplotlib
    from matplotlib.figure import Figure

    # Names are drawn as written: a community called "$x^2$" is not mathematics.
    matplotlib.rcParams["text.parse_math"] = False
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(figure)  # the canvas measures text before drawing it (_fit_labels)
    figure.subplots_adjust(left=0.13, right=0.88, bottom=BOTTOM, top=0.80)
    return figure


def _canvas(figure: Figure) -> FigureCanvasAgg:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = figure.canvas
    assert isinstance(canvas, FigureCanvasAgg)  # attached by _new_figure
    return canvas


def _fit_labels(figure: Figure, axes) -> None:
    """Raise the plot when a slanted label would run out of the image (a month with its year,
    "sept. 2026", or the running month's "déc. (au 04/12)"); measured, not guessed."""
    renderer = _canvas(figure).get_renderer()
    lowest = min((label.get_window_extent(renderer).y0 for label in axes.get_xticklabels()),
                 default=EDGE_PX)  # fmt: skip
    if lowest < EDGE_PX:
        figure.subplots_adjust(bottom=BOTTOM + (EDGE_PX - lowest) / figure.bbox.height)


def render_png(data: ChartData) -> bytes:
    """Draw one indicator chart and return the PNG bytes."""
    return _to_png(draw_chart(data))


def draw_chart(data: ChartData) -> Figure:
    figure = _new_figure()
    axes = figure.add_subplot()
    figure.suptitle(plain(data.title), fontsize=17, fontweight="bold", y=0.985)
    axes.set_title(plain(data.subtitle), fontsize=12, color="#333333", linespacing=1.4)
    positions = list(range(len(data.labels)))
    if data.kind == "bars":
        name, values = data.series[0]
        if len(positions) <= MAX_BARS:
            axes.bar(positions, values, color=OKABE_ITO[0], label=plain(name), width=0.8)
        else:  # one filled step area: a year of days as 366 bar patches is slow and unreadable
            axes.fill_between(positions, values, step="mid", color=OKABE_ITO[0], label=plain(name),
                              linewidth=0)  # fmt: skip
        handles, names = axes.get_legend_handles_labels()
        if data.total is not None:
            twin = axes.twinx()
            size = 4 if len(positions) <= 40 else 0
            twin.plot(positions, data.total, color=OKABE_ITO[1], linewidth=3, marker="o",
                      markersize=size, label=plain(data.total_label))  # fmt: skip
            twin.yaxis.set_major_formatter(_formatter(data.language, data.decimals))
            twin.yaxis.set_major_locator(_locator(data.decimals))
            twin.set_ylim(0, _top(data.total))
            twin.tick_params(labelsize=12, colors=OKABE_ITO[1])
            more_handles, more_names = twin.get_legend_handles_labels()
            handles, names = handles + more_handles, names + more_names
        axes.legend(handles, names, loc="upper left", fontsize=12, frameon=False)
    else:
        markers = ("o", "s", "^", "D", "v", "P", "X", "*")
        for index, (name, values) in enumerate(data.series):
            colour, marker = OKABE_ITO[index % len(OKABE_ITO)], markers[index % len(markers)]
            size = 6 if len(positions) <= 40 else 0
            whole = len(values) - 1 if name == data.partial_series and values else len(values)
            axes.plot(positions[:whole], values[:whole], label=plain(name), linewidth=3,
                      color=colour, marker=marker, markersize=size)  # fmt: skip
            if whole < len(values):
                last = positions[max(0, whole - 1) : whole + 1]
                axes.plot(last, values[max(0, whole - 1) : whole + 1], linewidth=2,
                          linestyle=(0, (2, 2)), color=colour)  # fmt: skip
                axes.plot(positions[whole], values[whole], marker=marker, markersize=size + 2,
                          markerfacecolor="white", markeredgewidth=2, color=colour)  # fmt: skip
        axes.legend(loc="upper left", fontsize=13, frameon=False, ncols=min(4, len(data.series)))
    ticks = _tick_positions(len(positions))
    axes.set_xticks(ticks, [data.labels[i] for i in ticks], fontsize=12,
                    rotation=45 if len(ticks) > 6 else 0,
                    ha="right" if len(ticks) > 6 else "center")  # fmt: skip
    axes.set_ylabel(plain(data.value_label), fontsize=13)
    axes.yaxis.set_major_formatter(_formatter(data.language, data.decimals))
    axes.yaxis.set_major_locator(_locator(data.decimals))
    axes.tick_params(axis="y", labelsize=12)
    axes.set_ylim(0, _top(value for _, values in data.series for value in values))
    axes.grid(axis="y", color="#dddddd")
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    _fit_labels(figure, axes)
    return figure


def render_card_png(card: CardData) -> bytes:
    """Draw the synthesis card: five large figures with their names, like the dashboard."""
    return _to_png(draw_card(card))


def draw_card(card: CardData) -> Figure:
    figure = _new_figure()
    figure.subplots_adjust(bottom=0.02, top=0.84)  # no axis below: the rows take the height
    figure.suptitle(plain(card.title), fontsize=18, fontweight="bold")
    axes = figure.add_subplot()
    axes.set_axis_off()
    axes.set_title(plain(card.subtitle), fontsize=12, color="#333333")
    count = len(card.rows)
    for index, (label, value) in enumerate(card.rows):
        y = 1 - (index + 0.5) / count
        colour = OKABE_ITO[index % len(OKABE_ITO)]
        axes.text(0.02, y, plain(label), fontsize=17, va="center", transform=axes.transAxes)
        # the value up, its change close under it, and more space before the next row
        shift = 0.03 if card.changes else 0.0
        axes.text(0.98, y + shift, value, fontsize=22, fontweight="bold", va="center", ha="right",
                  color=colour, transform=axes.transAxes)  # fmt: skip
        if index < len(card.changes):
            axes.text(0.98, y - 0.045, plain(card.changes[index]), fontsize=12, va="center",
                      ha="right", color="#555555", transform=axes.transAxes)  # fmt: skip
    return figure


def warm_up() -> None:
    """Import and exercise matplotlib once, so a pool worker's first real chart is not slow."""
    render_png(ChartData("", "", ("a",), (("", (1.0,)),), ""))


#: Niceness of the chart workers: on a busy machine the event loop's process gets the CPU first.
WORKER_NICENESS = 10


def _lower_priority() -> None:
    """A pool worker's initializer: drawing can wait a few milliseconds, a button press not."""
    with contextlib.suppress(OSError, AttributeError):
        os.nice(WORKER_NICENESS)


def make_render_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """The bot's chart workers: separate processes, so drawing never holds the event loop's GIL.

    forkserver rather than fork: the bot has threads running when the pool starts, and forking
    a threaded process can deadlock the child. A first chart is drawn right away so that the
    workers have imported matplotlib before a referent asks.
    """
    context = multiprocessing.get_context("forkserver")
    pool = ProcessPoolExecutor(
        max_workers=workers or max(1, min(2, os.cpu_count() or 1)),
        mp_context=context,
        initializer=_lower_priority,
    )
    pool.submit(warm_up)
    return pool
